"""Configuration: ``.cacheaudit.toml`` or ``[tool.cacheaudit]`` in ``pyproject.toml``, merged
with command-line flags (flags win; ``--ignore`` and ``--exclude`` add to the file's lists)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cacheaudit.discovery import DEFAULT_MAX_FILE_BYTES, read_source
from cacheaudit.errors import UsageError
from cacheaudit.model import Finding, Severity
from cacheaudit.rules import match_rules

CONFIG_FILE = ".cacheaudit.toml"
KEYS = (
    "select",
    "ignore",
    "exclude",
    "fail-under",
    "fail-on",
    "severity",
    "per-path-ignores",
    "baseline",
    "max-file-size",
)


@dataclass(frozen=True)
class Config:
    """Everything one run needs to know, resolved and validated."""

    root: Path
    """The repository root every path is relative to."""
    targets: tuple[str, ...] = ()
    """Files to report on (relative to root); empty means the whole tree."""
    select: frozenset[str] | None = None
    """Rule ids to run; None means all."""
    ignore: frozenset[str] = frozenset()
    """Rule ids whose findings are suppressed (counted, not scored)."""
    exclude: tuple[str, ...] = ()
    """Globs of paths not to walk."""
    fail_under: float | None = None
    fail_on: Severity | None = None
    severity: Mapping[str, Severity] = field(default_factory=dict)
    """Per-rule severity overrides."""
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    """(glob, rule ids) pairs."""
    baseline: Path | None = None
    """A JSON report whose findings' fingerprints are suppressed."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    strict: bool = False
    """Exit 1 when a file could not be audited (CA001)."""
    source: str | None = None
    """Where the file settings came from, for messages."""
    notices: tuple[Finding, ...] = ()
    """Config files found but not read (a symlink leaving the root): CA002 notices."""


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML in {path}: {exc}") from None
    return data


def _load_toml(path: Path) -> dict[str, Any]:
    """A config file the user named explicitly: read as given."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from None
    return _parse_toml(text, path)


def _load_repo_toml(root: Path, name: str, notices: list[Finding]) -> dict[str, Any] | None:
    """A config file found in the repository: read with discovery's safety checks (never
    through a symlink out of the root, bounded size); None when absent or unsafe."""
    if not (root / name).is_symlink() and not (root / name).is_file():
        return None
    text = read_source(root, name, DEFAULT_MAX_FILE_BYTES)
    if isinstance(text, Finding):
        notices.append(text)
        return None
    return _parse_toml(text, root / name)


def find_config(
    root: Path, explicit: Path | None, notices: list[Finding] | None = None
) -> tuple[dict[str, Any], str | None]:
    """The settings table and where it came from (explicit file, .cacheaudit.toml, pyproject).
    Repository files that cannot be read safely are skipped with a notice in ``notices``."""
    skipped: list[Finding] = [] if notices is None else notices
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"config file not found: {explicit}")
        data = _load_toml(explicit)
        if explicit.name == "pyproject.toml":
            return _tool_table(data, explicit), str(explicit)
        return data, str(explicit)
    dedicated = _load_repo_toml(root, CONFIG_FILE, skipped)
    if dedicated is not None:
        return dedicated, str(root / CONFIG_FILE)
    pyproject = root / "pyproject.toml"
    try:
        # Discovery reports an unsafe pyproject.toml itself: do not report it twice.
        project = _load_repo_toml(root, "pyproject.toml", [])
    except UsageError:
        return {}, None  # a broken pyproject is the dependency analyzer's finding, not ours
    if project is not None:
        table = _tool_table(project, pyproject)
        if table:
            return table, f"{pyproject} [tool.cacheaudit]"
    return {}, None


def _tool_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    tool = data.get("tool", {})
    table = tool.get("cacheaudit", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.cacheaudit] must be a table")
    return table


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: `{key}` must be a list of strings")
    return list(value)


def _severity(value: Any, key: str, where: str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise UsageError(f"{where}: `{key}` must be one of {choices}, not {value!r}") from None


def _fail_under(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise UsageError(f"{where}: `fail-under` must be a number from 0 to 100, not {value!r}")
    return float(value)


def build_config(
    root: Path,
    *,
    targets: Sequence[str] = (),
    config_file: Path | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    exclude: Sequence[str] = (),
    fail_under: float | None = None,
    fail_on: str | None = None,
    baseline: Path | None = None,
    strict: bool = False,
) -> Config:
    """Validate the file settings and merge the command line over them."""
    notices: list[Finding] = []
    table, source = find_config(root, config_file, notices)
    try:
        config = _build(
            root, table, source, targets, select, ignore, exclude, fail_under, fail_on, baseline
        )
    except UsageError as exc:
        if source and not str(exc).startswith(source):
            raise UsageError(f"{source}: {exc}") from None
        raise
    return dataclasses.replace(config, strict=strict, notices=tuple(notices))


def _build(
    root: Path,
    table: dict[str, Any],
    source: str | None,
    targets: Sequence[str],
    select: Sequence[str] | None,
    ignore: Sequence[str],
    exclude: Sequence[str],
    fail_under: float | None,
    fail_on: str | None,
    baseline: Path | None,
) -> Config:
    where = source or "config"
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(KEYS)}"
        )
    file_select = table.get("select")
    selected = select if select else file_select
    select_ids = match_rules(_str_list(selected, "select", where)) if selected is not None else None
    ignore_ids = match_rules(_str_list(table.get("ignore", []), "ignore", where)) | match_rules(
        ignore
    )
    severities: dict[str, Severity] = {}
    raw_severity = table.get("severity", {})
    if not isinstance(raw_severity, dict):
        raise UsageError(f"{where}: `severity` must be a table of rule = severity")
    for key, value in raw_severity.items():
        for rule_id in match_rules([key]):
            severities[rule_id] = _severity(value, f"severity.{key}", where)
    per_path = []
    raw_per_path = table.get("per-path-ignores", {})
    if not isinstance(raw_per_path, dict):
        raise UsageError(f"{where}: `per-path-ignores` must be a table of glob = [rules]")
    for pattern, rules in raw_per_path.items():
        listed = _str_list(rules, f"per-path-ignores.{pattern}", where)
        per_path.append((pattern, match_rules(listed)))
    max_size = table.get("max-file-size", DEFAULT_MAX_FILE_BYTES)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
        raise UsageError(f"{where}: `max-file-size` must be a positive number of bytes")
    threshold = fail_under if fail_under is not None else table.get("fail-under")
    severity_gate = fail_on if fail_on is not None else table.get("fail-on")
    baseline_path = baseline
    if baseline_path is None and "baseline" in table:
        if not isinstance(table["baseline"], str):
            raise UsageError(f"{where}: `baseline` must be a path")
        baseline_path = root / table["baseline"]
    return Config(
        root=root,
        targets=tuple(targets),
        select=select_ids,
        ignore=ignore_ids,
        exclude=tuple(_str_list(table.get("exclude", []), "exclude", where)) + tuple(exclude),
        fail_under=_fail_under(threshold, where) if threshold is not None else None,
        fail_on=_severity(severity_gate, "fail-on", where) if severity_gate is not None else None,
        severity=severities,
        per_path_ignores=tuple(per_path),
        baseline=baseline_path,
        max_file_bytes=max_size,
        source=source,
    )

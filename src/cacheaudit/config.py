"""Configuration: ``.cacheaudit.toml`` or ``[tool.cacheaudit]`` in ``pyproject.toml``, merged
with command-line flags (flags win; ``--ignore`` and ``--exclude`` add to the file's lists).

The file is found the way ruff finds its own, the same for every way of calling cacheaudit: the
closest one walking up from what is audited (the directory, or the files' common directory) to
the repository root. Paths and globs in it are relative to the directory the file is in, and are
rebased onto the audited root; a directory named on the command line is audited even when the
file's ``exclude`` covers it (as ruff lints a path passed explicitly)."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cacheaudit.discovery import DEFAULT_MAX_FILE_BYTES, read_source
from cacheaudit.errors import UsageError
from cacheaudit.model import Finding, Severity
from cacheaudit.paths import glob_regex, matches_or_under
from cacheaudit.rules import match_rules

CONFIG_FILE = ".cacheaudit.toml"
KEYS = (
    "select",
    "ignore",
    "exclude",
    "fail-under",
    "fail-under-coverage",
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
    fail_under_coverage: float | None = None
    """Exit 1 when the share of downloads served from cache (percent) is below this."""
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
    config_file: Path | None = None
    """The configuration file that applied (absolute), None when there was none."""
    respect_gitignore: bool = True
    """Skip what ``.gitignore`` files ignore (ruff's and zizmor's default)."""
    repository: Path | None = None
    """The enclosing git repository's root, whose ``.gitignore`` files above ``root`` apply."""
    fail_under_from: str = ""
    """The config file ``fail_under`` came from; empty when set on the command line."""
    fail_under_coverage_from: str = ""
    fail_on_from: str = ""


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    import tomli

    try:
        data: dict[str, Any] = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML in {path}: {exc}") from None
    return data


def _load_toml(path: Path) -> dict[str, Any]:
    """A config file the user named explicitly: read as given."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from None
    return _parse_toml(text, path)


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` (a directory or, in a
    worktree or submodule, a file)."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def search_boundary(start: Path, cwd: Path) -> Path:
    """How far up config discovery looks from ``start``: the repository root; outside a
    repository, the current directory when ``start`` is inside it, else ``start`` alone."""
    start = start.resolve()
    repository = repository_root(start)
    if repository is not None:
        return repository
    cwd = cwd.resolve()
    return cwd if start.is_relative_to(cwd) else start


_TOOL_TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*[\"']?cacheaudit\b", re.M)


def _load_found(boundary: Path, path: Path, notices: list[Finding]) -> dict[str, Any] | None:
    """A config file found by discovery: read with discovery's safety checks (bounded size, never
    through a symlink out of the repository). A config file that exists but cannot be read or
    parsed is an error (exit 2): silently dropping a `fail-under` would pass a run that should
    fail. A ``pyproject.toml`` is a config file only when it has a ``[tool.cacheaudit]`` table:
    a broken one without it is the project's problem (a CA001 notice), not a config error. A
    symlink leading outside the repository is not read, and says so in a CA002 notice."""
    rel = path.relative_to(boundary).as_posix()
    text = read_source(boundary, rel, DEFAULT_MAX_FILE_BYTES)
    ours = path.name == CONFIG_FILE
    if isinstance(text, Finding):
        if "outside" in text.message:
            notices.append(text)
            return None
        if not ours and not _mentions_table(path):
            return None
        reason = text.message.removeprefix(f"skipped {rel}: ")
        raise UsageError(f"cannot read config file {path}: {reason}")
    if not ours and not _TOOL_TABLE.search(text):
        try:
            return _parse_toml(text, path)
        except UsageError:
            return None
    return _parse_toml(text, path)


def _mentions_table(path: Path) -> bool:
    """Whether an unreadable or undecodable pyproject.toml may hold our table (when its bytes
    cannot be read at all, assume it may: the safe answer is to stop, not to ignore it)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(DEFAULT_MAX_FILE_BYTES)
    except OSError:
        return True
    return _TOOL_TABLE.search(data.decode("utf-8", errors="replace")) is not None


def find_config_file(
    start: Path, boundary: Path, notices: list[Finding] | None = None
) -> tuple[Path, dict[str, Any]] | None:
    """The closest config, the way ruff finds its own: from ``start`` up to ``boundary``, the
    first directory with a ``.cacheaudit.toml``, or a ``pyproject.toml`` that has a
    ``[tool.cacheaudit]`` table (``.cacheaudit.toml`` wins in the same directory)."""
    skipped: list[Finding] = [] if notices is None else notices
    start, boundary = start.resolve(), boundary.resolve()
    directory = start
    while True:
        for name in (CONFIG_FILE, "pyproject.toml"):
            candidate = directory / name
            if not (candidate.is_file() or candidate.is_symlink()):
                continue
            data = _load_found(boundary, candidate, skipped)
            if data is None:
                continue
            if name == CONFIG_FILE:
                return candidate, data
            if _has_tool_table(data):
                return candidate, _tool_table(data, candidate)
        if directory == boundary or directory.parent == directory:
            return None
        if not directory.is_relative_to(boundary):
            return None
        directory = directory.parent


def _has_tool_table(data: dict[str, Any]) -> bool:
    tool = data.get("tool")
    return isinstance(tool, dict) and "cacheaudit" in tool


def find_config(
    root: Path,
    explicit: Path | None,
    notices: list[Finding] | None = None,
    *,
    start: Path | None = None,
    boundary: Path | None = None,
) -> tuple[dict[str, Any], Path | None]:
    """The settings table and the file it came from (None: no config)."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"config file not found: {explicit}")
        data = _load_toml(explicit)
        if explicit.name == "pyproject.toml":
            return _tool_table(data, explicit), explicit.resolve()
        return data, explicit.resolve()
    begin = start or root
    found = find_config_file(begin, boundary or search_boundary(begin, root), notices)
    if found is None:
        return {}, None
    return found[1], found[0]


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


def _fail_under(value: Any, where: str, key: str = "fail-under") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise UsageError(f"{where}: `{key}` must be a number from 0 to 100, not {value!r}")
    return float(value)


def rebase_glob(pattern: str, prefix: str) -> list[str]:
    """``pattern``, relative to a config file's directory, as patterns relative to the audited
    root at ``prefix`` below that directory (``""``: the same directory). A pattern that cannot
    match below the root gives none. Unanchored patterns (a name at any depth) are unchanged."""
    if not prefix:
        return [pattern]
    body = pattern.strip()
    anchored = body.startswith(("/", "./")) or "/" in body.strip("/")
    if not anchored:
        return [pattern]
    body = body[1:] if body.startswith("/") else body.removeprefix("./")
    rests = _rest(body.rstrip("/").split("/"), prefix.split("/"))
    out = []
    for rest in rests:
        if not rest:
            continue  # the pattern names the root itself or a parent: nothing below it
        joined = "/".join(rest)
        out.append(joined if "/" in joined or joined == "**" else "/" + joined)
    return list(dict.fromkeys(out))


def _rest(segments: list[str], prefix: list[str]) -> list[list[str]]:
    """What is left of a pattern's segments once they have matched every prefix segment."""
    if not prefix:
        return [segments]
    if not segments:
        return []
    head = segments[0]
    if head == "**":
        # `**` matches the prefix segment (and stays), or matches nothing (and goes).
        return _rest(segments, prefix[1:]) + _rest(segments[1:], prefix)
    if glob_regex("/" + head).match(prefix[0]):
        return _rest(segments[1:], prefix[1:])
    return []


def _place(root: Path, config_dir: Path) -> tuple[str, str]:
    """(root below the config's directory, config's directory below the root): one is ``""``."""
    if root.is_relative_to(config_dir):
        up = root.relative_to(config_dir).as_posix()
        return ("" if up == "." else up), ""
    if config_dir.is_relative_to(root):
        return "", config_dir.relative_to(root).as_posix()
    return "", ""


def _rebase(pattern: str, up: str, down: str, *, exclude: bool) -> list[str]:
    if down:  # the config file sits below the audited root
        body = pattern.strip()
        anchored = body.startswith(("/", "./")) or "/" in body.strip("/")
        body = body[1:] if body.startswith("/") else body.removeprefix("./")
        return [f"{down}/{body}" if anchored else f"{down}/**/{body}"]
    if exclude and up and matches_or_under(pattern, up):
        return []  # the audited directory was named explicitly: it is audited all the same
    return rebase_glob(pattern, up)


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
    respect_gitignore: bool = True,
    fail_under_coverage: float | None = None,
    cwd: Path | None = None,
) -> Config:
    """Find the config file, validate it, and merge the command line over it."""
    root = root.resolve()
    notices: list[Finding] = []
    start = _common_directory(root, targets)
    here = (cwd or Path.cwd()).resolve()
    table, found = find_config(
        root, config_file, notices, start=start, boundary=search_boundary(start, here)
    )
    source = None
    if found is not None:
        source = f"{found} [tool.cacheaudit]" if found.name == "pyproject.toml" else str(found)
    try:
        config = _build(
            root, table, source, targets, select, ignore, exclude, fail_under, fail_on, baseline
        )
        if found is not None and "baseline" in table and baseline is None:
            config = dataclasses.replace(config, baseline=found.parent / table["baseline"])
    except UsageError as exc:
        if source and not str(exc).startswith(source):
            raise UsageError(f"{source}: {exc}") from None
        raise
    if found is not None:
        config = _rebased(config, found.parent, exclude)
    return dataclasses.replace(
        config,
        strict=strict,
        notices=tuple(notices),
        config_file=found,
        respect_gitignore=respect_gitignore,
        repository=repository_root(root),
        fail_under_from="" if fail_under is not None else _short(found),
        fail_under_coverage=(
            fail_under_coverage if fail_under_coverage is not None else config.fail_under_coverage
        ),
        fail_under_coverage_from="" if fail_under_coverage is not None else _short(found),
        fail_on_from="" if fail_on is not None else _short(found),
    )


def _short(found: Path | None) -> str:
    """A config file as named in messages: relative to the current directory when inside it."""
    if found is None:
        return ""
    try:
        return found.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(found)


def _common_directory(root: Path, targets: Sequence[str]) -> Path:
    """Where config discovery starts: the audited directory, or the named files' closest
    common directory."""
    if not targets:
        return root
    parents = [os.path.dirname(t) if not (root / t).is_dir() else t for t in targets]
    common = os.path.commonpath([root / p for p in parents]) if parents else str(root)
    return Path(common)


def _rebased(config: Config, config_dir: Path, cli: Sequence[str]) -> Config:
    """The file's globs and baseline path, written relative to its directory, made relative to
    the audited root; command-line globs are already relative to the root."""
    up, down = _place(config.root, config_dir.resolve())
    file_excludes = config.exclude[: len(config.exclude) - len(cli)]
    excludes = [r for p in file_excludes for r in _rebase(p, up, down, exclude=True)]
    per_path = [
        (r, ids) for p, ids in config.per_path_ignores for r in _rebase(p, up, down, exclude=False)
    ]
    return dataclasses.replace(config, exclude=(*excludes, *cli), per_path_ignores=tuple(per_path))


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
        fail_under_coverage=(
            _fail_under(table["fail-under-coverage"], where, "fail-under-coverage")
            if "fail-under-coverage" in table
            else None
        ),
        fail_on=_severity(severity_gate, "fail-on", where) if severity_gate is not None else None,
        severity=severities,
        per_path_ignores=tuple(per_path),
        baseline=baseline_path,
        max_file_bytes=max_size,
        source=source,
    )

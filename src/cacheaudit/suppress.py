"""Suppressions: inline comments, config ignores and per-path ignores, and a baseline.

Suppressed findings are kept (with the reason) and counted in the report; they are not scored.

Inline forms, in any file that has ``#`` comments (YAML, Dockerfile, requirements, TOML, shell):
- ``# cacheaudit: ignore[CA101,CA105]`` at the end of the finding's line, or on a comment line
  of its own just above it;
- ``# cacheaudit: ignore`` (no list) for every rule there;
- ``# cacheaudit: ignore-file[CA301]`` or ``# cacheaudit: ignore-file`` anywhere in the file.

A directive naming a rule that does not exist (``ignore[CA999]``, a misspelt name) suppresses
nothing for that name and is reported as a notice (:func:`unknown_rule_notices`), as ruff warns
about unknown codes in ``# noqa``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cacheaudit.errors import UsageError
from cacheaudit.model import Finding, SuppressedFinding
from cacheaudit.paths import glob_match
from cacheaudit.rules import RULES, match_rules

_DIRECTIVE = re.compile(r"#\s*cacheaudit:\s*(ignore-file|ignore)\b(?:\[([^\]]*)\])?", re.I)
ALL = frozenset(RULES)


@dataclass(frozen=True)
class FileDirectives:
    """Inline suppressions of one file."""

    by_line: dict[int, frozenset[str]]
    """1-based line → rule ids suppressed on that line (a comment-only line also covers the
    line below it: see ``parse_directives``)."""
    file_wide: frozenset[str]


def _rule_ids(listing: str | None) -> frozenset[str]:
    if listing is None:
        return ALL
    ids: set[str] = set()
    for part in re.split(r"[,\s]+", listing):
        if part:
            try:
                ids |= match_rules([part])
            except UsageError:
                continue  # an unknown rule in a comment must not break the run
    return frozenset(ids)


def parse_directives(text: str) -> FileDirectives:
    by_line: dict[int, frozenset[str]] = {}
    file_wide: set[str] = set()
    if "cacheaudit" not in text:  # fast path: almost every file
        return FileDirectives({}, frozenset())
    for number, line in enumerate(text.splitlines(), start=1):
        if "cacheaudit" not in line:
            continue
        for match in _DIRECTIVE.finditer(line):
            ids = _rule_ids(match.group(2))
            if match.group(1).lower() == "ignore-file":
                file_wide |= ids
            elif ids:
                by_line[number] = by_line.get(number, frozenset()) | ids
                if line.lstrip().startswith("#"):  # a comment line of its own: the next line
                    by_line[number + 1] = by_line.get(number + 1, frozenset()) | ids
    return FileDirectives(by_line, frozenset(file_wide))


def unknown_rule_notices(path: str, text: str) -> list[Finding]:
    """A CA001 notice for each rule id or name in a ``# cacheaudit: ignore[...]`` directive of
    ``path`` that names no rule: the typo would otherwise leave the finding unsuppressed with
    no word said."""
    from cacheaudit.notices import parse_error

    notices: list[Finding] = []
    if "cacheaudit" not in text:
        return notices
    for number, line in enumerate(text.splitlines(), start=1):
        if "cacheaudit" not in line:
            continue
        for match in _DIRECTIVE.finditer(line):
            for part in re.split(r"[,\s]+", match.group(2) or ""):
                if not part:
                    continue
                try:
                    match_rules([part])
                except UsageError:
                    notices.append(
                        parse_error(
                            path,
                            f"`# cacheaudit: {match.group(1).lower()}[...]` names {part!r}, which "
                            "is no rule (see `cacheaudit rules`): it suppresses nothing",
                            number,
                            match.start() + 1,
                        )
                    )
    return notices


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints from a JSON report written by ``--format json`` (or a plain list)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"baseline {path} is not JSON: {exc}") from None
    entries = data.get("findings", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise UsageError(f"baseline {path}: expected a JSON report or a list of findings")
    prints = set()
    for entry in entries:
        if isinstance(entry, str):
            prints.add(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str):
            prints.add(entry["fingerprint"])
    return frozenset(prints)


def suppress(
    findings: Iterable[Finding],
    text_of: Callable[[str], str | None],
    *,
    ignore: frozenset[str] = frozenset(),
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = (),
    baseline: frozenset[str] = frozenset(),
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """Split findings into kept and suppressed, with the first reason that applies."""
    kept: list[Finding] = []
    dropped: list[SuppressedFinding] = []
    directives: dict[str, FileDirectives] = {}
    for finding in findings:
        path = finding.location.path
        if path not in directives:
            directives[path] = parse_directives(text_of(path) or "")
        reason = _reason(finding, directives[path], ignore, per_path_ignores, baseline)
        if reason is None:
            kept.append(finding)
        else:
            dropped.append(SuppressedFinding(finding, reason))
    return kept, dropped


def _reason(
    finding: Finding,
    directives: FileDirectives,
    ignore: frozenset[str],
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...],
    baseline: frozenset[str],
) -> str | None:
    rule = finding.rule_id
    line = finding.location.line
    if rule in directives.by_line.get(line, ()):
        return "inline"
    if rule in directives.file_wide:
        return "file"
    if rule in ignore:
        return "config"
    if any(rule in ids and glob_match(p, finding.location.path) for p, ids in per_path_ignores):
        return "config"
    if finding.fingerprint in baseline:
        return "baseline"
    return None

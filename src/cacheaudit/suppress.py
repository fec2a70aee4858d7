"""Suppressions: inline comments, config ignores and per-path ignores, and a baseline.

Suppressed findings are kept (with the reason) and counted in the report; they are not scored.

Inline forms, in any file that has ``#`` comments (YAML, Dockerfile, requirements, TOML, shell):
- ``# cacheaudit: ignore[CA101,CA105]`` at the end of the finding's line, or on a comment line
  of its own just above it;
- ``# cacheaudit: ignore`` (no list) for every rule there;
- ``# cacheaudit: ignore-file[CA301]`` or ``# cacheaudit: ignore-file`` anywhere in the file.

In a Dockerfile only an own-line comment counts: Docker has no trailing comments, and would read
a trailing marker as more arguments of the instruction. A trailing marker there is not honoured,
and ``misplaced_markers`` turns it into a CA004 notice.
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


def _own_line_only(path: str) -> bool:
    """Files whose syntax has no trailing comments (Dockerfiles)."""
    from cacheaudit.discovery import FileKind, classify

    return classify(path) is FileKind.DOCKERFILE


def misplaced_markers(path: str, text: str) -> list[Finding]:
    """CA004 notices for markers written after an instruction in a Dockerfile."""
    if "cacheaudit" not in text or not _own_line_only(path):
        return []
    from cacheaudit.model import Location

    notices = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "cacheaudit" not in line or line.lstrip().startswith("#"):
            continue
        match = _DIRECTIVE.search(line)
        if match is not None:
            notices.append(
                RULES["CA004"].finding(
                    Location(path, number, match.start() + 1),
                    f"`{match.group(0)}` at the end of an instruction is not honoured: Docker "
                    "has no trailing comments and reads it as more arguments; put it on a "
                    "comment line of its own above the instruction",
                    subject=f"trailing-marker:{number}",
                )
            )
    return notices


def parse_directives(text: str, *, own_line_only: bool = False) -> FileDirectives:
    """``own_line_only``: only markers on comment lines of their own count (Dockerfiles)."""
    by_line: dict[int, frozenset[str]] = {}
    file_wide: set[str] = set()
    if "cacheaudit" not in text:  # fast path: almost every file
        return FileDirectives({}, frozenset())
    for number, line in enumerate(text.splitlines(), start=1):
        if "cacheaudit" not in line:
            continue
        own_line = line.lstrip().startswith("#")
        if own_line_only and not own_line:
            continue
        for match in _DIRECTIVE.finditer(line):
            ids = _rule_ids(match.group(2))
            if match.group(1).lower() == "ignore-file":
                file_wide |= ids
            elif ids:
                by_line[number] = by_line.get(number, frozenset()) | ids
                if own_line:  # a comment line of its own: the next line
                    by_line[number + 1] = by_line.get(number + 1, frozenset()) | ids
    return FileDirectives(by_line, frozenset(file_wide))


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints from a cacheaudit JSON report (``--write-baseline`` or ``--format json``);
    any other JSON is refused rather than read as an empty baseline."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"baseline {path} is not JSON: {exc}") from None
    tool = data.get("tool") if isinstance(data, dict) else None
    entries = data.get("findings") if isinstance(data, dict) else None
    if not (
        isinstance(tool, dict) and tool.get("name") == "cacheaudit" and isinstance(entries, list)
    ):
        raise UsageError(
            f"baseline {path} is not a cacheaudit JSON report; write one with "
            f"`cacheaudit --write-baseline {path}`"
        )
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
            directives[path] = parse_directives(
                text_of(path) or "", own_line_only=_own_line_only(path)
            )
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

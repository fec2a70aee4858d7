"""Suppressions: inline comments, config ignores and per-path ignores, and a baseline.

Suppressed findings are kept (with the reason) and counted in the report; they are not scored.

Inline forms, in any file that has ``#`` comments (YAML, Dockerfile, requirements, TOML, shell):
- ``# cacheaudit: ignore[CA101,CA105]`` at the end of the finding's line, or on a comment line
  of its own just above it;
- ``# cacheaudit: ignore`` (no list) for every rule there;
- ``# cacheaudit: ignore-file[CA301]`` or ``# cacheaudit: ignore-file`` anywhere in the file.

Other tools' reviewed decisions count too, in YAML files: zizmor's ``# zizmor:
ignore[cache-poisoning]`` suppresses CA110 (the same audit) on any line of the workflow step it
sits in, as zizmor accepts it anywhere in the step, or on the step just below an own-line
comment. Such findings are suppressed with the comment itself as the reason.

In a Dockerfile only an own-line comment counts: Docker has no trailing comments, and would read
a trailing marker as more arguments of the instruction. A trailing marker there is not honoured,
and ``misplaced_markers`` turns it into a CA004 notice.

A directive naming a rule that does not exist (``ignore[CA999]``, a misspelt name) suppresses
nothing for that name and is reported as a notice (:func:`unknown_rule_notices`), as ruff warns
about unknown codes in ``# noqa``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cacheaudit.errors import UsageError
from cacheaudit.model import Finding, SuppressedFinding
from cacheaudit.paths import glob_match
from cacheaudit.rules import RULES, match_rules

_DIRECTIVE = re.compile(r"#\s*cacheaudit:\s*(ignore-file|ignore)\b(?:\[([^\]]*)\])?", re.I)
_ZIZMOR = re.compile(r"#\s*zizmor:\s*ignore\[([^\]]*)\][^\n]*", re.I)
ALL = frozenset(RULES)

ZIZMOR_AUDITS: dict[str, frozenset[str]] = {"cache-poisoning": frozenset({"CA110"})}
"""zizmor audits whose ignore comments cover a cacheaudit rule (the same check)."""


@dataclass(frozen=True)
class FileDirectives:
    """Inline suppressions of one file."""

    by_line: dict[int, frozenset[str]]
    """1-based line → rule ids suppressed on that line (a comment-only line also covers the
    line below it: see ``parse_directives``)."""
    file_wide: frozenset[str]
    external: dict[int, tuple[frozenset[str], str]] = field(default_factory=dict)
    """1-based line → (rule ids, the comment) for other tools' ignore comments (zizmor), spread
    over the lines the tool accepts them on."""


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
    external = _zizmor_directives(text) if "zizmor" in text else {}
    if "cacheaudit" not in text:  # fast path: almost every file
        return FileDirectives({}, frozenset(), external)
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
    return FileDirectives(by_line, frozenset(file_wide), external)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _item_span(lines: list[str], index: int) -> range:
    """0-based lines of the YAML sequence item (a workflow step) that holds line ``index``, or
    that starts right below it when ``index`` is a comment line of its own; just ``index`` when
    it is in no sequence item."""
    line = lines[index]
    start = None
    if line.lstrip().startswith("#"):
        below = next((k for k in range(index + 1, len(lines)) if lines[k].strip()), None)
        if below is not None and lines[below].lstrip().startswith("- "):
            start = below
        level = _indent(line) + 1
    else:
        level = _indent(line) + (1 if line.lstrip().startswith("-") else 0)
    k = index
    while start is None and k >= 0:
        text = lines[k]
        stripped = text.lstrip()
        if stripped and not stripped.startswith("#") and _indent(text) < level:
            if stripped.startswith("-"):
                start = k
            level = _indent(text)
        k -= 1
    if start is None:
        return range(index, index + 1)
    dash = _indent(lines[start])
    end = start
    for k in range(start + 1, len(lines)):
        stripped = lines[k].strip()
        if not stripped:
            continue
        if _indent(lines[k]) <= dash:
            break
        end = k
    return range(min(start, index), max(end, index) + 1)


def _zizmor_directives(text: str) -> dict[int, tuple[frozenset[str], str]]:
    """zizmor ignore comments, mapped to the rules they cover and spread over their step."""
    found: dict[int, tuple[frozenset[str], str]] = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if "zizmor" not in line:
            continue
        for match in _ZIZMOR.finditer(line):
            audits = [a.strip().lower() for a in match.group(1).split(",")]
            ids = frozenset(r for a in audits for r in ZIZMOR_AUDITS.get(a, ()))
            if not ids:
                continue
            reason = " ".join(match.group(0).lstrip("#").split())
            for k in _item_span(lines, index):
                old_ids, old_reason = found.get(k + 1, (frozenset(), reason))
                found[k + 1] = (old_ids | ids, old_reason)
    return found


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
    external = directives.external.get(line)
    if external is not None and rule in external[0]:
        return external[1]
    if rule in ignore:
        return "config"
    if any(rule in ids and glob_match(p, finding.location.path) for p, ids in per_path_ignores):
        return "config"
    if finding.fingerprint in baseline:
        return "baseline"
    return None

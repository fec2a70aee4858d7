"""One line per finding, like ruff's ``concise`` output: ``path:line:col: CA101 [warning]
message``, then notices the same way and one summary line. For editors, grep and pre-commit."""

from __future__ import annotations

from collections import Counter

from cacheaudit.model import Finding, Report
from cacheaudit.report import location, plural, severity_summary


def line(finding: Finding, report: Report, base: str | None, tag: str | None = None) -> str:
    message = " ".join(finding.message.split())
    label = tag or finding.severity.value
    return f"{location(finding, report, base)}: {finding.rule_id} [{label}] {message}"


def summary(report: Report) -> str:
    """``cacheaudit: score 84/100 (B), 3 findings (…), 1 suppressed, 1 notice``."""
    overall = report.score.overall
    score = "nothing to audit" if overall is None else f"score {overall}/100 ({report.score.grade})"
    parts = [f"cacheaudit: {score}", severity_summary(report.findings)]
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} suppressed")
    if report.notices:
        parts.append(plural(len(report.notices), "notice"))
    return ", ".join(parts)


def statistics(report: Report) -> str:
    """Findings counted per rule, most frequent first (ruff's ``--statistics``)."""
    counts = Counter(f.rule_id for f in report.findings)
    first: dict[str, Finding] = {}
    for finding in report.findings:
        first.setdefault(finding.rule_id, finding)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    label = max((len(first[r].severity.value) + 2 for r, _ in rows), default=0)
    lines = [
        f"{n:>{width}}  {rule}  {'[' + first[rule].severity.value + ']':<{label}}  "
        f"{first[rule].rule_name}"
        for rule, n in rows
    ]
    return "\n".join([*lines, summary(report)]) + "\n"


def render(
    report: Report,
    *,
    color: bool = False,
    width: int | None = None,
    ascii_only: bool = False,
    base: str | None = None,
) -> str:
    """``color``, ``width`` and ``ascii_only`` are accepted for the CLI's sake: a concise line
    is never wrapped or coloured."""
    lines = [line(f, report, base) for f in report.findings]
    lines += [line(n, report, base, "notice") for n in report.notices]
    lines.append(summary(report))
    return "\n".join(lines) + "\n"

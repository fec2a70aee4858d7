"""Markdown summary for ``$GITHUB_STEP_SUMMARY`` and merge-request comments: the score, a row per
area, the fixes worth most, a findings table, and each fix in a collapsible block.

Sized to fit: GitHub comments hold 65,536 characters (step summaries 1 MiB), so the output stays
under ``MAX_CHARS`` by dropping fix blocks first, then table rows, and says what it left out.
"""

from __future__ import annotations

import html
import re
from collections import Counter

from cacheaudit.model import CacheState, Category, Finding, Report, Severity
from cacheaudit.report import PROJECT_URL, language_of, plural
from cacheaudit.rules import RULES
from cacheaudit.scoring import impact_line

MAX_CHARS = 60_000
MAX_ROWS = 200
MAX_FIXES = 50
MAX_NOTICES = 50
AREA_LABEL: dict[Category, str] = {
    Category.CI: "CI pipelines",
    Category.DOCKER: "Dockerfiles",
    Category.DEPENDENCIES: "Dependency files",
}
SEVERITY_LABEL: dict[Severity, str] = {
    Severity.ERROR: "🔴 error",
    Severity.WARNING: "🟠 warning",
    Severity.INFO: "🔵 info",
}
REASON_ORDER = {"inline": 0, "file": 1, "config": 2, "baseline": 3}


_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")


def _text(text: str, *, cell: bool = True) -> str:
    """A message on one line, safe in Markdown: HTML is escaped outside code spans (inside them
    it is shown as written), and in a table cell ``|`` is escaped so it cannot split the row."""
    flat = " ".join(text.split())
    parts, pos = [], 0
    for match in _CODE_SPAN.finditer(flat):
        parts += [html.escape(flat[pos : match.start()], quote=False), match.group(0)]
        pos = match.end()
    parts.append(html.escape(flat[pos:], quote=False))
    joined = "".join(parts)
    return joined.replace("|", "\\|") if cell else joined


def _code(text: str, *, cell: bool = True) -> str:
    """Inline code span that survives backticks in ``text`` (and pipes, in a table cell)."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    body = text.replace("|", "\\|") if cell else text
    return f"{ticks}{pad}{body}{pad}{ticks}"


def _fence(snippet: str, language: str) -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", snippet)), default=0) + 1)
    return f"{ticks}{language}\n{snippet.rstrip()}\n{ticks}"


def _where(finding: Finding) -> str:
    loc = finding.location
    return f"{loc.path}:{loc.line}" if loc.line >= 1 else loc.path


def _rule_link(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    uri = rule.help_uri if rule else ""
    return f"[{rule_id}]({uri})" if uri else rule_id


def _header(report: Report) -> list[str]:
    score = report.score
    if score.overall is None:
        return [
            "## cacheaudit: nothing to audit",
            "",
            "No workflows, GitLab CI files, Dockerfiles or dependency files were found.",
        ]
    lines = [
        f"## cacheaudit: cache score {score.overall}/100 (grade {score.grade})",
        "",
        _text(impact_line(report)),
        "",
        "| Area | Score | Points lost to |",
        "|---|---:|---|",
    ]
    for area in score.categories:
        label = AREA_LABEL[area.category]
        if area.score is None:
            lines.append(f"| {label} | n/a | nothing to audit |")
            continue
        lost = ", ".join(f"{d.rule_id} ×{d.count} (−{d.points:g})" for d in area.deductions)
        lines.append(f"| {label} | {area.score} | {lost or '—'} |")
    lines.append(f"| **Overall** | **{score.overall}** | grade **{score.grade}** |")
    if score.top_fixes:
        lines += [
            "",
            "**Fix these first**",
            "",
            "| Gain | Cached downloads/run | Rule | Places | Fix |",
            "|---:|---:|---|---:|---|",
        ]
        for gain in score.top_fixes:
            moved = f"+{gain.downloads:,}" if gain.downloads else "—"
            lines.append(
                f"| +{gain.points} | {moved} | {_rule_link(gain.rule_id)} {_code(gain.rule_name)} "
                f"| {gain.count} | {_text(gain.fix)} |"
            )
    return lines


def _counts(report: Report) -> str:
    counts = Counter(f.severity for f in report.findings)
    parts = [plural(len(report.findings), "finding")]
    detail = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
    if detail:
        parts[0] += f" ({detail})"
    if report.suppressed:
        reasons = Counter(s.reason for s in report.suppressed)
        ordered = sorted(reasons, key=lambda r: (REASON_ORDER.get(r, len(REASON_ORDER)), r))
        parts.append(
            f"{len(report.suppressed)} suppressed ("
            + ", ".join(f"{reasons[r]} {r}" for r in ordered)
            + ")"
        )
    parts.append(f"{plural(len(report.files_audited), 'file')} audited")
    if report.installs:
        cached = sum(1 for site in report.installs if site.cache_state is CacheState.EFFECTIVE)
        parts.append(f"{cached} of {plural(len(report.installs), 'install site')} cached")

    return " · ".join(parts)


def _table(findings: list[Finding]) -> list[str]:
    lines = ["| Severity | Rule | Where | Message |", "|---|---|---|---|"]
    for f in findings:
        lines.append(
            f"| {SEVERITY_LABEL[f.severity]} | {_rule_link(f.rule_id)} {_code(f.rule_name)} "
            f"| {_code(_where(f))} | {_text(f.message)} |"
        )
    return lines


def _fix_block(finding: Finding) -> list[str]:
    fix = finding.fix
    assert fix is not None
    # Markdown is not rendered inside <summary>: code spans become <code> there.
    description = html.escape(" ".join(fix.description.split()), quote=False)
    description = re.sub(r"`([^`]+)`", r"<code>\1</code>", description)
    summary = f"<b>{finding.rule_id}</b> <code>{html.escape(_where(finding))}</code>: {description}"
    lines = ["<details>", f"<summary>{summary}</summary>", "", _text(finding.message, cell=False)]
    if fix.snippet.strip():
        lines += ["", _fence(fix.snippet, language_of(finding.location.path))]
    lines += ["", "</details>"]
    return lines


def _notices(report: Report) -> list[str]:
    if not report.notices:
        return []
    lines = ["", f"<sub>{plural(len(report.notices), 'notice')} (not scored):</sub>", ""]
    for notice in report.notices[:MAX_NOTICES]:
        where = _code(_where(notice), cell=False)
        lines.append(f"- {notice.rule_id} {where}: {_text(notice.message, cell=False)}")
    if len(report.notices) > MAX_NOTICES:
        lines.append(f"- …and {len(report.notices) - MAX_NOTICES} more.")
    return lines


def _config_note(report: Report) -> str:
    """`` · config `pyproject.toml [tool.cacheaudit]` ``, relative to the audited root."""
    if not report.config_file:
        return ""
    import os

    shown = os.path.relpath(report.config_file, report.root).replace(os.sep, "/")
    if os.path.basename(report.config_file) == "pyproject.toml":
        shown += " [tool.cacheaudit]"
    return f" · config {_code(shown, cell=False)}"


def _with_fix(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.fix is not None and f.fix.description]


def _document(report: Report, rows: int, fixes: int) -> str:
    findings = list(report.findings)
    with_fix = _with_fix(report)
    lines = _header(report)
    lines += ["", _counts(report)]
    if findings:
        lines += ["", "### Findings", ""]
        lines += _table(findings[:rows])
        if rows < len(findings):
            lines += ["", f"…and {len(findings) - rows} more findings not shown here."]
    if with_fix and fixes:
        lines += ["", "### How to fix", ""]
        blocks = ["\n".join(_fix_block(finding)) for finding in with_fix[:fixes]]
        lines.append("\n\n".join(blocks))
        if fixes < len(with_fix):
            lines += ["", f"…and {len(with_fix) - fixes} more fixes not shown here."]
    if not findings and report.score.overall is not None:
        lines += ["", "No findings. ✅"]
    lines += _notices(report)
    config = _config_note(report)
    lines += [
        "",
        f"<sub>[cacheaudit]({PROJECT_URL}) {report.version}{config} · run `cacheaudit` locally "
        "for the full report, or `cacheaudit explain RULE` for any rule.</sub>",
    ]
    return "\n".join(lines).rstrip() + "\n"


def render(report: Report, *, color: bool = False) -> str:
    rows = min(len(report.findings), MAX_ROWS)
    fixes = min(len(_with_fix(report)), MAX_FIXES)
    text = _document(report, rows, fixes)
    # Over budget: fewer fix blocks first (the table is the overview), then fewer rows.
    while len(text) > MAX_CHARS and (fixes or rows):
        if fixes:
            fixes //= 2
        else:
            rows //= 2
        text = _document(report, rows, fixes)
    return text

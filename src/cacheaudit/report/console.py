"""The human report (rich): score panel, a bar per area, findings grouped by file with the fix
snippet, then suppressed counts and notices. Plain text when colour is off."""

from __future__ import annotations

import io
from collections import Counter
from itertools import groupby

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from cacheaudit.model import Category, Finding, Report, Severity
from cacheaudit.report import language_of
from cacheaudit.rules import RULES

WIDTH = 100
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
AREA_LABEL = {
    Category.CI: "CI pipelines",
    Category.DOCKER: "Dockerfiles",
    Category.DEPENDENCIES: "Dependency files",
}


def _bar(score: int, width: int = 30) -> Text:
    filled = round(score * width / 100)
    style = "green" if score >= 90 else "yellow" if score >= 70 else "red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def _score_panel(report: Report) -> Panel:
    score = report.score
    table = Table.grid(padding=(0, 2))
    table.add_column(min_width=18)
    table.add_column()
    table.add_column(justify="right")
    for area in score.categories:
        label = AREA_LABEL[area.category]
        if area.score is None:
            table.add_row(label, Text("not applicable (nothing to audit)", style="dim"), "")
        else:
            table.add_row(label, _bar(area.score), f"{area.score:>3}")
    installs = report.installs
    footer = Text()
    if installs:
        cached = sum(1 for i in installs if i.cached)
        footer = Text(f"\n{cached} of {len(installs)} install sites cached", style="dim")
    title = f"cache hygiene {score.overall}/100  grade {score.grade}"
    return Panel(Group(table, footer), title=title, title_align="left", expand=False)


def _finding_block(finding: Finding) -> list[object]:
    loc = finding.location
    where = f"{loc.line}:{loc.column}" if loc.column else f"{loc.line}"
    head = Text.assemble(
        (f"  {where:<8}", "bold"),
        (f"{finding.rule_id} ", SEVERITY_STYLE[finding.severity]),
        (f"{finding.severity.value:<8}", SEVERITY_STYLE[finding.severity]),
        finding.message,
        (f"  [{finding.rule_name}]", "dim"),
    )
    parts: list[object] = [head]
    why = _first_sentence(RULES[finding.rule_id].why_bad)
    if why:
        parts.append(Text(f"            why: {why}", style="dim"))
    if finding.fix is not None:
        parts.append(Text(f"            fix: {finding.fix.description}", style="green"))
        if finding.fix.snippet:
            parts.append(
                Syntax(
                    finding.fix.snippet.rstrip("\n"),
                    language_of(finding.location.path),
                    theme="ansi_dark",
                    background_color="default",
                    padding=(0, 0, 0, 12),
                )
            )
    return parts


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end == -1 else flat[: end + 1]


def render(report: Report, *, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=WIDTH,
        highlight=False,
        emoji=False,
    )
    files = len(report.files_audited)
    console.print(
        Text(f"cacheaudit {report.version} · {report.root} · {files} files audited"),
        soft_wrap=True,
    )
    if report.score.overall is None:
        console.print(
            "Nothing to audit: no workflows, GitLab CI, Dockerfiles or dependency files found."
        )
    else:
        console.print(_score_panel(report))
        if report.score.top_fixes:
            console.print(Text("Fix these first", style="bold"))
            for gain in report.score.top_fixes:
                places = "place" if gain.count == 1 else "places"
                console.print(
                    f"  +{gain.points:<3} {gain.rule_id} {gain.rule_name} "
                    f"({gain.count} {places}): {gain.fix}"
                )
    if report.findings:
        console.print()
        for path, group in groupby(report.findings, key=lambda f: f.location.path):
            console.print(Text(path, style="bold underline"))
            for finding in group:
                for part in _finding_block(finding):
                    console.print(part)
            console.print()
        counts = Counter(f.severity for f in report.findings)
        summary = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
        console.print(f"{len(report.findings)} findings ({summary}).")
    elif report.score.overall is not None:
        console.print("No findings.")
    if report.suppressed:
        reasons = Counter(s.reason for s in report.suppressed)
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        console.print(Text(f"{len(report.suppressed)} suppressed ({detail}).", style="dim"))
    if report.notices:
        console.print(Text(f"{len(report.notices)} notices:", style="bold"))
        for notice in report.notices:
            console.print(
                Text(f"  {notice.rule_id} {notice.location.path}:{notice.location.line} ")
                + Text(notice.message, style="dim")
            )
    return buffer.getvalue()

"""The human report (rich): score panel, a bar per area, findings grouped by file with the fix
snippet, then suppressed counts and notices. Plain text when colour is off."""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from itertools import groupby

from rich.console import Console, Group
from rich.panel import Panel
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


INDENT = " " * 10


def _wrapped(text: str, style: str = "", first: str = INDENT) -> Text:
    """``text`` wrapped to the report width, continuation lines indented under it. Plain
    textwrap rather than a rich grid per finding: a monorepo has thousands of findings."""
    lines = textwrap.wrap(
        " ".join(text.split()),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=INDENT,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return Text("\n".join(lines), style=style)


def _finding_block(finding: Finding, color: bool) -> list[object]:
    """One finding: location and message, then why, fix and the snippet to paste."""
    loc = finding.location
    where = f"{loc.line}:{loc.column}" if loc.column else f"{loc.line}"
    style = SEVERITY_STYLE[finding.severity]
    head = f"  {where:<7} {finding.rule_id} {finding.severity.value} "
    text = _wrapped(f"{finding.message}  [{finding.rule_name}]", first=head)
    text.stylize("bold", 0, len(where) + 2)
    text.stylize(style, len(INDENT), len(head))
    parts: list[object] = [text]
    why = _first_sentence(RULES[finding.rule_id].why_bad)
    if why:
        parts.append(_wrapped(f"why: {why}", "dim"))
    if finding.fix is not None:
        parts.append(_wrapped(f"fix: {finding.fix.description}", "green"))
        if finding.fix.snippet:
            parts.append(_snippet(finding.fix.snippet.rstrip("\n"), finding.location.path, color))
    return parts


def _snippet(code: str, path: str, color: bool) -> object:
    if not color:  # plain text needs no highlighter: skip importing pygments (start-up time)
        return Text(textwrap.indent(code, INDENT + "  "), no_wrap=True, overflow="ignore")
    from rich.padding import Padding
    from rich.syntax import Syntax

    syntax = Syntax(code, language_of(path), theme="ansi_dark", background_color="default")
    return Padding(syntax, (0, 0, 0, len(INDENT) + 2))


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
            gains = Table.grid(padding=(0, 1))
            gains.add_column(width=6, no_wrap=True)
            gains.add_column()
            for gain in report.score.top_fixes:
                places = "place" if gain.count == 1 else "places"
                gains.add_row(
                    Text(f"  +{gain.points}", style="green"),
                    Text.assemble(
                        (f"{gain.rule_id} {gain.rule_name}", "bold"),
                        f" ({gain.count} {places}): {' '.join(gain.fix.split())}",
                    ),
                )
            console.print(gains)
    if report.findings:
        console.print()
        for path, group in groupby(report.findings, key=lambda f: f.location.path):
            console.print(Text(path, style="bold underline"))
            for finding in group:
                for part in _finding_block(finding, color):
                    if not isinstance(part, Text):
                        console.print(part)
                    elif color:  # already wrapped: skip rich's own wrapping pass
                        console.print(part, soft_wrap=True)
                    else:  # plain: rich's layout pass is pure cost here
                        buffer.write(part.plain + "\n")
            console.print()
        counts = Counter(f.severity for f in report.findings)
        summary = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
        noun = "finding" if len(report.findings) == 1 else "findings"
        console.print(f"{len(report.findings)} {noun} ({summary}).")
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
    text = buffer.getvalue()
    # Table cells are padded to the full width; trailing blanks only get in the way of a diff.
    return "\n".join(line.rstrip() for line in text.split("\n"))

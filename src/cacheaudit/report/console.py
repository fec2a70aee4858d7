"""The human report (rich): score panel, a bar per area, then each finding as
``path:line:col: CAxxx [severity] message`` with why (once per rule), the fix and the snippet to
paste, then suppressed counts and notices. Plain text when colour is off.

Prose wraps to the terminal width; code never is cropped: a long shell or Dockerfile line is
folded with a ``\\`` continuation (valid where it is folded), any other long line overflows.
"""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from dataclasses import dataclass

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cacheaudit.model import CacheState, Category, Finding, Report, Severity
from cacheaudit.report import (
    config_label,
    display_path,
    language_of,
    location,
    plural,
    severity_summary,
)
from cacheaudit.rules import RULES
from cacheaudit.scoring import impact_line

WIDTH = 100
"""Width when nothing says otherwise (not a terminal, no ``COLUMNS``)."""
MIN_WIDTH = 40
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
AREA_LABEL = {
    Category.CI: "CI pipelines",
    Category.DOCKER: "Dockerfiles",
    Category.DEPENDENCIES: "Dependency files",
}
CONTINUATION = " " * 4
"""Indent of a wrapped message line."""
DETAIL = "  = "
"""Prefix of the why and fix lines (ruff's ``= help:``)."""
SNIPPET = " " * 6
"""Indent of a fix snippet."""


def _bar(score: int, width: int = 30, ascii_only: bool = False) -> Text:
    filled = round(score * width / 100)
    style = "green" if score >= 90 else "yellow" if score >= 70 else "red"
    full, empty = ("#", "-") if ascii_only else ("█", "░")
    return Text(full * filled, style=style) + Text(empty * (width - filled), style="dim")


def _score_panel(report: Report, ascii_only: bool) -> Panel:
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
            table.add_row(label, _bar(area.score, ascii_only=ascii_only), f"{area.score:>3}")
    footer = Text("\n" + impact_line(report))
    if report.installs:
        cached = sum(1 for i in report.installs if i.cache_state is CacheState.EFFECTIVE)
        footer.append(
            f"\n{cached} of {plural(len(report.installs), 'install site')} effectively cached",
            style="dim",
        )
    if score.hidden_findings:
        footer.append(
            f"\n{plural(score.hidden_findings, 'finding')} hidden by suppressions or a baseline"
            " (coverage still counts their sites)",
            style="dim",
        )
    title = f"cache score {score.overall}/100  grade {score.grade}"
    return Panel(
        Group(table, footer),
        title=title,
        title_align="left",
        expand=False,
        box=box.ASCII if ascii_only else box.ROUNDED,
    )


def _wrap(text: str, width: int, first: str = "", rest: str = CONTINUATION) -> list[str]:
    """``text`` on lines of at most ``width`` columns (a word longer than that overflows): what
    ``textwrap.wrap(" ".join(text.split()), width, initial_indent=first, subsequent_indent=rest,
    break_on_hyphens=False, break_long_words=False)`` gives, greedily, word by word (textwrap's
    general splitter was half of rendering a large report)."""
    lines: list[str] = []
    indent, line, length = first, "", 0
    for word in text.split():
        if not line:
            line, length = word, len(word)  # a word alone on its line may overflow
        elif length + 1 + len(word) <= width - len(indent):
            line, length = f"{line} {word}", length + 1 + len(word)
        else:
            lines.append(indent + line)
            indent, line, length = rest, word, len(word)
    if line:
        lines.append(indent + line)
    return lines or [first.rstrip()]


# ---- code folding -------------------------------------------------------------------------------


def _breaks(line: str) -> list[int]:
    """Offsets of whitespace runs outside quotes, where a shell line may be split with ``\\``."""
    spots: list[int] = []
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote == "'":
            if char == "'":
                quote = ""
        elif char == "\\":
            i += 2
            continue
        elif quote == '"':
            if char == '"':
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in " \t" and i > 0 and line[i - 1] not in " \t":
            spots.append(i)
        i += 1
    return spots


def fold_shell(line: str, width: int) -> list[str]:
    """One shell or Dockerfile line as lines of at most ``width`` columns where it can be split
    outside quotes, each but the last ending in `` \\``; a part that cannot be split overflows.
    Joining the result the way the shell and Docker do (``\\`` + newline removed) gives back a
    command with the same words."""
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    more = indent + CONTINUATION
    out: list[str] = []
    rest = line
    prefix_len = 0  # continuation lines start with `more`
    while len(rest) > width:
        body_start = len(more) if prefix_len else len(indent)
        spots = [s for s in _breaks(rest) if s > body_start]
        fitting = [s for s in spots if s + 2 <= width]
        cut = fitting[-1] if fitting else (spots[0] if spots else None)
        if cut is None:
            break
        out.append(rest[:cut].rstrip() + " \\")
        rest = more + rest[cut:].lstrip()
        prefix_len = len(more)
    out.append(rest)
    return out


def fold_code(code: str, language: str, width: int) -> str:
    """Fold long lines where the language allows a visible continuation (shell ``\\`` in a
    Dockerfile); other lines are kept whole and overflow. Comment lines and heredoc bodies are
    never folded."""
    if language != "dockerfile":
        return code
    lines: list[str] = []
    in_heredoc = False
    for line in code.split("\n"):
        stripped = line.lstrip()
        if in_heredoc or stripped.startswith("#") or "<<" in line:
            in_heredoc = in_heredoc or "<<" in line
            lines.append(line)
            continue
        lines.extend(fold_shell(line, width))
    return "\n".join(lines)


# ---- findings -----------------------------------------------------------------------------------


class _Writer:
    """Writes lines to the console: pre-wrapped text passes through rich without a second
    wrapping or cropping pass (``soft_wrap``), or straight into the buffer when plain."""

    def __init__(self, console: Console, buffer: io.StringIO, color: bool) -> None:
        self.console = console
        self.buffer = buffer
        self.color = color

    def text(self, text: Text) -> None:
        if self.color:
            self.console.print(text, soft_wrap=True)
        else:
            self.buffer.write(text.plain + "\n")

    def line(self, plain: str, style: str = "") -> None:
        self.text(Text(plain, style=style))


def _finding(
    out: _Writer, finding: Finding, report: Report, opts: _Options, seen: set[str]
) -> None:
    where = location(finding, report, opts.base)
    tag = f"{finding.rule_id} [{finding.severity.value}]"
    head = f"{where}: {tag} "
    lines = _wrap(finding.message, opts.width, first=head)
    first = Text(lines[0])
    first.stylize("bold", 0, len(where))
    first.stylize(SEVERITY_STYLE[finding.severity], len(where) + 2, len(head) - 1)
    out.text(first)
    for line in lines[1:]:
        out.line(line)
    rule = RULES.get(finding.rule_id)
    if rule is not None and finding.rule_id not in seen:
        seen.add(finding.rule_id)
        why = _first_sentence(rule.why_bad)
        if why:
            label = f"{DETAIL}why ({finding.rule_name}): "
            for line in _wrap(why, opts.width, first=label, rest=" " * len(DETAIL + "why: ")):
                out.line(line, "dim")
    if finding.fix is None:
        return
    if finding.fix.description:
        label = f"{DETAIL}fix: "
        for line in _wrap(finding.fix.description, opts.width, label, " " * len(label)):
            out.line(line, "green")
    if finding.fix.snippet.strip():
        _snippet(out, finding.fix.snippet.rstrip("\n"), finding.location.path, opts)


def _snippet(out: _Writer, code: str, path: str, opts: _Options) -> None:
    language = language_of(path)
    code = fold_code(code, language, max(opts.width - len(SNIPPET), MIN_WIDTH // 2))
    if not out.color:  # plain text needs no highlighter: skip importing pygments (start-up time)
        out.buffer.write(textwrap.indent(code, SNIPPET, lambda line: bool(line.strip())) + "\n")
        return
    from rich.syntax import Syntax

    syntax = Syntax(code, language, theme="ansi_dark", background_color="default")
    highlighted = syntax.highlight(code)
    highlighted.rstrip()
    for line in highlighted.split("\n", allow_blank=True):
        out.text(Text(SNIPPET) + line if line.plain.strip() else Text(""))


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end == -1 else flat[: end + 1]


@dataclass(frozen=True)
class _Options:
    width: int
    ascii_only: bool
    base: str | None


def header(report: Report, base: str | None, dot: str = "·") -> str:
    """First line of a human report: version, what was audited, which config applied."""
    root = display_path(report, ".", base) if base is not None else report.root
    files = plural(len(report.files_audited), "file")
    parts = [f"cacheaudit {report.version}", root, f"{files} audited"]
    config = report.config_file
    parts.append(f"config: {config_label(config, base)}" if config else "no config file")
    return f" {dot} ".join(parts)


def render(
    report: Report,
    *,
    color: bool = False,
    width: int | None = None,
    ascii_only: bool = False,
    base: str | None = None,
) -> str:
    """The report as text. ``width``: terminal columns (default 100); ``ascii_only``: no box or
    block characters (an output encoding without them); ``base``: directory paths are shown
    relative to (the current directory), else relative to the audited root."""
    opts = _Options(max(width or WIDTH, MIN_WIDTH), ascii_only, base)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=opts.width,
        highlight=False,
        emoji=False,
    )
    out = _Writer(console, buffer, color)
    for line in _wrap(header(report, base, "-" if ascii_only else "·"), opts.width):
        out.line(line)
    if report.score.overall is None:
        out.line(
            "Nothing to audit: no workflows, GitLab CI, Dockerfiles or dependency files found."
        )
    else:
        console.print(_score_panel(report, ascii_only))
        if report.score.top_fixes:
            out.line("Fix these first", "bold")
            for gain in report.score.top_fixes:
                gain_text = f"  +{gain.points}".ljust(7)
                moved = f", +{gain.downloads:,} cached downloads/run" if gain.downloads else ""
                body = f"{gain.rule_id} {gain.rule_name} ({plural(gain.count, 'place')}{moved}): "
                lines = _wrap(body + gain.fix, opts.width, first=gain_text, rest=" " * 7)
                first = Text(lines[0])
                first.stylize("green", 0, len(gain_text))
                first.stylize("bold", len(gain_text), len(gain_text) + len(body) - 3)
                out.text(first)
                for line in lines[1:]:
                    out.line(line)
    seen: set[str] = set()
    for finding in report.findings:
        out.line("")
        _finding(out, finding, report, opts, seen)
    if report.findings:
        out.line("")
        out.line(severity_summary(report.findings).capitalize() + ".")
    elif report.score.overall is not None:
        out.line("No findings.")
    if report.suppressed:
        reasons = Counter(s.reason for s in report.suppressed)
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        out.line(f"{len(report.suppressed)} suppressed ({detail}).", "dim")
    if report.notices:
        out.line("")
        out.line(f"{plural(len(report.notices), 'notice')} (not scored):", "bold")
        for notice in report.notices:
            where = location(notice, report, base)
            lines = _wrap(notice.message, opts.width, first=f"{where}: {notice.rule_id} [notice] ")
            out.line(lines[0])
            for line in lines[1:]:
                out.line(line, "dim")
    text = buffer.getvalue()
    # Table cells are padded to the full width; trailing blanks only get in the way of a diff.
    return "\n".join(line.rstrip() for line in text.split("\n"))

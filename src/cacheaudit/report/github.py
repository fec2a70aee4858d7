"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per finding,
which the runner turns into annotations on the file and line in pull requests and the run page.

Escaping follows the runner's own rules (``@actions/core`` ``command.ts``): in the message ``%``,
CR and LF are percent-encoded; in properties ``:`` and ``,`` are too. Tool notices (a file that
could not be parsed or was skipped) are annotated as well; suppressed findings are not.
"""

from __future__ import annotations

from cacheaudit.model import Finding, Report, Severity
from cacheaudit.report import repository_prefix

COMMAND: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, prefix: str = "") -> str:
    """The workflow command for one finding."""
    loc = finding.location
    properties = [("file", prefix + loc.path)]
    if loc.line >= 1:
        properties.append(("line", str(loc.line)))
        if loc.end_line and loc.end_line > loc.line:
            properties.append(("endLine", str(loc.end_line)))
        if loc.column:
            properties.append(("col", str(loc.column)))
    properties.append(("title", f"{finding.rule_id} {finding.rule_name}"))
    message = finding.message
    if finding.fix is not None and finding.fix.description:
        message += f"\nFix: {finding.fix.description}"
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMAND[finding.severity]} {props}::{escape_data(message)}"


def summary(report: Report) -> str:
    overall = report.score.overall
    score = "nothing to audit" if overall is None else f"{overall}/100 ({report.score.grade})"
    text = f"cacheaudit: cache score {score}, {len(report.findings)} findings"
    if report.suppressed:
        text += f", {len(report.suppressed)} suppressed"
    return text


def render(report: Report, *, color: bool = False) -> str:
    prefix = repository_prefix(report)
    # The runner shows only the first 10 errors and 10 warnings of a step: worst first.
    ordered = sorted(
        (*report.findings, *report.notices), key=lambda f: (-f.severity.rank, f.sort_key)
    )
    lines = [annotation(f, prefix) for f in ordered]
    lines.append(summary(report))  # plain log text, not a command
    return "".join(line + "\n" for line in lines)

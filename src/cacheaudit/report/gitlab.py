"""GitLab Code Quality report: the JSON array that ``artifacts: reports: codequality:`` reads and
the merge-request widget shows (a subset of the Code Climate issue format).

GitLab keeps only the first issue of each fingerprint, so the stable fingerprint is made unique
within the report when two findings share one. Suppressed findings and tool notices are left
out: the widget is about problems to fix in the code.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cacheaudit.model import Finding, Report, Severity
from cacheaudit.report import repository_prefix

SEVERITY: dict[Severity, str] = {
    # GitLab's scale is info < minor < major < critical < blocker; an error here means the job
    # fails or the cache never works, which is worth more than "major" but not a blocker.
    Severity.ERROR: "critical",
    Severity.WARNING: "major",
    Severity.INFO: "minor",
}
CATEGORIES = ["Performance"]
"""Code Climate category: every cacheaudit finding costs build time."""


def issue(finding: Finding, fingerprint: str, prefix: str = "") -> dict[str, Any]:
    loc = finding.location
    begin = max(loc.line, 1)
    lines: dict[str, int] = {"begin": begin}
    if loc.end_line and loc.end_line > begin:
        lines["end"] = loc.end_line
    description = f"{finding.rule_id} {finding.message}"
    body = finding.message
    if finding.fix is not None:
        body += f"\n\n**Fix:** {finding.fix.description}"
        if finding.fix.snippet:
            body += f"\n\n```\n{finding.fix.snippet.rstrip()}\n```"
    return {
        "type": "issue",
        "check_name": f"{finding.rule_id} {finding.rule_name}",
        "description": description,
        "content": {"body": body},
        "categories": list(CATEGORIES) + (["Security"] if finding.security else []),
        "fingerprint": fingerprint,
        "severity": SEVERITY[finding.severity],
        "location": {"path": prefix + loc.path, "lines": lines},
    }


def _unique(fingerprint: str, seen: set[str]) -> str:
    candidate = fingerprint
    n = 1
    while candidate in seen:
        n += 1
        candidate = hashlib.sha256(f"{fingerprint}\0{n}".encode()).hexdigest()[:32]
    seen.add(candidate)
    return candidate


def render(report: Report, *, color: bool = False) -> str:
    prefix = repository_prefix(report)
    seen: set[str] = set()
    issues = [issue(f, _unique(f.fingerprint, seen), prefix) for f in report.findings]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"

"""SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``) and other SARIF
consumers. Deterministic: no timestamps, no absolute paths, rules and results in a fixed order.

Layout: one run; ``tool.driver.rules`` holds every scored rule (the full catalogue, so a rule that
found nothing is still documented), ``tool.driver.notifications`` the tool notices CA001/CA002,
which are reported as ``invocations[0].toolExecutionNotifications`` rather than as results: a file
that could not be parsed is a fact about the run, not a problem in the code. Suppressed findings
are results with ``suppressions`` (code scanning shows them as dismissed). The score is in the
run's ``properties``. The official validator (``Sarif.Multitool validate --rule-kind "Gh;Sarif"``)
reports nothing on this output; tests/report/test_sarif_validator.py keeps it that way.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from cacheaudit.docs import rule_markdown
from cacheaudit.model import (
    CacheState,
    Category,
    Coverage,
    Edit,
    Finding,
    Fix,
    Location,
    Report,
    Severity,
    SuppressedFinding,
)
from cacheaudit.report import PROJECT_URL, repository_prefix
from cacheaudit.report.json import coverage_dict
from cacheaudit.rules import RULES, Rule
from cacheaudit.scoring import impact_line

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "cacheaudit/v1"
"""``partialFingerprints`` key; bump the version if the fingerprint recipe ever changes."""

LEVEL: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}

SECURITY_SEVERITY: dict[str, str] = {
    # GitHub ranks security alerts by this CVSS-like score (7.0-8.9 high, 4.0-6.9 medium).
    # A poisoned cache restored by a release or publishing job ships attacker code to users.
    "CA110": "7.5",
    # unprotect: true needs push access to some branch first, a smaller circle than any PR author.
    "CA205": "6.0",
}
"""``properties.security-severity`` of every rule marked ``security`` in the catalogue."""

SUPPRESSION_KIND: dict[str, str] = {
    "inline": "inSource",
    "file": "inSource",
    "config": "external",
    "baseline": "external",
}
JUSTIFICATION: dict[str, str] = {
    "inline": "Suppressed by a `# cacheaudit: ignore` comment on or above the line.",
    "file": "Suppressed by a `# cacheaudit: ignore-file` comment in the file.",
    "config": "Suppressed by `ignore` or `per-path-ignores` in the cacheaudit configuration.",
    "baseline": "Accepted in the cacheaudit baseline file.",
}
EXIT_DESCRIPTION: dict[int, str] = {
    0: "The audit ran and met the threshold.",
    1: "The audit ran and fell below --fail-under or hit --fail-on.",
}


def _sentence(text: str) -> str:
    """One line ending with a full stop: SARIF asks for messages as complete sentences."""
    flat = " ".join(text.split())
    if not flat:
        return flat
    return flat if flat.endswith((".", "!", "?")) else flat + "."


def scored_rules() -> list[Rule]:
    return [rule for rule in RULES.values() if rule.category is not Category.NOTICE]


def notice_rules() -> list[Rule]:
    return [rule for rule in RULES.values() if rule.category is Category.NOTICE]


def _help_text(rule: Rule) -> str:
    parts = [
        _sentence(rule.summary),
        rule.what_it_does,
        "Why is this bad? " + rule.why_bad,
        "Fix: " + rule.fix,
    ]
    if rule.references:
        parts.append("References:\n" + "\n".join(rule.references))
    return "\n\n".join(part for part in parts if part.strip())


def _descriptor(rule: Rule) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": _sentence(rule.summary)},
        "fullDescription": {"text": _sentence(rule.what_it_does or rule.summary)},
        "help": {"text": _help_text(rule), "markdown": rule_markdown(rule)},
    }
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    descriptor["defaultConfiguration"] = {"level": LEVEL[rule.severity]}
    tags = ["caching", rule.category.value]
    properties: dict[str, Any] = {"tags": tags}
    if rule.security:
        tags.append("security")
        properties["security-severity"] = SECURITY_SEVERITY[rule.id]
    descriptor["properties"] = properties
    return descriptor


def _uri(path: str) -> str:
    # Percent-encoded UTF-8; a name that is not UTF-8 (lone surrogates from os.fsdecode) keeps
    # its real bytes, so the URI still names the file.
    return quote(path, safe="/", errors="surrogateescape")


def _location(location: Location, prefix: str) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": _uri(prefix + location.path), "uriBaseId": SRCROOT}
    }
    # Line 0 means the whole file; GitHub and the validator want a region all the same.
    region: dict[str, Any] = {"startLine": max(location.line, 1)}
    if location.column:
        region["startColumn"] = location.column
    if location.end_line and location.end_line > location.line:
        region["endLine"] = location.end_line
    physical["region"] = region
    return {"physicalLocation": physical}


def _message(finding: Finding) -> str:
    text = _sentence(finding.message)
    if finding.fix is not None and finding.fix.description:
        text += " Fix: " + _sentence(finding.fix.description)
    return text


def _result(
    finding: Finding, index: dict[str, int], prefix: str, suppressed: str | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.rule_id}
    if finding.rule_id in index:
        result["ruleIndex"] = index[finding.rule_id]
    result["level"] = LEVEL[finding.severity]
    result["message"] = {"text": _message(finding)}
    result["locations"] = [_location(finding.location, prefix)]
    result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if suppressed is not None:
        result["suppressions"] = [
            {
                "kind": SUPPRESSION_KIND.get(suppressed, "external"),
                "status": "accepted",
                "justification": JUSTIFICATION.get(suppressed, f"Suppressed ({suppressed})."),
            }
        ]
    properties: dict[str, Any] = {"subject": finding.subject, "category": finding.category.value}
    if finding.fix is not None:
        properties["fix"] = {
            "kind": finding.fix.kind.value,
            "safe": finding.fix.safe,
            "description": finding.fix.description,
            "snippet": finding.fix.snippet,
        }
        if finding.fix.edits:
            result["fixes"] = [_fix(finding.fix, prefix)]
    if finding.weight != 1.0:
        properties["weight"] = finding.weight
    result["properties"] = properties
    return result


def _deleted_region(edit: Edit) -> dict[str, Any]:
    """The replaced lines as a SARIF region: from the start of ``start_line`` to the start of
    the line after ``end_line`` (an empty region for an insertion), or to the end of the last
    line when it has no line ending."""
    if edit.original and not edit.original.endswith("\n"):
        last = edit.original.rsplit("\n", 1)[-1]
        return {
            "startLine": edit.start_line,
            "startColumn": 1,
            "endLine": edit.end_line,
            "endColumn": len(last) + 1,
        }
    return {
        "startLine": edit.start_line,
        "startColumn": 1,
        "endLine": edit.end_line + 1,
        "endColumn": 1,
    }


def _fix(fix: Fix, prefix: str) -> dict[str, Any]:
    """SARIF ``fix``: one ``artifactChange`` per file, its edits as ``replacements``."""
    changes: dict[str, list[dict[str, Any]]] = {}
    for edit in fix.edits:
        text = edit.replacement
        if edit.original and not edit.original.endswith("\n"):
            text = text[:-1] if text.endswith("\n") else text
        changes.setdefault(edit.path, []).append(
            {"deletedRegion": _deleted_region(edit), "insertedContent": {"text": text}}
        )
    return {
        "description": {"text": _sentence(fix.description or "Apply the edit.")},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _uri(prefix + path), "uriBaseId": SRCROOT},
                "replacements": replacements,
            }
            for path, replacements in changes.items()
        ],
    }


def _notification(notice: Finding, index: dict[str, int], prefix: str) -> dict[str, Any]:
    # An analyzer that crashed is a tool error, not a warning about the file.
    internal = notice.subject.startswith("internal-error")
    notification: dict[str, Any] = {
        "level": "error" if internal else LEVEL[notice.severity],
        "message": {"text": _sentence(notice.message)},
        "locations": [_location(notice.location, prefix)],
    }
    if notice.rule_id in index:
        notification["descriptor"] = {"id": notice.rule_id, "index": index[notice.rule_id]}
    return notification


def _run_properties(report: Report) -> dict[str, Any]:
    score = report.score
    return {
        "score": score.overall,
        "grade": score.grade,
        "categories": {
            area.category.value: {"applicable": area.applicable, "score": area.score}
            for area in score.categories
        },
        "filesAudited": len(report.files_audited),
        "installSites": len(report.installs),
        "cachedInstallSites": sum(
            1 for site in report.installs if site.cache_state is CacheState.EFFECTIVE
        ),
        "coverage": _coverage(report.score.coverage),
        "impact": impact_line(report),
        "hiddenFindings": score.hidden_findings,
    }


def _coverage(cov: Coverage | None) -> dict[str, Any] | None:
    """The JSON report's coverage figures, with SARIF's camelCase property names."""
    figures = coverage_dict(cov)
    if figures is None:
        return None
    return {re.sub(r"_(\w)", lambda m: m.group(1).upper(), k): v for k, v in figures.items()}


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log as plain data."""
    prefix = repository_prefix(report)
    rules = scored_rules()
    notices = notice_rules()
    rule_index = {rule.id: i for i, rule in enumerate(rules)}
    notice_index = {rule.id: i for i, rule in enumerate(notices)}
    results = [_result(f, rule_index, prefix) for f in report.findings]
    results += [_suppressed(s, rule_index, prefix) for s in report.suppressed]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "exitCode": report.exit_code,
    }
    if report.exit_code in EXIT_DESCRIPTION:
        invocation["exitCodeDescription"] = EXIT_DESCRIPTION[report.exit_code]
    if report.notices:
        invocation["toolExecutionNotifications"] = [
            _notification(n, notice_index, prefix) for n in report.notices
        ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cacheaudit",
                        "version": report.version,
                        "semanticVersion": report.version,
                        "informationUri": PROJECT_URL,
                        "rules": [_descriptor(rule) for rule in rules],
                        "notifications": [_descriptor(rule) for rule in notices],
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "The root of the repository."}}
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": _run_properties(report),
            }
        ],
    }


def _suppressed(item: SuppressedFinding, index: dict[str, int], prefix: str) -> dict[str, Any]:
    return _result(item.finding, index, prefix, suppressed=item.reason)


def render(report: Report, *, color: bool = False) -> str:
    return json.dumps(sarif_log(report), indent=2, ensure_ascii=False) + "\n"

"""GitLab Code Quality: the fields the merge-request widget reads, on reports with findings, with
none and with only suppressed findings, and on a real audit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from cacheaudit.model import Report
from cacheaudit.report import gitlab
from tests.conftest import run_audit
from tests.report.conftest import (
    make_report,
    report_clean,
    report_nothing_to_audit,
    report_only_suppressed,
    report_with_findings,
)
from tests.report.repos import GITLAB

REQUIRED = {"description", "check_name", "fingerprint", "severity", "location"}
SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def issues_of(report: Report) -> list[dict[str, Any]]:
    data = json.loads(gitlab.render(report))
    assert isinstance(data, list)
    return data


def assert_valid(issues: list[dict[str, Any]]) -> None:
    """What GitLab's Code Quality parser requires of each issue."""
    for item in issues:
        assert set(item) >= REQUIRED
        assert all(isinstance(item[key], str) and item[key] for key in REQUIRED - {"location"})
        assert item["severity"] in SEVERITIES
        location = item["location"]
        assert isinstance(location["path"], str)
        assert not location["path"].startswith(("/", "./"))
        assert isinstance(location["lines"]["begin"], int) and location["lines"]["begin"] >= 1
    prints = [item["fingerprint"] for item in issues]
    assert len(prints) == len(set(prints)), "GitLab drops issues with a repeated fingerprint"


def test_issues_follow_the_findings() -> None:
    report = report_with_findings()
    issues = issues_of(report)
    assert_valid(issues)
    assert len(issues) == len(report.findings)  # no notices, no suppressed findings
    by_rule = {item["check_name"].split()[0]: item for item in issues}
    ca110 = by_rule["CA110"]
    finding = next(f for f in report.findings if f.rule_id == "CA110")
    assert ca110["check_name"] == "CA110 cache-poisoning-risk"
    assert ca110["fingerprint"] == finding.fingerprint
    assert ca110["severity"] == "major"
    assert ca110["location"] == {
        "path": ".github/workflows/release.yml",
        "lines": {"begin": 31, "end": 34},
    }
    assert ca110["description"].startswith("CA110 job `publish`")
    assert "Security" in ca110["categories"]
    assert "**Fix:** Do not restore caches" in ca110["content"]["body"]
    assert by_rule["CA401"]["location"]["lines"] == {"begin": 1}  # whole file → line 1


def test_severity_mapping() -> None:
    from cacheaudit.model import Severity

    assert gitlab.SEVERITY == {
        Severity.ERROR: "critical",
        Severity.WARNING: "major",
        Severity.INFO: "minor",
    }


def test_repeated_fingerprints_are_made_unique_and_stable() -> None:
    finding = report_with_findings().findings[0]
    twin = dataclasses.replace(finding, location=dataclasses.replace(finding.location, line=40))
    report = make_report([finding, twin])
    issues = issues_of(report)
    assert_valid(issues)
    assert issues[0]["fingerprint"] == finding.fingerprint
    assert issues_of(report) == issues  # deterministic


def test_reports_without_findings_are_an_empty_array() -> None:
    for report in (report_clean(), report_only_suppressed(), report_nothing_to_audit()):
        assert gitlab.render(report) == "[]\n"


def test_real_gitlab_repository(tmp_path: Path) -> None:
    for rel, text in GITLAB.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    report = run_audit(tmp_path)
    issues = issues_of(report)
    assert_valid(issues)
    assert len(issues) == len(report.findings)
    assert {i["location"]["path"] for i in issues} == {f.location.path for f in report.findings}

"""SARIF structure: what GitHub code scanning reads, checked field by field on reports with
findings, with none, with only suppressed findings, and with nothing to audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cacheaudit.docs import rule_markdown
from cacheaudit.model import Category, Location, Report
from cacheaudit.report import sarif
from cacheaudit.rules import RULES
from tests.report.conftest import (
    SAMPLE_REPORTS,
    make_report,
    report_clean,
    report_nothing_to_audit,
    report_only_suppressed,
    report_with_findings,
)


def log_of(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sarif.render(report))
    return data


def run_of(report: Report) -> dict[str, Any]:
    [run] = log_of(report)["runs"]
    result: dict[str, Any] = run
    return result


SCORED = [r for r in RULES.values() if r.category is not Category.NOTICE]


def test_log_header_and_driver() -> None:
    log = log_of(report_with_findings())
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "cacheaudit"
    assert driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    # The full catalogue, in catalogue order, whatever was found.
    assert [r["id"] for r in driver["rules"]] == [r.id for r in SCORED]
    notices = [r.id for r in RULES.values() if r.category is Category.NOTICE]
    assert [n["id"] for n in driver["notifications"]] == notices


@pytest.mark.parametrize("rule", SCORED, ids=lambda r: r.id)
def test_every_rule_descriptor_is_complete(rule: Any) -> None:
    driver = run_of(report_clean())["tool"]["driver"]
    [descriptor] = [d for d in driver["rules"] if d["id"] == rule.id]
    assert descriptor["name"] == rule.name
    assert descriptor["shortDescription"]["text"].rstrip(".") == rule.summary.rstrip(".")
    assert descriptor["fullDescription"]["text"].endswith(".")
    assert descriptor["help"]["markdown"] == rule_markdown(rule)
    assert rule.fix.split()[0] in descriptor["help"]["text"]
    assert descriptor["helpUri"] == rule.help_uri
    expected_level = {"error": "error", "warning": "warning", "info": "note"}[rule.severity.value]
    assert descriptor["defaultConfiguration"] == {"level": expected_level}
    tags = descriptor["properties"]["tags"]
    assert rule.category.value in tags
    if rule.security:
        assert "security" in tags
        severity = float(descriptor["properties"]["security-severity"])
        assert 0.0 < severity <= 10.0
    else:
        assert "security" not in tags
        assert "security-severity" not in descriptor["properties"]


def test_security_rules_are_the_ones_with_a_security_severity() -> None:
    security = {r.id for r in RULES.values() if r.security}
    assert security == set(sarif.SECURITY_SEVERITY)
    assert {"CA110", "CA205"} <= security


def test_results_carry_rule_level_message_location_and_fingerprint() -> None:
    report = report_with_findings()
    run = run_of(report)
    rules = run["tool"]["driver"]["rules"]
    kept = [r for r in run["results"] if "suppressions" not in r]
    assert len(kept) == len(report.findings)
    for result, finding in zip(kept, report.findings, strict=True):
        assert result["ruleId"] == finding.rule_id
        assert rules[result["ruleIndex"]]["id"] == finding.rule_id
        assert result["level"] == sarif.LEVEL[finding.severity]
        assert result["message"]["text"].endswith(".")
        assert finding.message.split()[0] in result["message"]["text"]
        assert result["partialFingerprints"] == {sarif.FINGERPRINT_KEY: finding.fingerprint}
        [location] = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert not artifact["uri"].startswith(("/", "file:"))
        region = location["physicalLocation"]["region"]
        assert region["startLine"] == max(finding.location.line, 1)
        assert region.get("startColumn") == finding.location.column
        assert result["properties"]["subject"] == finding.subject


def test_locations_are_percent_encoded_and_keep_column_and_end_line() -> None:
    results = {r["ruleId"]: r for r in run_of(report_with_findings())["results"]}
    docker = results["CA303"]["locations"][0]["physicalLocation"]
    assert docker["artifactLocation"]["uri"] == "docker/app%20server.Dockerfile"
    assert docker["region"] == {"startLine": 7, "startColumn": 1}
    release = results["CA110"]["locations"][0]["physicalLocation"]["region"]
    assert release == {"startLine": 31, "startColumn": 9, "endLine": 34}
    whole_file = results["CA401"]["locations"][0]["physicalLocation"]
    assert whole_file["artifactLocation"]["uri"] == "requirements/d%C3%A9v.txt"
    assert whole_file["region"] == {"startLine": 1}


def test_fix_is_in_the_message_and_the_properties() -> None:
    results = {r["ruleId"]: r for r in run_of(report_with_findings())["results"]}
    ca101 = results["CA101"]
    assert "Fix: Turn on pip caching" in ca101["message"]["text"]
    assert ca101["properties"]["fix"]["snippet"].endswith("cache: pip\n")
    assert ca101["level"] == "warning"
    assert results["CA303"]["properties"]["weight"] == 0.5
    assert "weight" not in ca101["properties"]


def test_suppressed_findings_become_suppressions() -> None:
    report = report_with_findings()
    results = run_of(report)["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == [s.finding.rule_id for s in report.suppressed]
    kinds = {
        r["ruleId"]: (r["suppressions"][0]["kind"], r["suppressions"][0]["status"])
        for r in suppressed
    }
    assert kinds == {
        "CA113": ("inSource", "accepted"),
        "CA305": ("inSource", "accepted"),
        "CA306": ("external", "accepted"),
        "CA404": ("external", "accepted"),
    }
    assert all(r["suppressions"][0]["justification"] for r in suppressed)


def test_only_suppressed_findings_still_produce_results() -> None:
    results = run_of(report_only_suppressed())["results"]
    assert results and all("suppressions" in r for r in results)


def test_notices_are_tool_execution_notifications_not_results() -> None:
    report = report_with_findings()
    run = run_of(report)
    assert not {r["ruleId"] for r in run["results"]} & {"CA001", "CA002"}
    [invocation] = run["invocations"]
    notes = invocation["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["CA001", "CA002"]
    assert [n["level"] for n in notes] == ["warning", "note"]
    parse = notes[0]["locations"][0]["physicalLocation"]
    assert parse["artifactLocation"]["uri"] == "broken.yml"
    assert parse["region"] == {"startLine": 3, "startColumn": 7}


def test_invocation_records_the_exit_code() -> None:
    failing = run_of(report_with_findings())["invocations"][0]
    assert failing["exitCode"] == 1 and failing["executionSuccessful"] is True
    assert "fell below" in failing["exitCodeDescription"]
    passing = run_of(report_clean())["invocations"][0]
    assert passing["exitCode"] == 0
    assert "toolExecutionNotifications" not in passing


def test_score_is_in_the_run_properties() -> None:
    report = report_with_findings()
    properties = run_of(report)["properties"]
    assert properties["score"] == report.score.overall
    assert properties["grade"] == report.score.grade
    assert properties["categories"]["ci"]["score"] == report.score.categories[0].score
    assert run_of(report_nothing_to_audit())["properties"]["score"] is None


def test_clean_report_has_rules_but_no_results() -> None:
    run = run_of(report_clean())
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(SCORED)
    assert run["properties"]["score"] == 100


@pytest.mark.parametrize("name", sorted(SAMPLE_REPORTS))
def test_output_is_deterministic(name: str) -> None:
    first = sarif.render(SAMPLE_REPORTS[name]())
    assert first == sarif.render(SAMPLE_REPORTS[name]())
    assert "Time" not in first  # no startTimeUtc/endTimeUtc


def test_paths_are_relative_to_the_enclosing_git_repository(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    (repo / ".git").mkdir(parents=True)
    root = repo / "services" / "api"
    root.mkdir(parents=True)
    report = make_report(report_with_findings().findings, root=str(root))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in run_of(report)["results"]
    }
    assert "services/api/.github/workflows/ci.yml" in uris
    # Fingerprints follow the audited root, so they do not change with where it is checked out.
    assert {f.fingerprint for f in report.findings} == {
        r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run_of(report)["results"]
    }


def test_a_severity_override_changes_the_result_level_not_the_rule_default() -> None:
    import dataclasses

    from cacheaudit.model import Severity

    finding = dataclasses.replace(report_with_findings().findings[0], severity=Severity.ERROR)
    run = run_of(make_report([finding]))
    [result] = run["results"]
    assert result["level"] == "error"
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["defaultConfiguration"]["level"] == sarif.LEVEL[RULES[finding.rule_id].severity]


def test_an_internal_error_is_an_error_notification() -> None:
    crash = RULES["CA001"].finding(
        Location("Dockerfile", 1),
        "internal error in the dockerfile analyzer on Dockerfile: ValueError: boom",
        subject="internal-error:dockerfile",
    )
    [note] = run_of(make_report(notices=[crash]))["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["message"]["text"].endswith("boom.")

"""Suppressions: inline comments, file-wide comments, config and per-path ignores, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cacheaudit.errors import UsageError
from cacheaudit.model import Finding, Location
from cacheaudit.rules import RULES
from cacheaudit.suppress import (
    load_baseline,
    parse_directives,
    suppress,
    unknown_rule_notices,
)

WORKFLOW = """\
jobs:
  test:
    steps:
      - run: pip install -r requirements.txt  # cacheaudit: ignore[CA101]
      # cacheaudit: ignore[gha-install-without-cache, CA105]
      - run: pip install tox
      - run: pip install nox  # cacheaudit: ignore
      - run: pip install ruff # cacheaudit: ignore[CA999]
"""


def finding(rule: str, path: str, line: int, subject: str = "s") -> Finding:
    return RULES[rule].finding(Location(path, line), f"{rule} at {line}", subject=subject)


def test_inline_directives_on_the_line_and_the_line_above() -> None:
    directives = parse_directives(WORKFLOW)
    assert directives.by_line[4] == {"CA101"}
    assert directives.by_line[5] == directives.by_line[6] == {"CA101", "CA105"}
    assert "CA301" in directives.by_line[7]  # bare `ignore` means every rule
    assert 8 not in directives.by_line  # an unknown rule in a comment is ignored, not fatal
    findings = [finding("CA101", "ci.yml", n, str(n)) for n in (4, 5, 6, 7, 8)]
    kept, dropped = suppress(findings, {"ci.yml": WORKFLOW}.get)
    # Line 7's trailing comment covers line 7 only; line 5's own-line comment covers line 6.
    assert [f.location.line for f in kept] == [8]
    assert [(s.finding.location.line, s.reason) for s in dropped] == [
        (4, "inline"),
        (5, "inline"),
        (6, "inline"),
        (7, "inline"),
    ]


def test_inline_directive_only_covers_its_rules() -> None:
    kept, dropped = suppress([finding("CA113", "ci.yml", 4)], {"ci.yml": WORKFLOW}.get)
    assert len(kept) == 1 and dropped == []


def test_file_wide_directive() -> None:
    text = "# cacheaudit: ignore-file[CA301]\nFROM python:3.12\nRUN pip install x\n"
    findings = [finding("CA301", "Dockerfile", 3), finding("CA303", "Dockerfile", 3, "b")]
    kept, dropped = suppress(findings, {"Dockerfile": text}.get)
    assert [f.rule_id for f in kept] == ["CA303"]
    assert [(s.finding.rule_id, s.reason) for s in dropped] == [("CA301", "file")]


def test_config_and_per_path_ignores_are_counted_as_suppressed() -> None:
    findings = [
        finding("CA113", "a.yml", 1),
        finding("CA301", "docker/dev.Dockerfile", 2),
        finding("CA301", "Dockerfile", 2),
    ]
    kept, dropped = suppress(
        findings,
        lambda _: "",
        ignore=frozenset({"CA113"}),
        per_path_ignores=(("docker/*.Dockerfile", frozenset({"CA301"})),),
    )
    assert [f.location.path for f in kept] == ["Dockerfile"]
    assert [s.reason for s in dropped] == ["config", "config"]


def test_baseline_from_a_json_report(tmp_path: Path) -> None:
    old = finding("CA101", "ci.yml", 10, "job test / step 2")
    moved = finding("CA101", "ci.yml", 30, "job test / step 2")  # same identity, new line
    new = finding("CA101", "ci.yml", 40, "job lint / step 1")
    baseline = tmp_path / "baseline.json"
    report = {"tool": {"name": "cacheaudit"}, "findings": [{"fingerprint": old.fingerprint}]}
    baseline.write_text(json.dumps(report))
    kept, dropped = suppress([moved, new], lambda _: "", baseline=load_baseline(baseline))
    assert kept == [new]
    assert [s.reason for s in dropped] == ["baseline"]


def test_bad_baseline_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="not JSON"):
        load_baseline(bad)
    with pytest.raises(UsageError, match="cannot read baseline"):
        load_baseline(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "text",
    [
        '["0123abcd"]',  # a bare list: not a report
        '{"findings": []}',  # no tool: some other JSON
        '{"tool": {"name": "zizmor"}, "findings": []}',
        '{"tool": {"name": "cacheaudit"}, "findings": {}}',
    ],
)
def test_json_that_is_not_a_cacheaudit_report_is_refused(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "b.json"
    bad.write_text(text)
    with pytest.raises(UsageError, match="not a cacheaudit JSON report"):
        load_baseline(bad)


def test_unknown_rule_ids_in_directives_are_notices() -> None:
    (notice,) = unknown_rule_notices(".github/workflows/ci.yml", WORKFLOW)
    assert (notice.rule_id, notice.location.line) == ("CA001", 8)
    assert "'CA999'" in notice.message and "suppresses nothing" in notice.message
    text = "# cacheaudit: ignore-file[CA301, no-such-rule]\nRUN pip install x\n"
    (named,) = unknown_rule_notices("Dockerfile", text)
    assert "'no-such-rule'" in named.message


@pytest.mark.parametrize(
    "text",
    [
        "# cacheaudit: ignore\n",
        "# cacheaudit: ignore[CA101, gha-install-without-cache]\n",
        "# cacheaudit: ignore-file[CA3]\n",
        "# no directive here, CA999\n",
        "# cacheaudit: ignore[CA404]\n",  # opt-in rules are rules too
    ],
)
def test_known_rules_and_plain_comments_give_no_notice(text: str) -> None:
    assert unknown_rule_notices("requirements.txt", text) == []


def test_the_audit_reports_unknown_ids_once_per_directive(tmp_path: Path) -> None:
    from tests.conftest import run_audit

    (tmp_path / "requirements.txt").write_text("flask==3.0.3  # cacheaudit: ignore[CA9O1]\n")
    report = run_audit(tmp_path)
    assert [(n.rule_id, n.location.path, n.location.line) for n in report.notices] == [
        ("CA001", "requirements.txt", 1)
    ]

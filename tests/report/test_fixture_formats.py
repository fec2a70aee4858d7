"""Every format on every fixture repository and the realistic repositories, audited with the real
pipeline: each output accounts for exactly the report's findings, suppressions and notices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cacheaudit.model import Report
from cacheaudit.report import github, gitlab, markdown, sarif
from tests.conftest import FIXTURES, run_audit
from tests.report.repos import REPOS
from tests.report.test_github import commands, parse
from tests.report.test_gitlab import assert_valid
from tests.report.test_markdown import table_rows

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/expected.txt"))


@pytest.fixture(scope="module")
def repo_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("format-repos")
    roots = {}
    for name, files in REPOS.items():
        for rel, text in files.items():
            path = base / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        roots[name] = base / name
    return roots


def check_formats(report: Report) -> None:
    log = json.loads(sarif.render(report))
    results = log["runs"][0]["results"]
    assert len(results) == len(report.findings) + len(report.suppressed)
    assert sum("suppressions" in r for r in results) == len(report.suppressed)
    notes = log["runs"][0]["invocations"][0].get("toolExecutionNotifications", [])
    assert len(notes) == len(report.notices)

    lines = commands(github.render(report))
    assert len(lines) == len(report.findings) + len(report.notices)
    assert all(parse(line)[1]["file"] for line in lines)

    issues = json.loads(gitlab.render(report))
    assert_valid(issues)
    assert len(issues) == len(report.findings)

    text = markdown.render(report)
    assert len(text) <= markdown.MAX_CHARS
    if report.findings:
        rows = table_rows(text, "| Severity | Rule | Where | Message |")
        assert len(rows) == min(len(report.findings), markdown.MAX_ROWS)
        assert all(len(row) == 4 for row in rows)
    assert text.count("<details>") == text.count("</details>")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_formats_on_fixture_repositories(case: Path) -> None:
    check_formats(run_audit(case))


@pytest.mark.parametrize("name", sorted(REPOS))
def test_formats_on_realistic_repositories(name: str, repo_roots: dict[str, Path]) -> None:
    report = run_audit(repo_roots[name])
    check_formats(report)
    if name == "suppressed":
        assert report.suppressed, "the inline and file-wide ignores suppressed nothing"
    if name == "broken":
        assert report.notices, "unparsable files produced no notices"
    if name == "github-actions":
        assert report.findings

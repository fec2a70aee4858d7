"""GitHub workflow-command annotations: one command per finding, escaped as the runner expects."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from cacheaudit.report import github
from tests.report.conftest import (
    make_report,
    report_clean,
    report_nothing_to_audit,
    report_only_suppressed,
    report_with_findings,
)

COMMAND = re.compile(
    r"^::(error|warning|notice) ((?:[a-zA-Z]+=[^,:]*)(?:,[a-zA-Z]+=[^,:]*)*)::(.*)$"
)


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """Decode one workflow command the way the runner does."""
    match = COMMAND.match(line)
    assert match, f"not a workflow command: {line!r}"
    props = {}
    for pair in match.group(2).split(","):
        key, _, value = pair.partition("=")
        props[key] = unquote(value)
    return match.group(1), props, unquote(match.group(3))


def commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("::")]


def test_one_command_per_finding_and_notice_worst_first() -> None:
    report = report_with_findings()
    lines = commands(github.render(report))
    assert len(lines) == len(report.findings) + len(report.notices)
    levels = [parse(line)[0] for line in lines]
    order = {"error": 0, "warning": 1, "notice": 2}
    assert levels == sorted(levels, key=order.__getitem__)
    assert {parse(line)[1]["title"].split()[0] for line in lines} == {
        f.rule_id for f in (*report.findings, *report.notices)
    }


def test_properties_name_file_line_column_and_rule() -> None:
    [line] = [
        c for c in commands(github.render(report_with_findings())) if "CA110" in c.split("::")[1]
    ]
    level, props, message = parse(line)
    assert level == "warning"
    assert props == {
        "file": ".github/workflows/release.yml",
        "line": "31",
        "endLine": "34",
        "col": "9",
        "title": "CA110 cache-poisoning-risk",
    }
    assert message.startswith("job `publish` runs on `release`")
    assert "\nFix: Do not restore caches in the publishing job." in message


def test_message_and_properties_are_escaped() -> None:
    text = github.render(report_with_findings())
    [line] = [c for c in commands(text) if "CA110" in c.split("::")[1]]
    # `%`, `:` and `,` in the message: `%` is encoded; a raw newline never appears.
    assert "100%25 of the time, key%3A a,b" not in line  # `:`/`,` stay raw in the message
    assert "100%25 of the time, key: a,b" in line
    [docker] = [c for c in commands(text) if "CA303" in c.split("::")[1]]
    assert "reinstalls <all> dependencies%0Asecond line" in docker
    _, props, message = parse(docker)
    assert props["file"] == "docker/app server.Dockerfile"
    assert message.splitlines()[1] == "second line"
    assert all("\r" not in line for line in text.splitlines())


def test_property_escaping_follows_the_runner() -> None:
    assert github.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert github.escape_data("a:b,c%d\r\ne") == "a:b,c%25d%0D%0Ae"


def test_whole_file_findings_have_no_line() -> None:
    [line] = [c for c in commands(github.render(report_with_findings())) if "CA401" in c]
    _, props, _ = parse(line)
    assert "line" not in props and props["file"] == "requirements/dév.txt"


def test_info_findings_are_notices() -> None:
    report = report_with_findings()
    [skipped] = [c for c in commands(github.render(report)) if "CA002" in c]
    assert skipped.startswith("::notice ")


@pytest.mark.parametrize(
    "build",
    [report_clean, report_only_suppressed, report_nothing_to_audit],
    ids=lambda b: b.__name__,
)
def test_no_findings_no_commands_but_a_summary_line(build: object) -> None:
    assert callable(build)
    text = github.render(build())
    assert commands(text) == []
    assert text.startswith("cacheaudit: cache score ")


def test_summary_line_counts_suppressed() -> None:
    text = github.render(report_only_suppressed())
    assert text.strip() == "cacheaudit: cache score 100/100 (A), 0 findings, 4 suppressed"


def test_paths_are_relative_to_the_git_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    root = tmp_path / "svc"
    root.mkdir()
    report = make_report(list(report_with_findings().findings), root=str(root))
    files = {parse(c)[1]["file"] for c in commands(github.render(report))}
    assert ".github/workflows/release.yml" not in files
    assert "svc/.github/workflows/release.yml" in files

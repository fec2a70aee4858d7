"""Markdown summary: score table, per-area rows, findings table, collapsible fixes, size bound."""

from __future__ import annotations

import re

from cacheaudit.model import Fix, Location
from cacheaudit.report import markdown
from cacheaudit.rules import RULES
from tests.report.conftest import (
    make_report,
    report_clean,
    report_nothing_to_audit,
    report_only_suppressed,
    report_with_findings,
)


def table_rows(text: str, header: str) -> list[list[str]]:
    """Cells of the Markdown table that starts with ``header``, split on unescaped pipes."""
    lines = text.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
        rows.append([c.strip() for c in cells])
    return rows


def test_score_and_area_table() -> None:
    report = report_with_findings()
    text = markdown.render(report)
    overall, grade = report.score.overall, report.score.grade
    assert text.startswith(f"## cacheaudit: cache score {overall}/100 (grade {grade})\n")
    rows = table_rows(text, "| Area | Score | Points lost to |")
    assert [r[0] for r in rows] == [
        "CI pipelines",
        "Dockerfiles",
        "Dependency files",
        "**Overall**",
    ]
    ci = report.score.categories[0]
    assert rows[0][1] == str(ci.score)
    assert all(f"{d.rule_id} ×{d.count}" in rows[0][2] for d in ci.deductions)
    assert rows[3][1] == f"**{overall}**"


def test_fix_these_first_table() -> None:
    report = report_with_findings()
    rows = table_rows(
        markdown.render(report), "| Gain | Cached downloads/run | Rule | Places | Fix |"
    )
    assert len(rows) == len(report.score.top_fixes) > 0
    assert rows[0][0] == f"+{report.score.top_fixes[0].points}"


def test_findings_table_has_a_row_per_finding_with_escaped_cells() -> None:
    report = report_with_findings()
    text = markdown.render(report)
    rows = table_rows(text, "| Severity | Rule | Where | Message |")
    assert len(rows) == len(report.findings)
    assert all(len(row) == 4 for row in rows)  # `|` in a message did not split the cell
    docker = next(r for r in rows if "CA303" in r[1])
    assert docker[0] == "🟠 warning"
    assert docker[2] == "`docker/app server.Dockerfile:7`"
    assert "&lt;all&gt;" in docker[3] and "<all>" not in text
    assert "\\|" in docker[3]
    assert "second line" in docker[3]  # newlines folded into the cell
    assert next(r for r in rows if "CA401" in r[1])[2] == "`requirements/dév.txt`"


def test_fixes_are_collapsible_blocks_with_fenced_snippets() -> None:
    report = report_with_findings()
    text = markdown.render(report)
    with_fix = [f for f in report.findings if f.fix is not None]
    assert text.count("<details>") == text.count("</details>") == len(with_fix)
    assert (
        "<summary><b>CA101</b> <code>.github/workflows/ci.yml:14</code>: "
        "Turn on pip caching in actions/setup-python: add <code>cache: pip</code>.</summary>"
    ) in text
    snippet = with_fix[0].fix.snippet if with_fix[0].fix else ""
    assert "```yaml\n" + snippet.rstrip() + "\n```" in text
    assert "```dockerfile\nCOPY requirements.txt ." in text


def test_snippet_with_backticks_gets_a_longer_fence() -> None:
    finding = RULES["CA101"].finding(
        Location("ci.yml", 3),
        "m",
        subject="s",
        fix=Fix("d", "run: echo ```x```\n"),
    )
    text = markdown.render(make_report([finding]))
    assert "````yaml\nrun: echo ```x```\n````" in text


def test_counts_suppressed_and_notices() -> None:
    text = markdown.render(report_with_findings())
    assert "4 suppressed (1 inline, 1 file, 1 config, 1 baseline)" in text
    assert "2 notices (not scored)" in text
    assert "- CA001 `broken.yml:3`: cannot parse broken.yml (line 3)" in text


def test_clean_and_suppressed_only_reports() -> None:
    clean = markdown.render(report_clean())
    assert "No findings." in clean and "<details>" not in clean and "| Severity |" not in clean
    suppressed = markdown.render(report_only_suppressed())
    assert "No findings." in suppressed and "4 suppressed" in suppressed


def test_nothing_to_audit() -> None:
    text = markdown.render(report_nothing_to_audit())
    assert text.startswith("## cacheaudit: nothing to audit\n")
    assert "| Area |" not in text


def test_large_reports_stay_under_the_comment_limit() -> None:
    snippet = "".join(f"      - run: pip install package-{i}\n" for i in range(30))
    findings = [
        RULES["CA101"].finding(
            Location(f".github/workflows/w{i:04}.yml", 10 + i),
            f"job `test{i}` installs with pip and nothing caches pip's downloads " * 3,
            subject=f"job test{i}",
            fix=Fix("Add `cache: pip` to setup-python.", snippet),
        )
        for i in range(1500)
    ]
    text = markdown.render(make_report(findings))
    assert len(text) <= markdown.MAX_CHARS
    assert "more findings not shown here" in text
    assert text.count("<details>") == text.count("</details>")
    assert text.rstrip().endswith("</sub>")
    assert markdown.render(make_report(findings)) == text  # deterministic


def test_code_spans_keep_their_text_and_cells_keep_their_shape() -> None:
    finding = RULES["CA303"].finding(
        Location("Dockerfile", 4),
        "`RUN <<EOF pip install -r req.txt | tee log` runs before <b>COPY</b>",
        subject="s",
        fix=Fix("Use `a|b` <here>.", ""),
    )
    text = markdown.render(make_report([finding]))
    [row] = table_rows(text, "| Severity | Rule | Where | Message |")
    assert len(row) == 4
    # Inside a code span HTML is shown as written; `|` is escaped only in table cells.
    assert (
        row[3]
        == "`RUN <<EOF pip install -r req.txt \\| tee log` runs before &lt;b&gt;COPY&lt;/b&gt;"
    )
    block = text[text.index("<details>") :]
    assert "`RUN <<EOF pip install -r req.txt | tee log` runs before &lt;b&gt;" in block
    assert "<code>a|b</code> &lt;here&gt;." in block

"""The SVG badge: well-formed, says "cache score | 87 B", coloured by grade."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cacheaudit.model import Location
from cacheaudit.report import badge
from cacheaudit.rules import RULES
from tests.report.conftest import make_report, report_nothing_to_audit, report_with_findings

SVG = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def fill_of_value_box(root: ET.Element) -> str:
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("x")]
    assert len(rects) == 1
    return rects[0].get("fill", "")


def test_badge_shows_score_and_grade() -> None:
    report = report_with_findings()
    root = parse(badge.render(report))
    value = f"{report.score.overall} {report.score.grade}"
    assert texts(root) == ["cache score", "cache score", value, value]
    assert root.get("aria-label") == f"cache score: {value}"
    assert root.findtext(f"{SVG}title") == f"cache score: {value}"
    assert fill_of_value_box(root) == badge.GRADE_COLOR[report.score.grade]


@pytest.mark.parametrize(
    ("rules", "grade"),
    [
        ((), "A"),  # 100
        (("CA102", "CA103"), "B"),  # 100 - 2 × 10
        (("CA102", "CA103", "CA106"), "C"),  # 100 - 30
        (("CA102", "CA103", "CA106", "CA504"), "D"),  # 100 - 40
        (("CA102", "CA103", "CA106", "CA504", "CA105", "CA107"), "F"),  # 100 - 48
    ],
)
def test_colour_follows_the_grade(rules: tuple[str, ...], grade: str) -> None:
    # No install site: hygiene alone, an error-severity rule costs 10 points, a warning 4.
    findings = [
        RULES[r].finding(Location("ci.yml", i + 1), "m", subject=r) for i, r in enumerate(rules)
    ]
    report = make_report(findings, areas=(RULES["CA102"].category,))
    assert report.score.grade == grade
    assert fill_of_value_box(parse(badge.render(report))) == badge.GRADE_COLOR[grade]
    assert len(set(badge.GRADE_COLOR.values())) == len(badge.GRADE_COLOR)


def test_nothing_to_audit_is_a_grey_na_badge() -> None:
    root = parse(badge.render(report_nothing_to_audit()))
    assert texts(root)[-1] == "n/a"
    assert fill_of_value_box(root) == badge.GRADE_COLOR[None]


def test_width_fits_the_text_and_text_is_escaped() -> None:
    narrow = parse(badge.svg("x", "1 A", "#4c1"))
    wide = parse(badge.svg("cache score & <more>", "100 A", "#4c1"))
    assert int(wide.get("width", "0")) > int(narrow.get("width", "0"))
    assert texts(wide)[0] == "cache score & <more>"
    assert badge.render(report_with_findings()) == badge.render(report_with_findings())

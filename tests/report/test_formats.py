"""Every format name maps to a module with ``render``; each returns text for every kind of report
and never prints."""

from __future__ import annotations

import inspect

import pytest

from cacheaudit.report import FORMATS, renderer
from tests.report.conftest import SAMPLE_REPORTS


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_has_a_renderer(name: str) -> None:
    module = renderer(name)
    signature = inspect.signature(module.render)
    assert list(signature.parameters) == ["report", "color"]
    assert signature.parameters["color"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("report_name", sorted(SAMPLE_REPORTS))
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_renders_every_report_kind(
    name: str, report_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = SAMPLE_REPORTS[report_name]()
    text = renderer(name).render(report, color=False)
    assert isinstance(text, str) and text.endswith("\n")
    assert text == renderer(name).render(report, color=False)
    assert capsys.readouterr() == ("", "")


def test_the_issue_formats_are_registered() -> None:
    assert {"console", "json", "sarif", "github", "gitlab", "markdown", "badge"} <= set(FORMATS)

"""Every format name maps to a module with ``render``; each returns text for every kind of report
and never prints."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from pathlib import Path

import pytest

from cacheaudit.report import FORMATS, renderer
from tests.report.conftest import SAMPLE_REPORTS, report_with_findings


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_has_a_renderer(name: str) -> None:
    module = renderer(name)
    signature = inspect.signature(module.render)
    params = list(signature.parameters.values())
    assert [p.name for p in params[:2]] == ["report", "color"]
    # Anything more (the console's width, ...) is keyword-only with a default.
    for param in params[1:]:
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        assert param.default is not inspect.Parameter.empty


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
    formats = {"console", "concise", "json", "sarif", "github", "gitlab", "markdown", "badge"}
    assert formats <= set(FORMATS)


def test_file_names_that_are_not_utf8_render_and_write_as_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """os.fsdecode turns a non-UTF-8 name into lone surrogates: no format may crash on it, and
    what the CLI writes stays valid UTF-8."""
    from cacheaudit.output import emit as _emit
    from cacheaudit.report import sarif

    base = report_with_findings()
    odd = os.fsdecode(b"bad\xffname/Dockerfile")
    findings = [
        dataclasses.replace(f, location=dataclasses.replace(f.location, path=odd))
        for f in base.findings
    ]
    report = dataclasses.replace(base, findings=tuple(findings))
    uri = json.loads(sarif.render(report))["runs"][0]["results"][0]["locations"][0]
    assert uri["physicalLocation"]["artifactLocation"]["uri"] == "bad%FFname/Dockerfile"
    for name in sorted(FORMATS):
        text = renderer(name).render(report, color=False)
        target = tmp_path / f"out.{name}"
        _emit(text, target)
        target.read_bytes().decode("utf-8")  # strict: raises if not UTF-8
        _emit(text, None)
        shown = capsys.readouterr().out
        # Formats that print the path show the replacement character; SARIF has %FF in the URI.
        assert ("\ufffd" in shown) is (name not in ("badge", "sarif"))

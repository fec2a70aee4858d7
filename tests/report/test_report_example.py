"""The report shown in the README and docs/report-example.svg is the real output of today's code:
`python scripts/report_example.py` regenerates both, and this test fails when they drift."""

from __future__ import annotations

import subprocess
import sys

from tests.report.conftest import PROJECT


def test_readme_excerpt_and_svg_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "report_example.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_svg_shows_a_whole_snippet() -> None:
    svg = (PROJECT / "docs" / "report-example.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg")
    assert "Keep-Downloaded-Packages" in svg and "keep-cache" in svg

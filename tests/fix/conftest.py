"""Print how many edits the fix verification applied and re-audited."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("tests.fix.test_verification")
    totals = getattr(module, "TOTALS", None)
    if totals and totals["roots"]:
        terminalreporter.write_line(
            f"fix verification: {totals['edits']} edits ({totals['fixes']} fixes) applied and "
            f"re-audited over {totals['roots']} repositories"
        )

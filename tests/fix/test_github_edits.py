"""GitHub Actions CA101 edits on step shapes where inserting ``with:`` entries by indentation
goes wrong: a new ``with:`` after a step whose last value is an indentless sequence or a block
scalar, and the shapes that stay advice (a flow-style step or ``with:``, a merged step)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cacheaudit.fix as fix_package
from cacheaudit.audit import audit
from cacheaudit.config import build_config
from cacheaudit.fix.engine import run
from cacheaudit.model import Finding
from cacheaudit.parsing.yaml import load

HEAD = (
    "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n    - uses: actions/checkout@v4\n"
)
INSTALL = "    - run: pip install -r requirements.txt\n"


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fix_package, "STRICT", True)


def _ca101(tmp_path: Path, setup: str) -> tuple[Path, Finding]:
    workflow = tmp_path / ".github/workflows/ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(HEAD + setup + INSTALL)
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    found = [f for f in audit(build_config(tmp_path)).findings if f.rule_id == "CA101"]
    assert len(found) == 1, found
    return workflow, found[0]


EDITED = {
    "with last, indentless steps": (
        "    - uses: actions/setup-python@v5\n      with:\n        python-version: '3.12'\n"
    ),
    "no with, block scalar last": (
        "    - uses: actions/setup-python@v5\n      env:\n        A: |\n          x\n\n"
    ),
    "no with, indentless list last": (
        "    - uses: actions/setup-python@v5\n      if: always()\n      x-list:\n      - a\n"
    ),
}


@pytest.mark.parametrize("name", EDITED)
def test_inputs_are_added_to_the_setup_step(name: str, tmp_path: Path) -> None:
    workflow, finding = _ca101(tmp_path, EDITED[name])
    assert finding.fix is not None and finding.fix.edits
    outcome = run(build_config(tmp_path), unsafe=True)
    assert not outcome.refused
    new = load(outcome.changes[".github/workflows/ci.yml"][1].decode())
    step = new["jobs"]["test"]["steps"][1]
    assert step["with"]["cache"] == "pip"
    assert step["with"]["cache-dependency-path"] == "requirements.txt"
    old = load(workflow.read_text())["jobs"]["test"]["steps"][1]
    assert {k: v for k, v in step.items() if k != "with"} == {
        k: v for k, v in old.items() if k != "with"
    }


ADVICE = {
    "flow-style with": (
        "    - uses: actions/setup-python@v5\n      with: {python-version: '3.12'}\n"
    ),
    "flow-style step": "    - {uses: actions/setup-python@v5}\n",
}


@pytest.mark.parametrize("name", ADVICE)
def test_flow_style_stays_advice(name: str, tmp_path: Path) -> None:
    _, finding = _ca101(tmp_path, ADVICE[name])
    assert finding.fix is not None and not finding.fix.edits

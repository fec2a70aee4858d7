"""Every fixture repository under tests/fixtures/<area>/<case>/ is audited and its findings must
equal the ``expected.txt`` beside it, exactly: nothing missing, nothing extra.

``expected.txt`` format, one finding per line: ``CA101 .github/workflows/ci.yml:14``. A header
line ``# near-miss: CA101 CA105`` declares the rules this case is a near-miss for (they must not
fire here, which the exact comparison enforces). Other ``#`` lines are comments.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cacheaudit.rules import RULES
from tests.conftest import FIXTURES, found, run_audit

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/expected.txt"))
_LINE = re.compile(r"^(CA\d{3})\s+(\S.*):(\d+)$")


def parse_expected(path: Path) -> tuple[set[tuple[str, str, int]], set[str]]:
    expected: set[tuple[str, str, int]] = set()
    near_miss: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.lower().startswith("# near-miss:"):
                near_miss.update(line.split(":", 1)[1].split())
            continue
        match = _LINE.match(line)
        assert match, f"{path}: cannot read expected line {raw!r}"
        expected.add((match.group(1), match.group(2), int(match.group(3))))
    return expected, near_miss


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_findings_match_expected(case: Path) -> None:
    expected, near_miss = parse_expected(case / "expected.txt")
    actual = found(run_audit(case))
    assert sorted(actual - expected) == [], "unexpected findings"
    assert sorted(expected - actual) == [], "missing findings"
    fired = {rule for rule, _, _ in actual}
    assert not (near_miss & fired), f"near-miss rules fired: {sorted(near_miss & fired)}"


def _coverage() -> tuple[set[str], set[str]]:
    fire: set[str] = set()
    miss: set[str] = set()
    for case in CASES:
        expected, near_miss = parse_expected(case / "expected.txt")
        fire |= {rule for rule, _, _ in expected}
        miss |= near_miss
    return fire, miss


SCORED_RULES = sorted(r for r in RULES if not r.startswith("CA0"))


@pytest.mark.parametrize("rule_id", SCORED_RULES)
def test_every_rule_has_a_firing_fixture_and_a_near_miss(rule_id: str) -> None:
    fire, miss = _coverage()
    assert rule_id in fire, f"no fixture under tests/fixtures fires {rule_id}"
    assert rule_id in miss, f"no fixture declares a near-miss for {rule_id}"

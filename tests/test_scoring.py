"""Scoring properties: deterministic, monotonic, diminishing returns, n/a areas, the README's
worked example."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.model import Category, Finding, Location
from cacheaudit.rules import RULES
from cacheaudit.scoring import grade, rule_cost, score

ALL_AREAS = (Category.CI, Category.DOCKER, Category.DEPENDENCIES)
SCORED = sorted(r for r in RULES if not r.startswith("CA0"))


def make(rule: str, n: int = 0, weight: float = 1.0) -> Finding:
    return RULES[rule].finding(
        Location(f"f{n}.yml", n + 1), f"{rule} #{n}", subject=str(n), weight=weight
    )


findings_strategy = st.lists(
    st.tuples(st.sampled_from(SCORED), st.sampled_from([1.0, 0.5])),
    max_size=40,
).map(lambda pairs: [make(rule, i, w) for i, (rule, w) in enumerate(pairs)])


@settings(max_examples=200, deadline=None)
@given(findings_strategy, st.data())
def test_fixing_any_finding_never_lowers_the_score(
    findings: list[Finding], data: st.DataObject
) -> None:
    before = score(findings, ALL_AREAS)
    if not findings:
        return
    index = data.draw(st.integers(0, len(findings) - 1))
    after = score(findings[:index] + findings[index + 1 :], ALL_AREAS)
    assert before.overall is not None and after.overall is not None
    assert after.overall >= before.overall
    for cat_before, cat_after in zip(before.categories, after.categories, strict=True):
        assert (cat_after.score or 0) >= (cat_before.score or 0)


@settings(max_examples=50, deadline=None)
@given(findings_strategy)
def test_score_does_not_depend_on_finding_order(findings: list[Finding]) -> None:
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert score(findings, ALL_AREAS) == score(shuffled, ALL_AREAS)


def test_repeats_cost_more_than_once_but_with_diminishing_returns() -> None:
    one = score([make("CA101")], [Category.CI]).overall
    forty = score([make("CA101", i) for i in range(40)], [Category.CI]).overall
    assert one is not None and forty is not None
    single_cost = 100 - one
    assert forty < one  # repetition costs something
    assert 100 - forty < 40 * single_cost / 4  # ... but far less than 40 times over
    # One repeated pattern does not drown a different, single problem.
    mixed = score([make("CA101", i) for i in range(40)] + [make("CA102", 99)], [Category.CI])
    alone = score([make("CA102", 99)], [Category.CI])
    assert mixed.overall is not None and alone.overall is not None
    assert alone.overall - mixed.overall < 40


def test_rule_cost_is_harmonic() -> None:
    assert rule_cost(RULES["CA101"].severity, [1.0]) == 8.0
    assert rule_cost(RULES["CA101"].severity, [1.0, 1.0, 1.0]) == 8.0 * (1 + 1 / 2 + 1 / 3)
    # A lesser form (weight 0.5) is sorted after full-weight findings.
    assert rule_cost(RULES["CA301"].severity, [0.5, 1.0]) == 8.0 * (1 + 0.5 / 2)


def test_areas_with_nothing_to_audit_are_not_applicable() -> None:
    result = score([make("CA301")], [Category.DOCKER])
    ci, docker, deps = result.categories
    assert (ci.applicable, ci.score) == (False, None)
    assert (deps.applicable, deps.score) == (False, None)
    assert docker.score == 92
    assert result.overall == 92  # n/a areas are left out of the mean, not counted as 100
    nothing = score([], [])
    assert nothing.overall is None and nothing.grade is None


def test_worked_example_from_the_readme() -> None:
    # README "Scoring": 3 jobs install without a cache (CA101, warning), one setup-python cache
    # without a dependency file (CA102, error); a Dockerfile copies the tree before installing
    # (CA303, warning) and installs without a cache mount once with --no-cache-dir (CA301 at
    # weight 0.5); dependencies clean.
    findings = [make("CA101", i) for i in range(3)]
    findings += [make("CA102", 10), make("CA303", 11), make("CA301", 12, 0.5)]
    result = score(findings, ALL_AREAS)
    ci, docker, deps = result.categories
    assert ci.score == 65  # 100 - 8*(1 + 1/2 + 1/3) - 20 = 65.33
    assert docker.score == 88  # 100 - 8 - 8*0.5 = 88
    assert deps.score == 100
    assert result.overall == 84  # (65.33 + 88 + 100) / 3 = 84.44
    assert result.grade == "B"
    # Fixing every CA102 lifts CI to 85.33 and the mean to 91.11: +7; and so on.
    assert [(g.rule_id, g.points) for g in result.top_fixes] == [
        ("CA102", 7),
        ("CA101", 5),
        ("CA303", 3),
        ("CA301", 2),
    ]


def test_grades() -> None:
    assert [grade(s) for s in (100, 90, 89, 80, 70, 60, 59, 0)] == list("AABBCDFF")


def test_finding_fingerprint_ignores_line_numbers() -> None:
    a = RULES["CA101"].finding(Location("ci.yml", 3), "m", subject="job test / step 2")
    b = RULES["CA101"].finding(Location("ci.yml", 30), "m", subject="job test / step 2")
    c = RULES["CA101"].finding(Location("ci.yml", 3), "m", subject="job lint / step 2")
    assert a.fingerprint == b.fingerprint != c.fingerprint

"""Findings → Score. Deterministic, explainable, monotonic.

Each scored category starts at 100. Every rule costs ``base × Σ wᵢ/i`` points in a category,
where ``base`` is 20 (error), 8 (warning) or 2 (info), and ``w₁ ≥ w₂ ≥ …`` are the weights of its
findings there (1 unless the finding is a lesser form of the problem): the first occurrence costs
full price, the second half, the third a third, so a pattern repeated in 40 jobs costs about 4.3×
one occurrence rather than 40×. A category never drops below 0. The overall score is the mean of
the applicable categories. Removing any finding never raises a rule's cost (the harmonic sum over
a descending sequence shrinks when an element is removed), so fixing never lowers the score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from cacheaudit.model import (
    SCORED_CATEGORIES,
    Category,
    CategoryScore,
    Deduction,
    Finding,
    RuleGain,
    Score,
    Severity,
)

BASE_POINTS: dict[Severity, float] = {
    Severity.ERROR: 20.0,
    Severity.WARNING: 8.0,
    Severity.INFO: 2.0,
}
GRADES: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))
TOP_FIXES = 5


def rule_cost(severity: Severity, weights: Iterable[float]) -> float:
    """Points one rule loses in one category for findings with these weights."""
    ordered = sorted(weights, reverse=True)
    return BASE_POINTS[severity] * sum(w / i for i, w in enumerate(ordered, start=1))


def grade(score: int) -> str:
    return next(letter for floor, letter in GRADES if score >= floor)


def _round(value: float) -> int:
    return int(value + 0.5)  # half up, monotone; scores are never negative


def _category_points(findings: list[Finding]) -> tuple[float, tuple[Deduction, ...]]:
    groups: dict[tuple[str, str, Severity], list[float]] = defaultdict(list)
    for finding in findings:
        groups[(finding.rule_id, finding.rule_name, finding.severity)].append(finding.weight)
    # Sorted so that float sums, and hence rounding, never depend on the order of findings.
    costs = sorted(
        ((rule_id, name, len(weights), rule_cost(severity, weights)))
        for (rule_id, name, severity), weights in groups.items()
    )
    deductions = [Deduction(rule_id, name, n, round(cost, 2)) for rule_id, name, n, cost in costs]
    deductions.sort(key=lambda d: (-d.points, d.rule_id))
    raw = max(0.0, 100.0 - sum(cost for *_, cost in costs))
    return raw, tuple(deductions)


def _raw_scores(
    findings: list[Finding], applicable: frozenset[Category]
) -> tuple[dict[Category, tuple[float, tuple[Deduction, ...]]], float | None]:
    by_category: dict[Category, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_category[finding.category].append(finding)
    per_category = {
        category: _category_points(by_category.get(category, []))
        for category in SCORED_CATEGORIES
        if category in applicable
    }
    if not per_category:
        return per_category, None
    overall = sum(raw for raw, _ in per_category.values()) / len(per_category)
    return per_category, overall


def score(
    findings: Iterable[Finding],
    applicable: Iterable[Category],
    fixes: dict[str, str] | None = None,
) -> Score:
    """Score the (unsuppressed, non-notice) findings over the applicable categories.

    A category that has findings is applicable even if no file of its kind was seen.
    ``fixes`` maps rule ids to their generic fix sentence for the "fix these first" list.
    """
    scored = [f for f in findings if f.category in SCORED_CATEGORIES]
    areas = frozenset(applicable) | {f.category for f in scored}
    per_category, overall = _raw_scores(scored, areas)
    categories = tuple(
        CategoryScore(
            category,
            applicable=category in per_category,
            score=_round(per_category[category][0]) if category in per_category else None,
            deductions=per_category[category][1] if category in per_category else (),
        )
        for category in SCORED_CATEGORIES
    )
    if overall is None:
        return Score(overall=None, grade=None, categories=categories)
    overall_int = _round(overall)
    return Score(
        overall=overall_int,
        grade=grade(overall_int),
        categories=categories,
        top_fixes=_top_fixes(scored, areas, overall_int, fixes or {}),
    )


def _top_fixes(
    findings: list[Finding], areas: frozenset[Category], current: int, fixes: dict[str, str]
) -> tuple[RuleGain, ...]:
    by_rule: dict[tuple[str, str], int] = defaultdict(int)
    for finding in findings:
        by_rule[(finding.rule_id, finding.rule_name)] += 1
    gains = []
    for (rule_id, name), count in by_rule.items():
        rest = [f for f in findings if f.rule_id != rule_id]
        _, without = _raw_scores(rest, areas)
        points = _round(without or 0.0) - current
        if points > 0:
            gains.append(RuleGain(rule_id, name, count, points, fixes.get(rule_id, "")))
    gains.sort(key=lambda g: (-g.points, g.rule_id))
    return tuple(gains[:TOP_FIXES])

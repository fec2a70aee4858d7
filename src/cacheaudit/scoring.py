"""Install map + findings → Score. Deterministic, explainable, monotonic.

The score measures what cacheaudit exists for: the share of the repository's registry downloads
that an effective cache serves. Per pipeline run, each install site downloads
``runs_per_pipeline × packages``; coverage is the cached share of that traffic.

    score = 100 × (0.4 + 0.6 × coverage) − hygiene        (an area or repository with installs)
    score = 100 − min(hygiene_raw, 60)                     (no install site: hygiene alone)

``hygiene_raw`` sums, per rule that is *not* a coverage rule (``COVERAGE_RULES``:
those findings are already counted through the sites they leave uncached), ``base × Σ wᵢ/i``
with base 10 (error), 4 (warning), 1 (info) and the finding weights in descending order: the
first occurrence costs full price, the second half, the third a third. ``hygiene`` is
``hygiene_raw`` capped at 10 points, or 30 when an error-severity hygiene finding remains.

So a repository that caches nothing scores at most 40 (F); one that caches everything and has no
error scores at least 90 (A); caching one more site or fixing any finding never lowers the score
(coverage only grows, hygiene and its cap only shrink); suppressions and baselines hide findings
but never change coverage. Per-area scores (CI, Docker, dependencies) apply the same formula to
the area's own sites and findings.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence

from cacheaudit.model import (
    SCORED_CATEGORIES,
    CacheState,
    Category,
    CategoryScore,
    Coverage,
    Deduction,
    Finding,
    InstallSite,
    Report,
    RuleGain,
    Score,
    Severity,
)

HYGIENE_BASE: dict[Severity, float] = {
    Severity.ERROR: 10.0,
    Severity.WARNING: 4.0,
    Severity.INFO: 1.0,
}
COVERAGE_FLOOR = 40.0
"""What a repository whose installs are all uncached can score at best."""
HYGIENE_CAP = 10.0
HYGIENE_CAP_WITH_ERRORS = 30.0
NO_SITE_CAP = 60.0
"""Without install sites, hygiene alone never takes a repository below 40."""
GRADES: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))
TOP_FIXES = 5

COVERAGE_RULES: frozenset[str] = frozenset(
    {
        "CA101",  # GitHub install without a cache
        "CA104",  # pip cache defeated by a flag
        "CA109",  # cache action version that no longer restores or saves
        "CA201",  # GitLab install without a cache
        "CA202",  # GitLab cache outside the project, or not where the tool writes
        "CA206",  # GitLab pip cache defeated by a flag
        "CA301",  # Dockerfile install without a cache mount
        "CA302",  # cache mount defeated
        "CA304",  # cache mount on the wrong target
        "CA308",  # apt downloads not cached
    }
)
"""Rules whose findings mean "these downloads are not served from cache". They are scored
through coverage (the install map), not again as hygiene; fixing one moves its sites' downloads
into cache."""

PLATFORM_CATEGORY: dict[str, Category] = {
    "github-actions": Category.CI,
    "gitlab-ci": Category.CI,
    "dockerfile": Category.DOCKER,
}


UNSCORED_TOOLS: frozenset[str] = frozenset({"apk"})
"""Tools recorded in the install map but left out of coverage: ``apk add --no-cache`` is
Alpine's recommended idiom and no rule asks for an apk cache, so counting it would lower the
score with nothing to fix."""


def scored_sites(sites: Iterable[InstallSite]) -> list[InstallSite]:
    return [s for s in sites if s.tool not in UNSCORED_TOOLS]


def downloads(site: InstallSite) -> int:
    """Package downloads per pipeline run from this site."""
    return site.runs_per_pipeline * max(1, site.packages or 1)


def rule_cost(severity: Severity, weights: Iterable[float]) -> float:
    """Hygiene points one rule costs for findings with these weights."""
    ordered = sorted(weights, reverse=True)
    return HYGIENE_BASE[severity] * sum(w / i for i, w in enumerate(ordered, start=1))


def grade(score: int) -> str:
    return next(letter for floor, letter in GRADES if score >= floor)


def _round(value: float) -> int:
    return int(value + 0.5)  # half up, monotone; scores are never negative


def is_hygiene(finding: Finding) -> bool:
    return finding.category in SCORED_CATEGORIES and finding.rule_id not in COVERAGE_RULES


def coverage(sites: Sequence[InstallSite]) -> Coverage | None:
    """The cached share of the sites' downloads per pipeline run; None without sites."""
    if not sites:
        return None
    total = cached = unknown = fixable = 0
    broken = unknown_sites = cached_sites = 0
    known_bytes: int | None = None
    for site in sites:
        n = downloads(site)
        total += n
        state = site.cache_state
        if state is CacheState.EFFECTIVE:
            cached += n
            cached_sites += 1
        else:
            if site.explained_by:
                fixable += n
            if state is CacheState.UNKNOWN:
                unknown += n
                unknown_sites += 1
            elif state is CacheState.BROKEN:
                broken += 1
        if site.bytes is not None:
            known_bytes = (known_bytes or 0) + site.bytes * site.runs_per_pipeline
    return Coverage(
        sites=len(sites),
        cached_sites=cached_sites,
        broken_sites=broken,
        unknown_sites=unknown_sites,
        downloads=total,
        cached_downloads=cached,
        unknown_downloads=unknown,
        fixable_downloads=fixable,
        exact=all(s.packages_exact for s in sites),
        bytes_known=known_bytes,
    )


def _hygiene(findings: Sequence[Finding]) -> tuple[float, bool, tuple[Deduction, ...]]:
    """(raw points, any error, deductions) of the hygiene findings."""
    groups: dict[tuple[str, str, Severity], list[float]] = defaultdict(list)
    for finding in findings:
        groups[(finding.rule_id, finding.rule_name, finding.severity)].append(finding.weight)
    # Sorted so that float sums, and hence rounding, never depend on the order of findings.
    costs = sorted(
        (rule_id, name, len(weights), rule_cost(severity, weights))
        for (rule_id, name, severity), weights in groups.items()
    )
    deductions = [Deduction(rule_id, name, n, round(cost, 2)) for rule_id, name, n, cost in costs]
    deductions.sort(key=lambda d: (-d.points, d.rule_id))
    has_error = any(severity is Severity.ERROR for (_, _, severity) in groups)
    return sum(cost for *_, cost in costs), has_error, tuple(deductions)


def _value(cov: Coverage | None, hygiene_raw: float, has_error: bool) -> float:
    if cov is None:
        return max(0.0, 100.0 - min(hygiene_raw, NO_SITE_CAP))
    cap = HYGIENE_CAP_WITH_ERRORS if has_error else HYGIENE_CAP
    base = COVERAGE_FLOOR + (100.0 - COVERAGE_FLOOR) * cov.ratio
    return max(0.0, base - min(hygiene_raw, cap))


def _overall(
    hygiene_findings: Sequence[Finding], sites: Sequence[InstallSite], applicable: bool
) -> tuple[float | None, Coverage | None, float]:
    cov = coverage(sites)
    raw, has_error, _ = _hygiene(hygiene_findings)
    if cov is None and not applicable:
        return None, None, 0.0
    value = _value(cov, raw, has_error)
    cap = NO_SITE_CAP if cov is None else (HYGIENE_CAP_WITH_ERRORS if has_error else HYGIENE_CAP)
    return value, cov, min(raw, cap)


def score(
    findings: Iterable[Finding],
    applicable: Iterable[Category],
    fixes: dict[str, str] | None = None,
    *,
    sites: Iterable[InstallSite] = (),
    hidden: int = 0,
) -> Score:
    """Score the (unsuppressed, non-notice) findings and the install map.

    An area is applicable when a file of its kind was seen, it has findings, or it has sites.
    ``fixes`` maps rule ids to their generic fix sentence for the "fix these first" list;
    ``hidden`` is the number of findings suppressions and a baseline hide.
    """
    scored = [f for f in findings if f.category in SCORED_CATEGORIES]
    all_sites = scored_sites(sites)
    hygiene = [f for f in scored if is_hygiene(f)]
    sites_by_area: dict[Category, list[InstallSite]] = defaultdict(list)
    for site in all_sites:
        sites_by_area[PLATFORM_CATEGORY.get(site.platform, Category.CI)].append(site)
    areas = frozenset(applicable) | {f.category for f in scored} | set(sites_by_area)
    categories = []
    for category in SCORED_CATEGORIES:
        if category not in areas:
            categories.append(CategoryScore(category, applicable=False, score=None))
            continue
        area_findings = [f for f in hygiene if f.category is category]
        cov = coverage(sites_by_area.get(category, []))
        raw, has_error, deductions = _hygiene(area_findings)
        categories.append(
            CategoryScore(
                category,
                applicable=True,
                score=_round(_value(cov, raw, has_error)),
                deductions=deductions,
                coverage=cov,
            )
        )
    overall, cov, penalty = _overall(hygiene, all_sites, bool(areas))
    if overall is None:
        return Score(overall=None, grade=None, categories=tuple(categories), hidden_findings=hidden)
    overall_int = _round(overall)
    return Score(
        overall=overall_int,
        grade=grade(overall_int),
        categories=tuple(categories),
        top_fixes=_top_fixes(scored, hygiene, all_sites, overall_int, fixes or {}),
        coverage=cov,
        hygiene_penalty=round(penalty, 2),
        hidden_findings=hidden,
    )


def _top_fixes(
    scored: Sequence[Finding],
    hygiene: Sequence[Finding],
    sites: Sequence[InstallSite],
    current: int,
    fixes: dict[str, str],
) -> tuple[RuleGain, ...]:
    """Rules ranked by the downloads their fixes would move into cache, then by points."""
    count: dict[tuple[str, str], int] = defaultdict(int)
    for finding in scored:
        count[(finding.rule_id, finding.rule_name)] += 1
    gains = []
    for (rule_id, name), n in count.items():
        if rule_id in COVERAGE_RULES:
            moved = {
                i
                for i, s in enumerate(sites)
                if rule_id in s.explained_by and s.cache_state is not CacheState.EFFECTIVE
            }
            fixed_sites = [
                dataclasses.replace(s, cache=CacheState.EFFECTIVE) if i in moved else s
                for i, s in enumerate(sites)
            ]
            moved_downloads = sum(downloads(sites[i]) for i in moved)
            after, _, _ = _overall(hygiene, fixed_sites, True)
        else:
            moved_downloads = 0
            after, _, _ = _overall([f for f in hygiene if f.rule_id != rule_id], sites, True)
        points = _round(after or 0.0) - current
        if points > 0 or moved_downloads > 0:
            gains.append(
                RuleGain(rule_id, name, n, max(points, 0), fixes.get(rule_id, ""), moved_downloads)
            )
    gains.sort(key=lambda g: (-g.downloads, -g.points, g.rule_id))
    return tuple(gains[:TOP_FIXES])


def percent(ratio: float) -> int:
    """Whole percent, rounded down: never claim more cache than there is."""
    return int(ratio * 100 + 1e-9)


def impact_line(report: Report) -> str:
    """One sentence on the traffic: downloads per pipeline run, the cached share, and what
    fixing the coverage findings would reach. Estimates are marked ``≥``."""
    cov = report.score.coverage
    if cov is None:
        return (
            "No registry installs found: download coverage does not apply; the score comes from "
            "the other findings alone."
        )
    bound = "" if cov.exact else "≥ "
    noun = "download" if cov.downloads == 1 else "downloads"
    size = ""
    if cov.bytes_known:
        size = f" (≥ {cov.bytes_known / 1_000_000:,.0f} MB known from lock files)"
    text = (
        f"Per pipeline run: {bound}{cov.downloads:,} package {noun}{size}; "
        f"{percent(cov.ratio)}% served from cache"
    )
    if cov.unknown_downloads:
        text += f", {percent(cov.unknown_downloads / cov.downloads)}% of unknown cache state"
    fixing = sum(1 for f in report.findings if f.rule_id in COVERAGE_RULES)
    if cov.fixable_downloads and fixing:
        what = "the finding" if fixing == 1 else f"the {fixing} coverage findings"
        text += f". Fixing {what} below would cache {percent(cov.ratio_if_fixed)}%"
    return text + "."

"""Scoring properties: the score follows the cached share of registry traffic, hygiene findings
adjust it within a bounded margin, it is monotonic and order-free, and the README's worked example
is what the code computes."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.model import CacheState, Category, Finding, InstallSite, Location, Report, Score
from cacheaudit.report import json as json_report
from cacheaudit.rules import RULES
from cacheaudit.scoring import (
    COVERAGE_RULES,
    grade,
    impact_line,
    rule_cost,
    score,
)
from tests.conftest import FIXTURES, run_audit

ALL_AREAS = (Category.CI, Category.DOCKER, Category.DEPENDENCIES)
SCORED = sorted(r for r in RULES if not r.startswith("CA0"))
HYGIENE = [r for r in SCORED if r not in COVERAGE_RULES]
README = Path(__file__).parents[1] / "README.md"


def make(rule: str, n: int = 0, weight: float = 1.0, path: str | None = None) -> Finding:
    return RULES[rule].finding(
        Location(path or f"f{n}.yml", n + 1), f"{rule} #{n}", subject=str(n), weight=weight
    )


def site(
    n: int,
    *,
    state: CacheState,
    packages: int = 10,
    runs: int = 1,
    platform: str = "github-actions",
    explained_by: tuple[str, ...] = (),
) -> InstallSite:
    return InstallSite(
        Location(f"s{n}.yml", n + 1),
        platform,
        f"workflow s{n}.yml / job j{n} / step 1",
        "pip",
        "pip install -r requirements.txt",
        cache=state,
        runs_per_pipeline=runs,
        packages=packages,
        packages_exact=True,
        explained_by=explained_by,
    )


states = st.sampled_from(list(CacheState))
sites_strategy = st.lists(
    st.tuples(
        states,
        st.integers(1, 300),
        st.integers(1, 12),
        st.sampled_from(["github-actions", "gitlab-ci", "dockerfile"]),
    ),
    max_size=12,
).map(
    lambda rows: [
        site(i, state=s, packages=p, runs=r, platform=pl) for i, (s, p, r, pl) in enumerate(rows)
    ]
)
findings_strategy = st.lists(
    st.tuples(st.sampled_from(SCORED), st.sampled_from([1.0, 0.5])), max_size=30
).map(lambda pairs: [make(rule, i, w) for i, (rule, w) in enumerate(pairs)])


# --- the properties the issue asks for -------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(sites_strategy.filter(bool), findings_strategy)
def test_nothing_effectively_cached_scores_at_most_40(
    sites: list[InstallSite], findings: list[Finding]
) -> None:
    uncached = [
        dataclasses.replace(s, cache=CacheState.MISSING) if s.cache is CacheState.EFFECTIVE else s
        for s in sites
    ]
    result = score(findings, ALL_AREAS, sites=uncached)
    assert result.overall is not None and result.overall <= 40
    assert result.grade == "F"


@settings(max_examples=200, deadline=None)
@given(sites_strategy.filter(bool), findings_strategy)
def test_everything_cached_without_errors_scores_at_least_90(
    sites: list[InstallSite], findings: list[Finding]
) -> None:
    cached = [dataclasses.replace(s, cache=CacheState.EFFECTIVE) for s in sites]
    no_errors = [f for f in findings if f.severity.value != "error"]
    result = score(no_errors, ALL_AREAS, sites=cached)
    assert result.overall is not None and result.overall >= 90


@settings(max_examples=200, deadline=None)
@given(sites_strategy.filter(bool), findings_strategy, st.data())
def test_caching_one_more_site_never_lowers_the_score(
    sites: list[InstallSite], findings: list[Finding], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(sites) - 1))
    better = sites[:]
    better[index] = dataclasses.replace(sites[index], cache=CacheState.EFFECTIVE)
    before, after = (
        score(findings, ALL_AREAS, sites=sites),
        score(findings, ALL_AREAS, sites=better),
    )
    _never_lower(before, after)


@settings(max_examples=200, deadline=None)
@given(sites_strategy, findings_strategy, st.data())
def test_fixing_any_finding_never_lowers_the_score(
    sites: list[InstallSite], findings: list[Finding], data: st.DataObject
) -> None:
    if not findings:
        return
    index = data.draw(st.integers(0, len(findings) - 1))
    before = score(findings, ALL_AREAS, sites=sites)
    after = score(findings[:index] + findings[index + 1 :], ALL_AREAS, sites=sites)
    _never_lower(before, after)


def _never_lower(before: Score, after: Score) -> None:
    assert before.overall is not None and after.overall is not None
    assert after.overall >= before.overall
    for cat_before, cat_after in zip(before.categories, after.categories, strict=True):
        assert (cat_after.score or 0) >= (cat_before.score or 0)


@settings(max_examples=100, deadline=None)
@given(sites_strategy, findings_strategy)
def test_order_of_sites_and_findings_never_changes_the_score(
    sites: list[InstallSite], findings: list[Finding]
) -> None:
    shuffled_sites, shuffled_findings = sites[:], findings[:]
    random.Random(7).shuffle(shuffled_sites)
    random.Random(11).shuffle(shuffled_findings)
    assert score(findings, ALL_AREAS, sites=sites) == score(
        shuffled_findings, ALL_AREAS, sites=shuffled_sites
    )


def test_no_install_site_means_no_coverage_and_no_free_100() -> None:
    # Coverage does not apply: the score is the hygiene findings alone, bounded below at 40.
    clean = score([], [Category.DEPENDENCIES])
    assert clean.coverage is None and clean.overall == 100
    every = [make(rule, 100 * i + j) for i, rule in enumerate(HYGIENE) for j in range(3)]
    dirty = score(every, [Category.DEPENDENCIES])
    assert dirty.coverage is None and dirty.overall == 40
    nothing = score([], [])
    assert nothing.overall is None and nothing.grade is None


def test_hygiene_margin_is_bounded_and_errors_widen_it() -> None:
    cached = [site(0, state=CacheState.EFFECTIVE)]
    many_warnings = [
        make(r, i) for i, r in enumerate(HYGIENE) if RULES[r].severity.value != "error"
    ]
    assert score(many_warnings, ALL_AREAS, sites=cached).overall == 90
    one_error = [make("CA102", 99)]
    assert score(one_error, ALL_AREAS, sites=cached).overall == 90  # 100 - 10
    errors = [make("CA102", 99), make("CA103", 98), make("CA106", 97)]
    assert score(errors, ALL_AREAS, sites=cached).overall == 70  # 30 points at most


def test_coverage_findings_are_not_counted_twice() -> None:
    uncached = [site(0, state=CacheState.MISSING, explained_by=("CA101",))]
    with_finding = score([make("CA101", 0, path="s0.yml")], ALL_AREAS, sites=uncached)
    without = score([], ALL_AREAS, sites=uncached)
    assert with_finding.overall == without.overall == 40


def test_traffic_weighting_follows_runs_and_packages() -> None:
    big_uncached = site(0, state=CacheState.MISSING, packages=100, runs=6)
    small_cached = site(1, state=CacheState.EFFECTIVE, packages=5)
    result = score([], ALL_AREAS, sites=[big_uncached, small_cached])
    assert result.coverage is not None
    assert (result.coverage.downloads, result.coverage.cached_downloads) == (605, 5)
    assert result.overall == 40  # 40 + 60 × 5/605 = 40.5 → 40 (half up: 40.496)


def test_unknown_sites_count_as_not_cached_and_are_said() -> None:
    result = score(
        [],
        ALL_AREAS,
        sites=[site(0, state=CacheState.UNKNOWN), site(1, state=CacheState.EFFECTIVE)],
    )
    assert result.coverage is not None
    assert result.coverage.unknown_downloads == 10
    assert result.overall == 70


def test_rule_cost_is_harmonic() -> None:
    assert rule_cost(RULES["CA303"].severity, [1.0]) == 4.0
    assert rule_cost(RULES["CA303"].severity, [1.0, 1.0, 1.0]) == 4.0 * (1 + 1 / 2 + 1 / 3)
    assert rule_cost(RULES["CA303"].severity, [0.5, 1.0]) == 4.0 * (1 + 0.5 / 2)


def test_grades() -> None:
    assert [grade(s) for s in (100, 90, 89, 80, 70, 60, 59, 0)] == list("AABBCDFF")


def test_finding_fingerprint_ignores_line_numbers() -> None:
    a = RULES["CA101"].finding(Location("ci.yml", 3), "m", subject="job test / step 2")
    b = RULES["CA101"].finding(Location("ci.yml", 30), "m", subject="job test / step 2")
    c = RULES["CA101"].finding(Location("ci.yml", 3), "m", subject="job lint / step 2")
    assert a.fingerprint == b.fingerprint != c.fingerprint


# --- the README's worked example ----------------------------------------------------------


def worked_example() -> tuple[Score, Report]:
    """README "Scoring": job `test` runs on 3 Pythons × 2 systems and installs 40 pinned
    packages with no cache (CA101); job `lint` installs 10 with `cache: pip`; the Dockerfile,
    built once per pipeline, installs 30 with a cache mount but copies the tree first (CA303,
    warning); one cache key has no restore-keys (CA113, info)."""
    test = dataclasses.replace(
        site(0, state=CacheState.MISSING, packages=40, runs=6), explained_by=("CA101",)
    )
    lint = site(1, state=CacheState.EFFECTIVE, packages=10)
    image = site(2, state=CacheState.EFFECTIVE, packages=30, platform="dockerfile")
    findings = [make("CA101", 0, path="s0.yml"), make("CA303", 2), make("CA113", 1)]
    result = score(findings, ALL_AREAS, {"CA101": "cache it"}, sites=[test, lint, image])
    report = Report(
        root="/repo",
        version="0",
        findings=tuple(findings),
        suppressed=(),
        notices=(),
        score=result,
        installs=(test, lint, image),
        files_audited=(),
    )
    return result, report


def test_worked_example_from_the_readme() -> None:
    result, report = worked_example()
    ci, docker, deps = result.categories
    assert result.coverage is not None
    assert (result.coverage.downloads, result.coverage.cached_downloads) == (280, 40)
    assert result.overall == 44  # 40 + 60 × 40/280 − (4 + 1) = 43.57
    assert result.grade == "F"
    assert ci.score == 41  # 40 + 60 × 10/250 − 1 = 41.4
    assert docker.score == 96  # 40 + 60 × 1 − 4
    assert deps.score == 100
    assert [(g.rule_id, g.downloads, g.points) for g in result.top_fixes] == [
        ("CA101", 240, 51),
        ("CA303", 0, 4),
        ("CA113", 0, 1),
    ]
    line = impact_line(report)
    assert line == (
        "Per pipeline run: 280 package downloads; 14% served from cache. "
        "Fixing the finding below would cache 100%."
    )
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("## Scoring") :]
    assert line in section
    assert re.search(r"\*\*44 \(F\)\*\*", section)
    assert "CA101 (+240 downloads, +51)" in section


# --- at the audit level -------------------------------------------------------------------


def test_baseline_hides_findings_but_not_the_uncached_sites(tmp_path: Path) -> None:
    fixture = FIXTURES / "github" / "ca101-pip-matrix"
    before = run_audit(fixture)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json_report.render(before), encoding="utf-8")
    after = run_audit(fixture, baseline=baseline)
    assert before.findings and not after.findings
    assert after.score.coverage == before.score.coverage
    assert after.score.coverage is not None and after.score.coverage.ratio < 1
    assert after.score.hidden_findings == len(before.findings)
    assert after.score.overall is not None and after.score.overall < 90


def test_install_map_in_json_report() -> None:
    report = run_audit(FIXTURES / "deps" / "uv-lock-pip-install-gitlab")
    data = json.loads(json_report.render(report))
    assert data["schema_version"] == 2
    (install,) = data["installs"]
    assert install["command"] == "pip install -e . --group test"
    assert install["cache"] == "effective" and install["cached"] is True
    assert install["runs_per_pipeline"] == 1
    # pyproject.toml's main dependencies plus the `test` group, direct ones only: a lower bound.
    assert install["packages"] == 4 and install["packages_exact"] is False
    assert install["downloads_per_pipeline"] == 4
    assert data["score"]["coverage"]["ratio"] == 1.0
    assert data["summary"]["install_sites"] == 1
    assert data["summary"]["cached_install_sites"] == 1

"""The data model shared by every stage: plain frozen dataclasses, no behaviour beyond helpers.

Findings are only ever built through :meth:`cacheaudit.rules.Rule.finding`, which stamps the
rule's metadata and computes the stable fingerprint.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    """How bad a finding is. ``error``: caching is broken or the job fails; ``warning``: a real,
    repeated waste; ``info``: a smaller gain."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and ``--fail-on``."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Category(str, enum.Enum):
    """The scored areas, plus ``notice`` for tool notices (CA0xx), which are never scored."""

    CI = "ci"
    DOCKER = "docker"
    DEPENDENCIES = "dependencies"
    NOTICE = "notice"


SCORED_CATEGORIES: tuple[Category, ...] = (Category.CI, Category.DOCKER, Category.DEPENDENCIES)


@dataclass(frozen=True, order=True)
class Location:
    """Where a finding points."""

    path: str
    """Path relative to the audited root, with ``/`` separators."""
    line: int
    """1-based line number (0 when the whole file is meant, e.g. an unreadable file)."""
    column: int | None = None
    """1-based column where known."""
    end_line: int | None = None
    """Last line of the region, when it spans several lines."""


@dataclass(frozen=True)
class Edit:
    """A precise replacement of whole lines in one file, computed from parsed positions.

    Text is in ``\n`` form, as the analyzers read it; ``cacheaudit fix`` writes it back in the
    file's own line endings and leaves every byte outside the replaced lines unchanged."""

    path: str
    """File to edit, relative to the audited root, ``/``-separated."""
    start_line: int
    """First line replaced (1-based)."""
    end_line: int
    """Last line replaced; ``start_line - 1`` for a pure insertion before ``start_line``."""
    replacement: str
    """The new lines, each ending in ``\n``; empty to delete the lines."""
    original: str
    """The replaced lines as audited (each ending in ``\n`` except a last line without one);
    the edit is refused when the file no longer has them."""


class FixKind(str, enum.Enum):
    """``edit``: cacheaudit can apply the fix (``cacheaudit fix``); ``advice``: a person decides."""

    EDIT = "edit"
    ADVICE = "advice"


@dataclass(frozen=True)
class LineEdit:
    """An analyzer's edit of the finding's own file: replace lines ``start_line``..``end_line``
    (1-based, inclusive) with ``text`` (its lines, no final newline; empty deletes them).
    :func:`cacheaudit.fix.attach_edits` turns it into an :class:`Edit`."""

    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A concrete remedy: edits cacheaudit can apply, or advice a person applies."""

    description: str
    """One sentence: what to change."""
    snippet: str = ""
    """The text to paste (YAML lines, a rewritten RUN instruction, ...); may be empty. For an
    edit it is the preview; for advice, the suggestion."""
    edits: tuple[Edit, ...] = ()
    """The edits that apply the fix; empty for advice."""
    safe: bool = True
    """False when the edits need judgement (applied only with ``--unsafe-fixes``)."""
    line_edits: tuple[LineEdit, ...] = ()
    """Edits of the finding's own file as the analyzer computed them, non-overlapping: applied
    together they resolve the finding without raising another. The audit turns them into
    ``edits``."""

    @property
    def kind(self) -> FixKind:
        return FixKind.EDIT if self.edits or self.line_edits else FixKind.ADVICE


@dataclass(frozen=True)
class Finding:
    """One problem found in one place. Build with ``Rule.finding``, never directly."""

    rule_id: str
    """``CA`` plus three digits."""
    rule_name: str
    """Kebab-case name of the rule."""
    severity: Severity
    category: Category
    location: Location
    message: str
    """Names the exact job/step/instruction/package concerned."""
    subject: str
    """Identity of what is flagged (``job test / step 3``, ``stage builder / RUN #2``), stable under
    line moves; part of the fingerprint."""
    fingerprint: str
    """Stable hash of rule, path and subject (not the line), for baselines and SARIF."""
    fix: Fix | None = None
    weight: float = 1.0
    """Multiplier on the rule's penalty; below 1 for a lesser form of the problem."""
    security: bool = False
    """True for rules about cache poisoning and trust rather than waste."""

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.path, loc.line, loc.column or 0, self.rule_id, self.message)


@dataclass(frozen=True)
class SuppressedFinding:
    """A finding that was found but not counted, and why."""

    finding: Finding
    reason: str
    """``inline``, ``file``, ``config`` or ``baseline``."""


class CacheState(str, enum.Enum):
    """Whether an install site's downloads are served from a cache on the next run."""

    EFFECTIVE = "effective"
    """A cache covers the tool's download cache and is restored and saved as configured."""
    MISSING = "missing"
    """Nothing caches these downloads."""
    BROKEN = "broken"
    """A cache is configured but never helps: never restored or saved, a key that never hits,
    a path the tool does not write, defeated by a flag, outside ``$CI_PROJECT_DIR``, not
    writable by the ``USER``…"""
    UNKNOWN = "unknown"
    """Cannot be told from the repository (expression paths, undocumented actions…)."""


@dataclass(frozen=True)
class InstallSite:
    """One place that downloads packages from a registry: a workflow step, a GitLab job, a
    Dockerfile RUN, a composite action step. The install map is the list of these; the score is
    computed from it."""

    location: Location
    platform: str
    """``github-actions``, ``gitlab-ci`` or ``dockerfile``."""
    context: str
    """Human identity: ``workflow ci.yml / job test / step 3``."""
    tool: str
    """``pip``, ``uv``, ``poetry``, ``pipenv``, ``pdm``, ``conda``, ``npm``, ``yarn``, ``pnpm``,
    ``apt``, ``apk``..."""
    command: str
    """The install command as written (whitespace folded)."""
    inputs: tuple[str, ...] = ()
    """Files it installs from, relative to the root (requirements, lock, pyproject)."""
    cached: bool | None = None
    """Whether a cache covers this tool's downloads; None when it cannot be known. The coarse
    answer; ``cache`` refines it."""
    cache_key_inputs: tuple[str, ...] = ()
    """Files or glob patterns the covering cache's key hashes."""
    cache: CacheState | None = None
    """The cache state; None means derive it from ``cached`` (True → effective, False →
    missing, None → unknown). Analyzers set ``BROKEN`` where a cache is configured but defeated."""
    cache_reason: str = ""
    """One line: why the state is what it is (expected for broken and unknown)."""
    explained_by: tuple[str, ...] = ()
    """Rule ids of the findings at this site that explain its state (filled by the audit)."""
    runs_per_pipeline: int = 1
    """How many times the site runs per pipeline: matrix size, ``parallel:``, image builds."""
    runs_note: str = ""
    """How ``runs_per_pipeline`` was counted (``matrix 3×4``, ``matrix from an expression:
    counted once``)."""
    packages: int | None = None
    """Packages one run downloads (filled by the audit from lock and requirements files)."""
    packages_exact: bool = False
    """True when ``packages`` comes from a lock file or a fully pinned requirements set."""
    packages_source: str = ""
    """How ``packages`` was counted (``uv.lock (groups: dev)``, ``3 named on the command line``)."""
    bytes: int | None = None
    """Bytes one run downloads where the lock file records sizes; never invented."""

    @property
    def cache_state(self) -> CacheState:
        if self.cache is not None:
            return self.cache
        if self.cached is None:
            return CacheState.UNKNOWN
        return CacheState.EFFECTIVE if self.cached else CacheState.MISSING


@dataclass(frozen=True)
class ImageBuild:
    """A container image build in CI (``docker/build-push-action``, ``docker build``, kaniko):
    every Dockerfile install runs once per build of that Dockerfile."""

    location: Location
    platform: str
    context: str
    """``workflow ci.yml / job image / step 4``."""
    dockerfile: str | None
    """The Dockerfile built, relative to the root; None when it cannot be told."""
    runs_per_pipeline: int = 1
    """Matrix size or ``parallel:`` of the building job."""


@dataclass(frozen=True)
class Analysis:
    """What one analyzer returns for one file."""

    findings: list[Finding] = field(default_factory=list)
    installs: list[InstallSite] = field(default_factory=list)
    builds: list[ImageBuild] = field(default_factory=list)


@dataclass(frozen=True)
class Deduction:
    """Points one hygiene rule cost one area."""

    rule_id: str
    rule_name: str
    count: int
    points: float


@dataclass(frozen=True)
class Coverage:
    """How much of the registry traffic of a set of install sites is served from cache, per
    pipeline run. Downloads are ``runs_per_pipeline × packages`` summed over the sites."""

    sites: int
    cached_sites: int
    """Sites whose cache is effective."""
    broken_sites: int
    unknown_sites: int
    downloads: int
    cached_downloads: int
    unknown_downloads: int
    """Downloads of sites whose cache state cannot be told (counted as not cached)."""
    fixable_downloads: int
    """Downloads of not-cached sites that the reported findings would move into cache."""
    exact: bool
    """True when every site's package count is exact (from a lock or fully pinned file)."""
    bytes_known: int | None
    """Bytes per run summed over the sites whose lock file records sizes; None when none do."""

    @property
    def ratio(self) -> float:
        return self.cached_downloads / self.downloads if self.downloads else 0.0

    @property
    def ratio_if_fixed(self) -> float:
        if not self.downloads:
            return 0.0
        return (self.cached_downloads + self.fixable_downloads) / self.downloads


@dataclass(frozen=True)
class CategoryScore:
    category: Category
    applicable: bool
    """False when the repository has nothing of this kind: shown as n/a, never a free 100."""
    score: int | None
    deductions: tuple[Deduction, ...] = ()
    coverage: Coverage | None = None
    """None when the area has no install site (then it is scored on hygiene alone)."""


@dataclass(frozen=True)
class RuleGain:
    """What fixing every finding of one rule would win: downloads moved into cache per run, and
    overall points."""

    rule_id: str
    rule_name: str
    count: int
    points: int
    fix: str
    """The rule's generic fix sentence."""
    downloads: int = 0
    """Package downloads per pipeline run that would be served from cache."""


@dataclass(frozen=True)
class Score:
    overall: int | None
    """0–100, None when nothing was applicable."""
    grade: str | None
    categories: tuple[CategoryScore, ...]
    top_fixes: tuple[RuleGain, ...] = ()
    coverage: Coverage | None = None
    """Over every install site; None when the repository has none."""
    hygiene_penalty: float = 0.0
    """Points the non-coverage findings took off the overall score."""
    hidden_findings: int = 0
    """Findings that suppressions or a baseline hide (they never change coverage)."""


@dataclass(frozen=True)
class Report:
    """The result of one run: the only input of every output format."""

    root: str
    """The audited root as given (absolute path)."""
    version: str
    findings: tuple[Finding, ...]
    suppressed: tuple[SuppressedFinding, ...]
    notices: tuple[Finding, ...]
    score: Score
    installs: tuple[InstallSite, ...]
    files_audited: tuple[str, ...]
    """Paths of the files that were analyzed (relative)."""
    builds: tuple[ImageBuild, ...] = ()
    """Container image builds found in CI."""
    exit_code: int = 0
    """Set by the threshold check; carried so formats such as SARIF can record it."""
    config_file: str | None = None
    """The configuration file that applied (absolute path), None when none was found."""

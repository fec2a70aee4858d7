"""The pipeline: discover → parse/analyze → suppress → score → Report. Pure apart from reading
the tree; the CLI renders the Report and turns it into an exit code."""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path

from cacheaudit import __version__
from cacheaudit.analyzers import ANALYZERS, WHOLE_REPO_ANALYZERS, file_analyzer, repo_analyzer
from cacheaudit.config import Config
from cacheaudit.discovery import Discovery, FileKind, SourceFile, discover_for
from cacheaudit.errors import UsageError
from cacheaudit.fix import attach_edits
from cacheaudit.model import Analysis, Category, Finding, Location, Report
from cacheaudit.repo import LazyRepoContext, RepoContext
from cacheaudit.rules import DEFAULT_RULE_IDS, RULES
from cacheaudit.scoring import percent, score
from cacheaudit.suppress import load_baseline, misplaced_markers, suppress, unknown_rule_notices

KIND_CATEGORIES: dict[FileKind, Category] = {
    FileKind.WORKFLOW: Category.CI,
    FileKind.COMPOSITE_ACTION: Category.CI,
    FileKind.GITLAB_CI: Category.CI,
    FileKind.DOCKERFILE: Category.DOCKER,
    FileKind.REQUIREMENTS: Category.DEPENDENCIES,
    FileKind.PYPROJECT: Category.DEPENDENCIES,
    FileKind.PIPFILE: Category.DEPENDENCIES,
    FileKind.LOCKFILE: Category.DEPENDENCIES,
}
"""Which files make an area applicable. package.json and setup.py alone do not: cacheaudit has
nothing to say about them without an install that uses them."""


def resolve_targets(paths: Sequence[Path], cwd: Path) -> tuple[Path, tuple[str, ...]]:
    """The root to audit and the files to report on.

    One directory: it is the root, everything is reported. Files (as pre-commit passes them):
    the enclosing repository (nearest ``.git``) or else the current directory is the root, so
    cross-file rules see the whole repository, but only those files are reported.
    """
    if not paths:
        paths = [cwd]
    for path in paths:
        if not path.exists():
            raise UsageError(f"path does not exist: {path}")
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0].resolve(), ()
    first = paths[0].resolve()
    root = _repository_root(first if first.is_dir() else first.parent) or cwd.resolve()
    targets = []
    for path in paths:
        full = path.resolve()
        if not full.is_relative_to(root):
            raise UsageError(f"{path} is outside the repository root {root}")
        targets.append(full.relative_to(root).as_posix())
    return root, tuple("" if t == "." else t for t in targets)


def _repository_root(start: Path) -> Path | None:
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _reported_files(ctx: RepoContext, targets: tuple[str, ...]) -> list[SourceFile]:
    """The audited files the report covers, in path order (a lazy context reads only these)."""
    if isinstance(ctx, LazyRepoContext):
        named = sorted(set(targets))
        return [f for t in named if ctx.kind_of(t) is not None and (f := ctx.file(t)) is not None]
    return [f for f in ctx.files if _in_targets(f.path, targets)]


def _in_targets(path: str, targets: tuple[str, ...]) -> bool:
    if not targets:
        return True
    return any(t == "" or path == t or path.startswith(t + "/") for t in targets)


def _internal_error(path: str, analyzer: str, exc: Exception) -> Finding:
    # A bug in one analyzer on one file must not lose the run: report it like a parse error.
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return RULES["CA001"].finding(
        Location(path, 1),
        f"internal error in the {analyzer} analyzer on {path}: "
        f"{type(exc).__name__}: {exc}{where} (please report this)",
        subject=f"internal-error:{analyzer}",
    )


PARALLEL_MIN_BYTES = 256 * 1024
"""Below this much text to analyze (workflows, GitLab files, Dockerfiles: the work is per byte of
YAML and shell, not per file) a worker pool costs more (fork, results sent back) than it saves."""
POOLED_KINDS = frozenset(
    {FileKind.WORKFLOW, FileKind.COMPOSITE_ACTION, FileKind.GITLAB_CI, FileKind.DOCKERFILE}
)
"""The kinds whose analysis a pool speeds up. Requirement and lock files are not counted: the
cross-file rules read them again in the parent, so a worker parsing them only doubles the work."""
MAX_WORKERS = 4

_worker_ctx: RepoContext | None = None
"""Set once in each pool worker by its initializer (inherited through fork, never pickled);
the parent process never sets it."""


def _analyze_group(ctx: RepoContext, paths: Sequence[str]) -> Analysis:
    """Run each file's analyzer; one failing file becomes a notice, never a lost run."""
    result = Analysis()
    for path in paths:
        source = ctx.file(path)
        analyzer = file_analyzer(source.kind) if source else None
        if source is None or analyzer is None:
            continue
        try:
            analysis = analyzer.analyze(ctx, source)
        except Exception as exc:
            result.findings.append(_internal_error(source.path, source.kind.value, exc))
            continue
        result.findings.extend(analysis.findings)
        result.installs.extend(analysis.installs)
        result.builds.extend(analysis.builds)
    return result


def _init_worker(ctx: RepoContext) -> None:
    global _worker_ctx
    _worker_ctx = ctx


Parsed = dict[str, bytes | None]
"""Lock files parsed ahead, as :func:`~cacheaudit.parsing.lockfiles.stored_toml` keeps them."""


def _run_unit(ctx: RepoContext, paths: Sequence[str], locks: bool) -> tuple[Analysis, Parsed]:
    """One unit of pooled work: analyse ``paths``, or (``locks``) parse those TOML lock files
    ahead for the cross-file rules and package counts, which read them after the analysis."""
    if not locks:
        return _analyze_group(ctx, paths), {}
    from cacheaudit.parsing.lockfiles import parse_toml_ahead

    return Analysis(), {path: parse_toml_ahead(ctx, path) for path in paths}


def _work(
    paths: Sequence[str], locks: bool
) -> tuple[Analysis, list[Finding], dict[str, str], Parsed]:
    assert _worker_ctx is not None
    before = len(_worker_ctx.notices)
    result, parsed = _run_unit(_worker_ctx, paths, locks)
    return result, _worker_ctx.notices[before:], _worker_ctx.read_digests(), parsed


def _groups(ctx: RepoContext) -> list[list[str]]:
    """Work units for the pool. A module that looks at all its files at once (the GitHub
    analyzer indexes every workflow on first use) gets one unit, so no worker repeats that
    work; per-file analyzers are split into chunks so two cores share them evenly."""
    by_module: dict[str, list[str]] = {}
    for source in ctx.files:
        module = ANALYZERS.get(source.kind)
        if module is not None:
            by_module.setdefault(module, []).append(source.path)
    groups: list[list[str]] = []
    size = {f.path: len(f.text) for f in ctx.files}
    total = sum(size[p] for paths in by_module.values() for p in paths)
    chunk = max(64 * 1024, total // 16)  # bytes of text per unit of work
    for module, paths in sorted(by_module.items()):
        if module in WHOLE_REPO_ANALYZERS:
            groups.append(paths)
            continue
        current: list[str] = []
        weight = 0
        for path in paths:
            current.append(path)
            weight += size[path]
            if weight >= chunk:
                groups.append(current)
                current, weight = [], 0
        if current:
            groups.append(current)
    # Heaviest first, so the pool ends evenly loaded; ties by first path: deterministic.
    groups.sort(key=lambda g: (-sum(size[p] for p in g), g[0]))
    return groups


def _worker_count() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _analyze_files(ctx: RepoContext, reads: dict[str, str] | None = None) -> Analysis:
    """Every per-file analyzer over every file: in this process for a small repository; for a
    large one, shared between this process and forked workers (one per other core)."""
    work = sum(len(f.text) for f in ctx.files if f.kind in POOLED_KINDS)
    workers = _worker_count()
    if work < PARALLEL_MIN_BYTES or workers < 2 or sys.platform != "linux":
        return _analyze_group(ctx, [f.path for f in ctx.files])
    groups = _groups(ctx)
    if len(groups) < 2:
        return _analyze_group(ctx, [f.path for f in ctx.files])
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    own = _own_share(ctx, groups, workers)
    units = [(group, False) for group in groups] + [(locks, True) for locks in _lock_units(ctx)]
    # The pool starts units in this order: the lock files first (their parse is memory freed
    # before a worker's analyses pile up), then the analysis groups, heaviest first; this
    # process takes unstarted ones from the end.
    pooled = list(range(len(groups), len(units)))
    pooled += [i for i in range(len(groups)) if i not in own]
    merged = Analysis()
    with ProcessPoolExecutor(
        max_workers=min(workers - 1, len(pooled)),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(ctx,),
    ) as pool:
        # Every pooled unit is submitted (and the workers forked) before this process starts
        # on its own share, so no worker inherits what it computes.
        futures = {i: pool.submit(_work, *units[i]) for i in pooled}
        here = {i: _analyze_here(ctx, *units[i]) for i in sorted(own)}
        # Then it takes, from the end, the units no worker has started: bytes are only a guess
        # at the work, so whichever side finishes first helps the other.
        for i in reversed(pooled):
            if not futures[i].cancel():
                break  # the pool starts units in order: every earlier one is started too
            here[i] = _analyze_here(ctx, *units[i])
        for i in range(len(units)):  # merged in unit order, wherever it ran: deterministic
            if i in here:
                result, notices = here[i]
            else:
                result, notices, worker_reads, parsed = futures[i].result()
                if reads is not None:
                    reads.update(worker_reads)
                _seed(ctx, parsed)
            merged.findings.extend(result.findings)
            merged.installs.extend(result.installs)
            merged.builds.extend(result.builds)
            ctx.notices.extend(notices)
    return merged


LOCK_UNITS = 6
"""Units the TOML lock files to parse ahead are split into, so both processes can share them."""


def _lock_units(ctx: RepoContext) -> list[list[str]]:
    """The TOML lock files (a uv.lock can be a megabyte: the longest serial step after the
    analysis was parsing them), in units of about equal bytes."""
    from cacheaudit.parsing.lockfiles import TOML_LOCKS

    locks = [
        f
        for f in ctx.files
        if f.kind is FileKind.LOCKFILE and f.path.rpartition("/")[2] in TOML_LOCKS
    ]
    chunk = sum(len(f.text) for f in locks) / LOCK_UNITS
    units: list[list[str]] = []
    current: list[str] = []
    weight = 0
    for lock in locks:
        current.append(lock.path)
        weight += len(lock.text)
        if weight >= chunk:
            units.append(current)
            current, weight = [], 0
    if current:
        units.append(current)
    return units


def _seed(ctx: RepoContext, parsed: Parsed) -> None:
    if parsed:
        from cacheaudit.parsing.lockfiles import seed_toml

        seed_toml(ctx, parsed)


def _own_share(ctx: RepoContext, groups: list[list[str]], workers: int) -> set[int]:
    """The groups this process analyses itself while the workers take the rest: the heaviest
    (the GitHub index, whose parsed workflows the fixes and cross-file rules read again here),
    then the lightest until it holds its share of the bytes. One process fewer than cores
    keeps the memory of the run down, and this process is otherwise idle until they finish."""
    size = {f.path: len(f.text) for f in ctx.files}
    weights = [sum(size[p] for p in group) for group in groups]
    share = sum(weights) / workers
    own, weight = {0}, weights[0]
    for i in range(len(groups) - 1, 1, -1):  # at least one group is left to the pool
        if weight >= share:
            break
        own.add(i)
        weight += weights[i]
    return own


def _analyze_here(
    ctx: RepoContext, paths: Sequence[str], locks: bool = False
) -> tuple[Analysis, list[Finding]]:
    """A unit run in this process, its notices taken out of ``ctx`` so that they are merged in
    unit order like a worker's."""
    before = len(ctx.notices)
    result, parsed = _run_unit(ctx, paths, locks)
    _seed(ctx, parsed)
    notices = ctx.notices[before:]
    del ctx.notices[before:]
    return result, notices


def audit(
    config: Config, *, found: Discovery | None = None, reads: dict[str, str] | None = None
) -> Report:
    """Run every stage for ``config`` and return the Report (exit code not yet decided).

    ``found``: the discovery of ``config.root`` when the caller already walked it (the result
    cache does); ``reads`` receives a content hash of every other file the run read (for the
    result cache), from this process and from pool workers."""
    ctx: RepoContext | None = None
    if found is None and config.targets and not FULL_AUDIT_ONLY:
        found, ctx, analysis = _analyze_named(config)
    if ctx is None or found is None:
        if found is None or found.unread:
            found = discover_for(config)
        ctx = RepoContext.from_discovery(config.root, found, config.max_file_bytes)
        analysis = _analyze_files(ctx, reads)
    raw, installs = analysis.findings, analysis.installs
    try:
        cross = repo_analyzer().analyze_repo(ctx, installs)
        raw.extend(cross.findings)
    except Exception as exc:
        raw.append(_internal_error(".", "cross-file", exc))
    raw.extend(config.notices)
    # What is located in files outside the targets is dropped below: a named-file run reads
    # only the targets for these per-file notices.
    reported = _reported_files(ctx, config.targets)
    raw.extend(
        n
        for f in reported
        if f.kind is FileKind.DOCKERFILE
        for n in misplaced_markers(f.path, f.text)
    )
    raw.extend(found.notices)
    if isinstance(ctx, LazyRepoContext):
        raw.extend(ctx.read_notices)
    raw.extend(ctx.notices)
    raw.extend(n for f in reported for n in unknown_rule_notices(f.path, f.text))

    # Excluded files exist (rules see them) but nothing in them is reported.
    in_scope = _dedupe(
        f
        for f in raw
        if _in_targets(f.location.path, config.targets) and f.location.path not in found.excluded
    )
    notices = sorted((f for f in in_scope if f.category is Category.NOTICE), key=_key)
    results = [
        _with_severity(f, config)
        for f in in_scope
        if f.category is not Category.NOTICE
        and f.rule_id in (DEFAULT_RULE_IDS if config.select is None else config.select)
    ]
    baseline = load_baseline(config.baseline) if config.baseline else frozenset()
    kept, suppressed = suppress(
        results,
        ctx.read_text,
        ignore=config.ignore,
        per_path_ignores=config.per_path_ignores,
        baseline=baseline,
    )
    kept.sort(key=_key)
    kept = attach_edits(ctx, kept)  # fixes that can be applied become edits
    suppressed.sort(key=lambda s: _key(s.finding))
    audited = tuple(f.path for f in reported)
    applicable = {KIND_CATEGORIES[f.kind] for f in reported if f.kind in KIND_CATEGORIES}
    fixes = {rule.id: rule.fix for rule in RULES.values()}
    from cacheaudit import installmap  # parsers (lock files): not needed to render a cache hit

    # Coverage is computed from every finding, suppressed or not: a suppression or a baseline
    # silences a finding but never makes an uncached site count as cached.
    sites = installmap.complete(
        ctx,
        [i for i in installs if _in_targets(i.location.path, config.targets)],
        analysis.builds,
        in_scope,
    )
    if reads is not None:
        reads.update(ctx.read_digests())
    return Report(
        root=str(config.root),
        version=__version__,
        findings=tuple(kept),
        suppressed=tuple(suppressed),
        notices=tuple(notices),
        score=score(kept, applicable, fixes, sites=sites, hidden=len(suppressed)),
        installs=tuple(sorted(sites, key=lambda i: (i.location, i.tool, i.command))),
        builds=tuple(
            sorted(
                (b for b in analysis.builds if _in_targets(b.location.path, config.targets)),
                key=lambda b: (b.location, b.context, b.dockerfile or ""),
            )
        ),
        files_audited=audited,
        config_file=str(config.config_file) if config.config_file else None,
    )


FULL_AUDIT_ONLY = False
"""Always walk, read and analyse the whole tree, even for named files (tests compare both)."""


def _analyze_named(config: Config) -> tuple[Discovery, RepoContext | None, Analysis]:
    """A run on named files (pre-commit): list the tree without reading it, then read and
    analyse only the files that can change what is reported on the named ones (see
    :mod:`cacheaudit.lazy`). Returns no context when the full audit is needed."""
    from cacheaudit import lazy

    found = discover_for(config, read=False)
    ctx = LazyRepoContext(config.root, frozenset(found.paths), found.unread, config.max_file_bytes)
    targets = tuple(t for t in config.targets if t not in found.excluded)
    chosen = lazy.plan(ctx, targets) if targets and "" not in targets else None
    if chosen is None:
        return found, None, Analysis()
    ctx.workflow_scope = frozenset(chosen.workflows)
    lazy.seed_ci_targets(ctx, targets)
    lazy.seed_warmed(ctx, chosen.checked_workflows)
    analysis = _analyze_group(ctx, chosen.analyse)
    if chosen.checked_workflows and not lazy.workflows_self_contained(
        ctx, chosen.checked_workflows, analysis
    ):
        # CA105 and CA504 look at every workflow's caches and installs: index them all (the
        # full audit's GitHub index), but still no Dockerfile, GitLab or dependency file.
        ctx = LazyRepoContext(
            config.root, frozenset(found.paths), found.unread, config.max_file_bytes
        )
        lazy.seed_ci_targets(ctx, targets)
        wide = set(chosen.analyse) | set(ctx.paths_of(*lazy.GITHUB_KINDS))
        analysis = _analyze_group(ctx, sorted(wide))
    return found, ctx, analysis


def _key(finding: Finding) -> tuple[str, int, int, str, str]:
    return finding.sort_key


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, int, int, str]] = set()
    unique = []
    for finding in findings:
        loc = finding.location
        key = (finding.rule_id, loc.path, loc.line, loc.column or 0, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def _with_severity(finding: Finding, config: Config) -> Finding:
    override = config.severity.get(finding.rule_id)
    if override is None or override is finding.severity:
        return finding
    return dataclasses.replace(finding, severity=override)


def exit_code(report: Report, config: Config) -> int:
    """0 when the run meets the threshold, 1 when it falls below ``fail-under``, has a finding
    at or above ``fail-on``, or (``strict``) left a file unaudited."""
    return 1 if exit_reasons(report, config) else 0


def exit_reasons(report: Report, config: Config) -> list[str]:
    """Why the run exits 1, one phrase per reason (empty: it exits 0); the CLI prints them."""
    reasons = []
    overall = report.score.overall
    if config.fail_under is not None and overall is not None and overall < config.fail_under:
        reasons.append(
            f"score {overall} is below {_setting('fail-under', config.fail_under_from)} "
            f"{config.fail_under:g}" + _origin(config.fail_under_from)
        )
    coverage = report.score.coverage
    threshold = config.fail_under_coverage
    if threshold is not None and coverage is not None and 100 * coverage.ratio < threshold:
        where = _setting("fail-under-coverage", config.fail_under_coverage_from)
        reasons.append(
            f"{percent(coverage.ratio)}% of downloads served from cache is below {where} "
            f"{threshold:g}%" + _origin(config.fail_under_coverage_from)
        )
    if config.fail_on is not None:
        level = config.fail_on.value
        count = sum(1 for f in report.findings if f.severity.rank >= config.fail_on.rank)
        if count:
            noun = "finding" if count == 1 else "findings"
            what = f"{level} {noun}" if level == "error" else f"{noun} at {level} or above"
            where = _setting("fail-on", config.fail_on_from)
            reasons.append(f"{count} {what} ({where} {level}{_origin(config.fail_on_from)})")
    unparsed = sum(1 for n in report.notices if n.rule_id == "CA001")
    if config.strict and unparsed:
        files = "file" if unparsed == 1 else "files"
        reasons.append(f"{unparsed} {files} could not be audited (CA001 notices, --strict)")
    return reasons


def _setting(name: str, origin: str) -> str:
    return f"--{name}" if not origin else name


def _origin(origin: str) -> str:
    return f" in {origin}" if origin else ""

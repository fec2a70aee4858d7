"""The install map, completed: what each install site downloads per run, how often it runs, and
which findings explain its cache state. The analyzers record the sites; this module adds what
needs the whole repository (lock files, requirement includes, CI image builds) so the score can
weigh every site by the traffic it sends to a registry.

Counting rules, in order (the first that applies wins), each recorded in ``packages_source``:

1. a lock file the command installs (uv.lock, poetry.lock, pdm.lock, Pipfile.lock,
   package-lock.json / npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml): its package count,
   exact;
2. requirements files (``-r``, with their ``-r``/``-c`` includes): exact when every registry
   requirement is pinned with ``==``, else the number of direct requirements as a lower bound;
3. packages named on the command line: a lower bound (their dependencies are not known);
4. otherwise 1, a lower bound ("not counted").

Sizes come only from lock files that record them (uv.lock); they are never guessed.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from cacheaudit.model import CacheState, Finding, ImageBuild, InstallSite
from cacheaudit.parsing import requirements
from cacheaudit.parsing.shell import InstallCommand, find_installs, parse_script
from cacheaudit.repo import RepoContext
from cacheaudit.scoring import COVERAGE_RULES

if TYPE_CHECKING:
    from cacheaudit.parsing.lockcount import PackageCount

LOCK_NAMES: dict[str, tuple[str, ...]] = {
    "uv": ("uv.lock",),
    "poetry": ("poetry.lock",),
    "pdm": ("pdm.lock",),
    "pipenv": ("Pipfile.lock",),
    "npm": ("package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("yarn.lock",),
    "pnpm": ("pnpm-lock.yaml",),
    "bun": ("bun.lock",),
}
"""Lock files each tool installs from, by name, looked up in the install's inputs first and
then beside its project file."""


_JOB = re.compile(r"\bjob ([^/]+?)(?: / |$)")


def complete(
    ctx: RepoContext,
    sites: Sequence[InstallSite],
    builds: Sequence[ImageBuild],
    findings: Iterable[Finding],
) -> list[InstallSite]:
    """The sites with package counts, Dockerfile runs and explaining findings filled in."""
    runs_by_dockerfile = _dockerfile_runs(builds)
    linked = _link(sites, [f for f in findings if f.rule_id in COVERAGE_RULES])
    completed = []
    for index, site in enumerate(sites):
        packages, exact, source, size = count_packages(ctx, site)
        runs, note = site.runs_per_pipeline, site.runs_note
        if site.platform == "dockerfile" and site.location.path in runs_by_dockerfile:
            runs, note = runs_by_dockerfile[site.location.path]
        completed.append(
            dataclasses.replace(
                site,
                packages=packages,
                packages_exact=exact,
                packages_source=source,
                bytes=size,
                runs_per_pipeline=max(1, runs),
                runs_note=note,
                explained_by=tuple(sorted(set(site.explained_by) | linked.get(index, set()))),
            )
        )
    return completed


def _dockerfile_runs(builds: Sequence[ImageBuild]) -> dict[str, tuple[int, str]]:
    """Runs per pipeline of each Dockerfile that CI builds: the sum over its build steps."""
    runs: dict[str, list[ImageBuild]] = {}
    for build in builds:
        if build.dockerfile:
            runs.setdefault(build.dockerfile, []).append(build)
    out = {}
    for dockerfile, found in runs.items():
        total = sum(max(1, b.runs_per_pipeline) for b in found)
        where = ", ".join(sorted({b.context for b in found}))
        out[dockerfile] = (total, f"built {total}× per pipeline ({where})")
    return out


def _link(sites: Sequence[InstallSite], findings: Sequence[Finding]) -> dict[int, set[str]]:
    """Which coverage findings explain which non-effective site: a finding on the site's own
    line, else one in the same file about the same job (GitLab cache findings point at the
    cache, not at the install)."""
    linked: dict[int, set[str]] = {}
    by_line: dict[tuple[str, int], list[Finding]] = {}
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_line.setdefault((finding.location.path, finding.location.line), []).append(finding)
        by_path.setdefault(finding.location.path, []).append(finding)
    # The same file, job and platform always give the same answer: the sites of one job.
    by_job: dict[tuple[str, str | None, str], set[str]] = {}
    for index, site in enumerate(sites):
        if site.cache_state is CacheState.EFFECTIVE:
            continue
        found = {f.rule_id for f in by_line.get((site.location.path, site.location.line), [])}
        if not found and site.platform != "dockerfile":  # `_explains` holds for none of them
            job = _job_of(site.context)
            slot = (site.location.path, job, site.platform)
            if slot not in by_job:
                by_job[slot] = {
                    f.rule_id
                    for f in by_path.get(site.location.path, ())
                    if _explains(f, site, job)
                }
            found = set(by_job[slot])
        if found:
            linked[index] = found
    return linked


def _job_of(context: str) -> str | None:
    match = _JOB.search(context)
    return match.group(1).strip() if match else None


def _explains(finding: Finding, site: InstallSite, job: str | None) -> bool:
    if site.platform == "dockerfile" or finding.location.path != site.location.path:
        return False
    subject = finding.subject
    if job is not None and (subject.startswith(f"{job} /") or f"job {job} /" in subject):
        return True
    # A default cache (GitLab `default: cache:`) explains every job that inherits it.
    return subject.startswith("default /") and site.platform == "gitlab-ci"


def count_packages(ctx: RepoContext, site: InstallSite) -> tuple[int, bool, str, int | None]:
    """(packages, exact, how it was counted, bytes or None) for one run of the site."""
    # The same command is often written many times over (a matrix, a template): once each.
    install = ctx.memo("installmap:command", site.command, lambda: _parse(site.command))
    lock = _lock_file(ctx, site, install)
    if lock is not None:
        from_lock = _count_lock(ctx, lock, install)
        if from_lock is not None:
            return from_lock
    files = [p for p in site.inputs if _is_requirements(p) and ctx.exists(p)]
    if install is not None:
        base = posixpath.dirname(site.location.path) if site.platform == "dockerfile" else ""
        for name in install.requirement_files:
            for candidate in (name, posixpath.normpath(posixpath.join(base, name))):
                if candidate not in files and ctx.exists(candidate):
                    files.append(candidate)
                    break
    if files:
        constraints = list(install.constraint_files) if install is not None else []
        counted = requirements.count_requirements(ctx, files, constraints)
        if counted is not None and counted.packages:
            extra = len(install.packages) if install is not None else 0
            exact = counted.exact and extra == 0
            how = "pinned requirements" if exact else "requirements (lower bound)"
            return counted.packages + extra, exact, f"{how}: {counted.source}", None
    project = _project_count(ctx, site, install)
    if project is not None:
        return project
    if install is not None and install.packages:
        n = len(install.packages)
        return n, False, f"{n} named on the command line (lower bound)", None
    return 1, False, "not counted (at least 1)", None


MAIN_TABLES = frozenset({"project.dependencies", "tool.poetry.dependencies"})


def _project_count(
    ctx: RepoContext, site: InstallSite, install: InstallCommand | None
) -> tuple[int, bool, str, int | None] | None:
    """Direct dependencies of the pyproject.toml the site installs (its main list, plus the
    groups and extras the command asks for): a lower bound."""
    path = next((p for p in site.inputs if posixpath.basename(p) == "pyproject.toml"), None)
    if path is None:
        return None
    from cacheaudit.analyzers.dependencies import load_project  # only when a pyproject is read

    project = load_project(ctx, path)
    if project is None or not project.valid:
        return None
    wanted: set[str] = set()
    if install is not None:
        for value in install.groups:
            wanted.update(v.strip() for v in value.split(","))
        for target in (*install.local_targets, *install.packages):
            if "[" in target and target.endswith("]"):
                wanted.update(v.strip() for v in target[target.index("[") + 1 : -1].split(","))
    names = {
        d.requirement.name
        for d in project.dependencies
        if d.requirement.name and (d.table in MAIN_TABLES or d.table.rsplit(".", 1)[-1] in wanted)
    }
    if not names:
        return None
    n = len(names) + (len(install.packages) if install else 0)
    return n, False, f"direct dependencies of {path} (lower bound)", None


def _parse(command: str) -> InstallCommand | None:
    try:
        installs = find_installs(parse_script(command))
    except Exception:  # the site's command was already parsed once; never fail the count
        return None
    return installs[0] if installs else None


def _is_requirements(path: str) -> bool:
    name = posixpath.basename(path)
    return name.endswith((".txt", ".in")) and "requirement" in path.lower()


def _lock_file(ctx: RepoContext, site: InstallSite, install: InstallCommand | None) -> str | None:
    names = LOCK_NAMES.get(site.tool, ())
    if not names:
        return None
    for path in site.inputs:
        if posixpath.basename(path) in names and ctx.exists(path):
            return path
    directories = [posixpath.dirname(p) for p in site.inputs]
    if site.platform != "dockerfile":
        directories.append("")
    for directory in directories:
        for name in names:
            candidate = posixpath.join(directory, name) if directory else name
            if ctx.exists(candidate):
                return candidate
    return None


def _count_lock(
    ctx: RepoContext, path: str, install: InstallCommand | None
) -> tuple[int, bool, str, int | None] | None:
    from cacheaudit.parsing.lockcount import Selection, count_lock_packages, selection_for
    from cacheaudit.parsing.lockfiles import TOML_LOCKS, toml_document

    selection = selection_for(install) if install is not None else Selection()
    name = posixpath.basename(path)

    def compute() -> PackageCount | None:
        text = ctx.read_text(path)
        if text is None:
            return None
        document = toml_document(ctx, path) if name in TOML_LOCKS else None
        return count_lock_packages(name, text, selection, document=document)

    # Every site installing the same lock the same way gets the same count: count it once.
    fields = (getattr(selection, f.name) for f in dataclasses.fields(selection))
    key = repr((path, *(sorted(v) if isinstance(v, frozenset) else v for v in fields)))
    counted = ctx.memo("lock-count", key, compute)
    if counted is None:
        return None
    source = counted.source if path == posixpath.basename(path) else f"{path}: {counted.source}"
    return counted.packages, counted.exact, source, counted.bytes

"""Whether installed dependency files pin what they install: CA401 unpinned-install-inputs
(requirements files CI or Docker installs that float), CA402 vcs-requirement-unpinned (VCS and
archive URLs pip rebuilds on every install) and CA403 no-lockfile (a project installed from
pyproject.toml with nothing pinning it). Which files count as installed is decided in
:mod:`.installed`."""

from __future__ import annotations

import posixpath

from cacheaudit.analyzers.cross.installed import (
    deployed,
    installed_requirements,
    judged,
    project_dependencies,
    publishes,
)
from cacheaudit.analyzers.cross.sites import (
    MANIFEST_NAMES,
    Site,
    installs_project_deps,
    join,
    listing,
    project_inputs,
    projects_installed,
    requirement_inputs,
    sites_phrase,
)
from cacheaudit.analyzers.dependencies import (
    Project,
    has_compiled_sibling,
    load_project,
    project_locks,
    project_source_findings,
    source_findings,
)
from cacheaudit.discovery import FileKind
from cacheaudit.model import Finding, Fix, Location
from cacheaudit.parsing import requirements as reqs
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

# --- CA402 vcs-requirement-unpinned ----------------------------------------------------------


def unpinned_sources(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    """VCS requirements on a branch or tag and archive URLs without ``name-version``, in the
    requirements files installs read (``-r`` followed) and in the installed dependencies of the
    projects they install, once per file."""
    findings: list[Finding] = []
    done: set[str] = set()
    projects: dict[str, list[Site]] = {}
    for site in judged(sites):
        resolution = installed_requirements(ctx, site)
        installed = [f.path for f in resolution.installed] if resolution else []
        for parsed in resolution.installed if resolution else ():
            if parsed.path in done or has_compiled_sibling(ctx, parsed.path):
                continue
            done.add(parsed.path)
            findings.extend(source_findings(parsed.path, parsed.requirements))
        if site.install is not None and installs_project_deps(site):
            for pyproject in projects_installed(ctx, site, installed):
                projects.setdefault(pyproject, []).append(site)
    for pyproject in sorted(projects):
        project = load_project(ctx, pyproject)
        if project is None or not project.valid or project_locks(ctx, project):
            continue  # a lock file records the commit each VCS dependency resolved to
        users = projects[pyproject]
        if publishes(ctx) and not deployed(users):
            continue
        findings.extend(project_source_findings(project, project_dependencies(project, users)))
    return findings


# --- CA401 unpinned-install-inputs -----------------------------------------------------------


def unpinned_inputs(ctx: RepoContext, sites: list[Site], skip: set[str]) -> list[Finding]:
    # file → (unpinned requirements, sites that install it); a file installed by several jobs
    # is one finding.
    per_file: dict[str, tuple[dict[str, reqs.Requirement], list[Site]]] = {}
    for site in judged(sites):
        if not site.pip_like:
            continue
        installed, constraints = requirement_inputs(ctx, site)
        if not installed:
            continue
        resolution = reqs.resolve(ctx, installed, constraints)
        pinned_by_constraint = {
            r.name for f in resolution.constraints for r in f.registry_requirements if r.pinned
        }
        for parsed in resolution.installed:
            if parsed.path in skip or parsed.compiled:
                continue
            loose = {
                r.name: r
                for r in parsed.registry_requirements
                if r.name and not r.pinned and r.name not in pinned_by_constraint
            }
            if not loose:
                continue
            entry = per_file.setdefault(parsed.path, ({}, []))
            for name, req in loose.items():
                entry[0].setdefault(name, req)
            if site not in entry[1]:
                entry[1].append(site)
    findings = []
    for path in sorted(per_file):
        loose_reqs, users = per_file[path]
        ordered = sorted(loose_reqs.values(), key=lambda r: (r.line, r.column))
        first = ordered[0]
        names = listing([r.text for r in ordered], 4)
        message = (
            f"{path}: {names} {'is' if len(ordered) == 1 else 'are'} not pinned to one version, "
            f"and {sites_phrase(users)} installs it with no lock or constraints file: each run "
            f"may resolve different versions, and a download cache keyed on {path} keeps "
            f"missing as new releases appear"
        )
        stem = posixpath.splitext(path)[0]
        source = f"{stem}.in"
        findings.append(
            RULES["CA401"].finding(
                Location(path, first.line, first.column),
                message,
                subject="unpinned requirements",
                fix=Fix(
                    f"Keep the ranges in {source} and compile {path} from it with exact pins "
                    f"and hashes (or install with `-c` a compiled constraints file).",
                    f"# move the ranges to {source}, then:\n"
                    f"pip-compile --generate-hashes --output-file={path} {source}",
                ),
            )
        )
    return findings


# --- CA403 no-lockfile -----------------------------------------------------------------------


def no_lockfile(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    users: dict[str, list[Site]] = {}
    for site in judged(sites):
        if site.site.tool not in ("pip", "uv", "poetry", "pdm") or site.install is None:
            continue
        if site.pip_like and not installs_project_deps(site):
            continue
        if _pins_from_inputs(ctx, site):
            continue
        for pyproject in project_inputs(site):
            users.setdefault(pyproject, []).append(site)
    findings = []
    for pyproject in sorted(users):
        project = load_project(ctx, pyproject)
        if project is None or not project.valid or not project.dependencies:
            continue
        if project_locks(ctx, project) or _compiled_from(ctx, project):
            continue
        installed_by = users[pyproject]
        if publishes(ctx) and not deployed(installed_by):
            continue  # a published library: its ranges are right, its CI tests them
        deployish = any(
            s.site.platform == "dockerfile" or not ({"-e", "--editable"} & s.options)
            for s in installed_by
        )
        count = len(project.dependencies)
        message = (
            f"{pyproject} declares {count} dependenc{'y' if count == 1 else 'ies'} and "
            f"{sites_phrase(installed_by)} installs it, but no lock file pins them (uv.lock, "
            f"poetry.lock, pdm.lock or compiled requirements): every run resolves the newest "
            f"releases again, installs drift between runs, and caches keyed on {pyproject} "
            f"miss whenever a dependency is released"
        )
        findings.append(
            RULES["CA403"].finding(
                Location(pyproject, project.dependencies_line, project.dependencies_column),
                message,
                subject="no lock file",
                fix=_lock_fix(project, installed_by),
                # A library tested in CI with `pip install -e .` has weaker evidence of being
                # an application than one installed into an image.
                weight=1.0 if deployish else 0.5,
            )
        )
    return findings


def _pins_from_inputs(ctx: RepoContext, site: Site) -> bool:
    """The install also reads a compiled or fully pinned requirements/constraints file."""
    installed, constraints = requirement_inputs(ctx, site)
    for path in (*installed, *constraints):
        parsed = reqs.load(ctx, path)
        if parsed is not None and (parsed.compiled or parsed.fully_pinned):
            return True
    return False


def _compiled_from(ctx: RepoContext, project: Project) -> bool:
    """A compiled requirements file in the project's tree whose header names its pyproject."""
    prefix = f"{project.directory}/" if project.directory else ""
    for path in sorted(ctx.paths):
        if not path.startswith(prefix) or not path.endswith(".txt"):
            continue
        if posixpath.basename(path) in MANIFEST_NAMES:
            continue
        file = ctx.file(path)
        if file is None or file.kind is not FileKind.REQUIREMENTS:
            continue
        parsed = reqs.load(ctx, path)
        if (
            parsed is not None
            and parsed.generator
            and "pyproject.toml" in (parsed.generator_command or "")
        ):
            return True
        if parsed is not None and parsed.generator in ("uv export", "pdm export"):
            return True
    return False


def _lock_fix(project: Project, installed_by: list[Site]) -> Fix:
    tools = {s.site.tool for s in installed_by}
    where = f"cd {project.directory} && " if project.directory else ""
    if "uv" in tools or "uv" in project.managers:
        return Fix(
            "Commit a uv.lock and install with `uv sync --locked`.",
            f"{where}uv lock\ngit add {join(project.directory, 'uv.lock')}",
        )
    if "poetry" in tools or "poetry" in project.managers:
        return Fix(
            "Commit poetry.lock (poetry install then uses it).",
            f"{where}poetry lock\ngit add {join(project.directory, 'poetry.lock')}",
        )
    if "pdm" in tools or "pdm" in project.managers:
        return Fix(
            "Commit pdm.lock and install with `pdm sync`.",
            f"{where}pdm lock\ngit add {join(project.directory, 'pdm.lock')}",
        )
    lock = join(project.directory, "requirements.txt")
    target = f"./{project.directory}" if project.directory else "."
    return Fix(
        f"Compile {project.path} into a pinned, hashed {lock}, install that, then the project "
        "itself without resolving again (hash-checking cannot cover a local directory, hence two "
        "commands).",
        f"pip-compile --generate-hashes --output-file={lock} {project.path}\n"
        f"pip install -r {lock}\npip install --no-deps {target}",
    )

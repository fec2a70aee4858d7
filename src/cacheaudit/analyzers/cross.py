"""Rules across files: the install map (every InstallSite the per-file analyzers recorded) joined
with the dependency files and lock files those installs read.

- CA401 unpinned-install-inputs: installed requirements files that float (no lock/constraints).
- CA403 no-lockfile: a project installed from pyproject.toml with nothing pinning it.
- CA501 lockfile-not-used: a lock file exists but the install resolves without it.
- CA502 locked-install-not-enforced: a lock-aware install that may rewrite the lock.
- CA503 cache-key-ignores-install-input: the cache key does not hash a file the install reads.
- CA504 referenced-file-missing: an install names a requirements file that does not exist.

An application is told from a library only by evidence: CA403 fires for a pyproject.toml that CI
or Docker installs, never for one that is merely declared.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from cacheaudit.analyzers.dependencies import (
    Project,
    closest_existing,
    load_project,
    project_locks,
)
from cacheaudit.discovery import FileKind
from cacheaudit.installs import LOCKFILES_BY_TOOL
from cacheaudit.model import Analysis, Finding, Fix, InstallSite, Location
from cacheaudit.parsing import requirements as reqs
from cacheaudit.parsing.lockfiles import (
    NODE_LOCK_TOOLS,
    TOOL_BY_LOCKFILE,
    LockFile,
    load_toml,
    lock_files,
    locked_versions,
    locks_for,
    yarn_flavour,
)
from cacheaudit.parsing.shell import InstallCommand, find_installs, parse_exec_form, parse_script
from cacheaudit.paths import glob_match, normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

MANIFEST_NAMES = frozenset({"pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "package.json"})
PIP_FORMAT_TOOLS = frozenset({"pip", "uv", "pipenv"})
"""Tools whose ``-r`` files are in pip's requirements format (conda ``--file`` is not)."""

LOCK_EXPORTERS: dict[str, str] = {"uv": "uv export", "pdm": "pdm export"}
"""The requirements-file header that proves a file was exported from a tool's lock."""

LOCK_COMMANDS: dict[str, str] = {
    "uv": "uv sync --locked",
    "poetry": "poetry install --no-interaction",
    "pdm": "pdm sync",
    "pipenv": "pipenv sync",
    "npm": "npm ci",
    "yarn": "yarn install --frozen-lockfile",
    "pnpm": "pnpm install --frozen-lockfile",
}
"""The install that honours each tool's lock file (yarn Berry: ``--immutable``)."""

ENFORCE_FLAGS: dict[str, tuple[str, ...]] = {
    "uv": ("--locked", "--frozen"),
    "pipenv": ("--deploy", "--ignore-pipfile"),
    "yarn": ("--immutable", "--frozen-lockfile"),
}
"""Options that make a lock-aware install fail (or ignore the manifest) instead of rewriting the
lock. RULES CA502: ``uv sync``, ``pipenv install``, ``yarn install``."""

ENFORCE_ENV: dict[str, tuple[str, ...]] = {
    "uv": ("UV_LOCKED", "UV_FROZEN"),
    "yarn": ("YARN_ENABLE_IMMUTABLE_INSTALLS",),
}
"""Env vars with the same effect; when the file that holds the install sets one anywhere, the
install is given the benefit of the doubt."""

CI_PLATFORMS = frozenset({"github-actions", "gitlab-ci"})

INPUTS_CHECKED_BY_OWNER = frozenset({"gitlab-ci", "dockerfile"})
"""Platforms whose analyzer reports a missing install input itself (GitLab: ``-r`` files of a
job's scripts; Dockerfile: COPY sources, and files made during the build are not in the
repository). CA504 for other platforms' install inputs is emitted here, once per file."""


@dataclass(frozen=True)
class Site:
    """An InstallSite with its command parsed again (flags, ``-r``/``-c`` names)."""

    site: InstallSite
    install: InstallCommand | None

    @property
    def path(self) -> str:
        return self.site.location.path

    @property
    def options(self) -> frozenset[str]:
        return frozenset(self.install.options) if self.install else frozenset()

    @property
    def action(self) -> str:
        return self.install.action if self.install else ""

    @property
    def pip_like(self) -> bool:
        """Resolves requirements itself, ignoring every lock file: pip, ``uv pip``."""
        if self.site.tool == "pip":
            return self.action in ("install", "")
        return self.site.tool == "uv" and self.action in ("pip install", "pip sync")

    @property
    def command(self) -> str:
        return _short(self.site.command)


def analyze_repo(ctx: RepoContext, installs: list[InstallSite]) -> Analysis:
    sites = [Site(s, _reparse(s)) for s in sorted(installs, key=_site_order)]
    findings: list[Finding] = []
    lock_findings, ignored_files = _lockfile_not_used(ctx, sites)
    findings.extend(lock_findings)
    findings.extend(_unpinned_inputs(ctx, sites, ignored_files))
    findings.extend(_no_lockfile(ctx, sites))
    findings.extend(_locked_not_enforced(ctx, sites))
    findings.extend(_key_ignores_inputs(ctx, sites))
    findings.extend(_missing_inputs(ctx, sites))
    return Analysis(findings=findings)


# --- the install map, read back --------------------------------------------------------------


def _site_order(site: InstallSite) -> tuple[str, int, int, str, str]:
    loc = site.location
    return (loc.path, loc.line, loc.column or 0, site.tool, site.command)


def _reparse(site: InstallSite) -> InstallCommand | None:
    text = site.command.strip()
    commands = None
    if text.startswith("["):  # a Dockerfile exec form recorded as JSON
        try:
            argv = json.loads(text)
        except ValueError:
            argv = None
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            commands = parse_exec_form(argv, line=site.location.line)
    if commands is None:
        commands = parse_script(text, start_line=site.location.line)
    found = find_installs(commands)
    same = [i for i in found if i.tool == site.tool]
    chosen = same or found
    return chosen[0] if chosen else None


def _existing_inputs(ctx: RepoContext, site: Site) -> list[str]:
    return [p for p in site.site.inputs if p in ctx.paths]


def _is_constraint_input(site: Site, path: str) -> bool:
    if site.install is None:
        return False
    return any(_same_file(path, name) for name in site.install.constraint_files)


def _same_file(path: str, written: str) -> bool:
    """Whether repository path ``path`` is the file a command spells ``written`` (relative to a
    working directory the site does not record, so the spelling's tail is compared)."""
    written = posixpath.normpath(written.strip()) if written.strip() else ""
    tail = written.lstrip("./") if written.startswith("../") else written
    if not tail or tail == ".":
        return False
    return (
        path == tail
        or path.endswith("/" + tail)
        or (written.startswith("../") and posixpath.basename(path) == posixpath.basename(tail))
    )


def _requirement_inputs(ctx: RepoContext, site: Site) -> tuple[list[str], list[str]]:
    """(installed, constraint) requirements-format files among the site's existing inputs."""
    if site.site.tool not in PIP_FORMAT_TOOLS:
        return [], []
    installed: list[str] = []
    constraints: list[str] = []
    for path in _existing_inputs(ctx, site):
        name = posixpath.basename(path)
        if name in MANIFEST_NAMES or name in TOOL_BY_LOCKFILE:
            continue
        (constraints if _is_constraint_input(site, path) else installed).append(path)
    return installed, constraints


def _project_inputs(site: Site) -> list[str]:
    return [p for p in site.site.inputs if posixpath.basename(p) == "pyproject.toml"]


def _installs_project_deps(site: Site) -> bool:
    return not ({"--no-deps", "--no-dependencies"} & site.options)


# --- CA501 lockfile-not-used -----------------------------------------------------------------


def _lockfile_not_used(ctx: RepoContext, sites: list[Site]) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    ignored: set[str] = set()
    for site in sites:
        if site.install is None:
            continue
        if site.pip_like and _installs_project_deps(site):
            findings.extend(_project_lock_ignored(ctx, site))
        if site.site.tool in PIP_FORMAT_TOOLS:
            for finding, path in _requirements_lock_ignored(ctx, site):
                findings.append(finding)
                ignored.add(path)
        if site.site.tool in NODE_LOCK_TOOLS:
            findings.extend(_node_lock_ignored(ctx, site))
    return findings, ignored


def _projects_installed(ctx: RepoContext, site: Site, installed: list[str]) -> list[str]:
    """pyproject.toml files the site installs: named by the command (``pip install .``) or, in
    CI, by a local line of an installed requirements file (``-e .``), which pip resolves from the
    working directory (the checkout root)."""
    found = _project_inputs(site)
    if site.site.platform in CI_PLATFORMS and installed:
        for parsed in reqs.resolve(ctx, installed).installed:
            for req in parsed.requirements:
                if not req.local or req.url:
                    continue
                target = re.sub(r"\[[^\]]*\]$", "", req.text.removeprefix("-e").strip())
                base = normalize(target)
                if base is None:
                    continue
                candidate = posixpath.join(base, "pyproject.toml") if base else "pyproject.toml"
                if candidate in ctx.paths:
                    found.append(candidate)
    return list(dict.fromkeys(found))


def _project_lock_ignored(ctx: RepoContext, site: Site) -> list[Finding]:
    findings = []
    installed, constraints = _requirement_inputs(ctx, site)
    for pyproject in _projects_installed(ctx, site, installed):
        project = load_project(ctx, pyproject)
        if project is None or not project.valid or not project.dependencies:
            continue
        locks = project_locks(ctx, project)
        if not locks:
            continue
        lock = locks[0]
        if any(_exported_from(ctx, path, lock) for path in (*installed, *constraints)):
            continue  # versions come from the lock through an exported file
        tool = TOOL_BY_LOCKFILE[posixpath.basename(lock)]
        message = (
            f"{site.site.context} runs `{site.command}`, which installs {pyproject}'s "
            f"dependencies without reading {lock}: pip resolves the version ranges again on "
            f"every run, so the job does not install what the lock pins and download caches "
            f"keyed on the lock do not match what is fetched"
        )
        findings.append(
            RULES["CA501"].finding(
                _site_location(site),
                message,
                subject=f"{site.site.context} / {lock}",
                fix=Fix(
                    f"Install from {lock} with {tool} (install {tool} in the image first if it "
                    "lacks it), or export the lock and install the export.",
                    _indented(ctx, site, _lock_command(ctx, tool, site)),
                ),
            )
        )
    return findings


def _requirements_lock_ignored(ctx: RepoContext, site: Site) -> list[tuple[Finding, str]]:
    """``pip install -r requirements.txt`` beside a project lock, where the file repeats the
    project's dependencies but does not come from the lock."""
    out = []
    installed, _ = _requirement_inputs(ctx, site)
    for path in installed:
        owner = _owning_lock(ctx, path)
        if owner is None:
            continue
        lock, declared = owner
        resolution = reqs.resolve(ctx, [path])
        names = {r.name for f in resolution.installed for r in f.registry_requirements}
        overlap = sorted(n for n in names if n is not None and n in declared)
        if not overlap or _exported_from(ctx, path, lock.path, resolution):
            continue
        shown = ", ".join(overlap[:4]) + (
            f" and {len(overlap) - 4} more" if len(overlap) > 4 else ""
        )
        message = (
            f"{site.site.context} installs {path} with `{site.command}`, but {lock.path} "
            f"already locks {shown}: {path} is not exported from the lock, so the job installs "
            f"other versions than the lock pins and the lock's cache never matches"
        )
        finding = RULES["CA501"].finding(
            _site_location(site),
            message,
            subject=f"{site.site.context} / {lock.path} / {path}",
            fix=Fix(
                f"Install from {lock.path} with {lock.tool}, or generate {path} from it.",
                _indented(ctx, site, _export_or_sync(ctx, lock, path, site)),
            ),
        )
        out.append((finding, path))
    return out


def _owning_lock(ctx: RepoContext, path: str) -> tuple[LockFile, frozenset[str]] | None:
    """The nearest Python lock file above ``path`` whose manifest declares dependencies, with
    the names it declares."""
    directory = posixpath.dirname(path)
    while True:
        for lock in locks_for(ctx, directory, ("uv", "poetry", "pdm", "pipenv")):
            if lock.directory != directory:
                continue
            declared = _declared_names(ctx, lock)
            if declared:
                return lock, declared
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def _declared_names(ctx: RepoContext, lock: LockFile) -> frozenset[str]:
    if lock.tool == "pipenv":
        return _pipfile_names(ctx, posixpath.join(lock.directory, "Pipfile"))
    project = load_project(ctx, posixpath.join(lock.directory, "pyproject.toml"))
    return project.names if project is not None else frozenset()


def _pipfile_names(ctx: RepoContext, path: str) -> frozenset[str]:
    def compute() -> frozenset[str]:
        from packaging.utils import canonicalize_name

        text = ctx.read_text(path)
        data = load_toml(text) if text is not None else None
        if not isinstance(data, dict):
            return frozenset()
        names: set[str] = set()
        for section in ("packages", "dev-packages"):
            table = data.get(section)
            if isinstance(table, dict):
                names.update(canonicalize_name(str(n)) for n in table)
        return frozenset(names)

    return ctx.memo("pipfile-names", path, compute)


def _exported_from(
    ctx: RepoContext, path: str, lock: str, resolution: reqs.Resolution | None = None
) -> bool:
    """True when requirements file ``path`` was generated from ``lock``: its header says so, or
    every requirement it installs is pinned to the version the lock pins. Unknown lock contents
    count as agreement (never guess a disagreement)."""
    parsed = reqs.load(ctx, path)
    if parsed is None:
        return True
    tool = TOOL_BY_LOCKFILE.get(posixpath.basename(lock))
    if tool in LOCK_EXPORTERS and parsed.generator == LOCK_EXPORTERS[tool]:
        return True
    versions = locked_versions(ctx, lock)
    if versions is None:
        return True
    files = (resolution or reqs.resolve(ctx, [path])).files
    registry = [r for f in files for r in f.registry_requirements]
    if not registry:
        return False
    for req in registry:
        locked = versions.get(req.name or "")
        pinned = _pinned_version(req)
        if locked is None or pinned is None or not _same_version(locked, pinned):
            return False
    return True


def _pinned_version(req: reqs.Requirement) -> str | None:
    for spec in (s.strip() for s in req.specifier.split(",")):
        if spec.startswith("==="):
            return spec[3:].strip()
        if spec.startswith("==") and not spec.endswith(".*"):
            return spec[2:].strip()
    return None


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _node_lock_ignored(ctx: RepoContext, site: Site) -> list[Finding]:
    install = site.install
    if install is None or install.packages or {"-g", "--global"} & site.options:
        return []
    directory = _node_directory(ctx, site)
    if directory is None:
        return []
    locks = locks_for(ctx, directory, NODE_LOCK_TOOLS)
    own = [lock for lock in locks if lock.tool == site.site.tool]
    others = [lock for lock in locks if lock.tool != site.site.tool]
    tool = site.site.tool
    if own:
        # `npm install` may rewrite package-lock.json; in Dockerfiles CA307 already says so.
        if tool != "npm" or install.action != "install" or site.site.platform == "dockerfile":
            return []
        lock = own[0]
        message = (
            f"{site.site.context} runs `{site.command}` although {lock.path} exists: npm install "
            f"resolves package.json's ranges and may rewrite the lock, where `npm ci` installs "
            f"exactly what it pins"
        )
        return [
            RULES["CA501"].finding(
                _site_location(site),
                message,
                subject=f"{site.site.context} / {lock.path}",
                fix=Fix(
                    "Install with npm ci (same options).",
                    _indented(ctx, site, _with_action(install, "ci")),
                ),
            )
        ]
    if not others:
        return []
    lock = others[0]
    message = (
        f"{site.site.context} installs with {tool} (`{site.command}`), but the project's lock "
        f"file is {lock.path}, which {tool} does not read: every run resolves afresh and the "
        f"lock pins nothing"
    )
    return [
        RULES["CA501"].finding(
            _site_location(site),
            message,
            subject=f"{site.site.context} / {lock.path}",
            fix=Fix(
                f"Install with {lock.tool}, which reads {lock.name}.",
                _indented(ctx, site, _lock_command(ctx, lock.tool, site, lock.directory)),
            ),
        )
    ]


def _node_directory(ctx: RepoContext, site: Site) -> str | None:
    for path in site.site.inputs:
        if posixpath.basename(path) == "package.json":
            return posixpath.dirname(path)
    if site.site.platform in CI_PLATFORMS and "package.json" in ctx.paths:
        return ""
    return None


def _lock_command(ctx: RepoContext, tool: str, site: Site, directory: str = "") -> str:
    if tool == "yarn" and yarn_flavour(ctx, directory) == "berry":
        return "yarn install --immutable"
    command = LOCK_COMMANDS.get(tool, f"{tool} install")
    if tool == "uv" and site.site.platform == "dockerfile":
        command += " --no-dev"
    extras = _extras(site)
    groups = [g for raw in (site.install.groups if site.install else ()) for g in raw.split(",")]
    if tool == "uv":
        command += "".join(f" --extra {e}" for e in extras)
        command += "".join(f" --group {g}" for g in groups)
    elif tool == "poetry":
        command += f' --extras "{" ".join(extras)}"' if extras else ""
        command += f" --with {','.join(groups)}" if groups else ""
    elif tool == "pdm":
        command += "".join(f" -G {g}" for g in (*extras, *groups))
    return command


def _extras(site: Site) -> list[str]:
    if site.install is None:
        return []
    out: list[str] = []
    for target in site.install.local_targets:
        match = re.search(r"\[([^\]]+)\]$", target)
        if match:
            out.extend(e.strip() for e in match.group(1).split(",") if e.strip())
    return out


def _export_or_sync(ctx: RepoContext, lock: LockFile, path: str, site: Site) -> str:
    if lock.tool == "uv":
        return f"uv export --frozen --no-emit-project -o {path}\n{site.command}"
    if lock.tool == "poetry":
        return f"poetry export --format requirements.txt --output {path}\n{site.command}"
    if lock.tool == "pdm":
        return f"pdm export --format requirements -o {path}\n{site.command}"
    return _lock_command(ctx, lock.tool, site, lock.directory)


# --- CA401 unpinned-install-inputs -----------------------------------------------------------


def _unpinned_inputs(ctx: RepoContext, sites: list[Site], skip: set[str]) -> list[Finding]:
    # file → (unpinned requirements, sites that install it); a file installed by several jobs
    # is one finding.
    per_file: dict[str, tuple[dict[str, reqs.Requirement], list[Site]]] = {}
    for site in sites:
        if not site.pip_like:
            continue
        installed, constraints = _requirement_inputs(ctx, site)
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
        names = _listing([r.text for r in ordered], 4)
        message = (
            f"{path}: {names} {'is' if len(ordered) == 1 else 'are'} not pinned to one version, "
            f"and {_sites_phrase(users)} installs it with no lock or constraints file: each run "
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


def _no_lockfile(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    users: dict[str, list[Site]] = {}
    for site in sites:
        if site.site.tool not in ("pip", "uv", "poetry", "pdm") or site.install is None:
            continue
        if site.pip_like and not _installs_project_deps(site):
            continue
        if _pins_from_inputs(ctx, site):
            continue
        for pyproject in _project_inputs(site):
            users.setdefault(pyproject, []).append(site)
    findings = []
    for pyproject in sorted(users):
        project = load_project(ctx, pyproject)
        if project is None or not project.valid or not project.dependencies:
            continue
        if project_locks(ctx, project) or _compiled_from(ctx, project):
            continue
        installed_by = users[pyproject]
        deployish = any(
            s.site.platform == "dockerfile" or not ({"-e", "--editable"} & s.options)
            for s in installed_by
        )
        count = len(project.dependencies)
        message = (
            f"{pyproject} declares {count} dependenc{'y' if count == 1 else 'ies'} and "
            f"{_sites_phrase(installed_by)} installs it, but no lock file pins them (uv.lock, "
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
    installed, constraints = _requirement_inputs(ctx, site)
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
            f"{where}uv lock\ngit add {_join(project.directory, 'uv.lock')}",
        )
    if "poetry" in tools or "poetry" in project.managers:
        return Fix(
            "Commit poetry.lock (poetry install then uses it).",
            f"{where}poetry lock\ngit add {_join(project.directory, 'poetry.lock')}",
        )
    if "pdm" in tools or "pdm" in project.managers:
        return Fix(
            "Commit pdm.lock and install with `pdm sync`.",
            f"{where}pdm lock\ngit add {_join(project.directory, 'pdm.lock')}",
        )
    lock = _join(project.directory, "requirements.txt")
    target = f"./{project.directory}" if project.directory else "."
    return Fix(
        f"Compile {project.path} into a pinned, hashed {lock}, install that, then the project "
        "itself without resolving again (hash-checking cannot cover a local directory, hence two "
        "commands).",
        f"pip-compile --generate-hashes --output-file={lock} {project.path}\n"
        f"pip install -r {lock}\npip install --no-deps {target}",
    )


# --- CA502 locked-install-not-enforced -------------------------------------------------------


def _locked_not_enforced(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    findings = []
    for site in sites:
        install = site.install
        tool = site.site.tool
        if install is None or tool not in ENFORCE_FLAGS:
            continue
        if tool == "uv" and install.action != "sync":
            continue
        if tool in ("pipenv", "yarn") and (install.action != "install" or install.packages):
            continue
        if set(ENFORCE_FLAGS[tool]) & site.options:
            continue
        if _env_enforces(ctx, site, tool):
            continue
        lock = _site_lock(ctx, site, tool)
        if lock is None:
            continue
        flag = ENFORCE_FLAGS[tool][0]
        if tool == "yarn":
            flavour = yarn_flavour(ctx, posixpath.dirname(lock))
            if flavour == "berry" and site.site.platform in CI_PLATFORMS:
                continue  # Yarn 2+ turns on --immutable by itself when CI is set
            flag = "--immutable" if flavour == "berry" else "--frozen-lockfile"
        consequence = {
            "uv": "uv sync re-locks when pyproject.toml changed and installs the new resolution",
            "pipenv": "pipenv install re-locks when the Pipfile changed instead of failing",
            "yarn": "yarn install updates yarn.lock when package.json changed instead of failing",
        }[tool]
        message = (
            f"{site.site.context} runs `{site.command}` without {flag}: {consequence}, so a "
            f"stale {posixpath.basename(lock)} goes unnoticed and the job installs something "
            f"the lock does not record"
        )
        findings.append(
            RULES["CA502"].finding(
                _site_location(site),
                message,
                subject=f"{site.site.context} / {tool}",
                fix=Fix(
                    f"Add {flag} so the install fails when {posixpath.basename(lock)} is stale.",
                    _indented(ctx, site, _with_flag(install, flag)),
                ),
            )
        )
    return findings


def _env_enforces(ctx: RepoContext, site: Site, tool: str) -> bool:
    names = ENFORCE_ENV.get(tool, ())
    if not names:
        return False
    if site.install is not None and any(n in names for n, _ in site.install.command.env):
        return True
    text = ctx.read_text(site.path) or ""
    if any(name in text for name in names):
        return True
    if tool == "yarn":
        rc = ctx.read_text(".yarnrc.yml") or ""
        return "enableImmutableInstalls" in rc
    return False


def _site_lock(ctx: RepoContext, site: Site, tool: str) -> str | None:
    names = LOCKFILES_BY_TOOL.get(tool, ())
    for path in site.site.inputs:
        if posixpath.basename(path) in names and path in ctx.paths:
            return path
    if tool == "uv":  # a workspace member's lock sits at the workspace root
        for pyproject in _project_inputs(site):
            found = locks_for(ctx, posixpath.dirname(pyproject), ("uv",))
            if found:
                return found[0].path
    return None


def _with_action(install: InstallCommand, action: str) -> str:
    """The install's command text with its subcommand replaced (``npm install`` → ``npm ci``)."""
    text = _short(install.command.text)
    argv = install.command.argv
    if len(argv) > 1 and argv[1] in ("install", "i", "add"):
        match = re.search(rf"\b{re.escape(argv[1])}\b", text)
        if match is not None:
            return f"{text[: match.start()]}{action}{text[match.end() :]}"
    return f"{install.tool} {action}"


def _with_flag(install: InstallCommand, flag: str) -> str:
    text = _short(install.command.text)
    words = {"uv": "sync", "pipenv": "install", "yarn": "install"}
    word = words.get(install.tool, "install")
    match = re.search(rf"\b{re.escape(word)}\b", text)
    if match is None:
        if install.tool == "yarn":  # bare `yarn`
            bare = re.search(r"\byarn\b", text)
            if bare:
                return f"{text[: bare.end()]} install {flag}{text[bare.end() :]}"
        return f"{text} {flag}"
    return f"{text[: match.end()]} {flag}{text[match.end() :]}"


# --- CA503 cache-key-ignores-install-input ---------------------------------------------------


def _key_ignores_inputs(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    findings = []
    for site in sites:
        keys = site.site.cache_key_inputs
        if site.site.cached is not True or not keys:
            continue
        if any("$" in k or "{{" in k for k in keys):
            continue  # computed patterns: cannot be judged statically
        if not _hashes_something(ctx, keys):
            continue  # the key hashes nothing that exists: CA106/CA504 say so
        inputs = _effective_inputs(ctx, site)
        if not inputs:
            continue
        missing = [p for p in inputs if not _covered(p, keys) and not _lock_keyed(ctx, p, keys)]
        if not missing:
            continue
        hashed = ", ".join(keys)
        listed = _listing(missing, 4)
        message = (
            f"{site.site.context}: the cache key hashes {hashed}, but `{site.command}` also "
            f"installs from {listed}: when {'it changes' if len(missing) == 1 else 'they change'} "
            f"the key stays the same, the old cache is restored and never saved again, and the "
            f"new packages are downloaded on every run"
        )
        findings.append(
            RULES["CA503"].finding(
                _site_location(site),
                message,
                subject=f"{site.site.context} / cache key",
                fix=_key_fix(ctx, site, _key_files(ctx, inputs, keys)),
            )
        )
    return findings


def _hashes_something(ctx: RepoContext, keys: tuple[str, ...]) -> bool:
    def compute() -> bool:
        return bool(ctx.matching(keys))  # indexed: the same as any(_covered(p, keys) ...)

    return ctx.memo("key-hashes-something", "\0".join(keys), compute)


def _effective_inputs(ctx: RepoContext, site: Site) -> list[str]:
    """The site's existing inputs plus the files their ``-r``/``-c`` lines pull in."""
    found = _existing_inputs(ctx, site)
    installed, constraints = _requirement_inputs(ctx, site)
    if installed or constraints:
        resolution = reqs.resolve(ctx, installed, constraints)
        found.extend(f.path for f in resolution.files)
    return list(dict.fromkeys(found))


def _covered(path: str, patterns: Iterable[str]) -> bool:
    positive = [p for p in patterns if p.strip() and not p.strip().startswith("!")]
    negative = [p.strip()[1:] for p in patterns if p.strip().startswith("!")]
    return any(glob_match(p, path) for p in positive) and not any(
        glob_match(p, path) for p in negative
    )


def _is_lock_like(ctx: RepoContext, path: str) -> bool:
    if posixpath.basename(path) in TOOL_BY_LOCKFILE:
        return True
    parsed = reqs.load(ctx, path) if path.endswith((".txt", ".in")) else None
    return parsed is not None and parsed.compiled


def _lock_keyed(ctx: RepoContext, path: str, keys: Iterable[str]) -> bool:
    """A manifest (pyproject.toml, package.json...) whose directory holds a lock file the key
    hashes: the lock changes whenever the manifest's dependencies do."""
    if posixpath.basename(path) not in MANIFEST_NAMES:
        return False
    directory = posixpath.dirname(path)
    return any(
        lock.directory == directory and _covered(lock.path, keys) for lock in lock_files(ctx)
    )


def _key_files(ctx: RepoContext, inputs: list[str], keys: Iterable[str]) -> list[str]:
    files = [p for p in inputs if not _lock_keyed(ctx, p, keys)]
    # Locks and compiled files first: GitLab keys hash at most two files.
    return sorted(files, key=lambda p: (not _is_lock_like(ctx, p), p))


def _key_fix(ctx: RepoContext, site: Site, files: list[str]) -> Fix:
    if site.site.platform == "gitlab-ci":
        chosen = files[:2]
        note = (
            " GitLab hashes at most two files: compile the rest into one lock file."
            if len(files) > 2
            else ""
        )
        lines = "\n".join(f"        - {p}" for p in chosen)
        return Fix(
            f"Key the job's cache on the files it installs from (replace its `key:`).{note}",
            f"    key:\n      files:\n{lines}",
        )
    step = _cache_step(ctx, site)
    indent = " " * ((step.column - 1) if step else 10)
    block = "\n".join(f"{indent}  {p}" for p in files)
    if step is not None and step.kind == "actions/cache":
        quoted = ", ".join(f"'{p}'" for p in files)
        tool = site.site.tool
        return Fix(
            f"Hash every installed file in the key of the actions/cache step (line {step.line}).",
            f"{indent}key: ${{{{ runner.os }}}}-{tool}-${{{{ hashFiles({quoted}) }}}}",
        )
    key = "cache-dependency-glob" if step is not None and step.kind == "setup-uv" else None
    key = key or "cache-dependency-path"
    where = f" of the step at line {step.line}" if step else ""
    return Fix(
        f"List every installed file in `{key}`{where}.",
        f"{indent}{key}: |\n{block}",
    )


@dataclass(frozen=True)
class _CacheStep:
    kind: str
    """``setup``, ``setup-uv`` or ``actions/cache``."""
    line: int
    column: int
    """Column of the keys inside its ``with:`` mapping."""


def _cache_step(ctx: RepoContext, site: Site) -> _CacheStep | None:
    """The caching step of the job that holds the site (the nearest one above it)."""
    doc = _workflow(ctx, site.path)
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, dict):
        return None
    from cacheaudit.parsing.yaml import item_line, key_column, key_line

    line = site.site.location.line
    best: _CacheStep | None = None
    for job_id, job in jobs.items():
        steps = job.get("steps") if isinstance(job, dict) else None
        if not isinstance(steps, list) or key_line(jobs, job_id) > line:
            continue
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            start = item_line(steps, index)
            uses = step.get("uses")
            with_ = step.get("with")
            if start > line or not isinstance(uses, str) or not isinstance(with_, dict):
                continue
            kind = _cache_kind(uses.split("@", 1)[0].strip().lower())
            if kind is None:
                continue
            first = next(iter(with_), None)
            column = key_column(with_, first) if first is not None else None
            if best is None or start > best.line:
                best = _CacheStep(kind, start, column or 11)
    return best


def _cache_kind(action: str) -> str | None:
    if action in ("actions/cache", "actions/cache/restore"):
        return "actions/cache"
    if action == "astral-sh/setup-uv":
        return "setup-uv"
    if action in ("actions/setup-python", "actions/setup-node"):
        return "setup"
    return None


def _workflow(ctx: RepoContext, path: str) -> Any:
    from cacheaudit.parsing.yaml import YamlError, load_path

    try:
        return load_path(ctx, path)  # the GitHub analyzer's parse, not a second one
    except YamlError:
        return None


# --- CA504 referenced-file-missing (install inputs) ------------------------------------------


def _missing_inputs(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    by_path: dict[str, list[Site]] = {}
    for site in sites:
        if site.site.platform in INPUTS_CHECKED_BY_OWNER:
            continue
        for path in site.site.inputs:
            if path in ctx.paths or ctx.is_dir(path):
                continue
            if path in {k.strip().removeprefix("./") for k in site.site.cache_key_inputs}:
                continue  # the cache configuration names it too: its analyzer reports it
            if _produced_in(ctx, site.path, path):
                continue
            by_path.setdefault(path, []).append(site)
    findings = []
    for path in sorted(by_path):
        users = by_path[path]
        site = users[0]
        others = f" ({len(users) - 1} other install(s) name it too)" if len(users) > 1 else ""
        message = (
            f"{site.site.context} runs `{site.command}`, which installs from {path}, but "
            f"{path} does not exist in the repository{others}: the install fails"
        )
        candidate = closest_existing(ctx, path)
        if candidate is not None:
            fix = Fix(
                f"Use the existing {candidate}.",
                _indented(ctx, site, site.command.replace(_written(site, path), candidate)),
            )
        else:
            fix = Fix(f"Commit {path} or correct the path in the install command.", "")
        findings.append(
            RULES["CA504"].finding(
                _site_location(site),
                message,
                subject=f"{site.site.context} / input {path}",
                fix=fix,
            )
        )
    return findings


def _written(site: Site, path: str) -> str:
    """How the command spells ``path`` (``-r reqs/dev.txt`` may be relative to a directory)."""
    if site.install is not None:
        for name in (*site.install.requirement_files, *site.install.constraint_files):
            if _same_file(path, name):
                return name
    return path


def _produced_in(ctx: RepoContext, holder: str, path: str) -> bool:
    """Whether a command elsewhere in ``holder`` (the workflow or pipeline file) writes ``path``
    before it is installed: ``pip-compile -o``, ``uv export > ...``, ``cp``, ``curl -o``."""
    text = ctx.read_text(holder)
    name = posixpath.basename(path)
    if text is None or name not in text:
        return False
    for script in _scripts(ctx, holder):
        if name not in script:
            continue
        commands = parse_script(script)
        installs = {id(i.command) for i in find_installs(commands)}
        if any(id(c) not in installs and name in _outputs(c.argv, c.text) for c in commands):
            return True
    return False


_OUTPUT_OPTIONS = frozenset({"-o", "-O", "--output", "--output-file", "--out"})
_COPIERS = frozenset({"cp", "mv", "ln", "install", "tee", "touch", "sed", "envsubst"})


def _outputs(argv: tuple[str, ...], text: str) -> set[str]:
    """Base names of the files one command writes, as far as its words show."""
    out = {posixpath.basename(m.group(1).strip("'\"")) for m in _REDIRECT.finditer(text)}
    for i, word in enumerate(argv):
        option, eq, value = word.partition("=")
        if eq and option in _OUTPUT_OPTIONS:
            out.add(posixpath.basename(value))
        elif word in _OUTPUT_OPTIONS and i + 1 < len(argv):
            out.add(posixpath.basename(argv[i + 1]))
    program = posixpath.basename(argv[0]) if argv else ""
    if program in _COPIERS and len(argv) > 1:
        out.add(posixpath.basename(argv[-1]))
    if program == "pip-compile":  # writes X.txt next to its X.in (or requirements.txt)
        sources = [a for a in argv[1:] if a.endswith(".in")]
        out.update(posixpath.basename(a[:-3]) + ".txt" for a in sources)
        out.add("requirements.txt")
    return out


_REDIRECT = re.compile(r">>?\s*(\S+)")


def _scripts(ctx: RepoContext, path: str) -> list[str]:
    """Every multi-word string in a YAML file: where ``run:`` and ``script:`` text lives."""
    doc = _workflow(ctx, path)
    out: list[str] = []
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and " " in node:
            out.append(node)
    return out


# --- shared helpers --------------------------------------------------------------------------


def _site_location(site: Site) -> Location:
    loc = site.site.location
    return Location(loc.path, loc.line, loc.column)


def _indented(ctx: RepoContext, site: Site, command: str) -> str:
    """``command`` written the way the install's own line is: after the same prefix (the YAML
    indentation and ``- ``, ``RUN --mount=...``, ``&& ``), so it pastes over that line."""
    text = ctx.read_text(site.path)
    prefix = ""
    lines = text.split("\n") if text is not None else []
    index = site.site.location.line - 1
    if 0 <= index < len(lines):
        line = lines[index]
        first = site.site.command.split()[0] if site.site.command.split() else ""
        start = line.find(first) if first else -1
        prefix = line[:start] if start >= 0 else line[: len(line) - len(line.lstrip())]
    return "\n".join(f"{prefix}{ln}" if ln else ln for ln in command.split("\n"))


def _short(command: str, limit: int = 120) -> str:
    folded = " ".join(command.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _listing(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _sites_phrase(sites: list[Site]) -> str:
    first = sites[0].site.context
    return first if len(sites) == 1 else f"{first} (and {len(sites) - 1} more)"


def _join(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory else name

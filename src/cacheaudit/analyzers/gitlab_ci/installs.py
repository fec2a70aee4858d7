"""Install sites: which commands of a job download from a registry, and the install map entry
each one becomes."""

from __future__ import annotations

import posixpath
import re

from cacheaudit.analyzers.github_actions.actions import BOOTSTRAP_PACKAGES
from cacheaudit.analyzers.gitlab_ci.model import Facts, JobCache, Step, flatten
from cacheaudit.installs import install_inputs
from cacheaudit.model import CacheState, InstallSite
from cacheaudit.parsing import requirements
from cacheaudit.parsing.lockfiles import load_toml
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


def downloads(ctx: RepoContext, install: InstallCommand, step: Step) -> bool:
    """Whether the install fetches from a registry (``pip install .`` of a project without
    dependencies does not; nor does ``./hooks/pre-commit``, a script of the repository named
    like the tool)."""
    if not install.downloads_from_registry or repository_script(install):
        return False
    if install.packages or install.requirement_files or install.groups:
        return True
    if install.tool in ("pip", "uv") and install.action in ("install", "pip install"):
        if not install.local_targets:
            return True
        return any(
            project_has_dependencies(ctx, target, step.workdir) for target in install.local_targets
        )
    return True


def repository_script(install: InstallCommand) -> bool:
    """The command runs a file of the repository that is named like an installer
    (``./hooks/pre-commit``, ``ci/tox``), not the installer: a path whose directory is not a
    ``bin``/``Scripts`` directory (``.venv/bin/pip``, ``/usr/local/bin/tox`` are the tools)."""
    argv0 = install.command.argv[0].replace("\\", "/") if install.command.argv else ""
    if "/" not in argv0 or argv0.rsplit("/", 1)[-1] != install.command.program:
        return False
    parent = argv0.rsplit("/", 1)[0].rsplit("/", 1)[-1]
    return parent not in ("bin", "Scripts") and not parent.startswith("$")


RUNNERS = frozenset({"tox", "nox", "hatch", "pre-commit"})
"""Environment runners: a run installs the environments' dependencies."""


def rank(ctx: RepoContext, install: InstallCommand, step: Step) -> int:
    """How surely an install is the job's dependency set: 2 for installs from files, groups,
    the project or a lock (``pip install -r requirements.txt``, ``pip install -e .[test]``,
    ``poetry install``, ``npm ci``) and environment runs (``tox -e py312``, ``nox -s tests``);
    1 for packages named on the command line (``pip install pip-audit``); 0 for bootstraps
    (:func:`bootstrap`)."""
    if bootstrap(ctx, install, step.workdir):
        return 0
    if install.requirement_files or install.groups or install.local_targets:
        return 2
    if install.tool in RUNNERS or not install.packages:
        return 2
    return 1


def bootstrap(ctx: RepoContext, install: InstallCommand, workdir: str | None) -> bool:
    """An install of installers and build tools only, which the job's real install then uses
    (``pip install poetry``, ``pip install --upgrade pdm``, ``pip install tox``, ``npm i -g
    pnpm``, ``uv tool install nox``, ``pip install -r dev-requirements.txt`` of a file that
    lists only ``tox``): not the dependency set."""
    if install.bootstrap or (install.tool == "uv" and install.action == "tool install"):
        return True
    if install.groups or install.local_targets:
        return False
    names = {package_name(p) for p in install.packages}
    if install.global_install:
        return bool(names)
    for name in install.requirement_files:
        path = normalize(name, workdir) if workdir is not None else None
        parsed = requirements.load(ctx, path) if path is not None else None
        if parsed is None or parsed.includes or not parsed.requirements:
            return False
        if any(r.name is None for r in parsed.requirements):
            return False
        names.update(r.name for r in parsed.requirements if r.name is not None)
    return bool(names) and names <= BOOTSTRAP_PACKAGES


def package_name(requirement: str) -> str:
    """``poetry==1.8.3`` → ``poetry``, ``Tox[testing]>=4`` → ``tox``."""
    name = re.split(r"[\[<>=!~;@ ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def key_file_matches(ctx: RepoContext, pattern: str) -> bool:
    """Whether a ``key: files`` entry names an existing file."""
    rel = normalize(pattern.strip().lstrip("/"))
    if rel is None or "$" in rel:
        return False
    if any(c in rel for c in "*?["):
        return bool(ctx.glob("/" + rel))
    return rel in ctx.paths


def install_site(
    ctx: RepoContext,
    root: str,
    fact: Facts,
    step: Step,
    install: InstallCommand,
    state: CacheState,
    reason: str,
    cache: JobCache | None,
) -> InstallSite:
    """The install map entry of one install of a job."""
    inputs = install_inputs(install, ctx, step.workdir) if step.workdir is not None else ()
    key_inputs: tuple[str, ...] = ()
    if cache is not None and cache.spec.key is not None and cache.spec.key.map is not None:
        files = cache.spec.key.map.get("files") or cache.spec.key.map.get("files_commits")
        # GitLab leaves files that do not exist out of the key
        key_inputs = tuple(t for v in flatten(files) if (t := v.text) and key_file_matches(ctx, t))
    # an install in a script the job runs is located, like its findings, at the CI line that
    # runs the script, with the script named in the context (as for GitHub Actions)
    context = f"pipeline {root} / job {fact.job.name}"
    if step.via is not None:
        context += f" / {step.path}:{step.command.line}"
    return InstallSite(
        location=step.at,
        platform="gitlab-ci",
        context=context,
        tool=install.tool,
        command=" ".join(install.command.text.split()),
        inputs=inputs,
        cached=None if state is CacheState.UNKNOWN else state is CacheState.EFFECTIVE,
        cache_key_inputs=key_inputs,
        cache=state,
        cache_reason=reason,
        runs_per_pipeline=fact.job.parallel,
        runs_note=fact.job.runs_note,
    )


def project_has_dependencies(ctx: RepoContext, target: str, workdir: str | None) -> bool:
    """Whether ``pip install <target>`` pulls dependencies: a local project with declared
    dependencies (or one cacheaudit cannot read: assume it does)."""
    if target.endswith((".whl", ".tar.gz", ".zip")) or "$" in target:
        return False
    path, _, extras = target.partition("[")
    base = normalize(path, workdir or "")
    if base is None:
        return True
    pyproject = posixpath.join(base, "pyproject.toml") if base else "pyproject.toml"
    text = ctx.read_text(pyproject)
    if text is None:
        return True
    data = load_toml(text)
    if isinstance(data, str):
        return True
    project = data.get("project")
    if isinstance(project, dict):
        dynamic = project.get("dynamic")
        if isinstance(dynamic, list) and "dependencies" in dynamic:
            return True
        if project.get("dependencies"):
            return True
        optional = project.get("optional-dependencies")
        if extras and isinstance(optional, dict) and optional:
            return True
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict):
        deps = poetry.get("dependencies")
        if isinstance(deps, dict) and any(k != "python" for k in deps):
            return True
    # neither table: a setup.py / setup.cfg project, unknown, so assume dependencies
    return not isinstance(project, dict) and not isinstance(poetry, dict)

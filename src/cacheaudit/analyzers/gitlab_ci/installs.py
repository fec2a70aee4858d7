"""Install sites: which commands of a job download from a registry, and the install map entry
each one becomes."""

from __future__ import annotations

import posixpath

from cacheaudit.analyzers.gitlab_ci.model import Facts, JobCache, Step, flatten
from cacheaudit.installs import install_inputs
from cacheaudit.model import CacheState, InstallSite, Location
from cacheaudit.parsing.lockfiles import load_toml
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


def downloads(ctx: RepoContext, install: InstallCommand, step: Step) -> bool:
    """Whether the install fetches from a registry (``pip install .`` of a project without
    dependencies does not)."""
    if not install.downloads_from_registry:
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
    return InstallSite(
        location=Location(step.path, step.command.line),
        platform="gitlab-ci",
        context=f"pipeline {root} / job {fact.job.name}",
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

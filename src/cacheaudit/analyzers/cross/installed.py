"""Which dependency files the repository actually installs: the judgement CA401, CA402 and
CA403 share.

A dependency file is judged only when an install site installs it (following ``-r``/``-c``),
or when it is the manifest of a project that CI or a Dockerfile installs. Never judged: files
that only a published extras list, a test fixture or a documentation example names; installs
written inside example, fixture, template or documentation directories (a sample Dockerfile is
not the repository's deployment); and a published library's own ranges, unless a Dockerfile
deploys it.
"""

from __future__ import annotations

import posixpath
import re

from cacheaudit.analyzers.cross.sites import (
    MANIFEST_NAMES,
    Site,
    existing_inputs,
    is_constraint_input,
    requirement_inputs,
)
from cacheaudit.analyzers.dependencies import Dependency, Project
from cacheaudit.discovery import FileKind
from cacheaudit.parsing import requirements as reqs
from cacheaudit.repo import RepoContext

EXAMPLE_DIRS = frozenset({
    "fixtures", "fixture", "testdata", "test-data", "test_data", "examples", "example",
    "samples", "sample", "docs", "doc", "demo", "demos", "templates", "template", "skeleton",
    "cookiecutter", "snippets", ".devcontainer",
})  # fmt: skip
"""Directories whose installs demonstrate or test something rather than build the project."""

SESSION_TOOLS = frozenset({"tox", "nox"})
"""Runners that install requirements files with pip (their inputs come from their config)."""

_PUBLISH = re.compile(
    r"pypa/gh-action-pypi-publish|\btwine\s+upload\b|\b(uv|poetry|flit|hatch|pdm)\s+publish\b"
)
_CONFIG_SUFFIXES = (".ini", ".py", ".toml", ".cfg", ".json", ".yaml", ".yml", ".lock")


def exemplary(path: str) -> bool:
    """Whether ``path`` sits in an example, fixture, template or docs directory (or a
    cookiecutter's ``{{ ... }}`` directory)."""
    parts = path.split("/")[:-1]
    return any(p.lower() in EXAMPLE_DIRS or "{{" in p for p in parts)


_SAMPLE_DIRS = EXAMPLE_DIRS - {"docs", "doc", ".devcontainer", "demo", "demos", "snippets"}


def sample(path: str) -> bool:
    """Whether ``path`` sits in a fixture, example, sample or project-template directory: what
    is written there is not run by this repository at all (the CA5xx rules skip it too)."""
    parts = path.split("/")[:-1]
    return any(p.lower() in _SAMPLE_DIRS or "{{" in p for p in parts)


def judged(sites: list[Site]) -> list[Site]:
    """The sites whose dependency files the CA4xx rules judge."""
    return [s for s in sites if not exemplary(s.path)]


def installed_requirements(ctx: RepoContext, site: Site) -> reqs.Resolution | None:
    """The requirements files ``site`` installs, ``-r``/``-c`` followed: pip, uv pip, pipenv
    ``-r``, and the ``-r`` files of tox/nox sessions."""
    if site.site.tool in SESSION_TOOLS:
        files = [
            p
            for p in existing_inputs(ctx, site)
            if not p.endswith(_CONFIG_SUFFIXES) and posixpath.basename(p) not in MANIFEST_NAMES
        ]
        installed = [p for p in files if not is_constraint_input(site, p)]
        return reqs.resolve(ctx, installed) if installed else None
    installed, constraints = requirement_inputs(ctx, site)
    if not installed:
        return None
    return reqs.resolve(ctx, installed, constraints)


def publishes(ctx: RepoContext) -> bool:
    """The repository publishes a package (a PyPI upload in CI): its pyproject.toml is a
    library's, whose ranges are correct."""

    def compute() -> bool:
        kinds = (FileKind.WORKFLOW, FileKind.COMPOSITE_ACTION, FileKind.GITLAB_CI)
        return any(_PUBLISH.search(f.text) for f in ctx.files_of(*kinds))

    return ctx.memo("publishes-package", "", compute)


_DEV_IMAGE = re.compile(
    r"(^|/)(dev|development|\.devcontainer)/|(^|/)[^/]*(\.dev|-dev)$|(^|/)dev\.", re.I
)


def deployed(sites: list[Site]) -> bool:
    """A Dockerfile installs the project: it is an application the repository ships (a
    development image, ``docker/development/Dockerfile`` or ``Dockerfile.dev``, is not)."""
    return any(s.site.platform == "dockerfile" and not _DEV_IMAGE.search(s.path) for s in sites)


def dependency_installed(dep: Dependency, site: Site) -> bool:
    """Whether ``site``'s install of the project reads ``dep``'s table: the main dependencies
    always; an extra when the install names it; a dependency group when the tool installs it
    by default (uv's ``dev``, poetry's groups, pdm's dev dependencies) or is asked for it."""
    table = dep.table
    if table in ("project.dependencies", "tool.poetry.dependencies"):
        return True
    install = site.install
    if install is None:
        return False
    tool, options = site.site.tool, site.options
    named = {
        n.strip()
        for o, v in install.option_values
        if o in ("--extra", "-E", "--extras", "-G", "--group", "--with", "--only-group")
        for n in re.split(r"[,\s]+", v)
    }
    named |= {g.strip() for raw in install.groups for g in raw.split(",")}
    for target in install.local_targets:
        match = re.search(r"\[([^\]]+)\]$", target)
        if match:
            named |= {e.strip() for e in match.group(1).split(",")}
    if table.startswith("project.optional-dependencies."):
        extra = table.split(".", 2)[2]
        return extra in named or "--all-extras" in options or ":all" in named
    group = _group_name(table)
    if "--all-groups" in options or group in named:
        return True
    if tool == "uv" and site.action == "sync":
        return group == "dev" and not (
            {"--no-dev", "--only-group", "--no-default-groups"} & options
        )
    if tool == "poetry":
        return "--only" not in options and "--without" not in options
    if tool == "pdm":
        return group is not None and not ({"--prod", "--production"} & options)
    return False


def _group_name(table: str) -> str | None:
    if table.startswith("dependency-groups."):
        return table.split(".", 1)[1]
    if table in ("tool.uv.dev-dependencies", "tool.poetry.dev-dependencies"):
        return "dev"
    if table.startswith("tool.poetry.group."):
        return table.split(".")[3]
    if table.startswith("tool.pdm.dev-dependencies."):
        return table.split(".", 3)[3]
    return None


def project_dependencies(project: Project, sites: list[Site]) -> list[Dependency]:
    """The project's dependencies that at least one of ``sites`` installs."""
    return [d for d in project.dependencies if any(dependency_installed(d, s) for s in sites)]

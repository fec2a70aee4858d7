"""The install map read back for the cross-file rules: each InstallSite with its command parsed
again, the files it installs, and the helpers every rule's message and fix share."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from cacheaudit.model import InstallSite, Location
from cacheaudit.parsing import requirements as reqs
from cacheaudit.parsing.lockfiles import (
    TOOL_BY_LOCKFILE,
)
from cacheaudit.parsing.shell import InstallCommand, find_installs, parse_exec_form, parse_script
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

MANIFEST_NAMES = frozenset({"pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "package.json"})
PIP_FORMAT_TOOLS = frozenset({"pip", "uv", "pipenv"})
"""Tools whose ``-r`` files are in pip's requirements format (conda ``--file`` is not)."""


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
        return short(self.site.command)


# --- the install map, read back --------------------------------------------------------------


def site_order(site: InstallSite) -> tuple[str, int, int, str, str]:
    loc = site.location
    return (loc.path, loc.line, loc.column or 0, site.tool, site.command)


def reparse(site: InstallSite) -> InstallCommand | None:
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


def existing_inputs(ctx: RepoContext, site: Site) -> list[str]:
    return [p for p in site.site.inputs if p in ctx.paths]


def is_constraint_input(site: Site, path: str) -> bool:
    if site.install is None:
        return False
    return any(same_file(path, name) for name in site.install.constraint_files)


def same_file(path: str, written: str) -> bool:
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


def requirement_inputs(ctx: RepoContext, site: Site) -> tuple[list[str], list[str]]:
    """(installed, constraint) requirements-format files among the site's existing inputs."""
    if site.site.tool not in PIP_FORMAT_TOOLS:
        return [], []
    installed: list[str] = []
    constraints: list[str] = []
    for path in existing_inputs(ctx, site):
        name = posixpath.basename(path)
        if name in MANIFEST_NAMES or name in TOOL_BY_LOCKFILE:
            continue
        (constraints if is_constraint_input(site, path) else installed).append(path)
    return installed, constraints


def project_inputs(site: Site) -> list[str]:
    return [p for p in site.site.inputs if posixpath.basename(p) == "pyproject.toml"]


def installs_project_deps(site: Site) -> bool:
    return not ({"--no-deps", "--no-dependencies"} & site.options)


def projects_installed(ctx: RepoContext, site: Site, installed: list[str]) -> list[str]:
    """pyproject.toml files the site installs: named by the command (``pip install .``) or, in
    CI, by a local line of an installed requirements file (``-e .``), which pip resolves from the
    working directory (the checkout root)."""
    found = project_inputs(site)
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


def workflow(ctx: RepoContext, path: str) -> Any:
    from cacheaudit.parsing.yaml import YamlError, load_path

    try:
        return load_path(ctx, path)  # the GitHub analyzer's parse, not a second one
    except YamlError:
        return None


# --- shared helpers --------------------------------------------------------------------------


def site_location(site: Site) -> Location:
    loc = site.site.location
    return Location(loc.path, loc.line, loc.column)


def indented(ctx: RepoContext, site: Site, command: str) -> str:
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


def short(command: str, limit: int = 120) -> str:
    folded = " ".join(command.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def listing(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def sites_phrase(sites: list[Site]) -> str:
    first = sites[0].site.context
    return first if len(sites) == 1 else f"{first} (and {len(sites) - 1} more)"


def join(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory else name

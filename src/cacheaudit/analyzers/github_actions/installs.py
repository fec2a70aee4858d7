"""Installs: the package installs a step runs (``Install``), from its ``run:`` script and the
local shell scripts that script calls, with the working directory each runs in."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from cacheaudit.analyzers.github_actions.model import (
    Doc,
    EffStep,
    Install,
    _is_expr,
    _map,
    publish_command,
)
from cacheaudit.analyzers.scripts import follow, followed_installs, repo_installs, with_workdirs
from cacheaudit.parsing.shell import Command, InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

_NON_SHELLS = frozenset({"python", "python3", "node", "perl", "ruby"})
_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel"})


def _project_has_dependencies(ctx: RepoContext, target: str, workdir: str) -> bool:
    """Whether ``pip install <target>`` of a local project downloads anything from a registry
    beyond its build backend (RULES: a project without dependencies is not worth a warning)."""
    m = re.fullmatch(r"(.*?)(?:\[([^\]]*)\])?", target.strip())
    base = normalize(m.group(1) if m else target, workdir) if m else None
    extras = [e.strip() for e in (m.group(2) or "").split(",") if e.strip()] if m else []
    if base is None or "$" in target:
        return True
    pyproject = posixpath.join(base, "pyproject.toml") if base else "pyproject.toml"
    data = _pyproject(ctx, pyproject)
    if data is None:
        return True
    project = data.get("project")
    poetry = _map(_map(data.get("tool")).get("poetry"))
    if isinstance(poetry.get("dependencies"), dict) and set(poetry["dependencies"]) - {"python"}:
        return True
    if not isinstance(project, dict):
        return True
    if "dependencies" in (project.get("dynamic") or []):
        return True
    if project.get("dependencies"):
        return True
    optional = _map(project.get("optional-dependencies"))
    return any(optional.get(e) for e in extras)


def _pyproject(ctx: RepoContext, path: str) -> dict[str, Any] | None:
    def parse() -> dict[str, Any] | None:
        import tomli

        text = ctx.read_text(path)
        if text is None:
            return None
        try:
            data: dict[str, Any] = tomli.loads(text)
        except (tomli.TOMLDecodeError, ValueError):
            return None
        return data

    return ctx.memo("gha-pyproject", path, parse)


def _group_packages(
    ctx: RepoContext, cmd: InstallCommand, workdir: str | None
) -> frozenset[str] | None:
    """Package names pip's ``--group NAME`` (``--group path:NAME``) installs, from PEP 735
    ``[dependency-groups]`` with ``include-group`` followed; None when unknown."""
    if cmd.tool != "pip" or not cmd.groups or workdir is None:
        return None
    names: set[str] = set()
    for group in cmd.groups:
        source, _, name = group.rpartition(":")
        path = normalize(source or "pyproject.toml", workdir)
        data = _pyproject(ctx, path) if path else None
        table = _map(data.get("dependency-groups")) if data else {}
        todo, seen = [name], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            entries = table.get(current)
            if not isinstance(entries, list):
                return None
            for entry in entries:
                if isinstance(entry, str):
                    names.add(re.split(r"[<>=!~\[;@ ]", entry.strip(), maxsplit=1)[0].lower())
                elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                    todo.append(entry["include-group"])
                else:
                    return None
    return frozenset(names)


def _is_registry(ctx: RepoContext, cmd: InstallCommand, workdir: str | None) -> bool:
    if not cmd.downloads_from_registry:
        return False
    if cmd.tool not in ("pip", "uv") or cmd.action not in ("install", "pip install"):
        return True
    if cmd.requirement_files or cmd.groups or not cmd.local_targets:
        return True
    names = {re.split(r"[<>=!~\[;@ ]", p, maxsplit=1)[0].lower() for p in cmd.packages}
    if names - _BOOTSTRAP or workdir is None:
        return True
    return any(_project_has_dependencies(ctx, t, workdir) for t in cmd.local_targets)


def _run_installs(ctx: RepoContext, eff: EffStep, pos: int) -> list[Install]:
    step = eff.step
    if step.run is None or (step.shell and step.shell.split()[0].rsplit("/", 1)[-1] in _NON_SHELLS):
        return []
    wd = _step_workdir(eff)
    out: list[Install] = []
    commands = step.commands()
    for command, workdir in with_workdirs(commands, wd):
        env = {**eff.env, **dict(command.env)}
        column = _column(step.doc, command)
        for cmd in repo_installs(ctx, [command], workdir):
            out.append(
                Install(
                    pos,
                    eff,
                    cmd,
                    cmd.line,
                    column,
                    env,
                    workdir,
                    _is_registry(ctx, cmd, workdir),
                    group_packages=_group_packages(ctx, cmd, workdir),
                )
            )
        # the scripts, make targets and package.json scripts it runs
        for cmd, sdir, spath in followed_installs(ctx, command, workdir):
            out.append(
                Install(
                    pos,
                    eff,
                    cmd,
                    command.line,
                    column,
                    {**env, **dict(cmd.command.env)},
                    sdir,
                    _is_registry(ctx, cmd, sdir),
                    spath,
                    cmd.line,
                )
            )
    return out


def _step_workdir(eff: EffStep) -> str | None:
    step = eff.step
    if step.working_directory:
        return None if _is_expr(step.working_directory) else normalize(step.working_directory)
    return eff.workdir


def _script_publishes(ctx: RepoContext, eff: EffStep) -> tuple[str, bool] | None:
    """How a step publishes through a script of the repository: a package.json script, shell
    script or make target that runs a publishing command (``npm run release`` with
    ``"release": "semantic-release"``); None when it does not (as far as the files show). A
    script's name proves nothing (``release`` scripts often only bump versions). The flag
    says whether it publishes only a preview (pkg.pr.new)."""
    step = eff.step
    if step.run is None:
        return None

    def walk(
        command: Command, workdir: str | None, depth: int, seen: frozenset[str]
    ) -> tuple[str, bool] | None:
        for followed in follow(ctx, command, workdir):
            if followed.key in seen:
                continue
            for inner, wd in with_workdirs(list(followed.commands), followed.workdir):
                text = publish_command(inner)
                if text is not None:
                    preview = publish_command(inner, previews=False) is None
                    return f"`{text}` in {followed.path}", preview
                if depth > 1:
                    found = walk(inner, wd, depth - 1, seen | {followed.key})
                    if found is not None:
                        return found
        return None

    for command, workdir in with_workdirs(step.commands(), _step_workdir(eff)):
        found = walk(command, workdir, 3, frozenset())
        if found is not None:
            return found
    return None


def _column(doc: Doc, command: Command) -> int | None:
    if not 0 < command.line <= len(doc.lines) or not command.text:
        return None
    head = command.text.split()[0]
    found = doc.lines[command.line - 1].find(head)
    return found + 1 if found >= 0 else None

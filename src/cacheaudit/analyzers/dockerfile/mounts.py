"""Where each tool writes its cache in a ``RUN`` (user, home, env, options) and what the RUN's
cache mounts do about it: cover it, miss it, belong to root, or get emptied or switched off."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from cacheaudit.analyzers.dockerfile.facts import DISABLING_ENVS, DOCKER_CACHES
from cacheaudit.analyzers.dockerfile.model import (
    DockerfileModel,
    RunInfo,
    User,
    Var,
    _abs,
    _covers,
    _mount_target,
)
from cacheaudit.installs import CACHE_FACTS, env_disables_cache
from cacheaudit.parsing.dockerfile import Mount, expand
from cacheaudit.parsing.shell import Command, InstallCommand


@dataclass(frozen=True)
class Expected:
    """Where one tool writes its cache in this RUN."""

    dirs: tuple[str, ...]
    """Accepted cache directories, the one to suggest first; empty when unknown."""
    user: User
    source: str
    """Why: ``default for root``, ``PIP_CACHE_DIR (ENV at line 4)``, ``--cache-dir``..."""
    home_unknown: bool = False
    """The user's home is unknown (a bare uid): a mount ending in the usual relative path
    counts. Otherwise empty ``dirs`` means a variable we cannot resolve: nothing is judged."""


def _expected(dc: DockerfileModel, run: RunInfo, tool: str, install: InstallCommand) -> Expected:
    spec = DOCKER_CACHES[tool]
    user = run.user
    shell_vars = dict(run.variables)
    shell_vars.setdefault("HOME", user.home or "/")
    shell_vars.update(dict(install.command.env))
    for option, value in install.option_values:
        if option in spec.dir_options:
            resolved = expand(value, shell_vars)
            if resolved:
                return Expected((_abs(resolved, run.workdir),), user, f"`{option} {value}`")
            return Expected((), user, option)
    env = {**run.variables, **dict(install.command.env)}
    for name in spec.dir_envs:
        if env.get(name):
            var = run.var(name)
            origin = var.where if var else "set inline"
            return Expected((_abs(env[name], run.workdir),), user, f"{name} ({origin})")
        if name in run.env and run.env[name].value is None:
            return Expected((), user, name)
    if tool == "pnpm":
        if env.get("PNPM_HOME"):
            return Expected((posixpath.join(env["PNPM_HOME"], "store"),), user, "PNPM_HOME")
        if env.get("XDG_DATA_HOME"):
            return Expected(
                (posixpath.join(env["XDG_DATA_HOME"], "pnpm/store"),), user, "XDG_DATA_HOME"
            )
    elif spec.xdg_subdir and env.get("XDG_CACHE_HOME"):
        return Expected(
            (posixpath.join(env["XDG_CACHE_HOME"], spec.xdg_subdir),), user, "XDG_CACHE_HOME"
        )
    home = env.get("HOME") or user.home
    if home is None:
        return Expected((), user, f"home of user {user.name}", home_unknown=True)
    rel = CACHE_FACTS[tool].home_dir
    if tool == "yarn":
        if _yarn_berry(dc):
            berry = (
                posixpath.join(home, ".yarn/berry/cache"),
                posixpath.join(run.workdir, ".yarn/cache"),
            )
            return Expected(berry, user, "yarn berry's cache")
        if user.root and "HOME" not in env:  # yarn classic swaps root's home (RULES.md)
            return Expected((CACHE_FACTS["yarn"].root_dir,), user, "yarn's default for root")
    why = "default for root" if user.root else f"default for user {user.name}"
    return Expected((posixpath.join(home, rel),), user, why)


def _yarn_berry(dc: DockerfileModel) -> bool:
    return dc.ctx.exists(".yarnrc.yml", dc.build_context)


def _related(mount: Mount, target: str | None, tool: str) -> bool:
    text = f"{target or mount.target or ''} {mount.get('id') or ''}"
    words = set(re.split(r"[^A-Za-z0-9]+", text))
    return bool(words & DOCKER_CACHES[tool].keywords)


@dataclass(frozen=True)
class MountCheck:
    covering: tuple[Mount, ...]
    related: tuple[tuple[Mount, str], ...]
    """Mounts meant for the tool (by name) whose target misses the cache dir."""
    unknown: bool
    """A cache mount whose target cannot be known: nothing is judged."""
    unwritable: tuple[Mount, ...]
    """Covering mounts a non-root user cannot write (owned by root)."""


def _check_mounts(run: RunInfo, tool: str, expected: Expected) -> MountCheck:
    covering: list[Mount] = []
    related: list[tuple[Mount, str]] = []
    unwritable: list[Mount] = []
    unknown = False
    for mount in run.instruction.mounts:
        if mount.type != "cache":
            continue
        target = _mount_target(mount, run.variables, run.workdir)
        if target is None:
            unknown = True
            continue
        if expected.dirs:
            hit = any(_covers(target, d) for d in expected.dirs)
        elif expected.home_unknown:  # accept a mount that ends where the tool's cache would
            hit = target.endswith("/" + CACHE_FACTS[tool].home_dir) and not target.startswith(
                "/root/"
            )
        else:
            unknown = True  # the cache dir itself is unknown
            continue
        if hit:
            covering.append(mount)
            if not _writable_by(mount, expected.user):
                unwritable.append(mount)
        elif _related(mount, target, tool):
            related.append((mount, target))
    return MountCheck(tuple(covering), tuple(related), unknown, tuple(unwritable))


def _writable_by(mount: Mount, user: User) -> bool:
    if user.root:
        return True
    mode = mount.get("mode")
    if mode and mode[-1:] in ("2", "3", "6", "7"):
        return True  # world-writable
    uid = mount.get("uid")
    if uid is None:
        return False  # BuildKit creates cache mounts owned by uid 0
    return user.uid is None or uid == user.uid


def _disabled_by(run: RunInfo, tool: str, installs: list[InstallCommand]) -> str | None:
    """What turns the tool's cache off in this RUN, described; None when nothing does."""
    for install in installs:
        if install.no_cache:
            inline = [n for n, _ in install.command.env if n in DISABLING_ENVS]
            if inline:
                return f"`{inline[0]}` set inline (line {install.line})"
            flag = next(
                (o for o in install.options if o in ("--no-cache-dir", "--no-cache", "-n")),
                "--no-cache",
            )
            return f"`{flag}` (line {install.line})"
    name = env_disables_cache(tool, run.variables)
    if name is not None:
        var = run.var(name)
        if var is not None:
            where = var.where
            if var.stage != run.stage.key:
                where += f" in stage {var.stage}"
            return f"`{name}` ({where})"
        return f"`{name}`"
    return None


def _env_disabler(run: RunInfo, tool: str) -> Var | None:
    name = env_disables_cache(tool, run.variables)
    return run.var(name) if name else None


def _cleaners(run: RunInfo, dirs: tuple[str, ...]) -> list[Command]:
    """``rm -rf`` of (part of) the cache directory in the same RUN: the lean-image habit, which
    empties a cache mount."""
    shell_vars = dict(run.variables)
    shell_vars.setdefault("HOME", run.user.home or "/")
    found = []
    for command in run.commands:
        if command.program != "rm":
            continue
        for arg in command.argv[1:]:
            if arg.startswith("-"):
                continue
            value = expand(arg.rstrip("*").rstrip("/"), shell_vars)
            path = _abs(value, run.workdir) if value else None
            if path and any(_covers(path, d) or _covers(d, path) for d in dirs):
                found.append(command)
                break
    return found


def _cache_targets(run: RunInfo) -> list[str]:
    targets = (
        _mount_target(m, run.variables, run.workdir)
        for m in run.instruction.mounts
        if m.type == "cache"
    )
    return [t for t in targets if t is not None]


def _cache_state(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> bool | None:
    tool = install.cache_tool
    if tool in DOCKER_CACHES:
        expected = _expected(dc, run, tool, install)
        check = _check_mounts(run, tool, expected)
        if check.unknown and not check.covering:
            return None
        if _disabled_by(run, tool, [install]) is not None:
            return False
        return bool(check.covering) and not check.unwritable
    if tool == "apk":
        targets = _cache_targets(run)
        return any(_covers(t, "/var/cache/apk") or _covers(t, "/etc/apk/cache") for t in targets)
    if tool == "conda":
        return any(_covers(t, "/opt/conda/pkgs") for t in _cache_targets(run))
    return None

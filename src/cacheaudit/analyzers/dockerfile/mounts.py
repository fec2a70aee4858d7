"""Where each tool writes its cache in a ``RUN`` (user, home, env, options) and what the RUN's
cache mounts do about it: cover it, miss it, belong to root, or get emptied or switched off."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from cacheaudit.analyzers.dockerfile.facts import APT_NEEDS, DISABLING_ENVS, DOCKER_CACHES
from cacheaudit.analyzers.dockerfile.model import (
    DockerfileModel,
    RunInfo,
    User,
    Var,
    _abs,
    _covers,
    _mount_target,
)
from cacheaudit.analyzers.dockerfile.walk import configured_cache
from cacheaudit.installs import CACHE_FACTS, env_disables_cache
from cacheaudit.model import CacheState
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
    configured = _configured(run, tool, install)
    if configured is not None:
        return Expected((configured[0],), user, f"`{tool} config` at line {configured[1]}")
    if tool == "pnpm":
        if env.get("PNPM_HOME"):
            return Expected((posixpath.join(env["PNPM_HOME"], "store"),), user, "PNPM_HOME")
        if env.get("XDG_DATA_HOME"):
            return Expected(
                (posixpath.join(env["XDG_DATA_HOME"], "pnpm/store"),), user, "XDG_DATA_HOME"
            )
    elif tool == "bun" and env.get("BUN_INSTALL"):
        return Expected((posixpath.join(env["BUN_INSTALL"], "install/cache"),), user, "BUN_INSTALL")
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


def _configured(run: RunInfo, tool: str, install: InstallCommand) -> tuple[str, int] | None:
    """The cache directory a config command set for this user, in this RUN before the install
    or in an earlier one."""
    found = None
    for command in run.commands:
        if command is install.command:
            break
        moved = configured_cache(command, run.user, run.variables, run.workdir)
        if moved is not None and moved[0] == tool:
            found = (moved[1], command.line)
    return found or run.configured.get((tool, run.user.name))


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
    """Whether ``user`` can write the mount: BuildKit creates cache mounts owned by ``uid``/
    ``gid`` (default 0) with ``mode`` (default 0755)."""
    if user.root:
        return True
    try:
        mode = int(mount.get("mode") or "755", 8)
    except ValueError:
        mode = 0o755
    uid = mount.get("uid") or "0"
    gid = mount.get("gid") or "0"
    if uid != "0" and (user.uid is None or uid == user.uid):
        return bool(mode & 0o200)  # the user's own mount (an unknown uid is given the benefit)
    if gid != "0" and user.gid is not None and gid == user.gid:
        return bool(mode & 0o020)
    return bool(mode & 0o002)


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


@dataclass(frozen=True)
class SiteCache:
    """The cache state of one install site, with the one-line reason."""

    state: CacheState
    reason: str

    @property
    def cached(self) -> bool | None:
        if self.state is CacheState.UNKNOWN:
            return None
        return self.state is CacheState.EFFECTIVE


def _site_cache(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> SiteCache:
    tool = install.cache_tool
    if tool in DOCKER_CACHES:
        return _tool_cache(dc, run, tool, install)
    if install.tool == "apt":
        return _apt_cache(run)
    targets = _cache_targets(run)
    if tool == "apk":
        hit = next((t for t in targets if _covers(t, "/var/cache/apk")), None)
        hit = hit or next((t for t in targets if _covers(t, "/etc/apk/cache")), None)
        if hit:
            return SiteCache(CacheState.EFFECTIVE, f"cache mount on {hit}")
        if install.no_cache:
            return SiteCache(CacheState.MISSING, "apk --no-cache: lean, downloads on every build")
        return SiteCache(CacheState.MISSING, "no cache mount on /var/cache/apk")
    facts = CACHE_FACTS.get(tool)
    if facts is None:
        return SiteCache(CacheState.UNKNOWN, f"cacheaudit does not model {tool}'s cache")
    home = run.variables.get("HOME") or run.user.home
    dirs = [facts.root_dir] if run.user.root else []
    if home and not facts.home_dir.startswith("/"):
        dirs.append(posixpath.join(home, facts.home_dir))
    hit = next((t for t in targets if any(_covers(t, d) for d in dirs)), None)
    if hit:
        return SiteCache(CacheState.EFFECTIVE, f"cache mount on {hit}")
    if any(n in run.variables for n in facts.dir_envs):
        return SiteCache(CacheState.UNKNOWN, f"{tool}'s cache is moved by the environment")
    return SiteCache(CacheState.MISSING, f"no cache mount on {dirs[0] if dirs else tool}")


def _tool_cache(dc: DockerfileModel, run: RunInfo, tool: str, install: InstallCommand) -> SiteCache:
    expected = _expected(dc, run, tool, install)
    check = _check_mounts(run, tool, expected)
    wants = expected.dirs[0] if expected.dirs else f"{tool}'s cache directory"
    if check.unknown and not check.covering:
        return SiteCache(
            CacheState.UNKNOWN,
            f"a cache mount or {tool}'s cache directory ({expected.source}) depends on a "
            "variable set outside the Dockerfile",
        )
    disabled = _disabled_by(run, tool, [install])
    if check.covering:
        cleaners = _cleaners(run, expected.dirs)
        if disabled:
            return SiteCache(CacheState.BROKEN, f"{disabled} turns the mounted cache off")
        if cleaners:
            shown = " ".join(cleaners[0].text.split())
            return SiteCache(CacheState.BROKEN, f"`{shown}` empties the mounted cache")
        if check.unwritable:
            return SiteCache(
                CacheState.BROKEN,
                f"the cache mount on {wants} is not writable by user {expected.user.name}",
            )
        return SiteCache(CacheState.EFFECTIVE, f"cache mount on {wants}")
    if check.related:
        _, target = check.related[0]
        return SiteCache(
            CacheState.BROKEN, f"the cache mount targets {target}, but {tool} writes to {wants}"
        )
    if disabled:
        return SiteCache(CacheState.MISSING, f"no cache mount; {disabled} keeps the image lean")
    return SiteCache(CacheState.MISSING, f"no cache mount on {wants}")


def _apt_cache(run: RunInfo) -> SiteCache:
    targets = _cache_targets(run)
    debs = any(_covers(t, APT_NEEDS[0]) for t in targets)
    lists = any(_covers(t, APT_NEEDS[1]) for t in targets)
    if debs and not run.docker_clean_off:
        return SiteCache(
            CacheState.BROKEN,
            "/etc/apt/apt.conf.d/docker-clean deletes the downloaded packages from the "
            "/var/cache/apt mount",
        )
    if debs:
        note = "" if lists else " (package lists not mounted)"
        return SiteCache(CacheState.EFFECTIVE, f"cache mount on /var/cache/apt{note}")
    if lists:
        return SiteCache(
            CacheState.BROKEN, "only the package lists are mounted: the .debs download again"
        )
    return SiteCache(CacheState.MISSING, "no cache mounts on /var/cache/apt and /var/lib/apt")

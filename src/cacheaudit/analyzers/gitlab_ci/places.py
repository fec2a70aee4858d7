"""Where things are: variables expanded the way a job sees them, where each installer writes its
download cache, which cached paths hold it, and what a cache key is made of."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from cacheaudit.analyzers.gitlab_ci.model import (
    CachePath,
    CacheSpec,
    EnvVar,
    Job,
    JobCache,
    Place,
    Step,
    components,
    flatten,
)
from cacheaudit.analyzers.gitlab_ci.tools import (
    ENV_DIRS,
    JOB_CONSTANT_VARS,
    TOOLS,
    XDG_PARENT,
    ToolCache,
)
from cacheaudit.parsing.lockfiles import yarn_flavour
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

PROJECT = "\x00"
"""Stands for ``$CI_PROJECT_DIR`` in expanded text."""


# --- variables and paths --------------------------------------------------------------------

VAR_PATTERN = re.compile(
    r"\$\$|\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)|(\$\(\s*pwd\s*\)|`pwd`)"
    r"|\$\{[^}]*\}|\$\([^)]*\)|\$\[\[.*?\]\]"
)
"""``$$``, ``${NAME}``, ``$NAME``, ``$(pwd)``; other ``${...}``/``$(...)`` forms and
``$[[ inputs.x ]]`` interpolation are unknown."""


@dataclass(frozen=True)
class Scope:
    """What ``$VAR`` means for one job at one point of its script."""

    job: Job
    env: dict[str, EnvVar]
    workdir: str | None

    def lookup(self, name: str, depth: int, keep: bool) -> str | None:
        if name == "CI_PROJECT_DIR":
            return PROJECT
        if name == "PWD":
            return None if self.workdir is None else f"{PROJECT}/{self.workdir}".rstrip("/")
        if name == "CI_JOB_NAME":
            return self.job.name
        if name == "CI_JOB_NAME_SLUG":
            return re.sub(r"[^a-z0-9]+", "-", self.job.name.lower()).strip("-")[:63]
        if name == "CI_JOB_STAGE":
            return self.job.stage
        var = self.env.get(name)
        if var is None or var.value is None:
            return "~" if name == "HOME" else None
        if not var.expand:
            return var.value
        if depth > 8:
            return None  # variables that refer to each other
        return self.expand(var.value, depth + 1, keep)

    def expand(self, text: str, depth: int = 0, keep: bool = False) -> str | None:
        """``text`` with variables replaced; None when one is unknown (unless ``keep``, which
        leaves unknown ones as written)."""
        unknown = False

        def sub(match: re.Match[str]) -> str:
            nonlocal unknown
            whole = match.group(0)
            if whole == "$$":
                return "$"
            name = match.group(1) or match.group(2) or ("PWD" if match.group(3) else None)
            value = self.lookup(name, depth, keep) if name else None
            if value is None:
                unknown = True
                return whole
            return value

        out = VAR_PATTERN.sub(sub, text)
        if unknown and not keep:
            return None
        return out


def place_at(expanded: str | None, base: str | None, how: str = "") -> Place:
    if expanded is None:
        return Place("unknown", how=how)
    shown = expanded.replace(PROJECT, "$CI_PROJECT_DIR")
    if expanded.startswith(PROJECT):
        rest = expanded[len(PROJECT) :].lstrip("/")
        if not rest:
            return Place("project", "", shown, how)
        rel = normalize(rest)
        return (
            Place("project", rel, shown, how)
            if rel is not None
            else Place("outside", "", shown, how)
        )
    if PROJECT in expanded:
        return Place("unknown", how=how)
    if expanded.startswith("~"):
        return Place("outside", "", shown, how)
    if expanded.startswith("/"):
        # /builds/<namespace>/<project> is the usual project dir: it may be inside.
        return Place("unknown" if expanded.startswith("/builds/") else "outside", "", shown, how)
    if base is None:
        return Place("unknown", how=how)
    rel = normalize(expanded, base)
    if rel is None:
        return Place("outside", "", shown, how)
    return Place("project", rel, shown, how)


def option_value(argv: tuple[str, ...], names: tuple[str, ...]) -> str | None:
    for index, word in enumerate(argv):
        for name in names:
            if word == name and index + 1 < len(argv):
                return argv[index + 1]
            if word.startswith(name + "="):
                return word[len(name) + 1 :]
    return None


def tool_of(install: InstallCommand) -> ToolCache | None:
    """The download cache an install fills, when cacheaudit knows where it lives."""
    if install.tool == "pre-commit":
        return TOOLS["pre-commit"]
    return TOOLS.get(install.cache_tool)


def cache_dir(ctx: RepoContext, job: Job, step: Step, install: InstallCommand) -> Place:
    """Where ``install`` writes its download cache, as the job configures it."""
    spec = tool_of(install)
    if spec is None:
        return Place("unknown")
    if install.no_cache or disabled_by_env(spec.tool, step.env):
        return Place("disabled")
    return tool_place(ctx, job, step, spec, install.command.argv)


def tool_place(
    ctx: RepoContext, job: Job, step: Step, spec: ToolCache, argv: tuple[str, ...] = ()
) -> Place:
    """Where ``spec``'s cache is at ``step``: command-line flag, then variable, then
    ``<tool> config``, then ``$XDG_CACHE_HOME``, then the default below ``$HOME``."""
    scope = Scope(job, step.env, step.workdir)
    berry = spec.tool == "yarn" and yarn_flavour(ctx, step.workdir or "") == "berry"
    if berry:
        # Yarn 2+: `.yarn/cache`, or (the default since Yarn 4) a global cache that ignores
        # YARN_CACHE_FOLDER; which one depends on .yarnrc.yml and the version
        return Place("unknown")
    flag = option_value(argv, spec.flags)
    if flag is not None:
        return place_at(scope.expand(flag), step.workdir, f"`{_flag_name(argv, spec)} {flag}`")
    for name in spec.env:
        var = step.env.get(name)
        if var is not None and var.value is not None:
            return place_at(scope.lookup(name, 0, False), step.workdir, f"{name} is `{var.value}`")
    configured = step.env.get(f"@{spec.tool}")
    if configured is not None and configured.value is not None:
        return place_at(
            scope.expand(configured.value), step.workdir, f"`{spec.tool} config` sets it"
        )
    xdg = step.env.get("XDG_CACHE_HOME")
    if spec.xdg and xdg is not None and xdg.value is not None:
        base = scope.lookup("XDG_CACHE_HOME", 0, False)
        where = None if base is None else f"{base.rstrip('/')}/{spec.xdg}"
        return place_at(where, step.workdir, f"XDG_CACHE_HOME is `{xdg.value}`")
    how = f"{spec.env[0]} is not set" if not spec.fix_command else "no store-dir is configured"
    if spec.home.startswith("/"):
        return place_at(spec.home, step.workdir, how)
    home = scope.lookup("HOME", 0, False)
    return place_at(None if home is None else f"{home.rstrip('/')}/{spec.home}", step.workdir, how)


def _flag_name(argv: tuple[str, ...], spec: ToolCache) -> str:
    for word in argv:
        for flag in spec.flags:
            if word == flag or word.startswith(flag + "="):
                return flag
    return spec.flags[0]


def disabled_by_env(tool: str, env: dict[str, EnvVar]) -> EnvVar | None:
    """The variable that turns the tool's cache off: any ``PIP_NO_CACHE_DIR`` (even ``0``),
    ``UV_NO_CACHE`` unless empty or false."""
    if tool == "pip":
        return env.get("PIP_NO_CACHE_DIR")
    if tool == "uv":
        var = env.get("UV_NO_CACHE")
        if var is not None and (var.value or "").strip().lower() not in (
            "",
            "0",
            "false",
            "no",
            "off",
        ):
            return var
    return None


def meant_for(path: CachePath, spec: ToolCache) -> bool:
    """Whether a cached path is evidently meant to hold ``spec``'s download cache."""
    text = path.place.rel if path.place.kind == "project" else path.place.shown or path.raw
    parts = components(text.replace("$CI_PROJECT_DIR", ""))
    if not parts:
        return False
    if parts == [XDG_PARENT] and spec.xdg:
        return True
    if spec.tool == "pip" and parts[-1] in ("site-packages", "dist-packages"):
        return path.place.kind == "outside"
    tail = parts[-2:] if len(parts) > 1 and parts[-2] == XDG_PARENT else parts[-1:]
    return any(spec.names.search(part) for part in tail) or "/".join(parts[-2:]) == spec.home


def env_target(job: Job, step: Step, install: InstallCommand) -> str | None:
    """The project directory an install puts packages into (a virtualenv, node_modules), or
    None for the system site-packages or anywhere outside the project."""
    if step.workdir is None:
        return None
    scope = Scope(job, step.env, step.workdir)

    def env_dir(name: str) -> str | None:
        value = scope.lookup(name, 0, False)
        place = place_at(value, step.workdir) if value is not None else None
        return place.rel if place is not None and place.kind == "project" else None

    def flag(name: str) -> bool:
        value = scope.lookup(name, 0, False) or ""
        return value.strip().lower() in ("1", "true", "yes", "on")

    local = posixpath.join(step.workdir, ".venv") if step.workdir else ".venv"
    tool, argv = install.tool, install.command.argv
    if tool == "pip":
        first = argv[0] if argv else ""
        if "/bin/" in first and not first.startswith("/"):
            return normalize(first.split("/bin/")[0], step.workdir)
        return env_dir("VIRTUAL_ENV")
    if tool == "uv":
        if install.action == "sync":
            return env_dir("UV_PROJECT_ENVIRONMENT") or local
        if install.action.startswith("pip") and "--system" not in argv:
            return env_dir("VIRTUAL_ENV") or local
        return None
    if tool == "poetry":
        return local if flag("POETRY_VIRTUALENVS_IN_PROJECT") else env_dir("VIRTUAL_ENV")
    if tool == "pipenv":
        return local if flag("PIPENV_VENV_IN_PROJECT") else None
    if tool == "pdm":
        return local
    if tool in ("tox", "nox"):
        return posixpath.join(step.workdir, f".{tool}") if step.workdir else f".{tool}"
    if tool in ("npm", "yarn", "pnpm"):
        if tool == "npm" and install.action == "ci":
            return None  # npm ci deletes node_modules first
        return posixpath.join(step.workdir, "node_modules") if step.workdir else "node_modules"
    return None


def is_env_dir(path: CachePath, family: str) -> bool:
    pattern = ENV_DIRS.get(family)
    if pattern is None or path.place.kind != "project":
        return False
    return any(pattern.match(part) for part in components(path.place.rel))


def job_caches(job: Job) -> list[JobCache]:
    """The job's caches with their paths expanded (GitLab expands variables in them)."""
    scope = Scope(job, yaml_env(job), "")
    out = []
    for spec in job.caches:
        paths = []
        for value in spec.paths:
            raw = value.text or ""
            paths.append(CachePath(value, raw, place_at(scope.expand(raw), "")))
        out.append(JobCache(spec, tuple(paths)))
    return out


def yaml_env(job: Job) -> dict[str, EnvVar]:
    """The job's variables as its shell starts with them."""
    return {
        name: EnvVar(var.value, var.expand, var.origin.location, "variables", var.origin.owner)
        for name, var in job.variables.items()
    }


def key_identity(job: Job, spec: CacheSpec) -> str | None:
    """What the cache key is, for comparing caches of different jobs; None when unknowable."""
    key = spec.key
    scope = Scope(job, yaml_env(job), "")
    if key is None:
        return "default"
    text = key.text
    if text is not None:
        return scope.expand(text, keep=True)
    mapping = key.map
    if mapping is None:
        return None
    files = [
        t for v in flatten(mapping.get("files") or mapping.get("files_commits")) if (t := v.text)
    ]
    prefix_value = mapping.get("prefix")
    prefix = scope.expand(prefix_value.text or "", keep=True) if prefix_value is not None else ""
    return f"files:{','.join(files)}|prefix:{prefix}"


def constant_key(job: Job, spec: CacheSpec) -> str | None:
    """The constant value of a key that never changes with the dependencies, else None."""
    key = spec.key
    if key is None:
        return "default"
    text = key.text
    if text is None:
        return None
    expanded = Scope(job, yaml_env(job), "").expand(text, keep=True)
    if expanded is None:
        return None
    leftover = [
        m.group(1) or m.group(2) for m in VAR_PATTERN.finditer(expanded) if m.group(0) != "$$"
    ]
    if any(name not in JOB_CONSTANT_VARS for name in leftover):
        return None
    return text


def cache_policy(job: Job, spec: CacheSpec) -> str | None:
    if spec.policy is None:
        return "pull-push"
    text = spec.policy.text
    if text is None:
        return None
    if "$" in text:
        text = Scope(job, yaml_env(job), "").expand(text) or ""
    return text.strip() or None

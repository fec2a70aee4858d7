"""GitLab CI analyzer: rules CA201–CA207, plus CA504 for files the configuration names.

The effective configuration of every job (includes, anchors, ``extends``, ``!reference``,
``default:``, ``inherit:``) comes from :mod:`cacheaudit.analyzers.gitlab_resolve`. This module
then reads each job's shell the way the runner runs it (``before_script`` and ``script`` in one
shell, ``after_script`` in a fresh one; ``cd``, ``export``, ``<tool> config set`` and sourced or
executed repository scripts followed), works out where every installer writes its download
cache, and judges the job's caches against that:

- CA201: an install whose downloads no cache of the job holds.
- CA202: a cached path outside ``$CI_PROJECT_DIR``, or a cached ``.cache/pip`` (``.npm``,
  ``.cache/uv``...) the tool never writes to because its variable or flag was not pointed there.
- CA203: a dependency cache with no ``key`` or a constant one.
- CA204: several jobs share a dependency cache and all push it (default ``pull-push``).
- CA205: ``unprotect: true``.
- CA206: a pip cache defeated by ``--no-cache-dir``, ``PIP_NO_CACHE_DIR`` or ``uv pip``.
- CA207: ``docker build`` without a layer cache source.

Findings are grouped by the line that causes them (a template's script line shared by ten jobs
is one finding naming the ten jobs) and point at the file where that line is written. Local
child pipelines (``trigger: include:``) are audited as pipelines of their own, with the
variables their trigger job forwards. Findings that rest on something being absent (no cache,
a variable not set) are left out for jobs whose configuration cannot be fully seen: an
``extends`` parent or a ``default:`` that may come from a remote, project, template or
component include.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from cacheaudit.analyzers import scripts
from cacheaudit.analyzers.gitlab_resolve import (
    CacheSpec,
    Job,
    Origin,
    Pipeline,
    Value,
    Variable,
    flatten,
    missing_file_fix,
    resolve,
    truthy,
)
from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.installs import (
    CACHE_FACTS,
    LOCKFILES_BY_TOOL,
    MANIFESTS_BY_TOOL,
    explicit_inputs,
    install_inputs,
)
from cacheaudit.model import Analysis, Finding, Fix, InstallSite, Location
from cacheaudit.parsing.lockfiles import load_toml, yarn_flavour
from cacheaudit.parsing.shell import Command, InstallCommand, parse_script
from cacheaudit.paths import glob_match, normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

ROOT_FILE = ".gitlab-ci.yml"
MAX_SCRIPT_DEPTH = 3
"""How deep executed or sourced repository scripts are followed."""


# --- installer facts for GitLab (where each tool's download cache goes) ---------------------


@dataclass(frozen=True)
class ToolCache:
    """Where one installer keeps its download cache and how a GitLab job moves it."""

    tool: str
    env: tuple[str, ...]
    """Variables that move the cache; the first is the one fixes set."""
    flags: tuple[str, ...]
    """Command-line options that move it (``npm ci --cache .npm``)."""
    config_keys: tuple[str, ...]
    """Keys of ``<tool> config set KEY VALUE`` (or ``poetry config KEY VALUE``) that move it."""
    xdg: str | None
    """Subdirectory of ``$XDG_CACHE_HOME`` the tool honours."""
    home: str
    """Default location below ``$HOME`` (or absolute)."""
    project_dir: str
    """The directory inside the project that fixes use."""
    names: re.Pattern[str]
    """Cached path components that are meant for this tool's cache (``.cache/pip``, ``.npm``)."""
    family: str
    """``python``, ``node`` or ``conda``: which installed-environment caches also hold it."""
    fix_command: str | None = None
    """A command fixes add to ``before_script`` instead of a variable (pnpm's documented way)."""


def _tool(
    tool: str,
    home: str,
    project_dir: str,
    names: str,
    family: str,
    *,
    config_keys: tuple[str, ...] = (),
    xdg: str | None = None,
    fix_command: str | None = None,
) -> ToolCache:
    # Env vars and options that move the cache come from the shared installer facts.
    facts = CACHE_FACTS[tool]
    return ToolCache(
        tool, facts.dir_envs, facts.dir_options, config_keys, xdg, home, project_dir,
        re.compile(names), family, fix_command,
    )  # fmt: skip


TOOLS: dict[str, ToolCache] = {
    t.tool: t
    for t in (
        _tool("pip", ".cache/pip", ".cache/pip", r"(^|[._-])pip([._-]|$)",
              "python", xdg="pip",
              config_keys=("global.cache-dir", "user.cache-dir", "site.cache-dir", "cache-dir")),
        _tool("uv", ".cache/uv", ".cache/uv",
              r"^\.?uv([._-]cache)?$|(^|[._-])uv[._-]cache", "python",
              xdg="uv"),
        _tool("poetry", ".cache/pypoetry", ".cache/pypoetry", r"poetry",
              "python", config_keys=("cache-dir",), xdg="pypoetry"),
        _tool("pdm", ".cache/pdm", ".cache/pdm", r"(^|[._-])pdm([._-]|$)",
              "python", config_keys=("cache_dir", "cache-dir"), xdg="pdm"),
        _tool("pre-commit", ".cache/pre-commit", ".cache/pre-commit",
              r"pre-?commit", "python", xdg="pre-commit"),
        _tool("npm", ".npm", ".npm",
              r"(^|[._-])npm([._-]|$)", "node", config_keys=("cache",)),
        _tool("yarn", ".cache/yarn", ".yarn-cache", r"yarn", "node",
              config_keys=("cache-folder",), xdg="yarn"),
        _tool("pnpm", ".local/share/pnpm/store",
              ".pnpm-store", r"pnpm", "node", config_keys=("store-dir",),
              fix_command="pnpm config set store-dir .pnpm-store"),
        _tool("conda", "/opt/conda/pkgs", ".conda/pkgs", r"conda|^pkgs$",
              "conda"),
    )
}  # fmt: skip
"""Where each installer's download cache goes and how a job moves it into the project.
Sources: pip "Caching", uv "Caching", Poetry/PDM configuration, npm ``cache`` config, Yarn
classic ``cache-folder``, pnpm ``store-dir`` (pnpm.io "Continuous Integration", GitLab CI),
GitLab "Caching in GitLab CI/CD" examples."""

CONFIG_PROGRAMS: dict[str, str] = {
    "pip": "pip", "pip3": "pip", "npm": "npm", "yarn": "yarn", "pnpm": "pnpm",
    "poetry": "poetry", "pdm": "pdm",
}  # fmt: skip
"""Programs whose ``config`` subcommand can move the cache (program → tool)."""

ENV_DIRS: dict[str, re.Pattern[str]] = {
    "python": re.compile(r"^\.?venv[\w.-]*$|^\.?virtualenvs?$|^\.tox$|^\.nox$"),
    "node": re.compile(r"^node_modules$"),
    "conda": re.compile(r"^\.?conda[\w.-]*$|^envs$"),
}  # fmt: skip
"""Installed-environment directories: caching one keeps installs from downloading again."""

XDG_PARENT = ".cache"

JOB_CONSTANT_VARS = frozenset(
    {
        "CI_JOB_NAME", "CI_JOB_NAME_SLUG", "CI_JOB_STAGE", "CI_PROJECT_NAME", "CI_PROJECT_PATH",
        "CI_PROJECT_PATH_SLUG", "CI_PROJECT_ID", "CI_PROJECT_NAMESPACE", "CI_DEFAULT_BRANCH",
        "CI_SERVER_HOST", "CI_SERVER_URL", "CI_REGISTRY", "CI_REGISTRY_IMAGE", "CI_RUNNER_TAGS",
    }
)  # fmt: skip
"""Predefined variables that do not change between pipelines: a key made only of these is
still constant (CA203)."""

SKIP_TOOLS = frozenset({"apt", "apk"})
"""System package managers: their cache lives outside the project; the fix is an image."""

PROJECT = "\x00"
"""Stands for ``$CI_PROJECT_DIR`` in expanded text."""

Message = Callable[[str], str]


# --- entry point ----------------------------------------------------------------------------


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    """Audit the pipeline rooted at ``file`` (and its child pipelines), unless another CI file
    includes it: then it is audited as part of that pipeline."""
    if file.path != ROOT_FILE and file.path in _covered_elsewhere(ctx, file.path):
        return Analysis()
    findings: list[Finding] = []
    installs: list[InstallSite] = []
    for root, forwarded in _pipeline_roots(ctx, file.path).items():
        pipeline = resolve(ctx, root)
        found, sites = _Audit(ctx, pipeline, forwarded).run()
        findings.extend(found)
        installs.extend(sites)
    return Analysis(findings, installs)


def _pipeline_roots(ctx: RepoContext, root: str) -> dict[str, dict[str, Variable]]:
    """``root`` and the local child pipelines its trigger jobs start (recursively), each with
    the variables its trigger job forwards to it (``trigger:forward:yaml_variables``, on by
    default)."""
    roots: dict[str, dict[str, Variable]] = {root: {}}
    pending = [root]
    while pending and len(roots) < 50:
        parent = pending.pop(0)
        for job in resolve(ctx, parent).jobs:
            for child in job.trigger_includes:
                if child not in roots and child in ctx.paths:
                    roots[child] = {**roots[parent], **job.variables}
                    pending.append(child)
    return roots


def _covered_elsewhere(ctx: RepoContext, path: str) -> frozenset[str]:
    """Files that other CI files include or start as child pipelines."""

    def compute() -> frozenset[str]:
        covered: set[str] = set()
        for other in ctx.files_of(FileKind.GITLAB_CI):
            if other.path == path:
                continue
            for root in _pipeline_roots(ctx, other.path):
                covered.update(p for p in resolve(ctx, root).files if p != other.path)
        return frozenset(covered)

    return ctx.memo("gitlab-ci:covered", path, compute)


# --- shell walking --------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvVar:
    """A variable the job's shell sees, and where it was set."""

    value: str | None
    expand: bool
    location: Location | None
    source: str
    """``variables`` (the YAML), ``export``, ``inline`` (``A=b cmd``) or ``config``."""
    owner: str = ""
    """Template, job or script file where it is set (for stable finding subjects)."""


@dataclass(frozen=True)
class Step:
    """One command of a job, with the shell state it runs in."""

    command: Command
    path: str
    """File where the command is written (the CI file or a repository script)."""
    owner: str
    """Template, job or script file that holds it (for stable finding subjects)."""
    section: str
    env: dict[str, EnvVar]
    workdir: str | None
    """Directory relative to the project root, None once unknowable (``cd $SOMEWHERE``)."""


@dataclass
class _Shell:
    env: dict[str, EnvVar]
    workdir: str | None = ""
    stack: list[str | None] = field(default_factory=list)

    def copy(self) -> _Shell:
        return _Shell(dict(self.env), self.workdir, list(self.stack))


def job_steps(ctx: RepoContext, job: Job) -> list[Step]:
    """Every command the job runs, in order, with its environment and working directory."""
    base = yaml_env(job)
    steps: list[Step] = []
    shell = _Shell(dict(base))
    in_after = False
    for item in job.scripts:
        if item.section == "after_script" and not in_after:
            in_after = True
            shell = _Shell(dict(base))  # after_script runs in a new shell, back in the project
        commands = parse_script(item.text, start_line=item.origin.text_line)
        _walk(ctx, commands, item.origin.path, item.origin.owner, item.section, shell, steps, 0)
    return steps


def _walk(
    ctx: RepoContext,
    commands: list[Command],
    path: str,
    owner: str,
    section: str,
    shell: _Shell,
    steps: list[Step],
    depth: int,
) -> None:
    for cmd in commands:
        env = dict(shell.env)
        location = Location(path, cmd.line)
        for name, value in cmd.env:
            env[name] = EnvVar(value, True, location, "inline", owner)
        steps.append(Step(cmd, path, owner, section, env, shell.workdir))
        if not cmd.argv:  # `A=b` alone: a shell variable; exported only if it already was
            for name, value in cmd.env:
                if name in shell.env:
                    shell.env[name] = EnvVar(value, True, location, "export", owner)
            continue
        _update_shell(cmd, location, owner, shell)
        for run in scripts.follow(ctx, cmd, shell.workdir) if depth < MAX_SCRIPT_DEPTH else ():
            inner = shell if run.sourced else shell.copy()
            inner.workdir = inner.workdir if run.sourced else run.workdir
            _walk(ctx, list(run.commands), run.path, run.path, section, inner, steps, depth + 1)


def _update_shell(cmd: Command, location: Location, owner: str, shell: _Shell) -> None:
    """Follow what a command changes for the commands after it."""
    argv, program = cmd.argv, cmd.program
    if program == "cd":
        shell.workdir = _chdir(shell, argv[1:])
    elif program == "pushd":
        shell.stack.append(shell.workdir)
        shell.workdir = _chdir(shell, argv[1:])
    elif program == "popd":
        shell.workdir = shell.stack.pop() if shell.stack else None
    elif program == "export":
        for word in argv[1:]:
            name, sep, value = word.partition("=")
            if sep and re.fullmatch(r"[A-Za-z_]\w*", name):
                shell.env[name] = EnvVar(value, True, location, "export", owner)
    elif program in ("source", ".") and len(argv) > 1 and argv[1].endswith("/bin/activate"):
        venv = normalize(argv[1][: -len("/bin/activate")], shell.workdir or "")
        if venv is not None and shell.workdir is not None:
            value = f"$CI_PROJECT_DIR/{venv}"
            shell.env["VIRTUAL_ENV"] = EnvVar(value, True, location, "export", owner)
    elif program == "deactivate":
        shell.env.pop("VIRTUAL_ENV", None)
    elif program == "unset":
        for word in argv[1:]:
            shell.env.pop(word, None)
    else:
        setting = _config_setting(cmd)
        if setting is not None:
            tool, value = setting
            shell.env[f"@{tool}"] = EnvVar(value, True, location, "config", owner)


def _chdir(shell: _Shell, args: tuple[str, ...]) -> str | None:
    target = next((a for a in args if not a.startswith("-") or a == "-"), None)
    if target is None or target in ("-", "~") or shell.workdir is None:
        return None
    if "$" in target:
        for prefix in ("$CI_PROJECT_DIR", "${CI_PROJECT_DIR}"):
            if target.startswith(prefix):
                rest = target[len(prefix) :].lstrip("/")
                return normalize(rest) if rest else ""
        return None
    if target.startswith("/"):
        return None
    return normalize(target, shell.workdir)


def _config_setting(cmd: Command) -> tuple[str, str] | None:
    """``npm config set cache .npm`` and friends → (tool, value)."""
    argv = list(cmd.argv)
    program = cmd.program
    if re.fullmatch(r"python[\d.]*", program) and argv[1:3] == ["-m", "pip"]:
        argv, program = argv[2:], "pip"
    tool = CONFIG_PROGRAMS.get(program)
    if tool is None or tool not in TOOLS:
        return None
    words = [w for w in argv[1:] if not w.startswith("-")]
    if not words or words[0] != "config":
        return None
    words = words[1:]
    if words and words[0] == "set":
        words = words[1:]
    if not words:
        return None
    key, sep, value = words[0].partition("=")
    if not sep:
        if len(words) < 2:
            return None
        value = words[1]
    if key in TOOLS[tool].config_keys:
        return tool, value
    return None


# --- variables and paths --------------------------------------------------------------------

_VAR = re.compile(
    r"\$\$|\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)|(\$\(\s*pwd\s*\)|`pwd`)"
    r"|\$\{[^}]*\}|\$\([^)]*\)|\$\[\[.*?\]\]"
)
"""``$$``, ``${NAME}``, ``$NAME``, ``$(pwd)``; other ``${...}``/``$(...)`` forms and
``$[[ inputs.x ]]`` interpolation are unknown."""


@dataclass(frozen=True)
class _Scope:
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

        out = _VAR.sub(sub, text)
        if unknown and not keep:
            return None
        return out


@dataclass(frozen=True)
class Place:
    """Where a directory is, relative to the project."""

    kind: str
    """``project``, ``outside``, ``unknown`` or ``disabled`` (the tool's cache is off)."""
    rel: str = ""
    """For ``project``: the path relative to the project root (``""`` is the root)."""
    shown: str = ""
    """How to show it (``~/.cache/pip``, ``$CI_PROJECT_DIR/.cache/pip``)."""
    how: str = ""
    """Why the tool writes there."""


def _place(expanded: str | None, base: str | None, how: str = "") -> Place:
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


def _option_value(argv: tuple[str, ...], names: tuple[str, ...]) -> str | None:
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
    if install.no_cache or _disabled_by_env(spec.tool, step.env):
        return Place("disabled")
    return tool_place(ctx, job, step, spec, install.command.argv)


def tool_place(
    ctx: RepoContext, job: Job, step: Step, spec: ToolCache, argv: tuple[str, ...] = ()
) -> Place:
    """Where ``spec``'s cache is at ``step``: command-line flag, then variable, then
    ``<tool> config``, then ``$XDG_CACHE_HOME``, then the default below ``$HOME``."""
    scope = _Scope(job, step.env, step.workdir)
    berry = spec.tool == "yarn" and yarn_flavour(ctx, step.workdir or "") == "berry"
    if berry:
        # Yarn 2+: `.yarn/cache`, or (the default since Yarn 4) a global cache that ignores
        # YARN_CACHE_FOLDER; which one depends on .yarnrc.yml and the version
        return Place("unknown")
    flag = _option_value(argv, spec.flags)
    if flag is not None:
        return _place(scope.expand(flag), step.workdir, f"`{_flag_name(argv, spec)} {flag}`")
    for name in spec.env:
        var = step.env.get(name)
        if var is not None and var.value is not None:
            return _place(scope.lookup(name, 0, False), step.workdir, f"{name} is `{var.value}`")
    configured = step.env.get(f"@{spec.tool}")
    if configured is not None and configured.value is not None:
        return _place(scope.expand(configured.value), step.workdir, f"`{spec.tool} config` sets it")
    xdg = step.env.get("XDG_CACHE_HOME")
    if spec.xdg and xdg is not None and xdg.value is not None:
        base = scope.lookup("XDG_CACHE_HOME", 0, False)
        where = None if base is None else f"{base.rstrip('/')}/{spec.xdg}"
        return _place(where, step.workdir, f"XDG_CACHE_HOME is `{xdg.value}`")
    how = f"{spec.env[0]} is not set" if not spec.fix_command else "no store-dir is configured"
    if spec.home.startswith("/"):
        return _place(spec.home, step.workdir, how)
    home = scope.lookup("HOME", 0, False)
    return _place(None if home is None else f"{home.rstrip('/')}/{spec.home}", step.workdir, how)


def _flag_name(argv: tuple[str, ...], spec: ToolCache) -> str:
    for word in argv:
        for flag in spec.flags:
            if word == flag or word.startswith(flag + "="):
                return flag
    return spec.flags[0]


def _disabled_by_env(tool: str, env: dict[str, EnvVar]) -> EnvVar | None:
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


# --- caches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CachePath:
    value: Value
    raw: str
    place: Place


@dataclass(frozen=True)
class JobCache:
    """One of a job's caches with its paths placed."""

    spec: CacheSpec
    paths: tuple[CachePath, ...]

    def covers(self, place: Place) -> bool:
        if place.kind != "project":
            return False
        if self.spec.untracked:
            return True
        return any(
            _path_covers(p.place.rel, place.rel) for p in self.paths if p.place.kind == "project"
        )


def _path_covers(cached: str, target: str) -> bool:
    if cached in ("", "."):
        return True
    cached = cached.rstrip("/")
    if target == cached or target.startswith(cached + "/"):
        return True
    if any(c in cached for c in "*?["):
        return glob_match("/" + cached, target) or glob_match("/" + cached + "/**", target)
    return False


def _components(rel: str) -> list[str]:
    return [c for c in rel.replace("\\", "/").split("/") if c and c != "."]


def meant_for(path: CachePath, spec: ToolCache) -> bool:
    """Whether a cached path is evidently meant to hold ``spec``'s download cache."""
    text = path.place.rel if path.place.kind == "project" else path.place.shown or path.raw
    parts = _components(text.replace("$CI_PROJECT_DIR", ""))
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
    scope = _Scope(job, step.env, step.workdir)

    def env_dir(name: str) -> str | None:
        value = scope.lookup(name, 0, False)
        place = _place(value, step.workdir) if value is not None else None
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
    return any(pattern.match(part) for part in _components(path.place.rel))


def job_caches(job: Job) -> list[JobCache]:
    """The job's caches with their paths expanded (GitLab expands variables in them)."""
    scope = _Scope(job, yaml_env(job), "")
    out = []
    for spec in job.caches:
        paths = []
        for value in spec.paths:
            raw = value.text or ""
            paths.append(CachePath(value, raw, _place(scope.expand(raw), "")))
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
    scope = _Scope(job, yaml_env(job), "")
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
    expanded = _Scope(job, yaml_env(job), "").expand(text, keep=True)
    if expanded is None:
        return None
    leftover = [m.group(1) or m.group(2) for m in _VAR.finditer(expanded) if m.group(0) != "$$"]
    if any(name not in JOB_CONSTANT_VARS for name in leftover):
        return None
    return text


# --- the audit ------------------------------------------------------------------------------


@dataclass
class _Hit:
    rule: str
    location: Location
    subject: str
    message: Message
    fix: Fix | None
    weight: float
    jobs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Facts:
    job: Job
    steps: list[Step]
    caches: list[JobCache]
    installs: list[tuple[Step, InstallCommand, int]]
    """Registry installs with their ordinal within (owner, section, tool), for subjects."""
    known: bool
    """Whether the job's cache configuration is fully known (nothing unresolved)."""


@dataclass
class _Audit:
    ctx: RepoContext
    pipeline: Pipeline
    forwarded: dict[str, Variable] = field(default_factory=dict)
    """Variables a parent pipeline's trigger job passes to this (child) pipeline."""
    hits: dict[tuple[str, str, int, int, str], _Hit] = field(default_factory=dict)
    more: dict[tuple[str, Location, str], dict[str, tuple[int, str]]] = field(default_factory=dict)
    """CA201: per finding and job, how many more installs of the tool run uncached, and why."""
    sites: list[InstallSite] = field(default_factory=list)

    def run(self) -> tuple[list[Finding], list[InstallSite]]:
        facts = [self.facts(job) for job in self.pipeline.jobs if not job.is_trigger]
        for fact in facts:
            self.judge_installs(fact)
            self.judge_paths(fact)
            self.judge_keys(fact)
            self.judge_unprotect(fact)
            self.judge_builds(fact)
        self.judge_policies(facts)
        findings = list(self.pipeline.notices)
        parallel = {j.name: j.parallel for j in self.pipeline.jobs}
        for hit in self.hits.values():
            jobs = list(dict.fromkeys(hit.jobs))
            findings.append(
                RULES[hit.rule].finding(
                    hit.location,
                    hit.message(_jobs_phrase(jobs, parallel)),
                    subject=hit.subject,
                    fix=hit.fix,
                    weight=hit.weight,
                )
            )
        return findings, self.sites

    def hit(
        self,
        rule: str,
        location: Location,
        subject: str,
        job: str,
        message: Message,
        fix: Fix | None,
        weight: float = 1.0,
    ) -> None:
        slot = (rule, location.path, location.line, location.column or 0, subject)
        if slot not in self.hits:
            self.hits[slot] = _Hit(rule, location, subject, message, fix, weight)
        self.hits[slot].jobs.append(job)

    # -- facts --

    def facts(self, job: Job) -> _Facts:
        if self.forwarded:
            job = replace(job, variables={**self.forwarded, **job.variables})
        steps = job_steps(self.ctx, job)
        caches = job_caches(job)
        installs = []
        counter: Counter[tuple[str, str, str]] = Counter()
        for step in steps:
            for install in scripts.repo_installs(self.ctx, [step.command], step.workdir):
                if not self.downloads(install, step):
                    continue
                slot = (step.owner, step.section, install.tool)
                counter[slot] += 1
                installs.append((step, install, counter[slot]))
        # an include that cannot be read may define `default: cache` for this job
        unseen_default = (
            bool(self.pipeline.unfetched)
            and job.cache_state == "none"
            and job.inherits_default("cache")
        )
        known = not job.problems and not unseen_default
        return _Facts(job, steps, caches, installs, known)

    def downloads(self, install: InstallCommand, step: Step) -> bool:
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
                _project_has_dependencies(self.ctx, target, step.workdir)
                for target in install.local_targets
            )
        return True

    # -- CA201 / CA202(b) / CA206 / CA504 (-r files) / install sites --

    def judge_installs(self, fact: _Facts) -> None:
        uncached: dict[str, list[tuple[Step, InstallCommand, int]]] = {}
        for step, install, ordinal in fact.installs:
            self.check_requirement_files(fact, step, install)
            spec = tool_of(install)
            if spec is None or install.tool in SKIP_TOOLS:
                self.record_site(fact, step, install, None, None)
                continue
            place = cache_dir(self.ctx, fact.job, step, install)
            covering = next((c for c in fact.caches if c.covers(place)), None)
            if covering is None:
                # a cached environment the install goes into (.venv, node_modules) spares the
                # downloads too
                target = env_target(fact.job, step, install)
                if target is not None:
                    where = Place("project", target)
                    covering = next((c for c in fact.caches if c.covers(where)), None)
            cached: bool | None = True if covering is not None else None
            if covering is None and fact.known and place.kind != "unknown":
                cached = False
            self.record_site(fact, step, install, cached, covering)
            if cached is not False:
                continue
            defeated = place.kind == "disabled" or (
                install.tool == "uv" and install.action.startswith("pip")
            )
            if defeated and self.check_defeated(fact, step, install, ordinal):
                continue
            meant = [p for c in fact.caches for p in c.paths if meant_for(p, spec)]
            if meant and place.kind != "disabled":
                for path in meant:
                    if path.place.kind == "project":
                        self.empty_cache(fact, spec, place, path)
                continue  # a meant path outside the project is CA202 from judge_paths
            uncached.setdefault(spec.tool, []).append((step, install, ordinal))
        for tool, found in uncached.items():
            # one finding per job and tool, at its first uncached install: one cache fixes all
            step, install, ordinal = found[0]
            self.uncached(fact, step, install, TOOLS[tool], ordinal, len(found) - 1)

    def record_site(
        self,
        fact: _Facts,
        step: Step,
        install: InstallCommand,
        cached: bool | None,
        cache: JobCache | None,
    ) -> None:
        inputs = install_inputs(install, self.ctx, step.workdir) if step.workdir is not None else ()
        key_inputs: tuple[str, ...] = ()
        if cache is not None and cache.spec.key is not None and cache.spec.key.map is not None:
            files = cache.spec.key.map.get("files") or cache.spec.key.map.get("files_commits")
            # GitLab leaves files that do not exist out of the key
            key_inputs = tuple(t for v in flatten(files) if (t := v.text) and self.matches(t))
        self.sites.append(
            InstallSite(
                location=Location(step.path, step.command.line),
                platform="gitlab-ci",
                context=f"pipeline {self.pipeline.root} / job {fact.job.name}",
                tool=install.tool,
                command=" ".join(install.command.text.split()),
                inputs=inputs,
                cached=cached,
                cache_key_inputs=key_inputs,
            )
        )

    def matches(self, pattern: str) -> bool:
        """Whether a ``key: files`` entry names an existing file."""
        rel = normalize(pattern.strip().lstrip("/"))
        if rel is None or "$" in rel:
            return False
        if any(c in rel for c in "*?["):
            return bool(self.ctx.glob("/" + rel))
        return rel in self.ctx.paths

    def uncached(
        self,
        fact: _Facts,
        step: Step,
        install: InstallCommand,
        spec: ToolCache,
        ordinal: int,
        others: int,
    ) -> None:
        job = fact.job
        command = _short(install.command.text)
        location = Location(step.path, step.command.line, _column(self.ctx, step))
        subject = f"{step.owner} / {step.section} / {install.tool} install #{ordinal}"
        if job.cache_state == "disabled" and job.cache_keyword is not None:
            where = f"{job.cache_keyword.path}:{job.cache_keyword.line}"
            reason = f"its `cache: []` ({where}) turns the default cache off"
        elif not fact.caches:
            default = self.pipeline.default_cache
            if (
                job.cache_state == "none"
                and default is not None
                and not job.inherits_default("cache")
            ):
                reason = (
                    "it has no cache: its `inherit: default` keeps out the default cache "
                    f"({default.path}:{default.line})"
                )
            else:
                reason = "no cache is configured for it"
        else:
            shown = ", ".join(f"`{p.raw}`" for c in fact.caches for p in c.paths) or "its cache"
            reason = f"its cache ({shown}) does not hold {spec.tool}'s downloads"
        if install.no_cache:
            reason += f", and `{command}` turns {spec.tool}'s own cache off"
        place = cache_dir(self.ctx, job, step, install)
        where = f" ({spec.tool}'s cache is at {place.shown})" if place.shown else ""
        # jobs sharing this line may differ in why nothing is cached and in how many more
        # installs they run: say what they have in common
        details = self.more.setdefault(("CA201", location, subject), {})
        details[job.name] = (others, reason)

        def message(jobs: str) -> str:
            what = f"`{command}`"
            counts = {n for n, _ in details.values()}
            if len(counts) == 1 and (n := counts.pop()):
                what += f" (and {n} more {spec.tool} install{'s' if n > 1 else ''})"
            reasons = {r for _, r in details.values()}
            why = (
                reasons.pop()
                if len(reasons) == 1
                else f"none of their caches holds {spec.tool}'s downloads"
            )
            return (
                f"{_cap(jobs)} {_verb(jobs, 'installs', 'install')} "
                f"from the registry with {what} but {why}, so every run downloads every "
                f"package again{where}."
            )

        self.hit(
            "CA201",
            location,
            subject,
            job.name,
            message,
            self.cache_fix(fact, step, install, spec),
        )

    def empty_cache(self, fact: _Facts, spec: ToolCache, place: Place, path: CachePath) -> None:
        if place.kind not in ("project", "outside"):
            return
        if place.kind == "outside" and (self.pipeline.unfetched or fact.job.problems):
            return  # the variable that moves the cache may be set where we cannot look
        if place.kind == "project" and _path_covers(path.place.rel, place.rel):
            return
        target = path.place.rel if path.place.kind == "project" else ""
        if target == XDG_PARENT:
            target = f"{XDG_PARENT}/{spec.xdg}"
        writes = place.shown or "elsewhere"
        how = place.how
        top_vars = self.pipeline.top.get("variables")
        name = spec.env[0]
        if (
            top_vars is not None
            and top_vars.get(name) is not None
            and not fact.job.inherits_variable(name)
        ):
            how += f": its `inherit: variables` keeps out the top-level {name}"

        def message(jobs: str) -> str:
            return (
                f"{_cap(jobs)} {_verb(jobs, 'caches', 'cache')} `{path.raw}`, but "
                f"{spec.tool} writes its download cache to {writes} ({how}), so the saved "
                f"cache is empty and every run downloads every package again."
            )

        origin = path.value.origin
        self.hit(
            "CA202",
            origin.location,
            f"{origin.owner} / cache path {path.raw} / {spec.tool}",
            fact.job.name,
            message,
            self.variable_fix(fact, spec, target or spec.project_dir, origin.owner),
        )

    def check_defeated(
        self, fact: _Facts, step: Step, install: InstallCommand, ordinal: int
    ) -> bool:
        """CA206: the job caches pip's directory but the install turns pip's cache off or
        goes through ``uv pip``. True when reported."""
        pip = TOOLS["pip"]
        argv = install.command.argv if install.cache_tool == "pip" else ()
        pip_place = tool_place(self.ctx, fact.job, step, pip, argv)
        pip_paths = [
            p
            for c in fact.caches
            for p in c.paths
            if p.place.kind == "project"
            and (
                meant_for(p, pip)
                or (pip_place.kind == "project" and _path_covers(p.place.rel, pip_place.rel))
            )
        ]
        if not pip_paths:
            return False
        command = _short(install.command.text)
        uses_uv = install.tool == "uv"
        if uses_uv:
            uv_place = cache_dir(self.ctx, fact.job, step, install)
            if any(c.covers(uv_place) for c in fact.caches):
                return False
            location = Location(step.path, step.command.line, _column(self.ctx, step))
            subject = f"{step.owner} / {step.section} / uv pip #{ordinal}"
            where = f" (`{uv_place.shown}`)" if uv_place.shown else ""
            why = f"`{command}` installs with uv, which fills its own cache{where}, never pip's"
            fix = self.cache_fix(fact, step, install, TOOLS["uv"])
        else:
            var = _disabled_by_env("pip", step.env)
            if not install.no_cache and var is None:
                return False
            if (
                var is not None
                and var.location is not None
                and var.source in ("variables", "export")
            ):
                location = var.location
                subject = f"{var.owner or var.location.path} / PIP_NO_CACHE_DIR"
                why = (
                    f"`PIP_NO_CACHE_DIR: {var.value}` turns pip's cache off (any value does, "
                    "even `false`)"
                )
                line = _source_line(self.ctx, location.path, location.line) or ""
                indent = line[: len(line) - len(line.lstrip())]
                fix = Fix(
                    "Delete the `PIP_NO_CACHE_DIR` variable so pip fills the cache this job saves.",
                    f"{indent}# {line.strip()}" if line.strip() else "",
                )
            else:
                location = Location(step.path, step.command.line, _column(self.ctx, step))
                subject = f"{step.owner} / {step.section} / pip no-cache #{ordinal}"
                why = f"`{command}` turns pip's cache off"
                fix = _line_without_no_cache(self.ctx, step)
        shown = ", ".join(sorted({f"`{p.raw}`" for p in pip_paths}))

        def message(jobs: str) -> str:
            return (
                f"{_cap(jobs)} {_verb(jobs, 'caches', 'cache')} pip's download cache "
                f"({shown}) but {why}, so the saved cache stays empty and every run downloads "
                "every package again."
            )

        self.hit("CA206", location, subject, fact.job.name, message, fix)
        return True

    def check_requirement_files(self, fact: _Facts, step: Step, install: InstallCommand) -> None:
        if step.workdir is None:
            return
        for name in explicit_inputs(install, step.workdir):
            if name in self.ctx.paths or self.generated(fact, step, name):
                continue
            shown = next(
                (
                    f
                    for f in (*install.requirement_files, *install.constraint_files)
                    if normalize(f, step.workdir) == name
                ),
                name,
            )

            def message(jobs: str, shown: str = shown, name: str = name) -> str:
                return (
                    f"`{_short(install.command.text)}` in {jobs} reads `{shown}`, but `{name}` "
                    "does not exist in the repository: the install fails."
                )

            self.hit(
                "CA504",
                Location(step.path, step.command.line, _column(self.ctx, step)),
                f"{step.owner} / {step.section} / requirement {name}",
                fact.job.name,
                message,
                missing_file_fix(
                    self.ctx, name, "install", Location(step.path, step.command.line), shown
                ),
            )

    def generated(self, fact: _Facts, step: Step, name: str) -> bool:
        """A file an earlier command of the job or another job's artifacts may create."""
        base = posixpath.basename(name)
        for earlier in fact.steps:
            if earlier is step:
                break
            if base in earlier.command.text:
                return True
        for job in self.pipeline.jobs:
            if any(_path_covers(normalize(a.lstrip("/")) or "", name) for a in job.artifacts):
                return True
        return False

    # -- CA202 (outside) --

    def judge_paths(self, fact: _Facts) -> None:
        for cache in fact.caches:
            for path in cache.paths:
                if path.place.kind != "outside":
                    continue
                spec = _guess_tool(path, fact)
                origin = path.value.origin
                raw = path.raw

                def message(jobs: str, raw: str = raw) -> str:
                    return (
                        f"{_cap(jobs)} {_verb(jobs, 'caches', 'cache')} `{raw}`, "
                        "which is outside `$CI_PROJECT_DIR`: GitLab only archives paths inside the "
                        "project directory, so nothing is saved and every run starts cold."
                    )

                fix = (
                    self.variable_fix(fact, spec, spec.project_dir, origin.owner, replace_path=raw)
                    if spec is not None
                    else Fix(
                        f"Move `{raw}` under the project directory (point the tool's cache "
                        "variable at `$CI_PROJECT_DIR/...`) and cache the relative path.",
                        "",
                    )
                )
                self.hit(
                    "CA202",
                    origin.location,
                    f"{origin.owner} / cache path {raw}",
                    fact.job.name,
                    message,
                    fix,
                )

    # -- CA203 / CA504 (key files) --

    def dependency_caches(self, fact: _Facts) -> list[JobCache]:
        """The job's caches that hold dependencies for it: its installs fill them, or it
        installs nothing and reads them (tests run from a cached ``.venv``). A job that only
        carries another tool's cache along (an npm job under a ``default:`` pip cache) is not
        counted for it."""
        known = [
            (s, i, t) for s, i, _ in fact.installs if (t := tool_of(i)) and i.tool not in SKIP_TOOLS
        ]
        out = []
        for cache in fact.caches:
            if not cache.spec.untracked and all(p.place.kind != "project" for p in cache.paths):
                continue  # nothing of it is saved (CA202), so its key and policy do not matter
            holds = any(
                cache.covers(cache_dir(self.ctx, fact.job, step, install))
                or any(is_env_dir(p, spec.family) or meant_for(p, spec) for p in cache.paths)
                for step, install, spec in known
            )
            meant = any(
                meant_for(p, spec) or is_env_dir(p, spec.family)
                for p in cache.paths
                for spec in TOOLS.values()
            )
            if holds or (meant and not known):
                out.append(cache)
        return out

    def judge_keys(self, fact: _Facts) -> None:
        job = fact.job
        for cache in fact.caches:
            self.check_key_files(fact, cache)
        for cache in self.dependency_caches(fact):
            spec = cache.spec
            constant = constant_key(job, spec)
            if constant is None or (spec.key is None and not self.settled(fact, cache)):
                continue
            origin = spec.key.origin if spec.key is not None else spec.origin
            paths = ", ".join(f"`{p.raw}`" for p in cache.paths) or "its paths"
            if spec.key is None:
                what = (
                    "has no `key`: it is saved under `default` (shared by every cache without "
                    "a key) and"
                )
            else:
                what = f"has the constant key `{constant}`: it"
            lock = self.key_files(fact)
            # an installed environment (.venv, node_modules) restored under a key that ignores
            # the lock file is stale; a download cache only grows: the lesser form
            environment = any(is_env_dir(p, f) for p in cache.paths for f in ENV_DIRS)
            effect = (
                "an environment built for other dependencies is restored"
                if environment
                else "stale packages pile up"
            )

            def message(
                jobs: str, what: str = what, paths: str = paths, effect: str = effect
            ) -> str:
                return (
                    f"The dependency cache ({paths}) of {jobs} {what} never changes when the "
                    f"dependencies do, so {effect} and a lock-file change never starts a fresh "
                    "cache."
                )

            self.hit(
                "CA203",
                origin.location,
                f"{origin.owner} / cache {_paths_id(cache)} / key",
                job.name,
                message,
                self.key_fix(fact, cache, lock, origin),
                1.0 if environment else 0.5,
            )

    def check_key_files(self, fact: _Facts, cache: JobCache) -> None:
        key = cache.spec.key
        mapping = key.map if key is not None else None
        if mapping is None:
            return
        files = mapping.get("files") or mapping.get("files_commits")
        for value in flatten(files):
            name = (value.text or "").strip()
            rel = normalize(name.lstrip("/"))
            if not name or "$" in name or rel is None or self.matches(name):
                continue

            def message(jobs: str, name: str = name) -> str:
                return (
                    f"`key: files:` of the cache of {jobs} names `{name}`, which matches no file: "
                    "GitLab leaves it out of the key (and uses `default` when no listed file "
                    "exists), so the key no longer follows the dependencies."
                )

            origin = value.origin
            self.hit(
                "CA504",
                origin.location,
                f"{origin.owner} / cache key file {name}",
                fact.job.name,
                message,
                missing_file_fix(self.ctx, rel, "cache key", origin.location, name),
            )

    # -- CA204 --

    def settled(self, fact: _Facts, cache: JobCache) -> bool:
        """Whether no unseen ``extends`` parent can add keys (``key``, ``policy``) to this
        cache. (An unread include could also deep-merge into ``default: cache``; that is rare
        enough to be ignored, unlike the variables and default caches such includes set.)"""
        return not fact.job.problems

    def judge_policies(self, facts: list[_Facts]) -> None:
        groups: dict[tuple[str, tuple[str, ...]], list[tuple[_Facts, JobCache]]] = {}
        for fact in facts:
            if not fact.known:
                continue
            for cache in self.dependency_caches(fact):
                if cache.spec.policy is None and not self.settled(fact, cache):
                    continue
                identity = key_identity(fact.job, cache.spec)
                if identity is None:
                    continue
                paths = tuple(sorted(p.raw.rstrip("/") for p in cache.paths))
                groups.setdefault((identity, paths), []).append((fact, cache))
        for (identity, paths), members in groups.items():
            instances = sum(f.job.parallel for f, _ in members)
            if instances < 2:
                continue
            policies = [_policy(f.job, c.spec) for f, c in members]
            if any(p != "pull-push" for p in policies):
                continue
            origins = Counter((c.spec.origin.path, c.spec.origin.line) for _, c in members)
            top_origin = min(origins, key=lambda o: (-origins[o], o))
            cache = next(
                c for _, c in members if (c.spec.origin.path, c.spec.origin.line) == top_origin
            )
            jobs = [f.job.name for f, _ in members]
            readers = jobs[1:] if len(jobs) > 1 else jobs
            shown = ", ".join(f"`{p}`" for p in paths)
            count = instances

            def message(names: str, shown: str = shown, count: int = count) -> str:
                return (
                    f"{_cap(names)} {_verb(names, 'shares', 'share')} the dependency cache "
                    f"({shown}) and all {count} job runs upload it again at the end (default "
                    "`policy: pull-push`): only the job that fills it should push; jobs that "
                    "only read it should use `policy: pull`."
                )

            fix = self.policy_fix(members[0][0], cache, readers)
            for fact, _ in members:
                self.hit(
                    "CA204",
                    cache.spec.origin.location,
                    f"cache {identity} {','.join(paths)}",
                    fact.job.name,
                    message,
                    fix,
                )

    # -- CA205 --

    def judge_unprotect(self, fact: _Facts) -> None:
        for cache in fact.caches:
            value = cache.spec.unprotect
            if not truthy(value) or value is None:
                continue
            origin = value.origin

            def message(jobs: str) -> str:
                return (
                    f"The cache of {jobs} sets `unprotect: true`: pipelines on unprotected "
                    "branches (any developer's branch or merge request) can write the cache that "
                    "protected branches and tags restore, so a poisoned cache reaches releases."
                )

            indent = " " * ((origin.column or 1) - 1)
            self.hit(
                "CA205",
                origin.location,
                f"{origin.owner} / cache {_paths_id(cache)} / unprotect",
                fact.job.name,
                message,
                Fix(
                    "Remove `unprotect: true` (or set it to false) so protected and unprotected "
                    "branches keep separate caches.",
                    f"{indent}unprotect: false",
                ),
            )

    # -- CA207 --

    def judge_builds(self, fact: _Facts) -> None:
        counter: Counter[tuple[str, str]] = Counter()
        for step in fact.steps:
            build = docker_build(step)
            if build is None:
                continue
            slot = (step.owner, step.section)
            counter[slot] += 1
            verdict = build.verdict(step.env)
            if verdict is None:
                continue
            text, weight = verdict
            command = _short(step.command.text)

            def message(jobs: str, text: str = text, command: str = command) -> str:
                return f"`{command}` in {jobs} {text}"

            self.hit(
                "CA207",
                Location(step.path, step.command.line, _column(self.ctx, step)),
                f"{step.owner} / {step.section} / docker build #{counter[slot]}",
                fact.job.name,
                message,
                _build_fix(self.ctx, step, build),
                weight,
            )

    # -- fixes --

    def key_files(self, fact: _Facts, tool: str | None = None) -> list[str]:
        """Up to two existing files that say what the job installs: lock files first."""
        found: list[str] = []
        for step, install, _ in fact.installs:
            spec = tool_of(install)
            if spec is None or (tool is not None and spec.tool != tool and install.tool != tool):
                continue
            inputs = (
                install_inputs(install, self.ctx, step.workdir) if step.workdir is not None else ()
            )
            locks = [i for i in inputs if posixpath.basename(i) in _LOCK_NAMES]
            found.extend(locks or [i for i in inputs if i in self.ctx.paths])
        if not found:
            for tool_name in ([tool] if tool else []) + [i.tool for _, i, _ in fact.installs]:
                for name in LOCKFILES_BY_TOOL.get(tool_name, ()) + MANIFESTS_BY_TOOL.get(
                    tool_name, ()
                ):
                    if name in self.ctx.paths:
                        found.append(name)
        return list(dict.fromkeys(found))[:2]

    def cache_fix(self, fact: _Facts, step: Step, install: InstallCommand, spec: ToolCache) -> Fix:
        style = _style(self.ctx, step.path)
        files = self.key_files(fact, spec.tool)
        place = cache_dir(self.ctx, fact.job, step, install)
        body: Tree = []
        if place.kind == "project" and place.rel:
            target = place.rel  # already inside the project: only the cache is missing
        else:
            target = spec.project_dir
            if spec.fix_command:
                body.append(("before_script", [spec.fix_command]))
            else:
                body.append(("variables", [(spec.env[0], _quoted(f"$CI_PROJECT_DIR/{target}"))]))
        body.append(("cache", _cache_body(files, spec.tool, [target + "/"])))
        lock = f"keyed on {_and(files)}" if files else "keyed per job"
        extra = f" and drop the flag that turns {spec.tool}'s cache off" if install.no_cache else ""
        first = (
            "Cache"
            if place.kind == "project"
            else f"Point {spec.tool}'s cache into the project and cache"
        )
        return Fix(
            f"{first} `{target}/` {lock}{extra} (put it in `default:` to cover every job; "
            "`cache:` takes a list of up to four caches).",
            _emit([(fact.job.name, body)], style),
        )

    def variable_fix(
        self,
        fact: _Facts,
        spec: ToolCache | None,
        target: str,
        owner: str,
        replace_path: str | None = None,
    ) -> Fix:
        if spec is None:
            return Fix("Cache a directory inside the project.", "")
        style = _style(self.ctx, _owner_path(self.pipeline, fact, owner))
        value = _quoted(f"$CI_PROJECT_DIR/{target}")
        tree: list[tuple[str, object]] = []
        if spec.fix_command:
            setter: tuple[str, object] = (
                "before_script",
                [spec.fix_command.replace(spec.project_dir, target)],
            )
        else:
            setter = ("variables", [(spec.env[0], value)])
        if replace_path is not None:
            files = self.key_files(fact, spec.tool)
            cache = ("cache", _cache_body(files, spec.tool, [target + "/"]))
            if owner in ("default", "cache", ""):
                if setter[0] == "variables":
                    tree = [setter, ("default", [cache])]
                else:
                    tree = [("default", [setter, cache])]
            else:
                tree = [(owner, [setter, cache])]
            what = f"Cache `{target}/` instead and point {spec.tool} at it"
        else:
            top_level = setter[0] == "variables" and fact.job.inherits_variable(spec.env[0])
            if owner in ("default", "cache", "") and top_level:
                tree = [setter]
            elif owner in ("default", "cache", ""):
                tree = [(fact.job.name, [setter])]  # the job does not take top-level variables
            else:
                tree = [(owner, [setter])]
            if spec.fix_command:
                what = f"Point {spec.tool}'s store at the cached `{target}`"
            else:
                what = f"Set `{spec.env[0]}` so {spec.tool} writes into the cached `{target}`"
                if spec.tool == "npm":
                    what += f" (or run `npm ci --cache {target} --prefer-offline`)"
        return Fix(what + ".", _emit(tree, style))

    def key_fix(self, fact: _Facts, cache: JobCache, files: list[str], origin: Origin) -> Fix:
        style = _style(self.ctx, origin.path)
        tools = [
            spec.tool
            for step, install, _ in fact.installs
            if (spec := tool_of(install)) is not None
            and cache.covers(cache_dir(self.ctx, fact.job, step, install))
        ]
        tools += [t.tool for t in TOOLS.values() for p in cache.paths if meant_for(p, t)]
        tools += [t.tool for _, i, _ in fact.installs if (t := tool_of(i)) is not None]
        prefix = tools[0] if tools else "deps"
        if cache.paths and all(
            any(is_env_dir(p, family) for family in ENV_DIRS) for p in cache.paths
        ):
            prefix += "-env"  # an installed environment: keep it apart from download caches
        owner = cache.spec.origin.owner or fact.job.name
        owner = "default" if owner == "cache" else owner
        key: list[tuple[str, object]] = []
        if files:
            key = [("files", list(files)), ("prefix", prefix)]
            what = f"Key the cache on {_and(files)} with a prefix per job kind"
        else:
            tool = prefix.removesuffix("-env")
            lock = (LOCKFILES_BY_TOOL.get(tool) or ("requirements.txt",))[0]
            key = [("files", [lock]), ("prefix", prefix)]
            what = f"Key the cache on the lock file the job installs from (commit `{lock}`)"
        body: Tree = [("key", key), ("paths", [p.raw for p in cache.paths] or [".cache/"])]
        entry: object = (body,) if cache.spec.in_list else body
        return Fix(what + " (at most two files).", _emit([(owner, [("cache", entry)])], style))

    def policy_fix(self, fact: _Facts, cache: JobCache, readers: list[str]) -> Fix:
        style = _style(self.ctx, cache.spec.origin.path)
        reader = readers[0]
        owner = cache.spec.origin.owner
        body: Tree = []
        if cache.spec.from_default or owner == reader or not owner.startswith("."):
            # the job's own `cache:` replaces the inherited one: restate all of it
            key = cache.spec.key
            if key is not None and key.text is not None:
                body.append(("key", _plain(key.text)))
            elif key is not None and key.map is not None:
                inner: Tree = []
                files = key.map.get("files") or key.map.get("files_commits")
                if files is not None:
                    inner.append(("files", [v.text or "" for v in flatten(files)]))
                prefix = key.map.get("prefix")
                if prefix is not None and prefix.text:
                    inner.append(("prefix", _plain(prefix.text)))
                body.append(("key", inner))
            body.append(("paths", [p.raw for p in cache.paths]))
        body.append(("policy", "pull"))  # from a template, `extends` merges this one key in
        entry: object = (body,) if cache.spec.in_list else body
        snippet = _emit([(reader, [("cache", entry)])], style)
        if len(readers) == 1 and fact.job.name == reader:
            return Fix(
                "Fill the cache in one job of an earlier stage (`policy: pull-push`) and give "
                f"`{reader}` `policy: pull`, so its {fact.job.parallel} parallel runs only read "
                "it.",
                snippet,
            )
        more = f" (and the same in {_and([f'`{r}`' for r in readers[1:]])})" if readers[1:] else ""
        return Fix(
            f"Keep `pull-push` in the one job that fills the cache and give `{reader}`{more} "
            "`policy: pull` (or set `policy: $CACHE_POLICY` and choose it per job).",
            snippet,
        )


def _paths_id(cache: JobCache) -> str:
    return ",".join(p.raw for p in cache.paths) or "(no paths)"


_LOCK_NAMES = frozenset(name for names in LOCKFILES_BY_TOOL.values() for name in names)


def _policy(job: Job, spec: CacheSpec) -> str | None:
    if spec.policy is None:
        return "pull-push"
    text = spec.policy.text
    if text is None:
        return None
    if "$" in text:
        text = _Scope(job, yaml_env(job), "").expand(text) or ""
    return text.strip() or None


def _guess_tool(path: CachePath, fact: _Facts) -> ToolCache | None:
    for spec in TOOLS.values():
        if meant_for(path, spec):
            return spec
    for _, install, _ in fact.installs:
        guess = tool_of(install)
        if guess is not None:
            return guess
    return None


def _project_has_dependencies(ctx: RepoContext, target: str, workdir: str | None) -> bool:
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


# --- docker builds --------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerBuild:
    kind: str
    """``build`` (docker build), ``buildx`` (docker buildx build) or ``kaniko``."""
    args: tuple[str, ...]
    """Words after the build subcommand."""

    def has(self, *names: str) -> bool:
        return any(a == n or a.startswith(n + "=") for a in self.args for n in names)

    def verdict(self, env: dict[str, EnvVar]) -> tuple[str, float] | None:
        """Why the build has no layer cache (message tail, weight), or None when it has one."""
        if self.kind == "kaniko":
            if any(a in ("--cache", "--cache=true") for a in self.args):
                return None
            return (
                "runs kaniko without `--cache=true`: every layer, dependency installs included, "
                "is rebuilt on every run.",
                1.0,
            )
        if self.has("--cache-to"):
            return None
        if not self.has("--cache-from"):
            return (
                "has no `--cache-from`: the job's Docker daemon starts empty, so every layer, "
                "dependency installs included, is rebuilt on every run.",
                1.0,
            )
        sources = [
            _option_after(self.args, i)
            for i, a in enumerate(self.args)
            if a.startswith("--cache-from")
        ]
        if any(s.startswith("type=") for s in sources):
            return None  # a cache export (registry, gha, local...) written by another build
        inline = any("BUILDKIT_INLINE_CACHE=1" in a for a in self.args)
        classic = env.get("DOCKER_BUILDKIT")
        if inline or (classic is not None and classic.value == "0"):
            return None  # the classic builder uses a pulled image's layers as they are
        return (
            "uses `--cache-from` without exporting cache metadata: under BuildKit (the default "
            "builder) an image pushed without `--build-arg BUILDKIT_INLINE_CACHE=1` (or a "
            "`--cache-to` export) is not a usable cache source, so the layers are rebuilt anyway.",
            0.5,
        )


def _option_after(args: tuple[str, ...], index: int) -> str:
    word = args[index]
    if "=" in word and word.startswith("--"):
        return word.split("=", 1)[1]
    return args[index + 1] if index + 1 < len(args) else ""


_DOCKER_GLOBAL_VALUE = frozenset(
    {"-H", "--host", "--context", "-c", "--config", "-l", "--log-level"}
)


def docker_build(step: Step) -> DockerBuild | None:
    """The Docker image build a command runs, if any."""
    argv = step.command.argv
    program = step.command.program
    if program == "executor" and "kaniko" in argv[0]:
        return DockerBuild("kaniko", argv[1:])
    if program != "docker":
        return None
    index = 1
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] in _DOCKER_GLOBAL_VALUE else 1
    words = argv[index:]
    if not words:
        return None
    if words[0] == "build":
        return DockerBuild("build", words[1:])
    if len(words) > 1 and words[0] in ("image", "builder") and words[1] == "build":
        return DockerBuild("build", words[2:])
    if len(words) > 1 and words[0] == "buildx" and words[1] in ("build", "b"):
        return DockerBuild("buildx", words[2:])
    return None


def _build_fix(ctx: RepoContext, step: Step, build: DockerBuild) -> Fix:
    line = _source_line(ctx, step.path, step.command.line)
    if build.kind == "kaniko":
        addition = "--cache=true"
        description = "Turn on kaniko's layer cache (stored in `<destination>/cache`)."
    elif build.kind == "buildx":
        addition = (
            "--cache-from type=registry,ref=$CI_REGISTRY_IMAGE/cache "
            "--cache-to type=registry,ref=$CI_REGISTRY_IMAGE/cache,mode=max"
        )
        description = (
            "Read and write a registry cache (needs a `docker-container` builder: run "
            "`docker buildx create --use` first)."
        )
    elif build.has("--cache-from"):
        addition = "--build-arg BUILDKIT_INLINE_CACHE=1"
        description = (
            "Embed cache metadata in the image this job pushes, so BuildKit can use it as the "
            "`--cache-from` source next time."
        )
    else:
        addition = "--cache-from $CI_REGISTRY_IMAGE:latest --build-arg BUILDKIT_INLINE_CACHE=1"
        description = (
            "Use the last pushed image as the cache source and embed cache metadata in it "
            "(also tag and push `$CI_REGISTRY_IMAGE:latest`)."
        )
    snippet = ""
    if line is not None:
        pattern = r"\bexecutor\b" if build.kind == "kaniko" else r"\bdocker\b.*?\bbuild\b"
        match = re.search(pattern, line)
        if match:
            snippet = line[: match.end()] + " " + addition + line[match.end() :]
    if not snippet:
        program = "/kaniko/executor" if build.kind == "kaniko" else "docker build"
        snippet = f"- {program} {addition} ..."
    return Fix(description, snippet.rstrip())


# --- text helpers ---------------------------------------------------------------------------


def _jobs_phrase(jobs: list[str], parallel: dict[str, int]) -> str:
    def show(name: str) -> str:
        count = parallel.get(name, 1)
        return f"`{name}`" + (f" (parallel: {count})" if count > 1 else "")

    shown = [show(j) for j in jobs]
    if len(shown) == 1:
        return f"job {shown[0]}"
    if len(shown) > 4:
        return f"jobs {', '.join(shown[:3])} and {len(shown) - 3} more"
    return f"jobs {_and(shown)}"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _verb(jobs: str, singular: str, plural: str) -> str:
    return singular if jobs.startswith("job ") else plural


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _short(text: str, limit: int = 80) -> str:
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _source_line(ctx: RepoContext, path: str, line: int) -> str | None:
    def split() -> list[str]:
        text = ctx.read_text(path)
        return text.split("\n") if text is not None else []

    lines = ctx.memo("gitlab-ci:lines", path, split)
    return lines[line - 1] if 0 < line <= len(lines) else None


def _column(ctx: RepoContext, step: Step) -> int | None:
    """Column of the command's first word on its line, when it is there."""
    line = _source_line(ctx, step.path, step.command.line)
    if line is None or not step.command.text:
        return None
    first = step.command.text.split()[0]
    index = line.find(first)
    return index + 1 if index >= 0 else None


def _line_without_no_cache(ctx: RepoContext, step: Step) -> Fix:
    line = _source_line(ctx, step.path, step.command.line) or ""
    words = line.split(" ")
    kept = [
        w for w in words
        if not (w.startswith("--no-cache") or w.startswith("PIP_NO_CACHE_DIR="))
    ]  # fmt: skip
    return Fix(
        "Drop `--no-cache-dir` (and any `PIP_NO_CACHE_DIR`) so pip fills the cache this job saves.",
        " ".join(kept).rstrip() if kept != words else "",
    )


def _owner_path(pipeline: Pipeline, fact: _Facts, owner: str) -> str:
    for cache in fact.caches:
        if cache.spec.origin.owner == owner:
            return cache.spec.origin.path
    return pipeline.root


@dataclass(frozen=True)
class _Style:
    unit: int
    compact: bool
    """Sequence items at their key's indentation (``paths:\\n- a``)."""


def _style(ctx: RepoContext, path: str) -> _Style:
    def compute() -> _Style:
        lines = [
            ln
            for ln in (ctx.read_text(path) or "").split("\n")
            if ln.strip() and not ln.lstrip().startswith("#")
        ]
        indents = [len(ln) - len(ln.lstrip(" ")) for ln in lines]
        positive = [i for i in indents if i > 0]
        unit = min(positive) if positive else 2
        compact = False
        for index in range(len(lines) - 1):
            line, following = lines[index], lines[index + 1]
            if line.rstrip().endswith(":") and following.lstrip().startswith("- "):
                compact = indents[index] == indents[index + 1]
                break
        return _Style(max(2, min(unit, 8)), compact)

    return ctx.memo("gitlab-ci:style", path, compute)


Tree = list[tuple[str, object]]
"""A YAML mapping to emit: values are scalars (already formatted), lists of scalars, nested
trees, or tuples of trees (a sequence of mappings)."""


def _emit(tree: Tree, style: _Style, level: int = 0) -> str:
    return "\n".join(_emit_lines(tree, style, level))


def _emit_lines(tree: Tree, style: _Style, level: int) -> Iterator[str]:
    pad = " " * (style.unit * level)
    for key, value in tree:
        if isinstance(value, str):
            yield f"{pad}{key}: {value}"
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            yield f"{pad}{key}:"
            item_pad = pad if style.compact else pad + " " * style.unit
            for item in value:
                yield f"{item_pad}- {_plain(str(item))}"
        elif isinstance(value, list):
            yield f"{pad}{key}:"
            yield from _emit_lines(_as_tree(value), style, level + 1)
        elif isinstance(value, tuple):  # a sequence of mappings
            yield f"{pad}{key}:"
            item_pad = pad if style.compact else pad + " " * style.unit
            for item in value:
                if not isinstance(item, list):
                    continue
                for index, line in enumerate(_emit_lines(_as_tree(item), style, 0)):
                    yield item_pad + ("- " if index == 0 else "  ") + line


def _as_tree(value: Iterable[object]) -> Tree:
    out: Tree = []
    for item in value:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            out.append((item[0], item[1]))
    return out


def _plain(text: str) -> str:
    if (
        "$" in text
        or ": " in text
        or text.startswith(("*", "&", "!", "{", "[", "'", '"', "@", "`"))
    ):
        return _quoted(text)
    return text


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cache_body(files: list[str], prefix: str, paths: list[str]) -> Tree:
    if files:
        key: object = [("files", list(files)), ("prefix", prefix)]
    else:
        key = _quoted(f"{prefix}-$CI_JOB_NAME")
    return [("key", key), ("paths", paths)]

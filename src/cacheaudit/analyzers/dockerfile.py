"""Dockerfile analyzer: CA301–CA307, plus CA504 for COPY and bind-mount sources.

One forward pass over the instructions keeps, per stage, what BuildKit would know at each
``RUN``: the environment (``ENV`` inherited by stages built ``FROM`` an earlier stage, ``ARG``
scoped to its stage), the user and its home, the working directory, and which build-context
files were copied where. Each ``RUN``'s shell text (shell form, exec form, heredocs) goes through
:mod:`cacheaudit.parsing.shell`; the cache mounts are compared with where each tool really writes.

cacheaudit's stance: keep download caches outside the image with BuildKit cache mounts;
``--no-cache-dir`` (or deleting the cache in the same RUN) keeps the image lean but still
re-downloads everything, so it is a lesser finding rather than a fix.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cacheaudit.discovery import FileKind, SourceFile, classify
from cacheaudit.installs import CACHE_FACTS, LOCKFILES_BY_TOOL, env_disables_cache, implicit_inputs
from cacheaudit.model import Analysis, Finding, Fix, InstallSite, Location
from cacheaudit.notices import parse_error
from cacheaudit.parsing.dockerfile import (
    Instruction,
    Mount,
    ParsedDockerfile,
    expand,
    parse,
    parse_args,
    parse_key_values,
    split_words,
)
from cacheaudit.parsing.shell import (
    Command,
    InstallCommand,
    find_installs,
    parse_exec_form,
    parse_script,
)
from cacheaudit.paths import glob_match, glob_regex, normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

# --- knowledge ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerCache:
    """How to find and mount one tool's download cache inside a build container."""

    tool: str
    """The cache owner (``InstallCommand.cache_tool``)."""
    xdg_subdir: str | None
    """Directory under ``$XDG_CACHE_HOME`` when that is set (platformdirs tools, yarn)."""
    dir_options: tuple[str, ...]
    """Command-line options naming the cache directory."""
    dir_envs: tuple[str, ...]
    """Env vars naming the cache directory, strongest first."""
    keywords: frozenset[str]
    """Words in a mount's target or id that show it was meant for this tool."""
    mount_id: str | None = None
    """``id=`` used in the suggested mount (pnpm's documented recipe)."""


def _docker_cache(
    tool: str, xdg: str | None, keywords: frozenset[str], mount_id: str | None = None
) -> DockerCache:
    facts = CACHE_FACTS[tool]
    return DockerCache(tool, xdg, facts.dir_options, facts.dir_envs, keywords, mount_id)


DOCKER_CACHES: dict[str, DockerCache] = {
    "pip": _docker_cache("pip", "pip", frozenset({"pip"})),
    "uv": _docker_cache("uv", "uv", frozenset({"uv"})),
    "poetry": _docker_cache("poetry", "pypoetry", frozenset({"poetry", "pypoetry"})),
    "pdm": _docker_cache("pdm", "pdm", frozenset({"pdm"})),
    "npm": _docker_cache("npm", None, frozenset({"npm"})),
    "yarn": _docker_cache("yarn", "yarn", frozenset({"yarn"})),
    # pnpm's store: $PNPM_HOME/store, else $XDG_DATA_HOME/pnpm/store, else ~/.local/share/...
    "pnpm": _docker_cache("pnpm", None, frozenset({"pnpm"}), mount_id="pnpm"),
}
"""Tools CA301/CA302/CA304 judge, keyed by the cache owner."""

CA301_TOOLS = frozenset({"pip", "uv", "poetry", "pipenv", "pdm", "npm", "yarn", "pnpm"})
"""Installers CA301 names (RULES.md); environment runners (tox, nox...) are only recorded."""

CACHE_DISABLING_OPTIONS: dict[str, tuple[str, ...]] = {
    "pip": ("--no-cache-dir", "--no-cache-di", "--no-cache-d", "--no-cache"),
    "uv": ("--no-cache",),
    "poetry": ("--no-cache",),
}
"""Option spellings removed from a RUN when a cache mount is added (longest first)."""

DISABLING_ENVS = ("PIP_NO_CACHE_DIR", "UV_NO_CACHE")

APT_DIRS = ("/var/cache/apt", "/var/lib/apt")
APT_NEEDS = ("/var/cache/apt/archives", "/var/lib/apt/lists")
"""What apt actually reuses: downloaded .debs and the package lists."""
APT_MOUNTS = tuple(f"type=cache,target={d},sharing=locked" for d in APT_DIRS)
APT_KEEP = (
    "rm -f /etc/apt/apt.conf.d/docker-clean; "
    "echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > "
    "/etc/apt/apt.conf.d/keep-cache"
)
"""Debian and Ubuntu images ship docker-clean, which deletes downloaded .debs after each install
(Docker's RUN --mount reference recipe)."""

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})
LEAN_FILES = frozenset(
    {"README.md", "README.rst", "README", "LICENSE", ".python-version", ".nvmrc"}
)
"""Files that may ride along with manifests in a dependency-only copy."""
DEPENDENCY_KINDS = frozenset(
    {
        FileKind.REQUIREMENTS, FileKind.PYPROJECT, FileKind.SETUP_CFG, FileKind.SETUP_PY,
        FileKind.PIPFILE, FileKind.LOCKFILE, FileKind.PACKAGE_JSON,
    }
)  # fmt: skip
MAX_LINE = 100


# --- state -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Var:
    """A variable visible to RUN: its value and where it was set."""

    value: str | None
    """None when it references something unknown (a base-image variable)."""
    line: int
    kind: str
    """``ENV`` or ``ARG``."""
    stage: str
    name: str
    at: int = 0
    """The line inside the instruction where ``name`` is set (a continuation line)."""

    @property
    def where(self) -> str:
        return f"{self.kind} at line {self.at or self.line}"


@dataclass(frozen=True)
class User:
    name: str
    uid: str | None
    gid: str | None
    home: str | None
    """None when unknown (a numeric user without a passwd entry we saw)."""

    @property
    def root(self) -> bool:
        return self.name in ("root", "0")


ROOT = User("root", "0", "0", "/root")


@dataclass(frozen=True)
class CopyEntry:
    """One COPY/ADD of build-context files into the image."""

    instruction: Instruction
    stage: Stage
    ordinal: int
    sources: tuple[str, ...]
    """Context-relative, normalised (``""`` is the whole context); may be globs."""
    dest: str
    """Absolute image path."""
    dest_is_dir: bool
    whole_tree: bool
    tools_before: frozenset[str]
    """Cache tools already installed in the stage chain before this copy (the two-step
    pattern: dependencies first, then the project)."""


@dataclass
class Stage:
    index: int
    name: str | None
    image: str
    parent: Stage | None
    env: dict[str, Var] = field(default_factory=dict)
    args: dict[str, Var] = field(default_factory=dict)
    workdir: str = "/"
    user: User = ROOT
    users: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    """name → (uid, gid, home) from useradd/adduser."""
    copies: list[CopyEntry] = field(default_factory=list)
    docker_clean_off: bool = False
    installed: set[str] = field(default_factory=set)
    runs: list[Instruction] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name or f"#{self.index}"

    @property
    def label(self) -> str:
        return f"stage {self.name}" if self.name else f"stage #{self.index} ({self.image})"

    def variables(self) -> dict[str, str]:
        """What RUN and variable expansion see: ARG values, overridden by ENV."""
        merged = {k: v.value for k, v in self.args.items() if v.value is not None}
        merged.update({k: v.value for k, v in self.env.items() if v.value is not None})
        return merged

    def var(self, name: str) -> Var | None:
        return self.env.get(name) or self.args.get(name)

    def chain(self) -> Iterable[Stage]:
        stage: Stage | None = self
        while stage is not None:
            yield stage
            stage = stage.parent


@dataclass(frozen=True)
class Context:
    """What one analysis of one Dockerfile shares."""

    ctx: RepoContext
    file: SourceFile
    parsed: ParsedDockerfile
    lines: list[str]
    build_context: str
    """Repository-relative directory taken as the build context."""
    candidates: tuple[str, ...]
    """Every directory that could be the build context (the Dockerfile's and its parents)."""

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def escape(self) -> str:
        return self.parsed.escape


@dataclass(frozen=True)
class RunInfo:
    stage: Stage
    instruction: Instruction
    ordinal: int
    commands: list[Command]
    installs: list[InstallCommand]
    variables: dict[str, str]
    binds: list[tuple[str, str]]
    """(context-relative source, absolute image target) of context bind mounts."""

    @property
    def subject(self) -> str:
        return f"stage {self.stage.key} / RUN #{self.ordinal}"

    @property
    def where(self) -> str:
        return f"{self.stage.label}, RUN at line {self.instruction.line}"


@dataclass
class Collected:
    findings: list[Finding] = field(default_factory=list)
    installs: list[InstallSite] = field(default_factory=list)
    affected: dict[int, list[tuple[RunInfo, InstallCommand]]] = field(default_factory=dict)
    """id(CopyEntry) → installs it invalidates (CA303)."""
    copies: list[CopyEntry] = field(default_factory=list)
    apt_pending: list[tuple[RunInfo, InstallCommand, bool]] = field(default_factory=list)
    """CA305 candidates, judged once the final stage is known: (run, install, lists cleaned)."""
    update_alone: list[tuple[RunInfo, InstallCommand]] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)


# --- entry point -------------------------------------------------------------------------------


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    parsed = parse(file.text)
    notices = [parse_error(file.path, p.message, p.line) for p in parsed.problems[:1]]
    if not parsed.instructions:
        return Analysis(findings=notices)
    candidates = _candidate_contexts(file.path)
    dc = Context(
        ctx=ctx,
        file=file,
        parsed=parsed,
        lines=file.text.split("\n"),
        build_context=_choose_context(ctx, parsed, candidates),
        candidates=candidates,
    )
    out = Collected()
    _walk(dc, out)
    _finish(dc, out)
    return Analysis(findings=notices + out.findings, installs=out.installs)


def _walk(dc: Context, out: Collected) -> None:
    global_args: dict[str, str | None] = {}
    stage: Stage | None = None
    by_name: dict[str, Stage] = {}
    for instruction in dc.parsed.instructions:
        keyword = instruction.keyword
        if keyword == "FROM":
            stage = _from(instruction, global_args, by_name, len(out.stages))
            out.stages.append(stage)
            if stage.name:
                by_name[stage.name.lower()] = stage
            continue
        if stage is None:
            if keyword == "ARG":
                for name, default in parse_args(instruction.args):
                    value = expand(default, _known(global_args)) if default is not None else None
                    global_args[name] = value
            continue  # Docker refuses anything else before FROM; nothing to audit there
        stage.counters[keyword] = stage.counters.get(keyword, 0) + 1
        ordinal = stage.counters[keyword]
        if keyword == "ARG":
            _arg(stage, instruction, global_args)
        elif keyword == "ENV":
            _env(stage, instruction)
        elif keyword == "WORKDIR":
            value = expand(instruction.args.strip(), stage.variables())
            if value:
                stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, value))
        elif keyword == "USER":
            _user(stage, instruction)
        elif keyword in ("COPY", "ADD"):
            _copy(dc, stage, instruction, ordinal, out)
        elif keyword == "RUN":
            stage.runs.append(instruction)
            _run(dc, stage, instruction, ordinal, out)


def _known(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


# --- instructions ------------------------------------------------------------------------------


def _from(
    instruction: Instruction,
    global_args: dict[str, str | None],
    by_name: dict[str, Stage],
    index: int,
) -> Stage:
    words = [w for w in split_words(instruction.args) if not w.startswith("--")]
    image = words[0] if words else "scratch"
    name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    resolved = expand(image, _known(global_args)) or image
    parent = by_name.get(resolved.lower())
    stage = Stage(index=index, name=name, image=resolved, parent=parent)
    if parent is not None:  # image config is inherited; ARGs are not
        stage.env = dict(parent.env)
        stage.workdir = parent.workdir
        stage.user = parent.user
        stage.users = dict(parent.users)
        stage.copies = list(parent.copies)
        stage.docker_clean_off = parent.docker_clean_off
        stage.installed = set(parent.installed)
    return stage


def _arg(stage: Stage, instruction: Instruction, global_args: dict[str, str | None]) -> None:
    for name, default in parse_args(instruction.args):
        if default is None:
            default = global_args.get(name)  # `ARG NAME` re-declares a global default
            if default is None:
                stage.args.pop(name, None)
                continue
            value: str | None = default
        else:
            value = expand(default, stage.variables())
        at = _key_line(instruction, name)
        stage.args[name] = Var(value, instruction.line, "ARG", stage.key, name, at)


def _env(stage: Stage, instruction: Instruction) -> None:
    variables = stage.variables()
    for name, raw in parse_key_values(instruction.args):
        value = expand(raw, variables)
        at = _key_line(instruction, name)
        stage.env[name] = Var(value, instruction.line, "ENV", stage.key, name, at)
        if value is not None:
            variables[name] = value


def _key_line(instruction: Instruction, name: str) -> int:
    for offset, line in enumerate(instruction.text.split("\n")):
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", line[4:] if offset == 0 else line):
            return instruction.line + offset
    return instruction.line


def _user(stage: Stage, instruction: Instruction) -> None:
    raw = expand(instruction.args.strip(), stage.variables()) or instruction.args.strip()
    name, _, group = raw.partition(":")
    if name in ("root", "0"):
        stage.user = User(name, "0", group or "0", "/root")
        return
    known = stage.users.get(name)
    if known is None and name.isdigit():
        known = next((u for u in stage.users.values() if u[0] == name), None)
    uid = name if name.isdigit() else (known[0] if known else None)
    gid = group if group.isdigit() else (known[1] if known else None)
    if known is not None and known[2]:
        home: str | None = known[2]
    else:
        home = None if name.isdigit() else f"/home/{name}"
    stage.user = User(name, uid, gid, home)


def _copy(
    dc: Context, stage: Stage, instruction: Instruction, ordinal: int, out: Collected
) -> None:
    if instruction.flag("from") is not None or instruction.heredocs:
        return  # another stage or image, or inline content: not the build context
    words = list(instruction.exec_form or split_words(instruction.args))
    if len(words) < 2:
        return
    variables = stage.variables()
    raw_sources, raw_dest = words[:-1], words[-1]
    dest = expand(raw_dest.strip("\"'"), variables)
    if dest is None:
        return
    dest_abs = posixpath.normpath(posixpath.join(stage.workdir, dest))
    sources: list[str] = []
    for raw in raw_sources:
        value = expand(raw.strip("\"'"), variables)
        if value is None or "://" in value or value.startswith("git@"):
            continue
        rel = normalize(value.lstrip("/") or ".")
        if rel is not None:
            sources.append(rel)
    if not sources:
        return
    whole = any(s in ("", "*", "**") for s in sources) and not _ignore_keeps_only_manifests(
        dc, sources
    )
    dest_is_dir = (
        dest.endswith("/")
        or dest in (".", "./")
        or len(raw_sources) > 1
        or any(_is_glob(s) or s == "" or _is_dir(dc.ctx, s, dc.build_context) for s in sources)
    )
    entry = CopyEntry(
        instruction=instruction,
        stage=stage,
        ordinal=ordinal,
        sources=tuple(sources),
        dest=dest_abs,
        dest_is_dir=dest_is_dir,
        whole_tree=whole,
        tools_before=frozenset(stage.installed),
    )
    stage.copies.append(entry)
    out.copies.append(entry)
    for source in sources:
        _check_reference(dc, stage, instruction, ordinal, source, out)


def _run(dc: Context, stage: Stage, instruction: Instruction, ordinal: int, out: Collected) -> None:
    commands = _commands(instruction)
    _learn_users(stage, commands)
    if _disables_docker_clean(commands):
        stage.docker_clean_off = True
    variables = stage.variables()
    binds: list[tuple[str, str]] = []
    for mount in instruction.mounts:
        if mount.type == "bind" and mount.from_ is None:
            source = expand(mount.source or ".", variables)
            target = _mount_target(mount, variables, stage.workdir)
            rel = normalize(source.lstrip("/") or ".") if source is not None else None
            if rel is not None and target is not None:
                binds.append((rel, target))
                _check_reference(dc, stage, instruction, ordinal, rel, out)
    run = RunInfo(stage, instruction, ordinal, commands, find_installs(commands), variables, binds)
    by_tool: dict[str, list[InstallCommand]] = {}
    for install in run.installs:
        if install.tool == "apt":
            _apt(dc, run, install, out)
            continue
        if not _downloads(dc, run, install):
            continue
        cached = _cache_state(dc, run, install)
        out.installs.append(_site(dc, run, install, cached))
        if install.tool in CA301_TOOLS and install.cache_tool in DOCKER_CACHES:
            by_tool.setdefault(install.cache_tool, []).append(install)
        if install.tool == "npm":
            _npm_ci(dc, run, install, out)
        _note_copy_victims(stage, run, install, out)
    for tool, installs in by_tool.items():
        _cache_mount_rules(dc, run, tool, installs, out)
    for install in run.installs:
        if _reads_manifests(install):
            stage.installed.add(install.cache_tool)


def _reads_manifests(install: InstallCommand) -> bool:
    """An install of the project's declared dependencies (from a requirements, manifest or lock
    file), as opposed to a tool bootstrap such as ``pip install poetry``: installing these before
    copying the source is the two-step pattern CA303 asks for."""
    if install.requirement_files or install.local_targets or install.groups:
        return True
    return not install.packages and install.action not in ("update", "add")


def _commands(instruction: Instruction) -> list[Command]:
    if instruction.exec_form is not None:
        return parse_exec_form(list(instruction.exec_form), line=instruction.line)
    words = split_words(instruction.args)
    if instruction.heredocs and all(w.startswith(("<<", "0<<")) for w in words):
        # `RUN <<EOF` alone: the body is the script, unless a shebang names another program.
        doc = instruction.heredocs[0]
        first = doc.body.split("\n", 1)[0]
        if first.startswith("#!") and _program(first[2:]) not in SHELLS:
            return []
        return parse_script(doc.body, start_line=doc.line)
    return parse_script(instruction.script, start_line=instruction.line)


def _program(shebang: str) -> str:
    words = shebang.split()
    if not words:
        return ""
    name = posixpath.basename(words[0])
    if name == "env" and len(words) > 1:
        name = posixpath.basename(next((w for w in words[1:] if not w.startswith("-")), ""))
    return name


def _learn_users(stage: Stage, commands: list[Command]) -> None:
    """useradd/adduser tell where a user's home is and its uid, which cache mounts need."""
    for command in commands:
        if command.program not in ("useradd", "adduser"):
            continue
        home = uid = gid = None
        name = None
        args = list(command.argv[1:])
        i = 0
        while i < len(args):
            arg = args[i]
            value = args[i + 1] if i + 1 < len(args) else None
            option, eq, inline = arg.partition("=")
            if eq:
                value = inline
            if option in ("-d", "--home-dir", "--home", "-h"):
                home = value
            elif option in ("-u", "--uid"):
                uid = value
            elif option in ("-g", "--gid", "-G", "--ingroup"):
                gid = value if value and value.isdigit() else gid
            elif not arg.startswith("-"):
                name = arg
                i += 1
                continue
            if option.startswith("-") and not eq and option in _USER_VALUE_OPTIONS:
                i += 2
            else:
                i += 1
        if name:
            stage.users[name] = (uid, gid or uid, home)


_USER_VALUE_OPTIONS = frozenset(
    {"-d", "--home-dir", "--home", "-h", "-u", "--uid", "-g", "--gid", "-G", "--groups",
     "--ingroup", "-s", "--shell", "-c", "--comment", "--gecos", "-k", "--skel", "-e",
     "--expiredate", "-f", "--inactive", "-K", "--key", "-p", "--password", "-b", "--base-dir"}
)  # fmt: skip


def _disables_docker_clean(commands: list[Command]) -> bool:
    for command in commands:
        if command.program == "rm" and any(a.endswith("docker-clean") for a in command.argv):
            return True
        if any("Keep-Downloaded-Packages" in a for a in command.argv):
            return True
    return False


# --- cache mounts: CA301, CA302, CA304 ---------------------------------------------------------


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


def _expected(dc: Context, run: RunInfo, tool: str, install: InstallCommand) -> Expected:
    spec = DOCKER_CACHES[tool]
    stage, user = run.stage, run.stage.user
    shell_vars = dict(run.variables)
    shell_vars.setdefault("HOME", user.home or "/")
    shell_vars.update(dict(install.command.env))
    for option, value in install.option_values:
        if option in spec.dir_options:
            resolved = expand(value, shell_vars)
            if resolved:
                return Expected((_abs(resolved, stage.workdir),), user, f"`{option} {value}`")
            return Expected((), user, option)
    env = {**run.variables, **dict(install.command.env)}
    for name in spec.dir_envs:
        if env.get(name):
            var = stage.var(name)
            origin = var.where if var else "set inline"
            return Expected((_abs(env[name], stage.workdir),), user, f"{name} ({origin})")
        if name in stage.env and stage.env[name].value is None:
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
                posixpath.join(stage.workdir, ".yarn/cache"),
            )
            return Expected(berry, user, "yarn berry's cache")
        if user.root and "HOME" not in env:  # yarn classic swaps root's home (RULES.md)
            return Expected((CACHE_FACTS["yarn"].root_dir,), user, "yarn's default for root")
    why = "default for root" if user.root else f"default for user {user.name}"
    return Expected((posixpath.join(home, rel),), user, why)


def _yarn_berry(dc: Context) -> bool:
    return dc.ctx.exists(".yarnrc.yml", dc.build_context)


def _abs(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir, path))


def _mount_target(mount: Mount, variables: dict[str, str], workdir: str) -> str | None:
    """The mount's absolute target as BuildKit expands it (ENV/ARG only: ``$HOME`` is empty
    unless set by ENV, ``~`` is literal), or None when it uses an unknown variable."""
    target = mount.target
    if target is None:
        return None
    value = expand(target, variables, unset={"HOME": ""})
    if value is None:
        return None
    return _abs(value, workdir)


def _covers(target: str, directory: str) -> bool:
    return directory == target or directory.startswith(target.rstrip("/") + "/")


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
        target = _mount_target(mount, run.variables, run.stage.workdir)
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
        var = run.stage.var(name)
        if var is not None:
            where = var.where
            if var.stage != run.stage.key:
                where += f" in stage {var.stage}"
            return f"`{name}` ({where})"
        return f"`{name}`"
    return None


def _cleaners(run: RunInfo, dirs: tuple[str, ...]) -> list[Command]:
    """``rm -rf`` of (part of) the cache directory in the same RUN: the lean-image habit, which
    empties a cache mount."""
    shell_vars = dict(run.variables)
    shell_vars.setdefault("HOME", run.stage.user.home or "/")
    found = []
    for command in run.commands:
        if command.program != "rm":
            continue
        for arg in command.argv[1:]:
            if arg.startswith("-"):
                continue
            value = expand(arg.rstrip("*").rstrip("/"), shell_vars)
            path = _abs(value, run.stage.workdir) if value else None
            if path and any(_covers(path, d) or _covers(d, path) for d in dirs):
                found.append(command)
                break
    return found


def _cache_mount_rules(
    dc: Context, run: RunInfo, tool: str, installs: list[InstallCommand], out: Collected
) -> None:
    first = installs[0]
    expected = _expected(dc, run, tool, first)
    check = _check_mounts(run, tool, expected)
    if check.unknown and not check.covering:
        return
    disabled = _disabled_by(run, tool, installs)
    cleaners = _cleaners(run, expected.dirs)
    subject = f"{run.subject} / {tool}"
    location = _location(dc, first)
    shown = _short(first.command.text)
    wants = expected.dirs[0] if expected.dirs else None
    causes = [f"{disabled} turns {tool}'s cache off"] if disabled else []
    if check.covering and cleaners:
        command = cleaners[0]
        causes.append(f"`{_short(command.text)}` (line {command.line}) empties it")
    if causes and (check.covering or check.related):
        mount = (check.covering or tuple(m for m, _ in check.related))[0]
        out.findings.append(
            RULES["CA302"].finding(
                location,
                f"{run.where}: the cache mount `{mount.text}` stays empty for `{shown}`: "
                f"{' and '.join(causes)}, so every rebuild downloads everything again.",
                subject=subject,
                fix=_fix_defeated(dc, run, tool, installs, cleaners if check.covering else []),
            )
        )
    if check.covering:
        if check.unwritable:
            user = expected.user
            out.findings.append(
                RULES["CA304"].finding(
                    location,
                    f"{run.where}: the cache mount on {wants} is owned by root, but `{shown}` "
                    f"runs as user {user.name}, who cannot write it: {tool} disables its cache "
                    "and downloads everything again.",
                    subject=subject,
                    fix=_fix_mount(dc, run, tool, installs, expected, replace_related=True),
                )
            )
        return
    if check.related:
        mount, target = check.related[0]
        if wants:
            writes = f"writes its cache to {wants} ({expected.source})"
        else:
            writes = f"runs as user {expected.user.name}, whose cache is not under /root"
        out.findings.append(
            RULES["CA304"].finding(
                location,
                f"{run.where}: the cache mount targets {target}, but `{shown}` {writes}: the "
                "mount is never used.",
                subject=subject,
                fix=_fix_mount(dc, run, tool, installs, expected, replace_related=True),
            )
        )
        return
    lean = disabled is not None or bool(cleaners)
    where = wants or f"{tool}'s cache directory"
    if lean:
        message = (
            f"{run.where}: `{shown}` keeps the image lean but has no cache mount on {where}: "
            "every rebuild of this layer downloads every package again."
        )
    else:
        message = (
            f"{run.where}: `{shown}` has no cache mount on {where}: every rebuild of this "
            "layer downloads every package again, and the downloads are baked into the layer."
        )
    out.findings.append(
        RULES["CA301"].finding(
            location,
            message,
            subject=subject,
            fix=_fix_mount(dc, run, tool, installs, expected, replace_related=False),
            weight=0.5 if lean else 1.0,
        )
    )


def _cache_state(dc: Context, run: RunInfo, install: InstallCommand) -> bool | None:
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


def _cache_targets(run: RunInfo) -> list[str]:
    targets = (
        _mount_target(m, run.variables, run.stage.workdir)
        for m in run.instruction.mounts
        if m.type == "cache"
    )
    return [t for t in targets if t is not None]


# --- apt: CA305, CA306 -------------------------------------------------------------------------


def _apt(dc: Context, run: RunInfo, install: InstallCommand, out: Collected) -> None:
    if install.action == "update":
        installs_here = any(i.tool == "apt" and i.action == "install" for i in run.installs)
        upgrades = any(
            c.program in ("apt-get", "apt", "aptitude")
            and any(a in ("upgrade", "dist-upgrade", "full-upgrade") for a in c.argv[1:])
            for c in run.commands
        )
        if not installs_here and not upgrades:
            out.update_alone.append((run, install))
        return
    if not install.downloads_from_registry:
        return
    targets = _cache_targets(run)
    mounted = all(any(_covers(t, need) for t in targets) for need in APT_NEEDS)
    out.installs.append(_site(dc, run, install, mounted and run.stage.docker_clean_off))
    if mounted and run.stage.docker_clean_off:
        return
    cleaned = any(
        c.program == "rm" and any(a.startswith("/var/lib/apt/lists") for a in c.argv[1:])
        for c in run.commands
    )
    out.apt_pending.append((run, install, cleaned))


def _finish_apt(dc: Context, out: Collected) -> None:
    shipped = _shipped_stages(out.stages)
    seen: set[int] = set()
    for run, install, cleaned in out.apt_pending:
        if id(run.instruction) in seen:
            continue  # one finding per RUN: one recipe fixes every apt-get in it
        seen.add(id(run.instruction))
        targets = _cache_targets(run)
        mounted = all(any(_covers(t, need) for t in targets) for need in APT_NEEDS)
        shown = _short(install.command.text)
        if mounted:
            message = (
                f"{run.where}: `{shown}` has apt cache mounts, but nothing in "
                f"{run.stage.label} removes /etc/apt/apt.conf.d/docker-clean, which deletes "
                "every downloaded package after the install: the /var/cache/apt mount stays "
                "empty."
            )
            weight = 0.5
            fix = Fix(
                "Keep downloaded packages: add this RUN before the install (Docker's "
                "RUN --mount reference recipe).",
                f"RUN {APT_KEEP}",
            )
        else:
            baked = not cleaned and run.stage.index in shipped
            missing = [
                d
                for d, need in zip(APT_DIRS, APT_NEEDS, strict=True)
                if not any(_covers(t, need) for t in targets)
            ]
            mounts = "mounts" if len(missing) > 1 else "mount"
            message = (
                f"{run.where}: `{shown}` has no cache {mounts} on {' and '.join(missing)}: every "
                "rebuild of this layer downloads the packages again"
                + (", and the package lists stay in the image." if baked else ".")
            )
            weight = 1.0 if baked else 0.5
            fix = _fix_apt(dc, run)
        out.findings.append(
            RULES["CA305"].finding(
                _location(dc, install),
                message,
                subject=f"{run.subject} / apt",
                fix=fix,
                weight=weight,
            )
        )
    for run, install in out.update_alone:
        out.findings.append(
            RULES["CA306"].finding(
                _location(dc, install),
                f"{run.where}: `{_short(install.command.text)}` runs in a RUN of its own: its "
                "cached layer keeps a stale package index, so later installs fetch outdated "
                "or vanished package versions.",
                subject=f"{run.subject} / apt-get update",
                fix=_fix_update(dc, run),
            )
        )


def _shipped_stages(stages: list[Stage]) -> set[int]:
    """Indexes of the final stage and the stages it is built FROM (DL3009's exemption: other
    stages never reach the image)."""
    if not stages:
        return set()
    return {s.index for s in stages[-1].chain()}


# --- CA303 -------------------------------------------------------------------------------------


def _note_copy_victims(stage: Stage, run: RunInfo, install: InstallCommand, out: Collected) -> None:
    if install.cache_tool in ("apt", "apk"):
        return
    for entry in stage.copies:
        if entry.whole_tree and install.cache_tool not in entry.tools_before:
            out.affected.setdefault(id(entry), []).append((run, install))


def _finish_copies(dc: Context, out: Collected) -> None:
    for entry in out.copies:
        victims = out.affected.get(id(entry))
        if not victims:
            continue
        run, install = victims[0]
        copy_text = _fold_text(entry.instruction.text)
        others = len({id(r.instruction) for r, _ in victims}) - 1
        more = f" (and {others} more install RUN{'s' if others > 1 else ''})" if others else ""
        stage_note = "" if run.stage is entry.stage else f" in {run.stage.label}"
        out.findings.append(
            RULES["CA303"].finding(
                Location(dc.path, entry.instruction.line, _indent(dc, entry.instruction.line)),
                f"{entry.stage.label}: `{_short(copy_text)}` (line {entry.instruction.line}) "
                f"copies the whole source tree before `{_short(install.command.text)}` "
                f"(line {install.line}){stage_note}{more}: any source edit invalidates the "
                "install layer and reinstalls every dependency.",
                subject=f"stage {entry.stage.key} / {entry.instruction.keyword} #{entry.ordinal}",
                fix=_fix_reorder(dc, entry, victims),
            )
        )


def _ignore_keeps_only_manifests(dc: Context, sources: list[str]) -> bool:
    """A ``.dockerignore`` that excludes everything and re-includes only manifests and lock
    files turns ``COPY . .`` into a dependency-only copy."""
    names = [f"{dc.path}.dockerignore", posixpath.join(dc.build_context, ".dockerignore")]
    text = next((t for n in names if (t := dc.ctx.read_text(n)) is not None), None)
    if text is None:
        return False
    patterns = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            body = line[1:].strip() if negate else line
            patterns.append((negate, body.lstrip("/").removeprefix("./")))
    if not patterns or patterns[0][0] or patterns[0][1] not in ("*", "**", "**/*"):
        return False
    base = dc.build_context
    for path in dc.ctx.paths:
        rel = path[len(base) + 1 :] if base else path
        if base and not path.startswith(base + "/"):
            continue
        if not _dockerignore_keeps(rel, patterns):
            continue
        name = posixpath.basename(rel)
        kind = classify(rel)
        if not (kind in DEPENDENCY_KINDS or name in LEAN_FILES or name == ".dockerignore"):
            return False
    return True


def _dockerignore_keeps(rel: str, patterns: list[tuple[bool, str]]) -> bool:
    keep = True
    for negate, pattern in patterns:
        regex = glob_regex("./" + pattern)
        probe = rel
        while probe:
            if regex.match(probe):
                keep = negate
                break
            probe = posixpath.dirname(probe)
    return keep


# --- CA307 -------------------------------------------------------------------------------------


def _npm_ci(dc: Context, run: RunInfo, install: InstallCommand, out: Collected) -> None:
    if install.action != "install" or install.packages or install.local_targets:
        return
    if {"-g", "--global"} & set(install.options):
        return
    repo_dir = _repo_dir(dc, run, install)
    locks = [
        rel
        for name in LOCKFILES_BY_TOOL["npm"]
        if (rel := normalize(name, repo_dir)) is not None and rel in dc.ctx.paths
    ]
    if not locks:
        return
    lock = posixpath.basename(locks[0])
    copied = _repo_path(dc, run, posixpath.join(_workdir_of(run, install), lock)) is not None
    out.findings.append(
        RULES["CA307"].finding(
            _location(dc, install),
            f"{run.where}: `{_short(install.command.text)}` although {locks[0]} exists: "
            "`npm ci` installs exactly the lock file, faster, and fails instead of silently "
            "resolving new versions.",
            subject=f"{run.subject} / npm install",
            fix=_fix_npm_ci(dc, run, install, lock, copied),
        )
    )


# --- CA504 -------------------------------------------------------------------------------------


def _check_reference(
    dc: Context, stage: Stage, instruction: Instruction, ordinal: int, source: str, out: Collected
) -> None:
    """A COPY/ADD/bind source naming a dependency file that no candidate build context has."""
    if not source or _is_glob(source) or "$" in source:
        return
    kind = classify(source)
    if kind not in DEPENDENCY_KINDS:
        return
    if any(dc.ctx.exists(source, base) for base in dc.candidates):
        return
    what = "bind mount source" if instruction.keyword == "RUN" else f"{instruction.keyword} source"
    looked = ", ".join(f"{c}/" if c else "the repository root" for c in dc.candidates)
    same_name = dc.ctx.named(posixpath.basename(source))
    snippet = ""
    description = f"Commit {source} or correct the path in the {instruction.keyword}."
    if len(same_name) == 1 and _relative_to(same_name[0], dc.build_context) is not None:
        better = _relative_to(same_name[0], dc.build_context) or same_name[0]
        snippet = instruction.text.replace(source, better, 1)
        description = f"Point the {instruction.keyword} at {same_name[0]}, the file that exists."
    out.findings.append(
        RULES["CA504"].finding(
            _source_location(dc, instruction, source),
            f"{stage.label}: the {what} {source} (line {instruction.line}) does not exist "
            f"(looked in {looked}): the build fails there.",
            subject=f"stage {stage.key} / {instruction.keyword} #{ordinal} / {source}",
            fix=Fix(description, snippet),
        )
    )


def _relative_to(path: str, base: str) -> str | None:
    if not base:
        return path
    return path[len(base) + 1 :] if path.startswith(base + "/") else None


def _source_location(dc: Context, instruction: Instruction, source: str) -> Location:
    for offset, line in enumerate(instruction.text.split("\n")):
        column = line.find(source)
        if column >= 0:
            return Location(dc.path, instruction.line + offset, column + 1)
    return Location(dc.path, instruction.line)


# --- installs: inputs, paths in the image ------------------------------------------------------


def _downloads(dc: Context, run: RunInfo, install: InstallCommand) -> bool:
    """A registry download worth judging: not a bootstrap, not local wheels, not a project
    install of a project without dependencies (RULES.md)."""
    if not install.downloads_from_registry:
        return False
    if install.tool not in ("pip", "uv") or install.packages or install.requirement_files:
        return True
    if install.groups or not install.local_targets:
        return True
    if "--no-deps" in install.options or "--no-dependencies" in install.options:
        return False
    workdir = _workdir_of(run, install)
    for target in install.local_targets:
        image_dir = _abs(target.split("[", 1)[0], workdir)
        base = _repo_dir_of(dc, run, image_dir)
        if base is None or _project_has_dependencies(dc, base):
            return True
    return False


def _project_has_dependencies(dc: Context, base: str) -> bool:
    """From the project's pyproject.toml; True when it cannot be told."""
    text = dc.ctx.read_text(posixpath.join(base, "pyproject.toml") if base else "pyproject.toml")
    if text is None:
        return True  # setup.py or unknown: assume it has dependencies
    data = _toml(text)
    project = data.get("project")
    if not isinstance(project, dict):
        tool = data.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        deps = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
        return not isinstance(deps, dict) or any(k != "python" for k in deps)
    dynamic = project.get("dynamic", [])
    if isinstance(dynamic, list) and "dependencies" in dynamic:
        return True
    return bool(project.get("dependencies"))


def _toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return {}
    return data


def _workdir_of(run: RunInfo, install: InstallCommand) -> str:
    """The directory the install runs in: WORKDIR, moved by ``cd`` earlier in the RUN."""
    workdir = run.stage.workdir
    for command in run.commands:
        if command.line > install.line or command is install.command:
            break
        if command.program == "cd" and len(command.argv) > 1:
            value = expand(command.argv[1], run.variables)
            if value:
                workdir = _abs(value, workdir)
    return workdir


def _repo_path(dc: Context, run: RunInfo, image_path: str) -> str | None:
    """The repository file an image path was copied (or bind-mounted) from, if any."""
    for source, target in run.binds:
        if image_path == target:
            return _join(dc.build_context, source)
        if image_path.startswith(target.rstrip("/") + "/"):
            return _join(dc.build_context, source, image_path[len(target.rstrip("/")) + 1 :])
    for entry in reversed(run.stage.copies):
        for source in entry.sources:
            found = _copied_from(dc, entry, source, image_path)
            if found is not None:
                return found
    return None


def _copied_from(dc: Context, entry: CopyEntry, source: str, image_path: str) -> str | None:
    if not entry.dest_is_dir:
        return _join(dc.build_context, source) if image_path == entry.dest else None
    prefix = entry.dest.rstrip("/") + "/"
    if not image_path.startswith(prefix):
        return None
    rest = image_path[len(prefix) :]
    if source == "" or _is_dir(dc.ctx, source, dc.build_context):
        candidate = _join(dc.build_context, source, rest)
        return candidate if candidate in dc.ctx.paths else None
    if _is_glob(source):
        if "/" in rest or not glob_match(posixpath.basename(source), rest):
            return None
        candidate = _join(dc.build_context, posixpath.dirname(source), rest)
        return candidate if candidate in dc.ctx.paths else None
    return _join(dc.build_context, source) if rest == posixpath.basename(source) else None


def _repo_dir(dc: Context, run: RunInfo, install: InstallCommand) -> str:
    """The repository directory that plays the role of the install's working directory."""
    found = _repo_dir_of(dc, run, _workdir_of(run, install))
    return dc.build_context if found is None else found


def _repo_dir_of(dc: Context, run: RunInfo, image_dir: str) -> str | None:
    """The repository directory whose files were copied (or bind-mounted) into ``image_dir``."""
    for source, target in run.binds:
        if posixpath.dirname(target) == image_dir:
            return posixpath.dirname(_join(dc.build_context, source))
    for entry in reversed(run.stage.copies):
        for source in entry.sources:
            if not entry.dest_is_dir:
                if posixpath.dirname(entry.dest) == image_dir:
                    return posixpath.dirname(_join(dc.build_context, source))
                continue
            dest = entry.dest.rstrip("/") or "/"
            directory = source == "" or _is_dir(dc.ctx, source, dc.build_context)
            inside = image_dir == dest or image_dir.startswith(dest.rstrip("/") + "/")
            if directory and inside:
                return _join(dc.build_context, source, image_dir[len(dest) :].strip("/"))
            if image_dir == dest:
                return posixpath.dirname(_join(dc.build_context, source))
    return None


def _join(*parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(*[p for p in parts if p] or ["."]))
    return "" if joined == "." else joined


def _inputs(dc: Context, run: RunInfo, install: InstallCommand) -> tuple[str, ...]:
    repo_dir = _repo_dir(dc, run, install)
    workdir = _workdir_of(run, install)
    files: list[str] = []
    for name in (*install.requirement_files, *install.constraint_files):
        value = expand(name, run.variables)
        if not value:
            continue
        mapped = _repo_path(dc, run, _abs(value, workdir))
        if mapped is None and not value.startswith("/"):
            mapped = normalize(value, repo_dir)
        if mapped:
            files.append(mapped)
    files.extend(implicit_inputs(install, dc.ctx, repo_dir))
    return tuple(dict.fromkeys(files))


def _site(dc: Context, run: RunInfo, install: InstallCommand, cached: bool | None) -> InstallSite:
    return InstallSite(
        location=_location(dc, install),
        platform="dockerfile",
        context=f"{dc.path} / {run.stage.label} / RUN #{run.ordinal}",
        tool=install.tool,
        command=install.command.text,
        inputs=_inputs(dc, run, install),
        cached=cached,
        cache_key_inputs=(),  # a cache mount has no key: BuildKit keys it by id/target
    )


# --- build context -----------------------------------------------------------------------------


def _candidate_contexts(path: str) -> tuple[str, ...]:
    found = []
    directory = posixpath.dirname(path)
    while True:
        found.append(directory)
        if not directory:
            return tuple(found)
        directory = posixpath.dirname(directory)


def _choose_context(ctx: RepoContext, parsed: ParsedDockerfile, candidates: tuple[str, ...]) -> str:
    """The candidate directory where most literal COPY/ADD/bind sources exist (nearest wins a
    tie): `docker build -f docker/Dockerfile .` is as common as a context beside the file."""
    sources: list[str] = []
    for instruction in parsed.instructions:
        if instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None:
            words = list(instruction.exec_form or split_words(instruction.args))[:-1]
            sources.extend(w.strip("\"'") for w in words)
        for mount in instruction.mounts:
            if mount.type == "bind" and mount.from_ is None and mount.source:
                sources.append(mount.source)
    literal = [
        rel
        for s in sources
        if "$" not in s and not _is_glob(s) and not s.startswith("<<")
        if (rel := normalize(s.lstrip("/") or "."))
    ]

    def score(base: str) -> int:
        return sum(ctx.exists(s, base) or _is_dir(ctx, s, base) for s in literal)

    best = max(candidates, key=lambda c: (score(c), -candidates.index(c)))
    return best


def _is_dir(ctx: RepoContext, path: str, base: str) -> bool:
    """``ctx.is_dir`` scans every path; a Dockerfile asks about the same few many times."""
    rel = normalize(path, base)
    if rel is None:
        return False
    return ctx.memo("dockerfile:is-dir", rel, lambda: ctx.is_dir(rel))


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


# --- fixes -------------------------------------------------------------------------------------


def _mount_spec(tool: str, target: str, user: User) -> str:
    spec = DOCKER_CACHES[tool]
    parts = ["type=cache"]
    if spec.mount_id:
        parts.append(f"id={spec.mount_id}")
    parts.append(f"target={target}")
    if not user.root:
        parts.append(f"uid={user.uid or '1000'},gid={user.gid or user.uid or '1000'}")
    return ",".join(parts)


def _fix_mount(
    dc: Context,
    run: RunInfo,
    tool: str,
    installs: list[InstallCommand],
    expected: Expected,
    *,
    replace_related: bool,
) -> Fix:
    user = expected.user
    prelude: list[str] = []
    if expected.dirs:
        target = expected.dirs[0]
    else:  # unknown home: give the cache a fixed place
        target = f"/tmp/cache/{tool}"
        prelude.append(f"ENV {DOCKER_CACHES[tool].dir_envs[0]}={target}")
    if tool == "uv" and run.variables.get("UV_LINK_MODE") != "copy":
        prelude.append("ENV UV_LINK_MODE=copy")
    drop = [
        m
        for m in run.instruction.mounts
        if replace_related
        and m.type == "cache"
        and (_related(m, None, tool) or _hits(run, m, expected))
    ]
    cleaners = _cleaners(run, (target, *expected.dirs))
    text = _rewrite_run(
        dc,
        run,
        add=[_mount_spec(tool, target, user)],
        drop_mounts=drop,
        disabling=(tool, _same_tool(run, tool)),
        drop_commands=cleaners,
    )
    what = f"Mount a BuildKit cache on {target}"
    if not user.root:
        uid = f"uid {user.uid}" if user.uid else f"1000 assumed: use {user.name}'s uid"
        what += f" owned by user {user.name} ({uid})"
    what += f" so {tool} reuses its downloads across builds without storing them in the image"
    if any(i.no_cache for i in installs):
        what += "; drop the flag that disables the cache"
    if cleaners:
        what += "; stop deleting the cache, which would empty the mount"
    var = _env_disabler(run, tool)
    if var is not None:
        what += f"; remove {var.name} from the {var.where}"
    if tool == "uv" and "ENV UV_LINK_MODE=copy" in prelude:
        what += "; UV_LINK_MODE=copy avoids uv's hard-link warning across the mount"
    return Fix(what + ".", "\n".join([*prelude, text]))


def _same_tool(run: RunInfo, tool: str) -> list[InstallCommand]:
    return [i for i in run.installs if i.cache_tool == tool]


def _hits(run: RunInfo, mount: Mount, expected: Expected) -> bool:
    target = _mount_target(mount, run.variables, run.stage.workdir)
    return target is not None and any(_covers(target, d) for d in expected.dirs)


def _env_disabler(run: RunInfo, tool: str) -> Var | None:
    name = env_disables_cache(tool, run.variables)
    return run.stage.var(name) if name else None


def _fix_defeated(
    dc: Context,
    run: RunInfo,
    tool: str,
    installs: list[InstallCommand],
    cleaners: list[Command],
) -> Fix:
    var = _env_disabler(run, tool)
    in_run = any(i.no_cache for i in installs) or bool(cleaners)
    if var is not None and not in_run:
        owner = next((s for s in run.stage.chain() if s.key == var.stage), run.stage)
        instruction = next(
            (i for i in dc.parsed.instructions if i.line == var.line and i.keyword == var.kind),
            None,
        )
        snippet = _without_assignment(instruction, var.name, dc.escape) if instruction else ""
        action = "Rewrite" if snippet else "Delete"
        return Fix(
            f"{action} the {var.kind} at line {var.line} in {owner.label} so {var.name} is no "
            "longer set: with the cache mount, the cache never lands in the image anyway.",
            snippet,
        )
    text = _rewrite_run(dc, run, disabling=(tool, _same_tool(run, tool)), drop_commands=cleaners)
    what = f"Let {tool} use the cache mount: drop what disables or deletes its cache"
    if var is not None:
        what += f", and remove {var.name} from the {var.where}"
    return Fix(what + ".", text)


def _without_assignment(instruction: Instruction, name: str, escape: str) -> str:
    """The ENV/ARG instruction without ``name=...``; empty when nothing else would remain."""
    pairs = (
        parse_args(instruction.args)
        if instruction.keyword == "ARG"
        else parse_key_values(instruction.args)
    )
    if all(key == name for key, _ in pairs):
        return ""
    pattern = re.compile(rf"""(?<![\w-]){re.escape(name)}=(?:"[^"]*"|'[^']*'|\S*)[ \t]*""")
    lines = _tidy(pattern.sub("", instruction.text, count=1), escape).split("\n")
    if (
        lines[0].strip() in (instruction.keyword, f"{instruction.keyword} {escape}")
        and len(lines) > 1
    ):
        lines[:2] = [f"{lines[0].split()[0]} {lines[1].strip()}"]  # ENV \ + A=1 → ENV A=1
    return "\n".join(lines).rstrip()


def _rewrite_run(
    dc: Context,
    run: RunInfo,
    *,
    add: Iterable[str] = (),
    drop_mounts: Iterable[Mount] = (),
    disabling: tuple[str, list[InstallCommand]] | None = None,
    drop_commands: Iterable[Command] = (),
    prefix: tuple[Command, str] | None = None,
) -> str:
    """The RUN rewritten in the file's own layout: cache mounts added or replaced, a tool's
    cache-disabling flags and inline env assignments removed, commands dropped, and text put
    in front of one command (``apt-get update && ``)."""
    instruction = run.instruction
    lines = instruction.text.split("\n")
    logical = instruction.logical_end_line - instruction.line + 1
    parts = ["\n".join(lines[:logical]), "\n".join(lines[logical:])]
    exec_form = instruction.exec_form is not None
    for index, part in enumerate(parts):
        if disabling is not None:
            part = _drop_disablers(part, disabling[0], disabling[1], exec_form)
        for command in drop_commands:
            part = _drop_command(part, command)
        if prefix is not None:
            body = _command_regex(prefix[0])
            match = re.search(body, part) if body else None
            if match:
                part = part[: match.start()] + prefix[1] + part[match.start() :]
                prefix = None
        parts[index] = part
    head = parts[0]
    for mount in drop_mounts:
        head = re.sub(rf"[ \t]*--mount={re.escape(mount.text)}", "", head, count=1)
    indent = _continuation_indent(lines[:logical])
    flags = [f"--mount={m}" for m in add]
    head = _insert_flags(_tidy(head, dc.escape), flags, dc.escape, indent)
    return f"{head}\n{parts[1]}" if parts[1] else head


_SEP = r"(?:[ \t]|\\\n)+"
_JOIN = r"[ \t]*(?:\\\n[ \t]*)*(?:&&|;)[ \t]*(?:\\\n[ \t]*)*"
_END = r"(?=[ \t]*(?:\\\n|&&|;|\n|$))"


MAX_REWRITE_WORDS = 500
"""Commands longer than this are not rewritten in fixes: the pattern would cost more than the
fix is worth on a hostile (megabyte-long) RUN."""


def _command_regex(command: Command) -> str | None:
    words = command.text.split()
    if not words or len(words) > MAX_REWRITE_WORDS:
        return None
    return _SEP.join(re.escape(w) for w in words)


def _drop_command(text: str, command: Command) -> str:
    """Remove one command joined to its neighbours by ``&&`` or ``;``."""
    body = _command_regex(command)
    if body is None:
        return text
    alone = r"\n[ \t]*" + body + r"[ \t]*(?=\n|$)"  # a line of its own (heredoc scripts)
    for pattern in (_JOIN + body + _END, body + _JOIN, alone):
        match = re.search(pattern, text)
        if match:
            return text[: match.start()] + text[match.end() :]
    return text


def _drop_disablers(text: str, tool: str, installs: list[InstallCommand], exec_form: bool) -> str:
    """Remove ``--no-cache-dir`` and friends, and inline ``PIP_NO_CACHE_DIR=...``, from the
    installs' own text only (``apk add --no-cache`` in the same RUN stays)."""
    options = CACHE_DISABLING_OPTIONS.get(tool, ())
    env_name = CACHE_FACTS[tool].env_disable if tool in CACHE_FACTS else None
    token = "|".join(re.escape(o) for o in options)
    if exec_form:
        if token:
            text = re.sub(rf'\s*"(?:{token})"\s*,|,\s*"(?:{token})"', "", text)
        spans = [(0, len(text))]
    else:
        spans = []
        for install in installs:
            body = _command_regex(install.command)
            match = re.search(body, text) if body else None
            if match:
                spans.append(match.span())
    for start, end in sorted(spans, reverse=True):
        chunk = text[start:end]
        if token:
            chunk = re.sub(rf"[ \t]+(?:{token})(?=[\s\"';&|)]|$)", "", chunk)
        if env_name:
            chunk = re.sub(rf"""(?<![\w-]){env_name}=(?:"[^"]*"|'[^']*'|\S*)[ \t]+""", "", chunk)
        text = text[:start] + chunk + text[end:]
    return text


def _tidy(text: str, escape: str) -> str:
    """Drop lines left holding only a continuation, and a continuation left dangling at the end."""
    lines = text.split("\n")
    out = [line for i, line in enumerate(lines) if i == 0 or line.strip() not in ("", escape)]
    last = out[-1].rstrip()
    if last.endswith(escape) and (len(out) > 1 or last.endswith(" " + escape)):
        out[-1] = last[:-1].rstrip()
    return "\n".join(out)


def _insert_flags(head: str, flags: list[str], escape: str, indent_as: str = "") -> str:
    if not flags:
        return head
    lines = head.split("\n")
    first = lines[0]
    indent = len(first) - len(first.lstrip())
    keyword_end = indent + len(first.strip().split(maxsplit=1)[0])
    rest = first[keyword_end:].strip()
    joined = " ".join(flags)
    if len(lines) == 1 and len(first) + len(joined) + 1 <= MAX_LINE:
        return f"{first[:keyword_end]} {joined} {rest}".rstrip()
    cont = indent_as or _continuation_indent(lines)
    out = [f"{first[:keyword_end]} {flags[0]} {escape}"]
    out.extend(f"{cont}{flag} {escape}" for flag in flags[1:])
    if rest and rest != escape:
        out.append(f"{cont}{rest}")
    elif out:
        out[-1] = out[-1][: -len(escape)].rstrip() + f" {escape}"
    out.extend(lines[1:])
    return _tidy("\n".join(out), escape)


def _continuation_indent(lines: list[str]) -> str:
    """The shallowest indentation of the continuation lines (4 spaces when there are none)."""
    indents = [
        line[: len(line) - len(line.lstrip())]
        for line in lines[1:]
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return min(indents, key=len) if indents else "    "


def _apt_cleanups(run: RunInfo) -> list[Command]:
    """``rm -rf /var/lib/apt/lists/*`` and ``apt-get clean``: with cache mounts they only
    throw the cache away."""

    def cleanup(command: Command) -> bool:
        args = command.argv[1:]
        if command.program == "rm":
            return any(a.startswith(("/var/lib/apt", "/var/cache/apt")) for a in args)
        return command.program in ("apt-get", "apt") and args[:1] == ("clean",)

    return [c for c in run.commands if cleanup(c)]


def _fix_apt(dc: Context, run: RunInfo) -> Fix:
    existing = [
        m
        for m in run.instruction.mounts
        if m.type == "cache" and (m.target or "").rstrip("/") in (*APT_DIRS, *APT_NEEDS)
    ]
    first_install = next(
        (i for i in run.installs if i.tool == "apt" and i.action == "install"), None
    )
    updates = any(i.tool == "apt" and i.action == "update" for i in run.installs)
    text = _rewrite_run(
        dc,
        run,
        add=list(APT_MOUNTS),
        drop_mounts=existing,
        drop_commands=_apt_cleanups(run),
        # with the lists in a cache mount, the first build starts with none: refresh them here
        prefix=None
        if updates or first_install is None
        else (
            first_install.command,
            "apt-get update && ",
        ),
    )
    prelude = "" if run.stage.docker_clean_off else f"RUN {APT_KEEP}\n"
    return Fix(
        "Keep apt's downloads and lists in cache mounts (sharing=locked: apt needs exclusive "
        "access) instead of deleting them, and stop docker-clean from emptying the cache; the "
        "lists no longer need removing because the mounts never reach the image.",
        prelude + text,
    )


def _fix_update(dc: Context, run: RunInfo) -> Fix:
    stage = run.stage
    later = [
        r
        for r in stage.runs
        if r.line > run.instruction.line and not r.heredocs and r.exec_form is None
    ]
    for instruction in later:
        installs = find_installs(parse_script(instruction.script, start_line=instruction.line))
        apt = next((i for i in installs if i.tool == "apt" and i.action == "install"), None)
        if apt is None:
            continue
        index = apt.line - instruction.line
        lines = instruction.text.split("\n")
        word = apt.command.text.split()[0]
        column = lines[index].find(word)
        if column < 0:
            break
        lines[index] = lines[index][:column] + "apt-get update && " + lines[index][column:]
        return Fix(
            f"Run `apt-get update` in the same RUN as the install at line {instruction.line} "
            f"and delete the RUN at line {run.instruction.line}.",
            "\n".join(lines),
        )
    return Fix(
        f"Delete the RUN at line {run.instruction.line} and run `apt-get update &&` in front of "
        "each `apt-get install`, in the same RUN.",
        "",
    )


def _fix_npm_ci(dc: Context, run: RunInfo, install: InstallCommand, lock: str, copied: bool) -> Fix:
    lines = run.instruction.text.split("\n")
    index = install.line - run.instruction.line
    action = next((a for a in install.command.argv[1:] if not a.startswith("-")), "install")
    snippet = ""
    if 0 <= index < len(lines):
        start = max(lines[index].find(install.command.argv[0].rsplit("/", 1)[-1]), 0)
        word = rf"(?<![\w-]){re.escape(action)}(?![\w-])"
        tail = re.sub(word, "ci", lines[index][start:], count=1)
        lines[index] = lines[index][:start] + tail
        snippet = "\n".join(lines)
    description = f"Use `npm ci`, which installs exactly what {lock} pins"
    if not copied:
        description += f"; copy {lock} into the image next to package.json first"
        snippet = f"COPY package.json {lock} ./\n{snippet}"
    return Fix(description + ".", snippet)


_DEPS_FIRST: dict[str, tuple[str, str]] = {
    "uv": ("--no-install-project", ""),
    "poetry": ("--no-root", "--only-root"),
    "pdm": ("--no-self", ""),
}
"""(flag for the dependencies-only install, flag for the later project install)."""


def _fix_reorder(
    dc: Context, entry: CopyEntry, victims: list[tuple[RunInfo, InstallCommand]]
) -> Fix:
    """COPY the manifests, install, then COPY the rest (and install the project)."""
    dest = entry.instruction.text.split()[-1] if not entry.instruction.exec_form else entry.dest
    dest_dir = dest if dest.endswith("/") else dest + "/"
    if dest in (".", "./"):
        dest_dir = "./"
    manifests: list[str] = []
    runs: list[str] = []
    after: list[str] = []
    project_note = ""
    for run, install in victims:
        inputs = _inputs(dc, run, install)
        for path in inputs:
            rel = _relative_to(path, dc.build_context)
            if rel and rel not in manifests:
                manifests.append(rel)
        text = run.instruction.text
        if text in runs:
            continue
        first_flag, project_flag = _DEPS_FIRST.get(install.tool, ("", ""))
        if first_flag and first_flag not in text:
            runs.append(_append_to_install(run, install, first_flag))
            later = _append_to_install(run, install, project_flag) if project_flag else text
            after.append(later)
        elif (
            install.tool in ("pip", "uv")
            and install.local_targets
            and not (install.requirement_files)
        ):
            project_note = (
                " pip cannot install only a project's dependencies: export them to "
                "requirements.txt (uv export, pip-compile), install that first, then the "
                "project with --no-deps."
            )
            manifests = [m for m in manifests if not m.endswith("pyproject.toml")] + [
                "requirements.txt"
            ]
            runs.append(_replace_targets(run, install))
            after.append(_no_deps(run, install))
        else:
            runs.append(text)
    if not manifests:
        manifests = ["<dependency manifests>"]
    block = [f"COPY {' '.join(manifests)} {dest_dir}", *runs, entry.instruction.text, *after]
    return Fix(
        f"Copy only {', '.join(manifests)} before installing, then copy the source, so source "
        f"edits reuse the cached dependency layer.{project_note}",
        "\n".join(block),
    )


def _append_to_install(run: RunInfo, install: InstallCommand, flag: str) -> str:
    """The RUN with ``flag`` added at the end of the install command."""
    text = run.instruction.text
    body = _command_regex(install.command)
    match = re.search(body, text) if body else None
    if match is None:
        return text
    return text[: match.end()] + f" {flag}" + text[match.end() :]


def _replace_targets(run: RunInfo, install: InstallCommand) -> str:
    text = run.instruction.text
    for target in install.local_targets:
        text = re.sub(
            rf"(?:-e[ \t]+|--editable[ \t=]+)?(?<![\w/.-]){re.escape(target)}(?![\w/.-])",
            "-r requirements.txt",
            text,
            count=1,
        )
    return text


def _no_deps(run: RunInfo, install: InstallCommand) -> str:
    target = install.local_targets[0] if install.local_targets else "."
    program = "uv pip install" if install.tool == "uv" else "pip install"
    editable = "-e " if {"-e", "--editable"} & set(install.options) else ""
    return f"RUN {program} --no-deps {editable}{target}"


# --- small helpers -----------------------------------------------------------------------------


def _location(dc: Context, install: InstallCommand) -> Location:
    word = install.command.text.split()[0] if install.command.text.split() else ""
    column = None
    if word and 1 <= install.line <= len(dc.lines):
        found = dc.lines[install.line - 1].find(word)
        column = found + 1 if found >= 0 else None
    return Location(dc.path, install.line, column)


def _indent(dc: Context, line: int) -> int | None:
    if 1 <= line <= len(dc.lines):
        text = dc.lines[line - 1]
        return len(text) - len(text.lstrip()) + 1
    return None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fold_text(text: str) -> str:
    return " ".join(re.sub(r"\\\n", " ", text).split())


def _finish(dc: Context, out: Collected) -> None:
    _finish_apt(dc, out)
    _finish_copies(dc, out)
    out.findings.sort(key=lambda f: f.sort_key)

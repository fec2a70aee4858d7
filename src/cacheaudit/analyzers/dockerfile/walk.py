"""Parsed instructions → the model: one forward pass keeps, per stage, what BuildKit would know
at each ``RUN`` (the environment, ``ENV`` inherited by stages built ``FROM`` an earlier stage,
``ARG`` scoped to its stage; the user and its home; the working directory; which build-context
files were copied where) and snapshots it into a :class:`RunInfo`. Also chooses the build
context among the Dockerfile's directory and its parents."""

from __future__ import annotations

import posixpath
import re

from cacheaudit.analyzers.dockerfile.context import (
    _candidate_contexts,
    _choose_context,
    _has_source,
)
from cacheaudit.analyzers.dockerfile.facts import SHELLS
from cacheaudit.analyzers.dockerfile.model import (
    CopyEntry,
    DockerfileModel,
    RunInfo,
    Stage,
    User,
    Var,
    _is_dir,
    _is_glob,
    _mount_target,
)
from cacheaudit.discovery import SourceFile
from cacheaudit.parsing.dockerfile import (
    Instruction,
    ParsedDockerfile,
    expand,
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
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


def build(ctx: RepoContext, file: SourceFile, parsed: ParsedDockerfile) -> DockerfileModel:
    """The model of one parsed Dockerfile (which has at least one instruction)."""
    candidates = _candidate_contexts(file.path)
    dc = DockerfileModel(
        ctx=ctx,
        file=file,
        parsed=parsed,
        lines=file.text.split("\n"),
        build_context=_choose_context(ctx, parsed, candidates),
        candidates=candidates,
    )
    _walk(dc)
    return dc


def _walk(dc: DockerfileModel) -> None:
    global_args: dict[str, str | None] = {}
    stage: Stage | None = None
    by_name: dict[str, Stage] = {}
    for instruction in dc.parsed.instructions:
        keyword = instruction.keyword
        if keyword == "FROM":
            stage = _from(instruction, global_args, by_name, len(dc.stages))
            dc.stages.append(stage)
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
            _copy(dc, stage, instruction, ordinal)
        elif keyword == "RUN":
            stage.runs.append(instruction)
            dc.runs.append(_run(stage, instruction, ordinal))


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
    resolved = re.sub(r"\$\{_{2,}\}", "{{…}}", resolved)  # a template value, for the label
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
        stage.configured = dict(parent.configured)
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


def _copy(dc: DockerfileModel, stage: Stage, instruction: Instruction, ordinal: int) -> None:
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
    whole = any(s in ("", "*", "**") for s in sources) and _has_source(dc, "")
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
        workdir=stage.workdir,
    )
    stage.copies.append(entry)
    dc.copies.append(entry)


def _run(stage: Stage, instruction: Instruction, ordinal: int) -> RunInfo:
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
    installs = find_installs(commands)
    run = RunInfo(
        stage=stage,
        instruction=instruction,
        ordinal=ordinal,
        commands=commands,
        installs=installs,
        variables=variables,
        binds=binds,
        user=stage.user,
        workdir=stage.workdir,
        copies=tuple(stage.copies),
        env=dict(stage.env),
        args=dict(stage.args),
        docker_clean_off=stage.docker_clean_off,
        configured=dict(stage.configured),
    )
    for command in commands:
        found = configured_cache(command, stage.user, variables, stage.workdir)
        if found is not None:
            stage.configured[(found[0], stage.user.name)] = (found[1], command.line)
    for install in installs:
        if _reads_manifests(install):
            stage.installed.add(install.cache_tool)
    return run


_CONFIG_KEYS: dict[tuple[str, str], str] = {
    ("pnpm", "store-dir"): "pnpm",
    ("pnpm", "store_dir"): "pnpm",
    ("npm", "store-dir"): "pnpm",
    ("npm", "cache"): "npm",
    ("yarn", "cache-folder"): "yarn",
    ("yarn", "cacheFolder"): "yarn",
    ("pip", "global.cache-dir"): "pip",
    ("pip", "user.cache-dir"): "pip",
    ("pip3", "global.cache-dir"): "pip",
    ("pip3", "user.cache-dir"): "pip",
}
"""(program, config key) → the tool whose cache directory ``<program> config set`` moves."""


def configured_cache(
    command: Command, user: User, variables: dict[str, str], workdir: str
) -> tuple[str, str] | None:
    """``(tool, directory)`` when the command moves a tool's cache in the user's config:
    ``pnpm config set store-dir /pnpm/store``, ``npm config set cache /npm``, ``yarn config set
    cache-folder /yarn``, ``pip config set global.cache-dir /pip``, ``poetry config cache-dir
    /poetry``."""
    words = [w for w in command.argv[1:] if not w.startswith("-")]
    program = command.program
    if program == "poetry" and words[:2] == ["config", "cache-dir"] and len(words) > 2:
        tool, raw = "poetry", words[2]
    elif words[:2] == ["config", "set"] and len(words) > 2:
        key, eq, value = words[2].partition("=")
        raw = value if eq else (words[3] if len(words) > 3 else "")
        found = _CONFIG_KEYS.get((program, key))
        if found is None or not raw:
            return None
        tool = found
    else:
        return None
    if raw.startswith("~"):
        raw = (user.home or "/") + raw[1:]
    expanded = expand(raw, {"HOME": user.home or "/", **variables})
    if not expanded:
        return None
    return tool, posixpath.normpath(posixpath.join(workdir, expanded))


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

"""What a CI command runs from other files of the repository, read, never executed.

Shared by the GitHub Actions and GitLab CI analyzers: a ``run:``/``script:`` line that calls a
repository script, a Makefile target or a package.json script installs what that file installs.

- Shell scripts: ``bash script.sh``, ``bash -x script.sh``, ``sh -e script.sh``, ``./script.sh``,
  ``scripts/setup``, ``source x.sh``, ``. x.sh`` (``bash -c '...'`` is parsed in place by
  :mod:`cacheaudit.parsing.shell`).
- ``make [target...]``: the recipes of those targets (the default target when none is named) and
  of their prerequisites, with the Makefile's simple variables expanded; ``$(MAKE) x`` inside a
  recipe is followed like any other make command.
- ``npm run x`` / ``npm test`` / ``yarn x`` / ``pnpm run x`` / ``bun run x``: the script from
  package.json (npm also runs ``prex`` and ``postx``).
- tox and nox are installs themselves; :func:`session_inputs` lists the files their sessions
  install from and :func:`runner_backend` tells when they install with uv.

Depth is bounded (:data:`MAX_DEPTH`) and every file/target is followed once per chain, so cycles
end. Unreadable or unparsable files are skipped: following is best effort, never an error.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from cacheaudit.parsing.shell import Command, InstallCommand, find_installs, parse_script
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

MAX_DEPTH = 4
"""Files followed from one CI command, nested (a script calling make calling a script...)."""

_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"})
_SHELL_SHEBANG = re.compile(r"#!.*\b(ba|da|z|k|a|mk)?sh\b")
_MAKES = frozenset({"make", "gmake", "$(MAKE)", "${MAKE}", "$MAKE"})
_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
_MAX_MAKE_TARGETS = 64
"""Targets read for one make command (prerequisites included)."""


@dataclass(frozen=True)
class Followed:
    """Commands one CI command runs from another file."""

    path: str
    """The file the commands are written in (script, Makefile, package.json)."""
    commands: tuple[Command, ...]
    """Parsed with that file's line numbers."""
    workdir: str | None
    """Directory they run in, relative to the root; None when unknowable."""
    sourced: bool = False
    """Run in the caller's shell (``source``/``.``): environment and ``cd`` carry back."""
    via: str = "script"
    """``script``, ``make``, ``npm``, ``yarn``, ``pnpm`` or ``bun``."""
    key: str = ""
    """Identity for cycle guards: the path plus the make target or package script."""


def follow(ctx: RepoContext, command: Command, workdir: str | None) -> list[Followed]:
    """The files ``command`` runs, one level deep: a shell script, make targets, or a
    package.json script. Empty when it runs none of the repository's files."""
    if workdir is None or not command.argv:
        return []
    program = command.program
    if program in _SHELLS or command.argv[0] in ("source", ".") or "/" in command.argv[0]:
        found = _script(ctx, command, workdir)
        return [found] if found is not None else []
    if program in _MAKES or command.argv[0] in _MAKES:
        return _make(ctx, command, workdir)
    if program in ("npm", "yarn", "pnpm", "bun"):
        return _package_script(ctx, command, workdir)
    if program == "node":  # `node --run build` (Node 22+) runs the package.json script
        name = _node_run(command.argv[1:])
        if name is not None:
            return _package_script(ctx, replace(command, argv=("npm", "run", name)), workdir)
    return []


def _node_run(args: Iterable[str]) -> str | None:
    words = list(args)
    for i, word in enumerate(words):
        if word.startswith("--run="):
            return word.removeprefix("--run=") or None
        if word == "--run":
            return words[i + 1] if i + 1 < len(words) else None
        if not word.startswith("-"):
            return None  # `node script.js`: a program, not a package script
    return None


def followed_installs(
    ctx: RepoContext, command: Command, workdir: str | None, max_depth: int = MAX_DEPTH
) -> list[tuple[InstallCommand, str | None, str]]:
    """Every install in the files ``command`` runs, nested up to ``max_depth`` files deep:
    (install, the directory it runs in, the file it is written in)."""
    return list(_installs(ctx, command, workdir, max_depth, frozenset()))


def repo_installs(
    ctx: RepoContext, commands: list[Command], workdir: str | None
) -> list[InstallCommand]:
    """:func:`find_installs` with what the repository adds: a tox/nox run whose sessions the
    repository's config makes install with uv (tox-uv, ``default_venv_backend = "uv"``) gets
    ``backend="uv"``, so its cache owner is uv's cache, not pip's."""
    out = []
    for install in find_installs(commands):
        if install.tool in ("tox", "nox") and not install.backend and workdir is not None:
            backend = runner_backend(ctx, install, workdir)
            install = replace(install, backend=backend) if backend else install
        out.append(install)
    return out


def _installs(
    ctx: RepoContext, command: Command, workdir: str | None, depth: int, seen: frozenset[str]
) -> Iterator[tuple[InstallCommand, str | None, str]]:
    if depth <= 0:
        return
    for followed in follow(ctx, command, workdir):
        if followed.key in seen:
            continue
        inner_seen = seen | {followed.key}
        for inner, wd in with_workdirs(followed.commands, followed.workdir):
            yield from ((i, wd, followed.path) for i in repo_installs(ctx, [inner], wd))
            yield from _installs(ctx, inner, wd, depth - 1, inner_seen)


def with_workdirs(
    commands: Iterable[Command], workdir: str | None
) -> Iterator[tuple[Command, str | None]]:
    """Each command with the directory it runs in, following ``cd DIR`` (``cd`` to an unknown
    place makes it None)."""
    for command in commands:
        yield command, workdir
        if command.program in ("cd", "pushd") and command.argv[0] in ("cd", "pushd"):
            target = command.argv[1] if len(command.argv) == 2 else ""
            if workdir is None or not target or "$" in target or target.startswith(("-", "~")):
                workdir = None
            else:
                workdir = normalize(target, workdir)
        elif command.program == "popd":
            workdir = None


# --- shell scripts ---------------------------------------------------------------------------


def script_path(command: Command, workdir: str | None) -> str | None:
    """The repository path of the script ``command`` runs or sources (whether or not it
    exists), or None: ``bash -x ci/install.sh``, ``sh -e s.sh``, ``./setup``, ``. env.sh``."""
    argv = command.argv
    if workdir is None or not argv:
        return None
    if argv[0] in ("source", "."):
        target = argv[1] if len(argv) > 1 else ""
    elif command.program in _SHELLS:
        target = _shell_operand(argv[1:]) or ""
    elif "/" in argv[0]:
        target = argv[0]
    else:
        return None
    if not target or "$" in target or target.startswith("~"):
        return None
    return normalize(target, workdir)


def _shell_operand(args: Iterable[str]) -> str | None:
    """The script a shell runs: its first operand after options; None with ``-c`` or ``-s``
    (the script is an argument or stdin, parsed by the shell module)."""
    words = list(args)
    i = 0
    while i < len(words):
        arg = words[i]
        i += 1
        if arg in ("-", "--"):
            break
        if arg.startswith("--"):
            i += arg in ("--rcfile", "--init-file")
        elif arg[:1] in "-+" and len(arg) > 1:
            if arg[0] == "-" and ("c" in arg or "s" in arg):
                return None
            i += "o" in arg[1:] or "O" in arg[1:]
        else:
            return arg
    return words[i] if i < len(words) else None


def _script(ctx: RepoContext, command: Command, workdir: str) -> Followed | None:
    path = script_path(command, workdir)
    if path is None or path not in ctx.paths:
        return None
    text = ctx.read_text(path)
    if text is None:
        return None
    explicit = command.program in _SHELLS or command.argv[0] in ("source", ".")
    if not explicit and not (
        path.endswith((".sh", ".bash")) or _SHELL_SHEBANG.match(text.split("\n", 1)[0])
    ):
        return None  # ./build.py, bin/tool: not shell
    sourced = command.argv[0] in ("source", ".")
    commands = tuple(substitute_variables(parse_script(text)))
    return Followed(path, commands, workdir, sourced, "script", path)


_SHELL_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute_variables(commands: Iterable[Command]) -> list[Command]:
    """The commands with the script's own simple variables put in (``PIP="pip"`` then
    ``"$PIP" install -r "$REQUIREMENTS"`` → ``pip install -r requirements.txt``): assignments
    are taken in order, the last one seen wins (both branches of an ``if`` assign the same
    kind of value), and a value that itself holds an unknown ``$`` stays unknown."""
    known: dict[str, str] = {}
    out = []
    for command in commands:
        if not command.argv:
            for name, value in command.env:
                expanded = _expand_known(value, known)
                if "$" in expanded or "`" in expanded:
                    known.pop(name, None)
                else:
                    known[name] = expanded
            out.append(command)
            continue
        if known and any("$" in word for word in command.argv):
            argv = tuple(_expand_known(word, known) for word in command.argv)
            command = replace(command, argv=argv, text=_expand_known(command.text, known))
        out.append(command)
    return out


def _expand_known(word: str, known: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        value = known.get(match.group(1) or match.group(2))
        return match.group(0) if value is None else value

    return _SHELL_VAR.sub(sub, word)


# --- make ------------------------------------------------------------------------------------

_MAKE_SPEC_VALUES = frozenset({"-C", "-f", "-I", "-j", "-l", "-o", "-W", "--directory", "--file",
                               "--makefile", "--include-dir", "--jobs", "--load-average",
                               "--old-file", "--what-if", "--assume-old", "--assume-new",
                               "--new-file"})  # fmt: skip
_RULE = re.compile(r"^([^\t#=:][^#=:]*?)\s*::?(?!=)\s*(.*)$")
_ASSIGN = re.compile(
    r"^(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(::=|:=|\?=|\+=|=|!=)\s*(.*)$"
)
_MAKE_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


@dataclass(frozen=True)
class Makefile:
    """The parts of a Makefile that following needs."""

    path: str
    rules: dict[str, tuple[tuple[str, ...], tuple[tuple[int, str], ...]]]
    """target → (prerequisites, recipe lines as (line, text))."""
    default: str | None
    """The first target that is not special (``.PHONY``) or a pattern."""
    variables: dict[str, str]


def _make(ctx: RepoContext, command: Command, workdir: str) -> list[Followed]:
    args = list(command.argv[1:])
    directory, file_arg, targets = workdir, None, []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        name, eq, value = arg.partition("=")
        if arg.startswith("-"):
            if arg in _MAKE_SPEC_VALUES and i < len(args):
                value, i = args[i], i + 1
            elif len(arg) > 2 and arg[:2] in ("-C", "-f") and not arg.startswith("--"):
                name, value = arg[:2], arg[2:]
            elif not eq:
                continue
            if name in ("-C", "--directory"):
                if "$" in value:
                    return []
                found = normalize(value, directory or "")
                if found is None:
                    return []
                directory = found
            elif name in ("-f", "--file", "--makefile"):
                file_arg = value
        elif eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
            continue  # VAR=value
        else:
            targets.append(arg)
    makefile = _find_makefile(ctx, directory, file_arg)
    if makefile is None:
        return []
    parsed = ctx.memo("makefile", makefile, lambda: _parse_makefile(ctx, makefile))
    if parsed is None:
        return []
    wanted = targets or ([parsed.default] if parsed.default else [])
    out = []
    for target in wanted:
        lines = _recipe(parsed, target)
        commands: list[Command] = []
        for line, text in lines:
            commands.extend(parse_script(text, start_line=line))
        if commands:
            key = f"{makefile}:{target}"
            out.append(Followed(makefile, tuple(commands), directory, False, "make", key))
    return out


def _find_makefile(ctx: RepoContext, directory: str, file_arg: str | None) -> str | None:
    if file_arg is not None:
        if "$" in file_arg:
            return None
        path = normalize(file_arg, directory)
        return path if path is not None and path in ctx.paths else None
    for name in _MAKEFILES:
        path = posixpath.join(directory, name) if directory else name
        if path in ctx.paths:
            return path
    return None


def _recipe(makefile: Makefile, target: str) -> list[tuple[int, str]]:
    """Recipe lines of ``target`` and its prerequisites (prerequisites first, each once)."""
    out: list[tuple[int, str]] = []
    seen: set[str] = set()

    def visit(name: str, depth: int) -> None:
        if name in seen or len(seen) >= _MAX_MAKE_TARGETS or depth > 16:
            return
        seen.add(name)
        rule = makefile.rules.get(name)
        if rule is None:
            return
        for prerequisite in rule[0]:
            visit(prerequisite, depth + 1)
        out.extend(rule[1])

    visit(target, 0)
    return out


def _parse_makefile(ctx: RepoContext, path: str) -> Makefile | None:
    text = ctx.read_text(path)
    if text is None:
        return None
    rules: dict[str, tuple[list[str], list[tuple[int, str]]]] = {}
    variables: dict[str, str] = {}
    default: str | None = None
    current: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    number = 0
    while number < len(lines):
        start = number + 1
        line = lines[number]
        number += 1
        while line.endswith("\\") and number < len(lines):  # continuation
            following = lines[number]
            number += 1
            if line.startswith("\t"):
                line = line + "\n" + following.removeprefix("\t")  # the shell sees it
            else:
                line = line[:-1].rstrip() + " " + following.strip()
        if line.startswith("\t"):
            recipe = line[1:].lstrip()
            if current and recipe and not recipe.startswith("#"):
                for target in current:
                    rules[target][1].append((start, recipe))
            continue
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip():
            continue
        if stripped.startswith(
            (
                "ifeq",
                "ifneq",
                "ifdef",
                "ifndef",
                "else",
                "endif",
                "include",
                "-include",
                "define",
                "endef",
                "sinclude",
                "vpath",
                "unexport",
            )
        ):
            current = []  # fmt: skip
            continue
        assignment = _ASSIGN.match(stripped)
        if assignment:
            name, op, value = assignment.groups()
            if op == "+=":
                variables[name] = f"{variables.get(name, '')} {value}".strip()
            elif op == "?=":
                variables.setdefault(name, value)
            elif op != "!=":
                variables[name] = value
            current = []
            continue
        rule = _RULE.match(stripped)
        if rule is None:
            current = []
            continue
        names, rest = rule.group(1).split(), rule.group(2)
        prerequisites, _, inline = rest.partition(";")
        if "=" in prerequisites.split("|", 1)[0] and not inline:  # target-specific variable
            current = []
            continue
        current = [n for n in names if "%" not in n]
        for target in current:
            entry = rules.setdefault(target, ([], []))
            entry[0].extend(p for p in prerequisites.replace("|", " ").split() if "$" not in p)
            if inline.strip():
                entry[1].append((start, inline.strip()))
            if default is None and not target.startswith("."):
                default = target
    expanded = {
        target: (tuple(pre), tuple((n, _expand(r, variables)) for n, r in recipe))
        for target, (pre, recipe) in rules.items()
    }
    return Makefile(path, expanded, default, variables)


def _expand(recipe: str, variables: dict[str, str], depth: int = 0) -> str:
    """A recipe line as the shell receives it: ``@``/``-``/``+`` prefixes dropped, the
    Makefile's simple variables and ``$(MAKE)`` expanded, ``$$`` turned into ``$``."""
    text = recipe.lstrip("@-+ \t")

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "MAKE":
            return "make"
        if name in variables and depth < 4:
            return _expand_value(variables[name], variables, depth + 1)
        return match.group(0)

    parts = text.split("$$")
    return "$".join(_MAKE_VAR.sub(sub, part) for part in parts)


def _expand_value(value: str, variables: dict[str, str], depth: int) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in variables and depth < 4:
            return _expand_value(variables[name], variables, depth + 1)
        return match.group(0)

    return _MAKE_VAR.sub(sub, value.strip())


# --- package.json scripts --------------------------------------------------------------------

_NPM_RUN = {"run": 1, "run-script": 1, "rum": 1, "urn": 1}
_NPM_SHORTCUTS = {"test": "test", "t": "test", "tst": "test", "start": "start",
                  "stop": "stop", "restart": "restart"}  # fmt: skip
_YARN_BUILTINS = frozenset({
    "add", "audit", "autoclean", "bin", "cache", "check", "config", "create", "dedupe", "dlx",
    "exec", "explain", "generate-lock-entry", "global", "help", "import", "info", "init",
    "install", "licenses", "link", "list", "login", "logout", "node", "npm", "outdated", "owner",
    "pack", "patch", "plugin", "policies", "publish", "rebuild", "remove", "search", "set",
    "tag", "team", "unlink", "unplug", "up", "upgrade", "upgrade-interactive", "version",
    "versions", "why", "workspace", "workspaces",
})  # fmt: skip
_DIR_OPTIONS = {"--prefix": "npm", "--cwd": "yarn", "-C": "pnpm", "--dir": "pnpm"}


def _package_script(ctx: RepoContext, command: Command, workdir: str) -> list[Followed]:
    program = command.program
    args = list(command.argv[1:])
    directory: str | None = workdir
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in _DIR_OPTIONS:
            if not eq and i < len(args):
                value, i = args[i], i + 1
            directory = None if "$" in value else normalize(value, directory or "")
            continue
        if arg.startswith("-"):
            continue
        operands.append(arg)
        if len(operands) == 2:
            break
    if directory is None or not operands:
        return []
    first = operands[0]
    if program == "npm":
        if first in _NPM_RUN and len(operands) > 1:
            name = operands[1]
        elif first in _NPM_SHORTCUTS:
            name = _NPM_SHORTCUTS[first]
        else:
            return []
    elif first == "run" and len(operands) > 1:
        name = operands[1]
    elif program in ("yarn", "pnpm") and first not in _YARN_BUILTINS and first != "run":
        name = first  # `yarn build`, `pnpm lint`: a script when package.json has one
    else:
        return []
    path = posixpath.join(directory, "package.json") if directory else "package.json"
    scripts = ctx.memo("package-scripts", path, lambda: _package_scripts(ctx, path))
    names = [f"pre{name}", name, f"post{name}"] if program == "npm" else [name]
    out = []
    for script in names:
        entry = scripts.get(script)
        if entry is None:
            continue
        line, text = entry
        commands = tuple(parse_script(text, start_line=line))
        out.append(Followed(path, commands, directory, False, program, f"{path}:{script}"))
    return out


def _package_scripts(ctx: RepoContext, path: str) -> dict[str, tuple[int, str]]:
    """package.json ``scripts`` → name → (line of its key, command text)."""
    text = ctx.read_text(path)
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return {}
    lines = text.split("\n")
    out: dict[str, tuple[int, str]] = {}
    for name, value in scripts.items():
        if not isinstance(value, str):
            continue
        key = json.dumps(name) + ":"
        compact = json.dumps(name)
        line = next(
            (n for n, t in enumerate(lines, 1) if key in t.replace(" ", "") or compact in t), 1
        )
        out[name] = (line, value)
    return out


# --- tox and nox -----------------------------------------------------------------------------

_TOX_FILES = ("tox.ini", "tox.toml", "pyproject.toml", "setup.cfg")
_REQ_IN_DEPS = re.compile(  # -r files only: -c constraints are not installed
    r"(?:^|[\s\"',\[])-r\s*[\"']?([^\s\"',\]]+)|(?:^|\s)--requirement[ =]([^\s\"',\]]+)"
)
_NOX_INSTALL_R = re.compile(r"""session\.install\(([^)]*)\)""", re.S)
_QUOTED = re.compile(r"""["']([^"']*)["']""")


def session_config(ctx: RepoContext, install: InstallCommand, workdir: str) -> str | None:
    """The file that defines the sessions a tox/nox command runs, if in the repository."""
    if install.tool == "nox":
        files = [v for o, v in install.option_values if o in ("-f", "--noxfile")]
        name = files[-1] if files else "noxfile.py"
        path = normalize(name, workdir)
        return path if path is not None and path in ctx.paths else None
    if install.tool != "tox":
        return None
    confs = [v for o, v in install.option_values if o in ("-c", "--conf")]
    if confs:
        path = normalize(confs[-1], workdir)
        return path if path is not None and path in ctx.paths else None
    for name in _TOX_FILES:
        path = normalize(name, workdir)
        if path is None or path not in ctx.paths:
            continue
        text = ctx.read_text(path) or ""
        if name in ("tox.ini", "tox.toml") or (
            "[tool.tox" in text if name == "pyproject.toml" else "[tox:tox]" in text
        ):
            return path
    return None


def session_inputs(ctx: RepoContext, install: InstallCommand, workdir: str) -> tuple[str, ...]:
    """The files tox/nox sessions install from: the config itself, then every ``-r`` file its
    deps name (``deps = -rrequirements/test.txt``, ``-r{toxinidir}/req.txt``,
    ``session.install("-r", "requirements.txt")``). Paths relative to the root; files that do
    not exist are left out (tox would fail, nox might generate them)."""
    config = session_config(ctx, install, workdir)
    if config is None:
        return ()
    text = ctx.read_text(config) or ""
    base = posixpath.dirname(config)
    names: list[str] = []
    if install.tool == "tox":
        for match in _REQ_IN_DEPS.finditer(_tox_deps_text(text, install, config)):
            names.append(match.group(1) or match.group(2))
    else:
        code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
        for call in _NOX_INSTALL_R.finditer(code):
            words = _QUOTED.findall(call.group(1))
            for k, word in enumerate(words):
                if word in ("-r", "--requirement") and k + 1 < len(words):
                    names.append(words[k + 1])
                elif word.startswith("-r") and len(word) > 2:
                    names.append(word[2:])
    found = [config]
    for name in names:
        name = re.sub(r"\{tox_?root\}/?|\{toxinidir\}/?", "", name)
        if "{" in name or "$" in name:
            continue
        path = normalize(name, base)
        if path is not None and path in ctx.paths:
            found.append(path)
    return tuple(dict.fromkeys(found))


def _tox_deps_text(text: str, install: InstallCommand, config: str) -> str:
    """The tox.ini text whose ``deps`` the command's environments install: ``[testenv]`` and
    the ``[testenv:NAME]`` sections of the environments named with ``-e`` (else the envlist),
    comment lines dropped. Other config formats: the whole file, comments dropped."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("#", ";"))]
    if not config.endswith("tox.ini"):
        return "\n".join(lines)
    sections: dict[str, list[str]] = {}
    current = ""
    for line in lines:
        header = re.match(r"\s*\[([^\]]+)\]\s*$", line)
        if header:
            current = header.group(1).strip()
            continue
        sections.setdefault(current, []).append(line)
    wanted = [v for o, v in install.option_values if o in ("-e", "--env")]
    envs = {e.strip() for v in wanted for e in v.split(",") if e.strip()}
    if not envs:
        envlist = re.search(
            r"^envlist\s*=(.*(?:\n[ \t]+.*)*)", "\n".join(sections.get("tox", [])), re.M
        )
        envs = set(re.split(r"[,\s]+", envlist.group(1))) - {""} if envlist else set()
    chosen = ["testenv"] + [f"testenv:{env}" for env in sorted(envs)]
    return "\n".join(ln for name in chosen for ln in sections.get(name, []))


_TOX_UV = re.compile(
    r"\btox-uv\b|uv-venv(-lock)?-runner|^\s*uv_(seed|resolution|python_preference|sync_flags)\s*=",
    re.M,
)
"""tox-uv in tox's ``requires``, its runners, or settings only tox-uv reads (``uv_seed``)."""


def runner_backend(ctx: RepoContext, install: InstallCommand, workdir: str) -> str:
    """``uv`` when tox/nox sessions install with uv: said on the command line
    (:attr:`InstallCommand.backend`) or by the repository (tox ``requires = tox-uv``,
    ``runner = uv-venv-runner``; ``nox.options.default_venv_backend = "uv"``); else ``""``."""
    if install.backend:
        return install.backend
    config = session_config(ctx, install, workdir)
    raw = (ctx.read_text(config) or "") if config else ""
    text = "\n".join(ln for ln in raw.splitlines() if not ln.lstrip().startswith(("#", ";")))
    if install.tool == "tox" and _TOX_UV.search(text):
        return "uv"
    if install.tool == "nox" and re.search(r"""default_venv_backend\s*=\s*["']uv""", text):
        return "uv"
    return ""

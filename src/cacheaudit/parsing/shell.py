"""Shell text → commands → recognised dependency installs.

Shared by every analyzer: workflow ``run:``, GitLab ``script:``, Dockerfile ``RUN`` (shell form,
exec form, heredoc bodies). Pure functions, no I/O, and no input makes them raise.

Three steps. A lexer turns text into words (quotes removed; ``$(...)``, backticks and GitHub
``${{ ... }}`` kept verbatim inside one word) and operators, reading heredoc bodies when it meets
the newline that ends their line. A splitter cuts tokens into simple commands and drops shell
keywords and compound-command headers (``for x in ...``, ``case ... in``, case patterns).
:func:`_command` strips assignments and wrappers (``sudo``, ``env``, ``xargs``...) and re-parses
scripts handed to a shell (``bash -c '...'``, ``sh <<EOF``). :func:`find_installs` then reads each
argv with small per-tool option tables.

Robustness: an unterminated quote or substitution is read as a literal character; the cost of
such failed scans is budgeted, and once the budget is spent the rest of the text is split on
blanks and operators only, so time stays linear on hostile input.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeAlias


@dataclass(frozen=True)
class Command:
    """One simple command, after splitting on ``&&``, ``||``, ``;``, ``|``, newlines and
    subshells."""

    argv: tuple[str, ...]
    """Words with quotes removed, after stripping env prefixes, ``sudo``/``env``/``time``/``exec``
    wrappers and shell keywords (``if``, ``then``, ``do``...). Empty for a line of bare
    assignments (``PIP_NO_CACHE_DIR=1``), whose ``env`` then holds them."""
    env: tuple[tuple[str, str], ...]
    """Inline assignments: ``PIP_NO_CACHE_DIR=1 pip ...`` and ``env A=b cmd``; for commands of a
    script run by ``A=b bash -c '...'``, the outer assignments come first."""
    line: int
    """1-based line where the command starts, offset by ``start_line``."""
    text: str
    """The command's source text, continuations folded into single spaces."""
    wrappers: tuple[str, ...] = ()
    """Programs stripped in front of ``argv``, outermost first: ``("sudo",)``, ``("sh",)`` for a
    command of a ``sh -c`` script, ``("xargs",)``."""

    @property
    def program(self) -> str:
        """Basename of ``argv[0]`` (``/opt/venv/bin/pip`` → ``pip``), or ``""``."""
        return self.argv[0].replace("\\", "/").rsplit("/", 1)[-1] if self.argv else ""


@dataclass(frozen=True)
class InstallCommand:
    """A command that installs dependencies, with what matters for caching."""

    tool: str
    """pip | uv | poetry | pipenv | pdm | conda | mamba | micromamba | npm | yarn | pnpm | bun |
    apt | apk | tox | nox | hatch | pre-commit."""
    action: str
    """The subcommand as normalised: ``install``, ``sync``, ``ci``, ``add`` (apk, pnpm, yarn,
    bun), ``wheel`` / ``download`` (pip), ``workspaces focus`` (yarn), ``pip install``
    / ``pip sync`` / ``tool install`` (uv), ``create`` / ``env create`` / ``env update`` (conda),
    ``fetch`` (pnpm), ``update`` (``apt-get update``, ``apk update``: index refreshes, recorded so
    analyzers can see them), ``run`` / ``test`` / ``env create`` / ``install-hooks`` for the
    environment runners."""
    command: Command
    options: tuple[str, ...]
    """Options as written, without their values (``-r``, ``--requirement``); long pip option
    prefixes expanded (``--no-cache`` → ``--no-cache-dir``); short clusters split (``-Ur`` →
    ``-U``, ``-r``)."""
    no_cache: bool
    """The tool's cache is disabled by a flag or an inline env var (``--no-cache-dir``,
    ``PIP_NO_CACHE_DIR=<any>``, ``uv --no-cache``, ``UV_NO_CACHE``, ``apk --no-cache``...)."""
    requirement_files: tuple[str, ...] = ()
    """``-r``/``--requirement`` files (pip, uv pip), in order; also ``uv pip sync`` operands,
    ``uv tool install --with-requirements``, ``pipenv install -r``, conda ``--file``/``-f``."""
    constraint_files: tuple[str, ...] = ()
    """``-c``/``--constraint`` files."""
    packages: tuple[str, ...] = ()
    """Registry requirements named on the command line (``requests==2.31``, ``pip``); VCS and
    URL requirements (``git+https://...``, ``name @ url``) count as packages."""
    local_targets: tuple[str, ...] = ()
    """Local paths and archives (``.``, ``-e .``'s ``.``, ``./pkg``, ``/wheels/*.whl``)."""
    groups: tuple[str, ...] = ()
    """Dependency groups asked for: pip/uv ``--group``, uv ``--only-group``, poetry
    ``--with``/``--only``, pdm ``-G``/``--group`` (values as written, e.g. ``dev,test``)."""
    option_values: tuple[tuple[str, str], ...] = ()
    """``(option, value)`` for options given a value, in order: ``("--index-url", URL)``,
    ``("--cache", ".npm")``, ``("-r", "requirements.txt")``."""
    backend: str = ""
    """For the environment runners (tox, nox): ``uv`` when the command line says they install
    with uv (nox ``--default-venv-backend uv``/``-db uv``, ``NOX_DEFAULT_VENV_BACKEND=uv``, tox
    ``--runner uv-venv-runner``, ``uvx --with tox-uv tox``); ``pip`` when it names another
    backend (``--force-venv-backend virtualenv``); ``""`` when it says nothing (pip, unless the
    repository's configuration says otherwise). A
    repository's own configuration (``requires = tox-uv``) is read by
    :func:`cacheaudit.analyzers.scripts.runner_backend`."""

    @property
    def line(self) -> int:
        return self.command.line

    @property
    def cache_tool(self) -> str:
        """Whose download cache this install fills: ``pip`` for pip/pipenv/tox/nox/hatch/
        pre-commit (``uv`` for a runner whose ``backend`` is uv), ``conda`` for
        mamba/micromamba, otherwise the tool itself."""
        if self.backend == "uv" and self.tool in _RUNNERS:
            return "uv"
        return _CACHE_TOOL.get(self.tool, self.tool)

    @property
    def bootstrap(self) -> bool:
        """Installs the installer or one tool, not a project's dependencies: ``pip install -U
        pip``, ``pip install --upgrade pip setuptools wheel``, ``pip install uv``, a global
        install of one package (``npm i -g yarn``, ``npm install -g npm@10``, ``pnpm add -g
        pnpm``, ``yarn global add x``). Analyzers do not point CA101/CA201 at these; they are
        also not counted by :attr:`downloads_from_registry`."""
        if self.tool in ("pip", "uv") and self.action in ("install", "pip install"):
            if self.requirement_files or self.groups or self.local_targets:
                return False
            if "xargs" in self.command.wrappers or not self.packages:
                return False
            return all(_bare_name(p) in _BOOTSTRAP for p in self.packages)
        if self.tool in _NODE_TOOLS and self.global_install and self.packages:
            names = {_npm_name(p) for p in self.packages}
            return len(self.packages) == 1 or names <= _NODE_TOOLS | {"corepack"}
        return False

    @property
    def global_install(self) -> bool:
        """npm/pnpm/bun ``-g``/``--global``/``--location=global``, ``yarn global add``."""
        if self.tool not in _NODE_TOOLS:
            return False
        if {"-g", "--global"} & set(self.options) or self.action == "global add":
            return True
        return ("--location", "global") in self.option_values

    @property
    def downloads_from_registry(self) -> bool:
        """Whether the install is a registry download worth caching. False for bootstraps
        (:attr:`bootstrap`), local wheel/sdist files and globs only (``pip install
        /wheels/*``, ``pip install dist/*.whl``), ``--no-index``/``--offline`` installs, a
        wheelhouse install (``pip install --find-links /wheels -r requirements.txt``: the
        builder stage downloaded them), and ``apt-get update``; True otherwise (``pip install
        .`` counts as True: the analyzer decides with the repository whether the project has
        dependencies)."""
        if self.action == "update" or self.bootstrap:
            return False
        if ("--no-index" in self.options or "--offline" in self.options) and not any(
            "://" in p or "@" in p for p in self.packages
        ):
            return False
        if self.tool not in ("pip", "uv") or self.action not in _PIP_DOWNLOADS:
            return True
        if self._local_wheelhouse() and not self.packages:
            return False
        if "xargs" in self.command.wrappers or self.requirement_files or self.groups:
            return True  # requirements come from a file or stdin
        if any(_bare_name(p) not in _BOOTSTRAP for p in self.packages):
            return True
        return any(not _local_archive(t) for t in self.local_targets)

    def _local_wheelhouse(self) -> bool:
        """``--find-links`` to a local directory, as a final image stage installs the wheels
        a builder stage made (pip takes a local candidate before an equal one from the index)."""
        if self.tool != "pip" or self.action != "install":
            return False
        links = [v for o, v in self.option_values if o in ("-f", "--find-links")]
        return bool(links) and all(
            v.startswith(("/", "./", "../", "file:")) and "://" not in v.removeprefix("file:")
            for v in links
        )


@dataclass(frozen=True)
class ImageBuildCommand:
    """A container image build in shell text: ``docker build``, ``docker buildx build``,
    ``docker compose build``, ``docker-compose build``, ``docker buildx bake``, kaniko's
    executor, ``buildah build``/``bud``, ``podman build``."""

    kind: str
    """``build`` (docker/podman/buildah build, buildx build), ``compose``, ``bake``,
    ``kaniko``."""
    command: Command
    dockerfile: str | None
    """``-f``/``--file`` (kaniko ``--dockerfile``) as written; None when not given (then
    ``<context>/Dockerfile``; for compose and bake the files name the Dockerfiles)."""
    context: str | None
    """The build context as written (``.``, ``docker/``, kaniko ``--context``); None when not
    given or not a path (``-`` for stdin, a URL)."""
    files: tuple[str, ...] = ()
    """compose ``-f`` files and bake ``-f`` files as written."""
    services: tuple[str, ...] = ()
    """compose services / bake targets named on the command line."""
    cache_from: tuple[str, ...] = ()
    """``--cache-from`` values (kaniko: ``--cache-repo``; ``--cache=true`` adds ``kaniko``)."""
    cache_to: tuple[str, ...] = ()
    """``--cache-to`` values."""
    options: tuple[str, ...] = ()
    """Options as written, without their values."""
    target: str | None = None
    """``--target`` (docker/podman/buildah build, kaniko): the stage built."""

    @property
    def line(self) -> int:
        return self.command.line


def find_image_builds(commands: list[Command]) -> list[ImageBuildCommand]:
    """The container image builds among ``commands``, in order."""
    found = (_image_build(c) for c in commands)
    return [b for b in found if b is not None]


def parse_script(text: str, *, start_line: int = 1) -> list[Command]:
    """Split shell text into simple commands with their lines.

    Heredoc bodies are data, except when a shell reads them (``bash <<EOF``, ``sh -s <<EOF``):
    then the body is parsed as a script with its own file lines. ``bash -c 'script'`` and
    ``eval ...`` are replaced by the commands of their script: all on the argument's line when it
    sits on one source line, else counted from the line where it starts. Text inside ``$(...)``
    and backticks is not parsed: ``echo $(pip install x)`` is one ``echo``.

    Memoised (the same ``run:`` text recurs across workflows and is asked for by several rules;
    commands are immutable, each call gets its own list)."""
    return list(_parse_memo(text, start_line))


@functools.lru_cache(maxsize=8192)
def _parse_memo(text: str, start_line: int) -> tuple[Command, ...]:
    return tuple(_parse(text, start_line, _Ctx()))


def parse_exec_form(argv: list[str], *, line: int) -> list[Command]:
    """Dockerfile exec form: ``["pip", "install", "x"]``; ``["sh", "-c", "script"]`` is parsed as
    the script.

    Every command gets ``line`` (the instruction's line): newlines inside a JSON string are not
    file lines. No shell runs an exec form, so keywords and ``A=b`` words are not special there;
    wrappers (``sudo``, ``env``) still are, being programs. ``text`` is ``shlex.join(argv)``."""
    words = [str(a) for a in argv]
    spans = [(line, line)] * len(words)
    return _command(words, spans, [], shlex.join(words), line, [], _Ctx(line=line))


def find_installs(commands: list[Command]) -> list[InstallCommand]:
    """The dependency installs among ``commands``, in order."""
    found = (_recognise(c) for c in commands)
    return [i for i in found if i is not None]


# --- lexer -----------------------------------------------------------------------------------

_META = frozenset(" \t\n;&|()<>")
_PLAIN = re.compile(r"[^ \t\n;&|()<>\\'\"$`]+")
_LENIENT = re.compile(r"[^ \t\n;&|()<>\\]+")  # after the budget is spent: no quoting at all
_DQ_PLAIN = re.compile(r'[^"\\$`]+')
_PAREN_STOP = re.compile(r"[()'\"\\`$#]")
_BRACE_STOP = re.compile(r"[{}'\"\\`$]")
_ANSI_C = re.compile(r"(?:[^'\\]|\\.)*'", re.S)
_BACKTICK = re.compile(r"(?:[^`\\]|\\.)*`", re.S)
_C_ESCAPE = re.compile(r"\\(.)", re.S)
# fmt: off
_C_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f",
              "v": "\v", "\\": "\\", "'": "'", '"': '"'}
# fmt: on
_IO_NUMBER = re.compile(r"\d+(?=[<>])")
_ARRAY_START = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_CONTINUATION = re.compile(r"[ \t]*\\\n[ \t]*")
# fmt: off
# Longest first, so ``&&`` wins over ``&`` and ``<<-`` over ``<<``.
_OPS = (";;&", "&>>", "<<<", "<<-", ";;", ";&", "&&", "&>", "||", "|&", ">>", ">|", ">&", "<&",
        "<>", "<<", ";", "&", "|", "(", ")", "<", ">")
# fmt: on
_OP = re.compile("|".join(map(re.escape, _OPS)))
_REDIRECTS = frozenset({"&>>", "<<<", "<<-", "&>", ">>", ">|", ">&", "<&", "<>", "<<", "<", ">"})
_MAX_NEST = 40  # nested $( "$( ... )" ) levels before a scan gives up
_MAX_DEPTH = 8  # nested bash -c / heredoc scripts


@dataclass
class _Word:
    value: str
    raw: str
    start: int
    end: int


@dataclass
class _Op:
    op: str
    start: int
    end: int


@dataclass
class _Redir:
    op: str
    fd: str
    start: int
    end: int
    target: _Word | None = None
    body: str | None = None
    body_start: int = 0


_Token: TypeAlias = _Word | _Op | _Redir
_Span: TypeAlias = tuple[int, int]  # first and last line of a word (last -1: a heredoc body)


def _unescape(m: re.Match[str]) -> str:
    return _C_ESCAPES.get(m.group(1), m.group())


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.budget = 2 * self.n + 4096  # characters failed scans may cost in total
        self.pending: list[_Redir] = []  # heredocs whose body starts after the current line

    def tokens(self) -> list[_Token]:
        text, out = self.text, list[_Token]()
        while self.pos < self.n:
            c = text[self.pos]
            if c in " \t":
                self.pos += 1
            elif c == "\\" and text.startswith("\\\n", self.pos):
                self.pos += 2
            elif c == "#":
                nl = text.find("\n", self.pos)
                self.pos = self.n if nl < 0 else nl
            elif c == "\n":
                out.append(_Op("\n", self.pos, self.pos + 1))
                self.pos += 1
                for heredoc in self.pending:
                    self._heredoc(heredoc)
                self.pending.clear()
            elif self._at_word():
                out.append(self._word())
            else:
                start = self.pos
                m = _IO_NUMBER.match(text, self.pos)
                if m:
                    self.pos = m.end()
                found = _OP.match(text, self.pos)
                op = found.group() if found else text[self.pos]
                self.pos += len(op)
                if op in _REDIRECTS:
                    out.append(self._redirect(op, m.group() if m else "", start))
                else:
                    out.append(_Op(op, start, self.pos))
        return out

    def _at_word(self) -> bool:
        text, pos = self.text, self.pos
        if text[pos] in "<>":  # process substitution <(...)
            return text.startswith("(", pos + 1) and self.budget >= 0
        if text[pos].isdigit() and _IO_NUMBER.match(text, pos):
            return False
        return text[pos] not in _META

    def _redirect(self, op: str, fd: str, start: int) -> _Redir:
        redir = _Redir(op, fd, start, self.pos)
        while self.pos < self.n and self.text[self.pos] in " \t":
            self.pos += 1
        if self.pos < self.n and self.text[self.pos] != "#" and self._at_word():
            redir.target = self._word()
            redir.end = redir.target.end
            if op in ("<<", "<<-"):
                self.pending.append(redir)
        return redir

    def _heredoc(self, redir: _Redir) -> None:
        delimiter, strip = redir.target.value if redir.target else "", redir.op == "<<-"
        redir.body_start, lines = self.pos, []
        while self.pos < self.n:
            nl = self.text.find("\n", self.pos)
            end = self.n if nl < 0 else nl
            line = self.text[self.pos : end]
            self.pos = end + 1
            if strip:
                line = line.lstrip("\t")
            if line == delimiter:
                break
            lines.append(line + "\n")
        redir.body = "".join(lines)
        self.pos = min(self.pos, self.n)

    def _fail(self, start: int) -> None:
        self.budget -= self.n - start + 1

    def _word(self) -> _Word:
        text, start, parts = self.text, self.pos, list[str]()
        while self.pos < self.n:
            pos = self.pos
            m = (_LENIENT if self.budget < 0 else _PLAIN).match(text, pos)
            if m:
                parts.append(m.group())
                self.pos = m.end()
                continue
            c = text[pos]
            if c in _META:  # ends the word, unless <(...) or an array assignment a=(...)
                substitution = c in "<>" and pos == start
                array = c == "(" and _ARRAY_START.fullmatch(text, start, pos)
                if self.budget < 0 or not (substitution or array):
                    break
                end = self._group(pos + 2 if c in "<>" else pos + 1, 0, ")")
            elif c == "\\":
                if text.startswith("\\\n", pos):
                    self.pos += 2
                    continue
                parts.append(text[pos + 1 : pos + 2] or "\\")
                self.pos = min(pos + 2, self.n)
                continue
            elif c == "'":
                end = text.find("'", pos + 1)
                if end >= 0:
                    parts.append(text[pos + 1 : end])
                    self.pos = end + 1
                    continue
            elif c == '"':
                quoted = self._dquote(pos + 1, 0)
                if quoted is not None:
                    parts.append(quoted[0])
                    self.pos = quoted[1]
                    continue
                end = -1
            elif text.startswith("$'", pos) and (m := _ANSI_C.match(text, pos + 2)):
                parts.append(_C_ESCAPE.sub(_unescape, m.group()[:-1]))  # $'a\tb'
                self.pos = m.end()
                continue
            else:  # $ or `
                end = self._dollar(pos, 0)
            if end < 0:  # unterminated: the opening character is literal
                self._fail(pos)
                end = pos + 1
            parts.append(text[pos:end])
            self.pos = end
        return _Word("".join(parts), text[start : self.pos], start, self.pos)

    def _dquote(self, pos: int, depth: int) -> tuple[str, int] | None:
        """Scan a double-quoted string from after its quote: (value, end) or None."""
        text, parts = self.text, list[str]()
        while pos < self.n and depth <= _MAX_NEST:
            m = _DQ_PLAIN.match(text, pos)
            if m:
                parts.append(m.group())
                pos = m.end()
                continue
            c = text[pos]
            if c == '"':
                return "".join(parts), pos + 1
            if text.startswith("$'", pos):  # no ANSI-C quoting inside double quotes
                parts.append("$")
                pos += 1
                continue
            if c == "\\":
                nxt = text[pos + 1 : pos + 2]
                if nxt != "\n":
                    parts.append(nxt if nxt in '$`"\\' and nxt else "\\" + nxt)
                pos += 2
                continue
            end = self._dollar(pos, depth)
            if end < 0:
                return None
            parts.append(text[pos:end])
            pos = end
        return None

    def _dollar(self, pos: int, depth: int) -> int:
        """End of the expansion starting at ``pos`` (``$...`` or a backtick), -1 if unterminated."""
        text = self.text
        if text.startswith("${{", pos):  # GitHub expression: opaque, may hold spaces and quotes
            end = text.find("}}", pos + 3)
            return end + 2 if end >= 0 else -1
        if text.startswith("$(", pos):
            return self._group(pos + 2, depth + 1, ")")
        if text.startswith("${", pos):
            return self._group(pos + 2, depth + 1, "}")
        if text.startswith("$'", pos):
            m = _ANSI_C.match(text, pos + 2)
            return m.end() if m else -1
        if text[pos] == "`":
            m = _BACKTICK.match(text, pos + 1)
            return m.end() if m else -1
        return pos + 1

    def _group(self, pos: int, depth: int, close: str) -> int:
        """End (after ``close``) of a ``$(...)``/``<(...)``/``a=(...)`` (close ``)``) or a
        ``${...}`` (close ``}``) whose content starts at ``pos``, or -1 if unterminated."""
        text, level, content = self.text, 1, pos
        opener, stop = ("(", _PAREN_STOP) if close == ")" else ("{", _BRACE_STOP)
        while depth <= _MAX_NEST and pos >= 0:
            m = stop.search(text, pos)
            if not m:
                return -1
            pos, c = m.start(), m.group()
            if c in (opener, close):
                level += 1 if c == opener else -1
                pos += 1
                if level == 0:
                    return pos
            elif c == "\\":
                pos += 2
            elif c == "#":  # a comment only where a word can start
                nl = text.find("\n", pos)
                starts_word = pos == content or text[pos - 1] in " \t\n;("
                pos = pos + 1 if not starts_word else self.n if nl < 0 else nl
            elif c == "'":
                end = text.find("'", pos + 1)
                pos = end + 1 if end >= 0 else -1
            elif c == '"':
                quoted = self._dquote(pos + 1, depth + 1)
                pos = quoted[1] if quoted else -1
            else:
                pos = self._dollar(pos, depth)
        return -1


# --- splitting into simple commands ----------------------------------------------------------

# Reserved words dropped at command position; `for`/`select`/`case`/`function` also drop a header.
# fmt: off
_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{",
                       "}", "esac", "for", "select", "case", "function"})
# fmt: on


@dataclass(frozen=True)
class _Ctx:
    depth: int = 0
    env: tuple[tuple[str, str], ...] = ()
    wrappers: tuple[str, ...] = ()
    line: int | None = None  # exec form, one-line `bash -c` script: every command's line


def _keyword(token: _Token, *names: str) -> bool:
    """An unquoted word among ``names`` (a quoted ``"if"`` is an ordinary word)."""
    return isinstance(token, _Word) and token.raw == token.value and token.value in names


def _op(token: _Token | None) -> str:
    return token.op if isinstance(token, _Op) else ""


def _split(tokens: list[_Token]) -> list[tuple[list[_Word], list[_Redir]]]:
    """Cut tokens into simple commands (words, redirections), dropping keywords and headers."""
    out: list[tuple[list[_Word], list[_Redir]]] = []
    words: list[_Word] = []
    redirs: list[_Redir] = []
    mode, case_depth, parens = "", 0, 0  # mode: "" | header (for/select) | case-in | pattern
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        op = _op(tok)
        if mode == "header":  # `for x in a b` / `for ((...))`: up to `;` or newline
            parens += (op == "(") - (op == ")")
            if op in (";", "\n") and parens <= 0:
                mode = ""
            continue
        if mode == "case-in":  # `case WORD in`
            if _keyword(tok, "in"):
                mode, case_depth = "pattern", case_depth + 1
            elif op in (";", "\n", "&&", "||"):
                mode = ""
            continue
        if mode == "pattern":  # case item patterns, up to `)`
            if _keyword(tok, "esac"):
                mode, case_depth = "", case_depth - 1
            elif op == ")":
                mode = ""
            continue
        if isinstance(tok, _Redir):
            redirs.append(tok)
        elif isinstance(tok, _Word):
            if not words and _keyword(tok, *_KEYWORDS):
                if tok.value == "esac":
                    case_depth = max(case_depth - 1, 0)
                elif tok.value in ("for", "select"):
                    mode, parens = "header", 0
                elif tok.value == "case":
                    mode = "case-in"
                elif tok.value == "function" and i < len(tokens) and isinstance(tokens[i], _Word):
                    i += 1  # the function's name
            else:
                words.append(tok)
        elif op == "(" and _op(tokens[i] if i < len(tokens) else None) == ")":
            words, redirs = [], []  # `name() {`: a function definition, not a command
            i += 1
        else:
            if words:
                out.append((words, redirs))
            words, redirs = [], []
            if op in (";;", ";&", ";;&") and case_depth:
                mode = "pattern"
    if words:
        out.append((words, redirs))
    return out


def _parse(text: str, start_line: int, ctx: _Ctx) -> list[Command]:
    text = text.replace("\r\n", "\n")
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        if ctx.line is not None:
            return ctx.line
        return start_line + bisect.bisect_left(newlines, offset)

    commands: list[Command] = []
    for words, redirs in _split(_Lexer(text).tokens()):
        env = list(ctx.env)
        k = 0
        while k < len(words) and (m := _ASSIGN.match(words[k].raw)):
            env.append((m.group(1), words[k].value[m.end() :]))
            k += 1
        end = max([words[-1].end] + [r.end for r in redirs])
        source = _CONTINUATION.sub(" ", text[words[0].start : end])
        bodies = [(r, line_of(r.body_start)) for r in redirs if r.body is not None]
        argv = [w.value for w in words[k:]]
        spans = [(line_of(w.start), line_of(w.end)) for w in words[k:]]
        stdin = [(r.body or "", (ln, -1)) for r, ln in bodies if r.fd in ("", "0")]
        stdin += [
            (r.target.value, (line_of(r.target.start), line_of(r.target.end)))
            for r in redirs
            if r.op == "<<<" and r.target and r.fd in ("", "0")
        ]
        commands += _command(argv, spans, env, source, line_of(words[0].start), stdin, ctx)
    return commands


# --- wrappers and shells ---------------------------------------------------------------------

# program: (short options taking a value, long options taking a value, positionals to skip)
# fmt: off
_WRAPPERS: dict[str, tuple[str, frozenset[str], int]] = {
    "sudo": ("CDgprtTUu", frozenset({"--user", "--group", "--prompt", "--close-from", "--chdir",
                                      "--role", "--type", "--command-timeout", "--other-user",
                                      "--chroot", "--host"}), 0),
    "doas": ("uC", frozenset(), 0),
    "env": ("uCS", frozenset({"--unset", "--chdir", "--split-string"}), 0),
    "time": ("fo", frozenset({"--format", "--output"}), 0),
    "exec": ("a", frozenset(), 0),
    "nohup": ("", frozenset(), 0),
    "command": ("", frozenset(), 0),
    "eatmydata": ("", frozenset(), 0),
    "xargs": ("adEILnPs", frozenset({"--arg-file", "--delimiter", "--max-args", "--max-procs",
                                      "--max-chars", "--process-slot-var"}), 0),
    "nice": ("n", frozenset({"--adjustment"}), 0),
    "timeout": ("sk", frozenset({"--signal", "--kill-after"}), 1),
    "stdbuf": ("ioe", frozenset({"--input", "--output", "--error"}), 0),
    "gosu": ("", frozenset(), 1),
    "su-exec": ("", frozenset(), 1),
}
# fmt: on
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"})


def _skip_options(
    argv: Sequence[str],
    i: int,
    spec: tuple[str, frozenset[str], int],
    env: list[tuple[str, str]] | None,
) -> int:
    """Index of the first operand after a wrapper's options (and ``A=b`` words if ``env``)."""
    short, long, positionals = spec
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if env is not None and (m := _ASSIGN.match(arg)):
            env.append((m.group(1), arg[m.end() :]))
        elif arg.startswith("--"):
            i += "=" not in arg and arg in long
        elif arg.startswith("-") and len(arg) > 1:
            for k, ch in enumerate(arg[1:], 2):
                if ch in short:
                    i += k == len(arg)  # the value is the next word unless attached
                    break
        else:
            break
        i += 1
    return i + positionals


def _command(
    argv: list[str],
    spans: list[_Span],
    env: list[tuple[str, str]],
    text: str,
    line: int,
    stdin: list[tuple[str, _Span]],
    ctx: _Ctx,
) -> list[Command]:
    """One simple command → Commands: wrappers stripped, shell scripts parsed in its place.

    ``spans`` holds each word's first and last line; ``stdin`` the heredoc / here-string texts
    fed to the command, with theirs."""
    i, wrapped = 0, list(ctx.wrappers)
    while i < len(argv):
        prog = _basename(argv[i])
        spec = _WRAPPERS.get(prog)
        if spec is None:
            break
        options = itertools.takewhile(lambda a: a.startswith("-"), argv[i + 1 :])
        if prog == "command" and any(set(a) & set("vV") for a in options):
            break  # `command -v pip` looks pip up, it does not run it
        j = _skip_options(argv, i + 1, spec, env if prog in ("env", "sudo") else None)
        if j >= len(argv):
            break  # `exec 2>&1`, `sudo -i`: nothing wrapped, keep the wrapper as the program
        wrapped.append(prog)
        i = j
    argv, spans = argv[i:], spans[i:]
    prog = _basename(argv[0]) if argv else ""
    if ctx.depth < _MAX_DEPTH and (prog in _SHELLS or prog == "eval"):
        script = (
            _shell_script(argv, spans, stdin)
            if prog in _SHELLS
            else ((" ".join(argv[1:]), (spans[1][0], spans[-1][1])) if len(argv) > 1 else None)
        )
        if script is not None:
            (first, last), flat = script[1], ctx.line
            if flat is None and first == last:
                flat = first  # one source line, whatever newlines $'...' or eval put in the text
            inner = _Ctx(ctx.depth + 1, tuple(env), (*wrapped, prog), flat)
            return _parse(script[0], first, inner)
    if not argv and not env:
        return []
    return [Command(tuple(argv), tuple(env), line, text, tuple(wrapped))]


def _shell_script(
    argv: list[str], spans: list[_Span], stdin: list[tuple[str, _Span]]
) -> tuple[str, _Span] | None:
    """The script a shell invocation runs, with its lines, if it is in the text."""
    k, has_c, reads_stdin = 1, False, False
    while k < len(argv):
        arg = argv[k]
        if arg in ("-", "--"):
            k += 1
            break
        if arg.startswith("--"):
            k += 2 if arg in ("--rcfile", "--init-file") else 1
        elif arg[:1] in "-+" and len(arg) > 1:
            has_c = has_c or (arg[0] == "-" and "c" in arg)
            reads_stdin = reads_stdin or (arg[0] == "-" and "s" in arg)
            k += 2 if "o" in arg[1:] or "O" in arg[1:] else 1
        else:
            break
    if has_c:
        return (argv[k], spans[k]) if k < len(argv) else None
    if (k >= len(argv) or reads_stdin) and stdin:
        return stdin[-1]
    return None


def _basename(word: str) -> str:
    return word.replace("\\", "/").rsplit("/", 1)[-1]


# --- recognising installs --------------------------------------------------------------------


@dataclass
class _Args:
    options: list[str] = field(default_factory=list)
    values: list[tuple[str, str]] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)

    def get(self, *names: str) -> list[str]:
        return [v for o, v in self.values if o in names]


@dataclass(frozen=True)
class _Spec:
    short_values: str
    """Short options that take a value."""
    long_values: frozenset[str]
    """Long options that take a value."""
    longs: frozenset[str] = frozenset()
    """All long options, when unambiguous prefixes are accepted (pip's optparse)."""


def _spec(short: str, long: str, *, flags: str = "") -> _Spec:
    values = frozenset(long.split())
    return _Spec(short, values, values | frozenset(flags.split()) if flags else frozenset())


def _expand(prefix: str, longs: frozenset[str]) -> str:
    """optparse's abbreviations: the one option ``prefix`` starts. When it starts several and the
    shortest starts all others (``--requirem``: ``--requirement``, ``--requirements-from-script``),
    take the shortest: a pip without the newer option resolved it so, one with both refused to
    run. Otherwise keep the prefix as written (``--req``, ``--no-c``)."""
    matches = sorted((o for o in longs if o.startswith(prefix)), key=len)
    if matches and all(o.startswith(matches[0]) for o in matches):
        return matches[0]
    return prefix


def _walk(args: Sequence[str], spec: _Spec) -> _Args:
    """Read options (values taken out) and operands, getopt style, options anywhere."""
    res, i = _Args(), 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            res.operands += args[i:]
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if spec.longs and name not in spec.longs:
                name = _expand(name, spec.longs)
            res.options.append(name)
            if eq:
                res.values.append((name, value))
            elif name in spec.long_values and i < len(args):
                res.values.append((name, args[i]))
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            for k, ch in enumerate(arg[1:], 2):  # a cluster: -Ur req.txt, -rreq.txt
                res.options.append("-" + ch)
                if ch in spec.short_values:
                    if k < len(arg) or i < len(args):
                        res.values.append(("-" + ch, arg[k:] if k < len(arg) else args[i]))
                        i += k >= len(arg)
                    break
        else:
            res.operands.append(arg)
    return res


# Value-taking options matter most: their values must not become packages or subcommands.
# fmt: off
_PIP = _spec("rcetifCwd", (
    "--abi --all-releases --build-constraint --cache-dir --cert --client-cert --config-settings "
    "--constraint --default-timeout --editable --exists-action --extra-index-url --find-links "
    "--group --implementation --index-url --keyring-provider --local-log --log --log-file "
    "--no-binary --only-binary --only-final --platform --prefix --progress-bar --proxy --pypi-url "
    "--python --python-version --refresh-package --report --requirement --requirements-from-script "
    "--resume-retries --retries --root --root-user-action --source --source-dir --source-directory "
    "--src --target --timeout --trusted-host --upgrade-strategy --uploaded-prior-to "
    "--use-deprecated --use-feature --global-option --install-option --wheel-dir --dest "
    "--build-option"), flags=(
    "--break-system-packages --check-build-dependencies --compile --debug "
    "--disable-pip-version-check --dry-run --force-reinstall --help --ignore-installed "
    "--ignore-requires-python --isolated --no-build-isolation --no-cache-dir --no-clean "
    "--no-color --no-compile --no-dependencies --no-deps --no-index --no-input --no-proxy-env "
    "--no-python-version-warning --no-require-hashes --no-user --no-warn-conflicts "
    "--no-warn-script-location --only-dependencies --only-deps --pre --prefer-binary --quiet "
    "--require-hashes --require-venv --require-virtualenv --upgrade --use-pep517 --user --verbose "
    "--no-use-pep517 --version"))
_UV = _spec("rcepifCPbw", (
    "--requirements --requirement --constraints --constraint --overrides --override --excludes "
    "--build-constraints --editable --extra --group --only-group --no-group --index "
    "--default-index --index-url --extra-index-url --find-links --upgrade-package "
    "--reinstall-package --no-build-isolation-package --index-strategy --keyring-provider "
    "--resolution --prerelease --fork-strategy --exclude-newer --link-mode --config-setting "
    "--python --target --prefix "
    "--no-binary --only-binary --python-version --python-platform --torch-backend "
    "--refresh-package --cache-dir --color --directory --project --config-file "
    "--allow-insecure-host --trusted-host --package --no-install-package --with "
    "--with-requirements --with-editable --from --script"))
_TOOL_SPECS = {
    "poetry": _spec("CPE", "--directory --project --with --without --only --extras"),
    "pipenv": _spec("re", (
        "--python --requirements --categories --pypi-mirror --extra-pip-args --editable")),
    "pdm": _spec("GLpk", "--group --lockfile --project --skip --venv --without"),
    "conda": _spec("npcf", "--name --prefix --channel --file --solver --repodata-fn"),
    "npm": _spec("Cw", (
        "--prefix --cache --registry --workspace --omit --include --loglevel --tag --userconfig "
        "--globalconfig --before --install-strategy --location --fetch-retries --fetch-timeout")),
    "yarn": _spec("", (
        "--cwd --modules-folder --cache-folder --mutex --network-timeout --registry "
        "--network-concurrency --link-folder --global-folder --preferred-cache-folder")),
    "pnpm": _spec("CF", (
        "--dir --filter --store-dir --reporter --loglevel --virtual-store-dir --modules-dir")),
    "bun": _spec("c", (
        "--config --cwd --cache-dir --registry --backend --filter --network-concurrency "
        "--concurrent-scripts --omit --linker --cpu --os")),
    "apt": _spec("otc", "--option --target-release --default-release --config-file"),
    "apk": _spec("tXp", (
        "--virtual --repository --root --arch --keys-dir --repositories-file --cache-dir "
        "--cache-max-age --timeout")),
    "tox": _spec("ecmfx", (
        "--conf --root --workdir --override --installpkg --hashseed --runner --skip-env")),
    "nox": _spec("sepktf", (
        "--session --sessions --python --pythons --keywords --tags --noxfile --envdir "
        "--default-venv-backend --force-venv-backend")),
    "hatch": _spec("ep", "--env --project --data-dir --cache-dir --config --color"),
    "pre-commit": _spec("ct", (
        "--config --hook-stage --from-ref --to-ref --hook-type --source --origin")),
}
# Options that make a bare runner invocation print something instead of installing.
_INFO = {
    "yarn": {"-h", "--help", "-v", "--version"},
    "tox": {"-h", "--help", "--version", "-l", "-a", "--listenvs", "--listenvs-all",
            "--showconfig"},
    "nox": {"-h", "--help", "--version", "-l", "--list", "--list-sessions", "--usage"},
    "hatch": {"-h", "--help", "--version"},
    "pre-commit": {"-h", "--help", "-V", "--version"},
}
_NPM_ACTIONS = {
    **dict.fromkeys(("install", "add", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta",
                     "isntal", "isntall", "install-test", "it"), "install"),
    **dict.fromkeys(("ci", "clean-install", "ic", "install-clean", "isntall-clean",
                     "install-ci-test", "cit"), "ci"),
}
_TOX_ACTIONS = {"run": "run", "r": "run", "run-parallel": "run-parallel", "p": "run-parallel",
                "exec": "exec", "e": "exec", "devenv": "devenv", "d": "devenv",
                "legacy": "legacy", "le": "legacy"}
_TOX_OTHER = frozenset({"list", "l", "config", "c", "depends", "de", "quickstart", "q", "schema"})
# `python -m MODULE` → the program it stands for.
_MODULES = {"pip": "pip", "uv": "uv", "pipenv": "pipenv", "poetry": "poetry", "pdm": "pdm",
            "tox": "tox", "nox": "nox", "hatch": "hatch", "pre_commit": "pre-commit",
            "conda": "conda"}
_CACHE_TOOL = {"pipenv": "pip", "tox": "pip", "nox": "pip", "hatch": "pip", "pre-commit": "pip",
               "mamba": "conda", "micromamba": "conda"}
_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel", "uv"})
"""Python packages whose install alone is installing the installer."""
_NODE_TOOLS = frozenset({"npm", "yarn", "pnpm", "bun"})
_RUNNERS = frozenset({"tox", "nox"})
_PIP_DOWNLOADS = frozenset({"install", "pip install", "wheel", "download"})
_PIP_PROGRAM = re.compile(r"pip(-?[\d.]+)?")
_PYTHON_PROGRAM = re.compile(r"(python|pypy)[\d.]*|py")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|(git|hg|svn|bzr)\+")
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|tar|zip)$", re.I)
_EXTRAS = re.compile(r"\[[^\]]*\]$")
_FALSE = frozenset({"", "0", "false", "no", "off", "n", "f"})  # clap's BoolishValueParser
# fmt: on


def _bare_name(requirement: str) -> str:
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return re.sub(r"[-_.]+", "-", m.group()).lower() if m and not _SCHEME.match(requirement) else ""


def _is_path(arg: str) -> bool:
    return arg.startswith((".", "/", "~", "file:"))


def _is_local_python(arg: str) -> bool:
    """Paths and archives are local; names, ``name @ url``, VCS and remote URLs are not."""
    if arg.startswith("file:"):
        return True
    if _SCHEME.match(arg) or ("@" in arg and not _is_path(arg)):
        return False
    core = _EXTRAS.sub("", arg)  # .[dev]
    return _is_path(core) or bool(_ARCHIVE.search(core)) or "/" in core or "\\" in core


def _npm_name(spec: str) -> str:
    """``yarn@1.22`` → ``yarn``, ``@scope/pkg@2`` → ``@scope/pkg``."""
    head = spec[1:].split("@", 1)[0]
    return (spec[0] + head if spec else "").lower()


def _local_archive(target: str) -> bool:
    """A wheel/sdist file or a glob of them (``/wheels/*``, ``dist/*.whl``): built files, not a
    project directory whose dependencies pip resolves."""
    return bool(_ARCHIVE.search(target)) or "*" in target or "?" in target


def _is_local_npm(arg: str) -> bool:
    return not _SCHEME.match(arg) and (_is_path(arg) or arg.endswith((".tgz", ".tar.gz", ".tar")))


def _is_local_conda(arg: str) -> bool:
    return _is_path(arg) or arg.endswith((".tar.bz2", ".conda"))


def _is_local_deb(arg: str) -> bool:
    return _is_path(arg) or arg.endswith(".deb")


def _is_local_apk(arg: str) -> bool:
    return arg.endswith(".apk") or "/" in arg


def _install(
    tool: str,
    action: str,
    command: Command,
    a: _Args,
    no_cache: bool = False,
    *,
    reqs: Sequence[str] = (),
    targets: Sequence[str] = (),
    groups: Sequence[str] = (),
    is_local: Callable[[str], bool] = _is_local_python,
) -> InstallCommand:
    split: dict[bool, list[str]] = {False: [], True: []}
    for target in targets:
        split[is_local(target)].append(target)
    return InstallCommand(
        tool=tool,
        action=action,
        command=command,
        options=tuple(a.options),
        no_cache=no_cache,
        requirement_files=tuple(reqs),
        constraint_files=tuple(a.get("-c", "--constraint", "--constraints"))
        if tool in ("pip", "uv")
        else (),
        packages=tuple(split[False]),
        local_targets=tuple(split[True]),
        groups=tuple(groups),
        option_values=tuple(a.values),
    )


def _pip_off(command: Command) -> bool:
    # pip reads any value of PIP_NO_CACHE_DIR, even 0 or false, as "disable" (RULES CA104).
    return any(name == "PIP_NO_CACHE_DIR" for name, _ in command.env)


def _pip(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """``pip install``, and ``pip wheel`` / ``pip download``, which fetch the same files
    through the same cache."""
    a = _walk(args, _PIP)
    action = a.operands[0] if a.operands[:1] in (["install"], ["wheel"], ["download"]) else None
    if action is None:
        return None
    no_cache = _pip_off(command) or "--no-cache-dir" in a.options
    targets = a.get("-e", "--editable") + a.operands[1:]
    reqs, groups = a.get("-r", "--requirement"), a.get("--group")
    return _install("pip", action, command, a, no_cache, reqs=reqs, targets=targets, groups=groups)


def _uv(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    a = _walk(args, _UV)
    ops = a.operands
    no_cache = bool({"-n", "--no-cache", "--no-cache-dir"} & set(a.options))
    no_cache |= dict(command.env).get("UV_NO_CACHE", "").strip().lower() not in _FALSE
    reqs = a.get("-r", "--requirements", "--requirement", "--with-requirements")
    groups = a.get("--group", "--only-group")
    if ops[:2] == ["pip", "install"]:
        targets = a.get("-e", "--editable") + ops[2:]
    elif ops[:2] == ["tool", "install"]:
        targets = ops[2:] + a.get("-w", "--with", "--with-editable")
    elif ops[:2] == ["pip", "sync"]:
        reqs, targets = reqs + ops[2:], []
    elif ops[:1] == ["sync"]:
        targets = []
    else:
        return None
    action = " ".join(ops[:1] if ops[0] == "sync" else ops[:2])
    return _install("uv", action, command, a, no_cache, reqs=reqs, targets=targets, groups=groups)


def _python_project(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """poetry, pipenv, pdm: ``install`` and ``sync`` from the project's lock file."""
    a = _walk(args, _TOOL_SPECS[prog])
    if a.operands[:1] not in (["install"], ["sync"]):
        return None
    action = a.operands[0]
    if prog == "poetry":
        groups = a.get("--with", "--only")
        return _install(prog, action, command, a, "--no-cache" in a.options, groups=groups)
    if prog == "pipenv":
        reqs, targets = a.get("-r", "--requirements"), a.get("-e", "--editable") + a.operands[1:]
        return _install(prog, action, command, a, _pip_off(command), reqs=reqs, targets=targets)
    return _install(prog, action, command, a, groups=a.get("-G", "--group"))


def _conda(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    a = _walk(args, _TOOL_SPECS["conda"])
    ops = a.operands
    n = 2 if ops[:2] in (["env", "create"], ["env", "update"]) else 1
    if n == 1 and ops[:1] not in (["install"], ["create"]):
        return None
    reqs = a.get("--file", "-f")
    return _install(
        prog, " ".join(ops[:n]), command, a, reqs=reqs, targets=ops[n:], is_local=_is_local_conda
    )


def _node(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """npm, pnpm, yarn, bun. Not installs: ``npm install --package-lock-only`` (writes the lock
    from metadata, fetches no tarball), ``yarn build`` and other scripts."""
    a = _walk(args, _TOOL_SPECS[prog])
    ops = a.operands
    first = ops[0] if ops else ""
    skip = 1
    if prog == "npm":
        action = _NPM_ACTIONS.get(first)
        if "--package-lock-only" in a.options or ("--package-lock-only", "true") in a.values:
            return None
    elif prog == "pnpm":
        action = {"install": "install", "i": "install", "fetch": "fetch", "add": "add"}.get(first)
    elif prog == "bun":
        # `bun ci` (Bun 1.2+) is `bun install --frozen-lockfile`
        action = {"install": "install", "i": "install", "ci": "ci", "add": "add", "a": "add"}.get(
            first
        )
        if "--lockfile-only" in a.options:
            return None
    elif ops[:2] == ["workspaces", "focus"]:  # yarn berry: install some workspaces' deps
        action, skip = "workspaces focus", len(ops)
    elif ops[:2] == ["global", "add"]:
        action, skip = "global add", 2
    elif first == "add":
        action = "add"
    else:  # bare `yarn` installs; `yarn build` does not
        info = _INFO["yarn"] & set(a.options)
        action = "install" if first in ("", "install") and not info else None
    if action is None:
        return None
    no_cache = prog == "bun" and "--no-cache" in a.options
    targets = ops[skip:]
    return _install(prog, action, command, a, no_cache, targets=targets, is_local=_is_local_npm)


def _system(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    tool = "apk" if prog == "apk" else "apt"
    a = _walk(args, _TOOL_SPECS[tool])
    if a.operands[:1] not in ([("add" if tool == "apk" else "install")], ["update"]):
        return None
    action, targets = a.operands[0], a.operands[1:]
    if tool == "apk":
        no_cache = "--no-cache" in a.options
        return _install(tool, action, command, a, no_cache, targets=targets, is_local=_is_local_apk)
    return _install(tool, action, command, a, targets=targets, is_local=_is_local_deb)


def _runner(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """tox, nox, hatch, pre-commit build environments with pip: an install each run."""
    if prog == "nox":  # argparse's two-letter short options
        args = [_NOX_SHORT.get(arg, arg) for arg in args]
    a = _walk(args, _TOOL_SPECS[prog])
    ops = a.operands
    if _INFO[prog] & set(a.options):
        return None
    action: str | None = None
    if prog == "tox":
        first = ops[0] if ops else "run"
        action = None if first in _TOX_OTHER else _TOX_ACTIONS.get(first, "run")
    elif prog == "nox":
        action = "run"
    elif prog == "hatch" and ops[:2] == ["env", "create"]:
        action = "env create"
    elif prog == "hatch":
        action = ops[0] if ops[:1] in (["run"], ["test"]) else None
    elif not args or ops[:1] in (["run"], ["install-hooks"]):
        action = ops[0] if ops else "run"
    elif ops[:1] == ["install"] and "--install-hooks" in a.options:
        action = "install"
    if not action:
        return None
    found = _install(prog, action, command, a, _pip_off(command))
    backend = _cli_backend(prog, a, command)
    return replace(found, backend=backend) if backend else found


_NOX_SHORT = {"-db": "--default-venv-backend", "-fb": "--force-venv-backend"}


def _cli_backend(prog: str, a: _Args, command: Command) -> str:
    """The backend tox/nox are told on their command line (or by env) to build environments
    with: ``uv``; ``pip`` when told to use another one (nox ``--force-venv-backend
    virtualenv``, tox ``--runner virtualenv``), which overrides the repository's config;
    ``""`` when not told."""
    values: list[str] = []
    if prog == "nox":
        env = dict(command.env)
        values = [
            *a.get("--force-venv-backend"),
            env.get("NOX_FORCE_VENV_BACKEND", ""),
            *a.get("--default-venv-backend"),
            env.get("NOX_DEFAULT_VENV_BACKEND", ""),
        ]
    elif prog == "tox":
        values = list(a.get("--runner"))
    for value in (v.strip().lower() for v in values):
        if value:  # `uv|virtualenv`: uv when it is installed
            return "uv" if value.startswith(("uv", "uv-venv")) else "pip"
    return ""


# `uvx TOOL`, `uv tool run TOOL`, `pipx run TOOL`: the tool's own download is a bootstrap; the
# command it runs is recognised (``uvx nox -s tests`` is a nox run). `uv run`, `poetry run`,
# `pdm run`, `pipenv run` of tox or nox likewise (the environment sync `uv run` does itself is
# not recorded here: after a `uv sync` it downloads nothing).
_UV_RUN_SPEC = _spec("w", (
    "--from --with --with-editable --with-requirements --python --index --default-index "
    "--index-url --extra-index-url --find-links --cache-dir --directory --project "
    "--constraints --overrides --build-constraints --resolution --prerelease --exclude-newer "
    "--refresh-package --upgrade-package --reinstall-package --config-file --color "
    "--link-mode --extra --group --only-group --no-group --package --env-file"))  # fmt: skip
_PIPX_RUN_SPEC = _spec("", "--spec --python --pip-args --index-url --backend")


def _tool_runner(prog: str, args: list[str]) -> tuple[list[str], tuple[str, ...]] | None:
    """(the command an ephemeral tool runner runs, the packages it adds with ``--with``)."""
    if prog == "uv" and args[:2] == ["tool", "run"]:
        prog, args = "uvx", args[2:]
    elif prog == "uv" and args[:1] == ["run"]:  # `uv run tox`: the project env's tox
        prog, args = "uvx", args[1:]
    elif prog in ("poetry", "pdm", "pipenv") and args[:1] == ["run"]:
        prog, args = "pipx", args[1:]  # no options of their own before the command
    elif prog == "pipx" and args[:1] == ["run"]:
        args = args[1:]
    elif prog != "uvx":
        return None
    spec = _PIPX_RUN_SPEC if prog == "pipx" else _UV_RUN_SPEC
    i, withs = 0, list[str]()
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        name, eq, value = args[i].partition("=")
        i += 1
        if not eq and (name in spec.long_values or name[1:] in spec.short_values) and i < len(args):
            value = args[i]
            i += 1
        if name in ("--with", "-w"):
            withs.extend(v.strip() for v in value.split(","))
    i += i < len(args) and args[i] == "--"
    if i >= len(args):
        return None
    inner = args[i].split("@", 1)[0]  # `uvx tox@4`
    return [inner, *args[i + 1 :]], tuple(withs)


_Handler: TypeAlias = Callable[[Command, str, list[str]], InstallCommand | None]
_HANDLERS: dict[str, _Handler] = {
    "uv": _uv,
    **dict.fromkeys(("poetry", "pipenv", "pdm"), _python_project),
    **dict.fromkeys(("conda", "mamba", "micromamba"), _conda),
    **dict.fromkeys(("npm", "yarn", "pnpm", "bun"), _node),
    **dict.fromkeys(("apt-get", "apt", "apk"), _system),
    **dict.fromkeys(("tox", "nox", "hatch", "pre-commit"), _runner),
}


def _recognise(command: Command) -> InstallCommand | None:
    if not command.argv:
        return None
    prog, args = command.program.lower().removesuffix(".exe"), list(command.argv[1:])
    if prog == "corepack" and args[:1] in (["npm"], ["yarn"], ["pnpm"]):
        prog, args = args[0], args[1:]
    ran = _tool_runner(prog, args)
    if ran is not None:
        argv, withs = ran
        found = _recognise(replace(command, argv=tuple(argv)))
        if found is None or found.tool not in _RUNNERS:
            return None  # `uvx ruff check`: one tool, a bootstrap
        if any(_bare_name(w) == f"{found.tool}-uv" for w in withs):
            found = replace(found, backend="uv")
        return found
    if _PYTHON_PROGRAM.fullmatch(prog) or "$" in prog:  # also `$PYTHON -m pip`
        module = _python_module(args)
        if module is None or module[0] not in _MODULES:
            return None
        prog, args = _MODULES[module[0]], module[1]
    handler = _pip if _PIP_PROGRAM.fullmatch(prog) else _HANDLERS.get(prog)
    return handler(command, prog, args) if handler else None


def _python_module(args: Sequence[str]) -> tuple[str, list[str]] | None:
    """``python [options] -m MODULE args``: (MODULE, args); None for scripts and ``-c``."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            return None
        if arg.startswith("--"):
            i += arg == "--check-hash-based-pycs"
            continue
        for k, ch in enumerate(arg[1:], 2):  # -Im pip, -mpip, -X dev, -W error
            if ch in "mcXW":
                value = arg[k:] if k < len(arg) else (args[i] if i < len(args) else "")
                i += k >= len(arg)
                if ch == "m" and value:
                    return value, list(args[i:])
                if ch in "mc":
                    return None
                break
    return None


# --- image builds ----------------------------------------------------------------------------

_BUILD_SPEC = _spec("ftot", (
    "--file --tag --target --build-arg --cache-from --cache-to --platform --output --label "
    "--secret --ssh --builder --progress --network --iidfile --metadata-file --add-host "
    "--build-context --allow --attest --sbom --provenance --shm-size --ulimit --annotation "
    "--cgroup-parent --isolation --memory --cpu-shares --format --authfile "
    "--creds --jobs --volume"))  # fmt: skip
_COMPOSE_SPEC = _spec("fp", "--file --project-name --project-directory --profile --env-file "
                      "--ansi --progress --build-arg --builder --memory --ssh")  # fmt: skip
_BAKE_SPEC = _spec("f", "--file --set --builder --progress --metadata-file --allow --call")
_KANIKO_SPEC = _spec("cdf", (
    "--context --dockerfile --destination --cache-repo --cache-dir --target --build-arg "
    "--cache-ttl --label --tar-path --digest-file --image-name-with-digest-file "
    "--registry-mirror --snapshot-mode --custom-platform --kaniko-dir"))  # fmt: skip
_BUILDERS = frozenset({"docker", "podman", "buildah", "nerdctl"})


def _image_build(command: Command) -> ImageBuildCommand | None:
    if not command.argv:
        return None
    prog = command.program.lower()
    args = list(command.argv[1:])
    if prog == "executor" and "kaniko" in command.argv[0]:  # /kaniko/executor
        return _kaniko(command, args)
    if prog == "docker-compose":
        prog, args = "docker", ["compose", *args]
    if prog not in _BUILDERS:
        return None
    args = _after_global_options(args)
    if prog == "docker" and args[:1] == ["buildx"]:
        args = args[1:]
        if args[:1] == ["bake"]:
            return _bake(command, args[1:])
        args = args if args[:1] in (["build"], ["b"]) else []
        args[:1] = ["build"] if args else []
    if args[:1] == ["compose"]:
        return _compose(command, args[1:])
    if args[:1] == ["image"] and args[1:2] == ["build"]:
        args = args[1:]
    if args[:1] not in (["build"], ["bud"]):
        return None
    a = _walk(args[1:], _BUILD_SPEC)
    context = a.operands[0] if a.operands else None
    if context is not None and (context == "-" or "://" in context or context.startswith("git@")):
        context = None
    files = a.get("-f", "--file")
    return ImageBuildCommand(
        "build",
        command,
        files[-1] if files else None,
        context,
        cache_from=tuple(a.get("--cache-from")),
        cache_to=tuple(a.get("--cache-to")),
        options=tuple(a.options),
        target=next(reversed(a.get("--target")), None),
    )


def _after_global_options(args: list[str]) -> list[str]:
    """``docker --context x --log-level debug build`` → ``build ...``."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name = args[i].split("=", 1)[0]
        i += 1
        if "=" not in args[i - 1] and name in ("--context", "-c", "--config", "--host", "-H",
                                               "--log-level", "-l", "--tlscacert", "--tlscert",
                                               "--tlskey", "--url", "--connection"):  # fmt: skip
            i += 1
    return args[i:]


def _compose(command: Command, args: list[str]) -> ImageBuildCommand | None:
    a = _walk(args, _COMPOSE_SPEC)
    ops = a.operands
    building = ops[:1] == ["build"] or (
        ops[:1] in (["up"], ["run"], ["create"]) and "--build" in a.options
    )
    if not building:
        return None
    return ImageBuildCommand(
        "compose",
        command,
        None,
        None,
        files=tuple(a.get("-f", "--file")),
        services=tuple(ops[1:]) if ops[:1] == ["build"] else (),
        options=tuple(a.options),
    )


def _bake(command: Command, args: list[str]) -> ImageBuildCommand:
    a = _walk(args, _BAKE_SPEC)
    sets = a.get("--set")
    return ImageBuildCommand(
        "bake",
        command,
        None,
        None,
        files=tuple(a.get("-f", "--file")),
        services=tuple(a.operands),
        cache_from=tuple(v.split("=", 1)[1] for v in sets if ".cache-from=" in v),
        cache_to=tuple(v.split("=", 1)[1] for v in sets if ".cache-to=" in v),
        options=tuple(a.options),
    )


def _kaniko(command: Command, args: list[str]) -> ImageBuildCommand:
    a = _walk(args, _KANIKO_SPEC)
    cache_from = list(a.get("--cache-repo"))
    values = a.get("--cache")
    if "--cache" in a.options and (not values or values[-1].lower() == "true"):
        cache_from.append("kaniko")
    context = next(iter(a.get("-c", "--context")), None)
    if context is not None:
        context = context.removeprefix("dir://")
        if "://" in context:
            context = None
    dockerfile = next(iter(a.get("-f", "--dockerfile")), None)
    return ImageBuildCommand(
        "kaniko", command, dockerfile, context, cache_from=tuple(cache_from),
        options=tuple(a.options), target=next(reversed(a.get("--target")), None),
    )  # fmt: skip

"""Shell text → simple commands: the lexer, the splitter and the command reader (wrappers,
``bash -c`` and heredoc scripts). See the package docstring."""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
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

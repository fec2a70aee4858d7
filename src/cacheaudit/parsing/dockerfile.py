"""Dockerfile text → instructions that keep their original lines, flags, mounts and heredocs.

dockerfile-parse finds the instruction boundaries (continuation lines, comments inside them, the
``escape`` directive). This module adds what it does not model, the way BuildKit reads a file:

- heredoc bodies (``RUN <<EOF``, ``<<-EOT``, several per instruction), which dockerfile-parse would
  read as instructions of their own;
- empty lines inside a continuation, which BuildKit skips and dockerfile-parse ends the
  instruction on;
- parser directives (``# syntax=``, ``# escape=``, ``# check=``), only before anything else;
- instruction flags (``--mount=...``, ``--network=...``, ``--from=...``, ``--chown=...``), with
  quotes removed as BuildKit does (``target="$DIR"``), and the mounts' CSV options; exec form (a
  JSON array);
- templates (cookiecutter, copier, Jinja): a line holding only ``{% ... %}`` or ``{# ... #}`` is
  read as a comment, and ``{{ name }}`` or an inline ``{% ... %}`` as an unknown variable of the
  same length (``${___}``), so the file is audited around them and columns stay put. The
  instructions' ``text`` keeps the template syntax as written.

Never raises: what cannot be read becomes a :class:`Problem` the analyzer reports as CA001.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE = re.compile(r"^\s*#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
# BuildKit: a word ``[n]<<[-]NAME`` (NAME possibly quoted) opens a heredoc; ``<<<`` does not.
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<\s]+)$")
_COMMENT = re.compile(r"^\s*#")
_JINJA_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}")
_JINJA_EXPR = re.compile(r"\{\{-?[ \t]*[A-Za-z_][^{}\n]*?\}\}")
""" ``{{ cookiecutter.name }}``; not Go templates (``{{.State}}``, ``{{ .Names }}``)."""


@dataclass(frozen=True)
class Problem:
    """Something that makes the file unreadable for Docker at one line (reported as CA001)."""

    line: int
    message: str


@dataclass(frozen=True)
class Mount:
    """One ``RUN --mount=...``: the type (``bind`` when omitted, as in BuildKit) and its options."""

    type: str
    options: tuple[tuple[str, str], ...]
    """Keys lower-cased, values as written (variables not yet expanded)."""
    text: str
    """The flag value as written: ``type=cache,target=/root/.cache/pip``."""

    def get(self, *keys: str) -> str | None:
        for key, value in self.options:
            if key in keys:
                return value
        return None

    @property
    def target(self) -> str | None:
        return self.get("target", "dst", "destination")

    @property
    def source(self) -> str | None:
        return self.get("source", "src")

    @property
    def from_(self) -> str | None:
        return self.get("from")


@dataclass(frozen=True)
class Heredoc:
    name: str
    strip_tabs: bool
    """``<<-``: leading tabs are removed from body lines and the terminator."""
    body: str
    line: int
    """1-based line of the first body line."""
    end_line: int
    """1-based line of the terminator (the last line of the file when unterminated)."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper case: ``RUN``, ``COPY``..."""
    line: int
    """1-based first line."""
    end_line: int
    """1-based last line, heredoc bodies included."""
    text: str
    """The instruction exactly as written, heredoc bodies included."""
    flags: tuple[tuple[str, str | None], ...]
    """Leading ``--name[=value]`` flags, names without dashes, lower-cased."""
    args: str
    """The arguments after keyword and flags on one line: continuations folded, comments
    dropped, heredoc bodies not included."""
    script: str
    """Keyword and flags blanked out, inner comments and empty lines turned into bare
    continuations, so a shell parser sees the arguments at their original lines and columns.
    Heredoc bodies follow, with their terminators."""
    exec_form: tuple[str, ...] | None = None
    """The JSON array, when the arguments are one."""
    heredocs: tuple[Heredoc, ...] = ()
    mounts: tuple[Mount, ...] = ()

    def flag(self, name: str) -> str | None:
        for key, value in self.flags:
            if key == name:
                return value if value is not None else ""
        return None

    @property
    def logical_end_line(self) -> int:
        """Last line of the instruction itself, before any heredoc body."""
        return self.heredocs[0].line - 1 if self.heredocs else self.end_line


@dataclass(frozen=True)
class ParsedDockerfile:
    instructions: tuple[Instruction, ...]
    directives: tuple[tuple[str, str], ...]
    """Parser directives found at the top: ``(("syntax", "docker/dockerfile:1"),)``."""
    escape: str
    """The escape (line continuation) character: ``\\`` or a backtick."""
    problems: tuple[Problem, ...]
    template: bool = False
    """The file holds template syntax (``{% if %}`` lines, ``{{ var }}`` values)."""


def parse(text: str) -> ParsedDockerfile:
    """Read a Dockerfile; never raises."""
    original = text.split("\n")
    lines = [_mask_template(line) for line in original]
    template = lines != original
    directives, escape = _directives(lines)
    problems: list[Problem] = []
    try:
        boundaries = _boundaries(lines, escape)
    except Exception as exc:  # a third-party parser must not crash the audit
        failure = Problem(1, f"dockerfile-parse: {exc}")
        return ParsedDockerfile((), directives, escape, (failure,), template)
    instructions: list[Instruction] = []
    pos = 0
    i = 0
    while i < len(boundaries):
        keyword, start, end = boundaries[i]
        if start < pos:  # inside a heredoc body already consumed
            if end >= pos:  # a body line swallowed what follows: read the rest again
                boundaries = boundaries[:i] + _boundaries(lines, escape, pos)
                continue
            i += 1
            continue
        # BuildKit skips empty lines inside a continuation; dockerfile-parse stops there.
        while i + 1 < len(boundaries) and _continues(lines, start, end, escape):
            i += 1
            end = max(end, boundaries[i][2])
        instruction, next_pos, problem = _instruction(lines, original, keyword, start, end, escape)
        if problem is not None:
            problems.append(problem)
        if keyword not in KNOWN_INSTRUCTIONS and not any(
            p.message.startswith("unknown instruction") for p in problems
        ):
            problems.append(Problem(start + 1, f"unknown instruction {keyword!r}"))
        instructions.append(instruction)
        pos = next_pos
        i += 1
    return ParsedDockerfile(tuple(instructions), directives, escape, tuple(problems), template)


def _mask_template(line: str) -> str:
    """A template-only line becomes a comment; ``{{ var }}`` and inline ``{% ... %}`` become an
    unknown variable of the same length."""
    if "{" not in line:
        return line
    rest = _JINJA_BLOCK.sub("", line)
    if rest != line and not rest.strip():
        return "#" + " " * (len(line) - 1)
    masked = _JINJA_BLOCK.sub(_unknown_variable, line)
    return _JINJA_EXPR.sub(_unknown_variable, masked)


def _unknown_variable(match: re.Match[str]) -> str:
    return "${" + "_" * (len(match.group(0)) - 3) + "}"


def _directives(lines: list[str]) -> tuple[tuple[tuple[str, str], ...], str]:
    """Parser directives: only at the very top; any other line (even a comment) ends them."""
    found: list[tuple[str, str]] = []
    for line in lines:
        match = _DIRECTIVE.match(line)
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        key = match.group(1).lower()
        if any(k == key for k, _ in found):
            break
        found.append((key, match.group(2)))
    escape = next((v for k, v in found if k == "escape"), "\\")
    return tuple(found), escape if escape in ("\\", "`") else "\\"


def _boundaries(lines: list[str], escape: str, offset: int = 0) -> list[tuple[str, int, int]]:
    """(keyword, first line, last line), 0-based, of the instructions dockerfile-parse sees in
    ``lines[offset:]``; comments dropped."""
    from dockerfile_parse import DockerfileParser

    # The prefix states the escape character and ends the directive section, so a re-read from
    # the middle of the file neither loses the escape nor takes a comment for a directive.
    prefix = f"# escape={escape}\n#\n"
    body = "\n".join(lines[offset:])
    parser = DockerfileParser(fileobj=io.BytesIO((prefix + body).encode("utf-8")))
    shift = offset - 2
    found: list[tuple[str, int, int]] = []
    for entry in parser.structure:
        keyword = str(entry["instruction"])
        if keyword == "COMMENT":
            continue
        found.append((keyword, int(entry["startline"]) + shift, int(entry["endline"]) + shift))
    return [b for b in found if b[1] >= offset]


def _continues(lines: list[str], start: int, end: int, escape: str) -> bool:
    """True when the instruction's last non-empty, non-comment line ends in the escape
    character: an empty line interrupted it, and BuildKit reads on."""
    for index in range(end, start - 1, -1):
        line = lines[index].rstrip()
        if not line or (index > start and _COMMENT.match(line)):
            continue
        return line.endswith(escape)
    return False


def _instruction(
    lines: list[str], original: list[str], keyword: str, start: int, end: int, escape: str
) -> tuple[Instruction, int, Problem | None]:
    """Build one Instruction from lines ``start..end`` (0-based) plus any heredoc bodies after
    them; also returns the index of the first line after it. ``lines`` are template-masked,
    ``original`` as written."""
    script_lines: list[str] = []
    for index in range(start, end + 1):
        line = lines[index]
        if index > start and (not line.strip() or _COMMENT.match(line)):
            script_lines.append(escape)  # keeps the continuation and the line count
        else:
            script_lines.append(line)
    if escape != "\\":  # the shell parser knows backslash continuations only
        script_lines = [
            line[: len(line.rstrip()) - 1] + "\\" if line.rstrip().endswith(escape) else line
            for line in script_lines
        ]
    logical = "\n".join(script_lines)
    script, flags, args_at = _strip_keyword_and_flags(
        logical, len(lines[start]) - len(lines[start].lstrip())
    )
    args = _fold(script[args_at:])
    exec_form = _exec_form(args)
    mounts = tuple(_mount(v, raw) for k, v, raw in flags if k == "mount" and v is not None)
    heredocs: list[Heredoc] = []
    problem: Problem | None = None
    next_pos = end + 1
    if keyword in _HEREDOC_INSTRUCTIONS and exec_form is None:
        for strip, name in _heredoc_markers(args):
            doc, next_pos, terminated = _read_heredoc(lines, next_pos, name, strip)
            heredocs.append(doc)
            if not terminated and problem is None:
                problem = Problem(start + 1, f"heredoc <<{name} is never terminated")
    last = next_pos - 1
    text = "\n".join(original[start : last + 1])
    if heredocs:
        script = script + "\n" + "\n".join(lines[end + 1 : last + 1])
    instruction = Instruction(
        keyword=keyword,
        line=start + 1,
        end_line=min(last, len(lines) - 1) + 1,
        text=text,
        flags=tuple((k, v) for k, v, _ in flags),
        args=args,
        script=script,
        exec_form=exec_form,
        heredocs=tuple(heredocs),
        mounts=mounts,
    )
    return instruction, next_pos, problem


def _strip_keyword_and_flags(
    text: str, indent: int
) -> tuple[str, list[tuple[str, str | None, str]], int]:
    """Blank out the keyword and leading ``--flags`` (keeping newlines and columns); return the
    blanked text, the flags (name, value with quotes removed, value as written) and the offset
    where the arguments start."""
    chars = list(text)
    pos = indent
    while pos < len(text) and not text[pos].isspace():
        pos += 1
    for k in range(indent, pos):
        chars[k] = " "
    flags: list[tuple[str, str | None, str]] = []
    while True:
        pos = _skip_blanks(text, pos)
        if not text.startswith("--", pos):
            break
        end = _flag_end(text, pos)
        word = text[pos + 2 : end]
        name, eq, value = word.partition("=")
        flags.append((name.lower(), _dequote(value) if eq else None, value))
        for k in range(pos, end):
            if chars[k] != "\n":
                chars[k] = " "
        pos = end
    return "".join(chars), flags, pos


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text):
        if text[pos] in " \t\n":
            pos += 1
        elif text.startswith("\\\n", pos):
            pos += 2
        else:
            break
    return pos


def _flag_end(text: str, pos: int) -> int:
    quote = ""
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in " \t\n" or text.startswith("\\\n", pos):
            break
        pos += 1
    return pos


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _fold(text: str) -> str:
    """Continuations folded, blank continuation lines removed, runs of blanks kept as written."""
    return re.sub(r"(?:[ \t]*\\\n[ \t]*)+", " ", text).strip()


def _exec_form(args: str) -> tuple[str, ...] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None  # BuildKit falls back to shell form
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _mount(value: str, written: str) -> Mount:
    """``value`` with quotes already removed (BuildKit removes them before reading the CSV);
    ``written`` as in the file, kept as the mount's text."""
    try:
        fields = next(csv.reader([value]), [])
    except csv.Error:
        fields = value.split(",")
    options: list[tuple[str, str]] = []
    for raw in fields:
        key, eq, val = raw.strip().partition("=")
        options.append((key.strip().lower(), val.strip() if eq else "true"))
    kind = next((v for k, v in options if k == "type"), "bind").lower()
    return Mount(kind, tuple(options), written)


def split_words(args: str) -> list[str]:
    """Words of an argument string, split on blanks outside quotes, quotes kept."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    for char in args:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def _heredoc_markers(args: str) -> list[tuple[bool, str]]:
    markers: list[tuple[bool, str]] = []
    for word in split_words(args):
        match = _HEREDOC_WORD.match(word)
        if match:
            name = _unquote(match.group(3))
            if name and re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                markers.append((match.group(2) == "-", name))
    return markers


def _read_heredoc(lines: list[str], pos: int, name: str, strip: bool) -> tuple[Heredoc, int, bool]:
    """The body from line ``pos`` (0-based) to the terminator; the next line; terminated?"""
    body: list[str] = []
    for index in range(pos, len(lines)):
        line = lines[index].lstrip("\t") if strip else lines[index]
        if line.rstrip() == name:
            return Heredoc(name, strip, "\n".join(body), pos + 1, index + 1), index + 1, True
        body.append(line)
    last = max(len(lines), pos + 1)
    return Heredoc(name, strip, "\n".join(body), pos + 1, last), len(lines), False


def parse_key_values(args: str) -> list[tuple[str, str]]:
    """``ENV``/``LABEL`` arguments: ``A=1 B="two words"`` or the legacy ``ENV A value``.
    Quotes are removed; variables are left for the caller to expand."""
    words = split_words(args)
    if not words:
        return []
    if "=" not in words[0]:
        key, _, rest = args.strip().partition(" ")
        return [(key, _unquote(rest.strip()))]
    pairs: list[tuple[str, str]] = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq:
            pairs.append((_unquote(key), _dequote(value)))
    return pairs


def parse_args(args: str) -> list[tuple[str, str | None]]:
    """``ARG`` arguments: ``NAME``, ``NAME=default``, several per instruction."""
    found: list[tuple[str, str | None]] = []
    for word in split_words(args):
        key, eq, value = word.partition("=")
        found.append((key, _dequote(value) if eq else None))
    return found


def _dequote(value: str) -> str:
    """Remove shell-style quotes from a Dockerfile word (``"a b"c`` → ``a bc``)."""
    out: list[str] = []
    quote = ""
    escaped = False
    for char in value:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
            else:
                out.append(char)
        elif char in "\"'":
            quote = char
        else:
            out.append(char)
    return "".join(out)


_VAR = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def expand(
    value: str, variables: dict[str, str], *, unset: dict[str, str] | None = None
) -> str | None:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:+alt}`` as the Dockerfile
    frontend does. None when a variable is neither in ``variables`` nor in ``unset`` (the
    value Docker would use for it is not known statically)."""
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(4)
        op, word = match.group(2), match.group(3) or ""
        if name in variables:
            current: str | None = variables[name]
        elif unset is not None and name in unset:
            current = unset[name]
        else:
            current = None
        if op in (":-", "-"):
            return current if current else word
        if op in (":+", "+"):
            return word if current else ""
        if current is None:
            unknown = True
            return ""
        return current

    result = _VAR.sub(replace, value)
    return None if unknown else result

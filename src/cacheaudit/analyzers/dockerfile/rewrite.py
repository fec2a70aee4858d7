"""Rewriting instructions for fixes, in the file's own layout: cache mounts added or replaced,
cache-disabling flags and inline env assignments removed, commands dropped or prefixed, an
assignment taken out of an ``ENV``/``ARG``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from cacheaudit.analyzers.dockerfile.facts import CACHE_DISABLING_OPTIONS, MAX_LINE
from cacheaudit.analyzers.dockerfile.model import DockerfileModel, RunInfo
from cacheaudit.installs import CACHE_FACTS
from cacheaudit.model import LineEdit
from cacheaudit.parsing.dockerfile import Instruction, Mount, parse_args, parse_key_values
from cacheaudit.parsing.shell import Command, InstallCommand

_SEP = r"(?:[ \t]|\\\n)+"
_JOIN = r"[ \t]*(?:\\\n[ \t]*)*(?:&&|;)[ \t]*(?:\\\n[ \t]*)*"
_END = r"(?=[ \t]*(?:\\\n|&&|;|\n|$))"


MAX_REWRITE_WORDS = 500
"""Commands longer than this are not rewritten in fixes: the pattern would cost more than the
fix is worth on a hostile (megabyte-long) RUN."""


def _rewrite_run(
    dc: DockerfileModel,
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


def _append_to_install(text: str, install: InstallCommand, flag: str) -> str:
    """``text`` (an instruction) with ``flag`` added at the end of the install command."""
    body = _command_regex(install.command)
    match = re.search(body, text) if body else None
    if match is None:
        return text
    return text[: match.end()] + f" {flag}" + text[match.end() :]


# --- edits -------------------------------------------------------------------------------------


def _replace(instruction: Instruction, text: str) -> LineEdit:
    """An edit replacing the whole instruction (heredoc bodies included) with ``text``."""
    return LineEdit(instruction.line, instruction.end_line, text)


def apply_edits(text: str, edits: Iterable[LineEdit]) -> str:
    """``text`` with the edits applied (they must not overlap)."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: e.start_line, reverse=True):
        lines[edit.start_line - 1 : edit.end_line] = edit.text.split("\n") if edit.text else []
    return "\n".join(lines)


def _append_command(dc: DockerfileModel, run: RunInfo, command: str) -> str | None:
    """The RUN with ``command`` run after everything else in it (``&& command`` in shell form,
    a last line in a heredoc script); None where that cannot be done safely (exec form, a
    comment on the last line)."""
    instruction = run.instruction
    lines = instruction.text.split("\n")
    if instruction.exec_form is not None:
        return None
    if instruction.heredocs:
        doc = instruction.heredocs[0]
        words = instruction.args.split()
        if not all(w.startswith(("<<", "0<<")) for w in words):
            return None  # `RUN python3 <<EOF`: the body is not the shell script
        index = doc.end_line - instruction.line
        if not 0 < index < len(lines):
            return None
        lines.insert(index, command)
        return "\n".join(lines)
    last = instruction.logical_end_line - instruction.line
    line = lines[last].rstrip()
    if "#" in line or line.endswith(dc.escape):
        return None
    if line.endswith(";"):
        joined = f"{line} {command}"
    elif last == 0 and len(line) + len(command) + 4 <= MAX_LINE:
        joined = f"{line} && {command}"
    else:
        indent = _continuation_indent(lines[: last + 1])
        joined = f"{line} {dc.escape}\n{indent}&& {command}"
    lines[last] = joined
    return "\n".join(lines)

"""Edits for Dockerfile findings. The Dockerfile rules already write the rewritten instruction
in the file's own layout (cache mounts added or re-targeted with uid/gid for a non-root USER,
``--no-cache-dir`` dropped, ``ENV UV_LINK_MODE=copy`` put first, ``apt-get update`` joined to its
install): this module checks that rewrite against the parsed file and turns it into an edit of
exactly the instructions it replaces, or gives up (the fix stays advice).

The checks: the rewrite parses cleanly with the file's escape character; it holds the same
instructions as the lines it replaces (plus ``ENV`` lines for CA301/CA304, plus a ``COPY`` of
the manifests for CA303); and its words are the original words plus known additions only (so a
shortened snippet, or a rewrite that would lose a command, never becomes an edit).
"""

from __future__ import annotations

import dataclasses
import re

from cacheaudit.fix.generators import Generator
from cacheaudit.fix.text import make_edit, split_lines
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing.dockerfile import Instruction, ParsedDockerfile, parse, split_words
from cacheaudit.repo import RepoContext

_APT_KEEP_WORDS = frozenset(
    split_words(
        "rm -f /etc/apt/apt.conf.d/docker-clean; echo "
        "'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > "
        "/etc/apt/apt.conf.d/keep-cache ; && apt-get apt update"
    )
)
"""Words a rewrite may add for apt: docker-clean removed, the lists refreshed in the RUN."""
_INSTALL_LINE = re.compile(r"install at line (\d+)")


def _parsed(ctx: RepoContext, path: str) -> tuple[str, ParsedDockerfile] | None:
    text = ctx.read_text(path)
    if text is None:
        return None
    parsed = parse(text)
    if parsed.problems:
        return None
    return text, parsed


def _at(parsed: ParsedDockerfile, line: int) -> int | None:
    for index, instruction in enumerate(parsed.instructions):
        if instruction.line <= line <= instruction.end_line:
            return index
    return None


def _snippet(finding: Finding, escape: str) -> tuple[str, ParsedDockerfile] | None:
    fix = finding.fix
    if fix is None or not fix.snippet.strip() or "characters left out" in fix.snippet:
        return None
    snippet = fix.snippet.strip("\n")
    prefix = "" if escape == "\\" else f"# escape={escape}\n"
    parsed = parse(prefix + snippet)
    if parsed.problems or not parsed.instructions:
        return None
    return snippet, parsed


def _words(instructions: tuple[Instruction, ...] | list[Instruction]) -> set[str]:
    words: set[str] = set()
    for instruction in instructions:
        words.update(split_words(instruction.args))
        for heredoc in instruction.heredocs:
            words.update(heredoc.body.split())
    return words


def _flags_ok(old: Instruction, new: Instruction) -> bool:
    """The rewrite keeps every flag other than cache mounts."""
    kept = {(k, v) for k, v in old.flags if not (k == "mount" and v and "type=cache" in v)}
    return kept <= set(new.flags)


def _edit(
    finding: Finding,
    ctx: RepoContext,
    *,
    first: int | None = None,
    last: int | None = None,
    extra_words: frozenset[str] = frozenset(),
    allow_env: bool = False,
    copy_manifests: bool = False,
    merged: bool = False,
    apt_prelude: bool = False,
    safe: bool = True,
) -> Fix | None:
    path = finding.location.path
    loaded = _parsed(ctx, path)
    if loaded is None:
        return None
    text, parsed = loaded
    index = _at(parsed, finding.location.line) if first is None else first
    if index is None:
        return None
    stop = index if last is None else last
    old = list(parsed.instructions[index : stop + 1])
    if not old or any(i.keyword == "FROM" for i in old):
        return None
    found = _snippet(finding, parsed.escape)
    if found is None:
        return None
    snippet, new_parsed = found
    new = list(new_parsed.instructions)
    envs = [i for i in new if i.keyword == "ENV"]
    if envs and not allow_env:
        return None
    core = [i for i in new if i.keyword != "ENV" or not allow_env]
    if copy_manifests:
        reordered = _drop_manifest_copies(core, old)
        if reordered is None:
            return None
        core = reordered
    if apt_prelude and len(core) > 1 and core[0].keyword == "RUN" and not core[0].mounts:
        if not set(split_words(core[0].args)) <= _APT_KEEP_WORDS:
            return None
        core = core[1:]  # the RUN that stops docker-clean from emptying apt's cache
    compared = old[1:] if merged else old
    if sorted(i.keyword for i in core) != sorted(i.keyword for i in compared):
        return None
    runs_old = [i for i in compared if i.keyword == "RUN"]
    runs_new = [i for i in core if i.keyword == "RUN"]
    if len(runs_new) == len(runs_old) == 1 and not _flags_ok(runs_old[0], runs_new[0]):
        return None
    added = _words(core) - _words(old) - extra_words
    if added or not all(_removable(w) for w in _words(old) - _words(core)):
        return None
    if (
        apt_prelude
        and len(core) == len(new)
        and not any("docker-clean" in i.text for i in parsed.instructions[:index])
    ):
        return None  # docker-clean would still empty apt's cache before this RUN
    start, end = old[0].line, old[-1].end_line
    between = [
        line
        for line in split_lines(text)[start - 1 : end]
        if line.strip().startswith("#") and not _inside(old, line)
    ]
    replacement = "".join(between) + snippet + "\n"
    edit = make_edit(path, text, start, end, replacement)
    if edit.original == edit.replacement:
        return None
    base = finding.fix
    assert base is not None
    return dataclasses.replace(base, edits=(edit,), safe=safe)


_REMOVABLE = re.compile(
    r"(--no-cache(-dir)?|(PIP_NO_CACHE_DIR|UV_NO_CACHE)=.*|&&|;|\\|rm|-r?f|-rf|clean|purge|"
    r"clear|--force|--all|cache|apt-get|apt|yarn|npm|pip|pip3|poetry|uv|pnpm|store|prune|"
    r".*(cache|/var/lib/apt/lists).*)"
)
"""What a rewrite may drop from a RUN: the flags and commands that disable or empty the
cache the mount now holds. Anything else lost means the rewrite is not a faithful edit."""


def _removable(word: str) -> bool:
    return bool(_REMOVABLE.fullmatch(word.strip("'\"")))


def _inside(instructions: list[Instruction], line: str) -> bool:
    return any(line.rstrip("\n") in i.text.split("\n") for i in instructions)


def _drop_manifest_copies(
    core: list[Instruction], old: list[Instruction]
) -> list[Instruction] | None:
    """CA303: the rewrite copies the manifests first; those COPYs are the only new ones."""
    copies_old = sum(1 for i in old if i.keyword in ("COPY", "ADD"))
    copies_new = [i for i in core if i.keyword in ("COPY", "ADD")]
    extra = len(copies_new) - copies_old
    if extra < 1 or core[0].keyword != "COPY":
        return None
    return core[extra:]


def ca301(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Add the tool's cache mount to the RUN (``ENV UV_LINK_MODE=copy`` before it for uv)."""
    return _edit(finding, ctx, allow_env=True)


def ca302(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Drop the flag that defeats the mount, when it is in the RUN itself."""
    loaded = _parsed(ctx, finding.location.path)
    if loaded is None:
        return None
    index = _at(loaded[1], finding.location.line)
    if index is None or loaded[1].instructions[index].keyword != "RUN":
        return None
    found = _snippet(finding, loaded[1].escape)
    if found is None or [i.keyword for i in found[1].instructions] != ["RUN"]:
        return None
    return _edit(finding, ctx)


def ca304(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Point the cache mount where the tool writes (the user's home, with its uid/gid)."""
    return _edit(finding, ctx, allow_env=True)


def ca306(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Join ``apt-get update`` to the install that follows it (the next instruction)."""
    loaded = _parsed(ctx, finding.location.path)
    fix = finding.fix
    if loaded is None or fix is None:
        return None
    _, parsed = loaded
    index = _at(parsed, finding.location.line)
    match = _INSTALL_LINE.search(fix.description)
    if index is None or match is None:
        return None
    target = _at(parsed, int(match.group(1)))
    if target != index + 1:
        return None  # other instructions in between: moving the update is a person's call
    return _edit(finding, ctx, first=index, last=target, merged=True)


def ca308(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Add apt's cache mounts (and keep docker-clean from emptying them)."""
    return _edit(finding, ctx, extra_words=_APT_KEEP_WORDS, apt_prelude=True)


def ca303(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Copy the manifests, install, then copy the source. Unsafe: the install may read files of
    the source tree that only a person can tell."""
    loaded = _parsed(ctx, finding.location.path)
    if loaded is None:
        return None
    _, parsed = loaded
    index = _at(parsed, finding.location.line)
    lines = re.findall(r"\(line (\d+)\)", finding.message)
    if index is None or len(lines) < 2:
        return None
    target = _at(parsed, int(lines[1]))
    if target is None or target <= index:
        return None
    return _edit(finding, ctx, first=index, last=target, copy_manifests=True, safe=False)


GENERATORS: dict[str, Generator] = {
    "CA301": ca301,
    "CA302": ca302,
    "CA303": ca303,
    "CA304": ca304,
    "CA305": ca308,
    "CA306": ca306,
    "CA308": ca308,
}

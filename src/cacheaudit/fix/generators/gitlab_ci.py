"""Edits for GitLab CI findings: the cache variables (``PIP_CACHE_DIR``, ``UV_CACHE_DIR``,
``npm_config_cache``...) and a ``cache:`` block keyed on the lock file (CA201), or the variable
that makes the tool write where the cache is (CA202).

The rule's fix names the job and the keys it needs (a YAML snippet ``job: {variables, cache}``);
this module merges those keys into that job's mapping in the finding's file, as new lines with
the indentation of their siblings: a new ``variables:`` entry beside the existing ones, a new
``cache:``/``variables:`` block after the job's last key. A job whose keys come from a YAML merge
(``<<: *anchor``), a flow mapping, or a job that already has a ``cache:`` (CA201: GitLab would
need a list) gets no edit: a person decides.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cacheaudit.fix.generators import Generator
from cacheaudit.fix.generators._yaml import (
    entry_end,
    indent_of,
    is_flow,
    mapping_end,
    mapping_indent,
    safe_text,
)
from cacheaudit.fix.text import make_edit, split_lines
from cacheaudit.model import Edit, Finding, Fix
from cacheaudit.parsing.yaml import YamlError, key_line, load, load_path
from cacheaudit.repo import RepoContext


def _unit(lines: list[str]) -> int:
    widths = [indent_of(line) for line in lines if line.strip() and line.lstrip()[:1] != "#"]
    return min((w for w in widths if w), default=2)


def _render(value_lines: list[str], snippet_unit: int, base: int, unit: int) -> str:
    """Snippet lines (indented in steps of ``snippet_unit`` from 0) re-indented to start at
    ``base`` with the file's ``unit``."""
    out = []
    for line in value_lines:
        depth = indent_of(line) // snippet_unit
        out.append(" " * (base + depth * unit) + line.strip() + "\n")
    return "".join(out)


def _blocks(snippet: str, job: str) -> dict[str, list[str]] | None:
    """The snippet's top-level keys under ``job``, each as its lines dedented to column 0."""
    lines = snippet.strip("\n").split("\n")
    if not lines or lines[0].strip() != f"{job}:":
        return None
    body = [line for line in lines[1:] if line.strip()]
    if not body:
        return None
    base = indent_of(body[0])
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for line in body:
        if indent_of(line) < base:
            return None
        if indent_of(line) == base:
            current = line.strip().split(":", 1)[0]
            blocks[current] = [line[base:]]
        elif current is not None:
            blocks[current].append(line[base:])
    return blocks


def _merged(job: Any) -> bool:
    return bool(getattr(job, "merge", None))


def _edit(ctx: RepoContext, finding: Finding, *, replace_cache: bool) -> Fix | None:
    fix = finding.fix
    path = finding.location.path
    if fix is None or not fix.snippet.strip() or finding.message.startswith("Jobs "):
        return None  # a finding about several jobs: fixing the one in the snippet is not enough
    name = fix.snippet.strip("\n").split("\n", 1)[0].rstrip(":").strip()
    text = ctx.read_text(path)
    if text is None or not safe_text(text):
        return None
    try:
        root = load_path(ctx, path)
        wanted = load(fix.snippet)
    except YamlError:
        return None
    if not isinstance(root, dict) or not isinstance(wanted, dict) or name not in root:
        return None
    job = root[name]
    new = wanted.get(name)
    blocks = _blocks(fix.snippet, name)
    if not isinstance(job, dict) or not isinstance(new, dict) or blocks is None or not job:
        return None
    lines = [line.rstrip("\n") for line in split_lines(text)]
    if _merged(job) or is_flow(lines, job) or "\t" in text:
        return None
    col = mapping_indent(job)
    if col is None or col == 0:
        return None
    unit = _unit(lines)
    snippet_unit = max(1, min((indent_of(ln) for b in blocks.values() for ln in b[1:]), default=2))
    cache = new.get("cache")
    if cache is not None and not (
        isinstance(cache, dict) and isinstance(cache.get("key"), dict) and "files" in cache["key"]
    ):
        return None  # a key not on the lock file never refreshes (CA203): advice only
    if cache is not None:
        # One cache per job kind: several jobs pushing one shared cache is CA204.
        blocks["cache"] = [
            f"{line.rstrip()}-$CI_JOB_NAME"
            if line.strip().startswith("prefix:") and "$" not in line
            else line
            for line in blocks["cache"]
        ]
    edits: list[Edit] = []
    appended = ""
    for key, value in new.items():
        if key not in blocks:
            return None
        if key == "variables" and isinstance(value, dict):
            current = job.get("variables")
            if current is None:
                appended += _render(blocks[key], snippet_unit, col, unit)
                continue
            if not isinstance(current, dict) or is_flow(lines, current) or not current:
                return None
            if any(v in current for v in value):
                return None  # a variable to change, not add: a person decides
            entries = _render(blocks[key][1:], snippet_unit, 0, unit)
            inner = mapping_indent(current)
            if inner is None:
                return None
            entries = "".join(" " * inner + ln.lstrip(" ") for ln in entries.splitlines(True))
            end = mapping_end(lines, current)
            edits.append(make_edit(path, text, end + 1, end, entries))
        elif key in job:
            if not (replace_cache and key == "cache" and isinstance(job[key], dict)):
                return None
            if _merged(job[key]) or is_flow(lines, job[key]):
                return None
            start = key_line(job, key)
            end = entry_end(lines, job, key)
            edits.append(
                make_edit(path, text, start, end, _render(blocks[key], snippet_unit, col, unit))
            )
        else:
            appended += _render(blocks[key], snippet_unit, col, unit)
    if appended:
        end = mapping_end(lines, job)
        edits.append(make_edit(path, text, end + 1, end, appended))
    if not edits:
        return None
    edits.sort(key=lambda e: e.start_line)
    return dataclasses.replace(fix, edits=tuple(edits))


def ca201(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Add the cache variables and a ``cache:`` keyed on the lock file to a job without one."""
    return _edit(ctx, finding, replace_cache=False)


def ca202(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Point the tool's cache into the cached project directory. Re-writing a ``cache:`` that
    names a path outside the project stays advice: once it works, jobs sharing it need their
    own ``policy`` (CA204), which only a person can assign."""
    return _edit(ctx, finding, replace_cache=False)


GENERATORS: dict[str, Generator] = {"CA201": ca201, "CA202": ca202}

"""Edits for GitHub Actions findings: turn on a setup action's cache (CA101) and move a cache
action to a working release (CA109). Inputs are inserted beside their siblings, in the file's
own indentation; only inputs the action's major version has (``fix.actions``) are written."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from cacheaudit.analyzers.github_actions.actions import KNOWN_ACTIONS, parse_ref
from cacheaudit.fix.actions import accepts
from cacheaudit.fix.generators import Generator
from cacheaudit.fix.generators._yaml import (
    PathPart,
    append_entries,
    block_mapping,
    indent_of,
    only_adds,
    safe_text,
    scalar,
)
from cacheaudit.fix.text import make_edit, split_lines
from cacheaudit.installs import LOCKFILES_BY_TOOL, install_inputs
from cacheaudit.model import Edit, Finding, Fix
from cacheaudit.parsing import requirements
from cacheaudit.parsing.shell import InstallCommand, find_installs, parse_script
from cacheaudit.parsing.yaml import YamlError, item_line, key_line, load_path
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

_SUBJECT = re.compile(r"job (?P<job>[^/]+?) / (?P<tool>[\w-]+)$")
_USES = re.compile(r"""(?P<head>\buses:\s*['"]?)(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>[^\s'"#]+)""")
_SETUP_FOR = {
    "pip": "actions/setup-python",
    "npm": "actions/setup-node",
    "yarn": "actions/setup-node",
    "pnpm": "actions/setup-node",
    "uv": "astral-sh/setup-uv",
}


@dataclasses.dataclass(frozen=True)
class _Job:
    path: str
    name: str
    text: str
    lines: list[str]
    node: dict[str, Any]
    steps: list[Any]


def _job(ctx: RepoContext, finding: Finding) -> _Job | None:
    path = finding.location.path
    match = _SUBJECT.match(finding.subject)
    if match is None or not path.startswith(".github/workflows/"):
        return None
    text = ctx.read_text(path)
    if text is None or not safe_text(text):
        return None
    try:
        root = load_path(ctx, path)
    except YamlError:
        return None
    jobs = root.get("jobs") if isinstance(root, dict) else None
    name = match.group("job").strip()
    job = jobs.get(name) if isinstance(jobs, dict) else None
    steps = job.get("steps") if isinstance(job, dict) else None
    if not isinstance(job, dict) or not isinstance(steps, list):
        return None
    lines = [line.rstrip("\n") for line in split_lines(text)]
    return _Job(path, name, text, lines, job, steps)


def _uses(step: Any) -> tuple[str, str] | None:
    uses = step.get("uses") if isinstance(step, dict) else None
    if not isinstance(uses, str) or "@" not in uses:
        return None
    action, _, ref = uses.partition("@")
    return action.strip().lower(), ref.strip()


def _major(ref: str, comment: str = "") -> int | None:
    parsed = parse_ref(ref, comment)
    return parsed.version[0] if parsed.kind in ("major", "minor", "exact") else None


def _setup_step(job: _Job, action: str, before: int) -> tuple[int, Any] | None:
    """The last step using ``action`` that starts before line ``before``."""
    found = None
    for index, step in enumerate(job.steps):
        if item_line(job.steps, index) >= before:
            break
        uses = _uses(step)
        if uses is not None and uses[0] == action:
            found = (index, step)
    return found


def _installs(ctx: RepoContext, job: _Job, tool: str) -> list[tuple[InstallCommand, str]] | None:
    """Every install of ``tool``'s cache in the job with its working directory; None when a
    working directory cannot be known."""
    found: list[tuple[InstallCommand, str]] = []
    defaults = job.node.get("defaults")
    run_defaults = defaults.get("run") if isinstance(defaults, dict) else None
    default_dir = run_defaults.get("working-directory") if isinstance(run_defaults, dict) else None
    for step in job.steps:
        script = step.get("run") if isinstance(step, dict) else None
        if not isinstance(script, str):
            continue
        installs = [i for i in find_installs(parse_script(script)) if i.cache_tool == tool]
        if not installs:
            continue
        workdir = step.get("working-directory", default_dir) or ""
        if not isinstance(workdir, str) or "$" in workdir:
            return None
        base = normalize(workdir or ".")
        if base is None:
            return None
        found += [(install, base) for install in installs]
    return found


def _entries(indent: int, unit: int, entries: list[tuple[str, list[str]]]) -> str:
    out: list[str] = []
    for key, values in entries:
        if len(values) == 1:
            out.append(f"{' ' * indent}{key}: {scalar(values[0])}")
        else:
            out.append(f"{' ' * indent}{key}: |")
            out += [f"{' ' * (indent + unit)}{value}" for value in values]
    return "".join(line + "\n" for line in out)


def _indent_unit(lines: list[str]) -> int:
    widths = [indent_of(line) for line in lines if line.strip() and line.lstrip()[:1] != "#"]
    return min((w for w in widths if w), default=2)


def _set_inputs(
    job: _Job, index: int, step: Any, entries: list[tuple[str, list[str]]]
) -> Edit | None:
    """Insert ``with:`` entries at the end of the step's ``with:`` (or a new ``with:`` at the
    end of the step); None when the step or its ``with:`` cannot take them as new lines (flow
    style, merged or aliased) or the result would read as anything but the step plus them."""
    unit = _indent_unit(job.lines)
    where: tuple[PathPart, ...] = ("jobs", job.name, "steps", index)
    additions: dict[tuple[PathPart, ...], dict[str, Any]]
    values: dict[str, Any] = {
        key: v[0] if len(v) == 1 else "".join(f"{line}\n" for line in v) for key, v in entries
    }
    with_node = step.get("with")
    if isinstance(with_node, dict) and with_node:
        inner = block_mapping(job.text, (*where, "with"))
        if inner is None or not inner.editable:
            return None
        edit = append_entries(job.path, job.text, inner, _entries(0, unit, entries))
        additions = {(*where, "with"): values}
    elif "with" in step:
        return None  # an empty or odd with:
    else:
        mapping = block_mapping(job.text, where)
        if mapping is None or not mapping.editable:
            return None
        body = "with:\n" + _entries(unit, unit, entries)
        edit = append_entries(job.path, job.text, mapping, body)
        additions = {where: {"with": values}}
    return edit if only_adds(job.text, [edit], additions) else None


def _fix(finding: Finding, edits: tuple[Edit, ...], safe: bool = True) -> Fix:
    base = finding.fix or Fix("Apply the edit.")
    return dataclasses.replace(base, edits=edits, safe=safe)


def ca101(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Turn on setup-python / setup-node / setup-uv caching in the job's setup step."""
    job = _job(ctx, finding)
    match = _SUBJECT.match(finding.subject)
    if job is None or match is None:
        return None
    tool = match.group("tool")
    action = _SETUP_FOR.get(tool)
    if action is None:
        return None
    setup = _setup_step(job, action, finding.location.line)
    if setup is None:
        return None
    index, step = setup
    uses = _uses(step)
    assert uses is not None
    comment = job.lines[key_line(step, "uses") - 1].partition(" #")[2]
    ref = parse_ref(uses[1], comment)
    spec = KNOWN_ACTIONS.get(action)
    if spec is None or spec.floor is None or spec.floor.broken(ref) is not False:
        return None  # caching on a release that cannot reach the cache service fails (CA109)
    major = ref.version[0] if ref.version else None
    inputs = step.get("with") if isinstance(step.get("with"), dict) else {}
    installs = _installs(ctx, job, tool)
    if installs is None or not installs:
        return None
    entries: list[tuple[str, list[str]]]
    if tool == "uv":
        if "enable-cache" in inputs:
            return None
        entries = [("enable-cache", ["true"])]
    elif tool == "pip":
        if "cache" in inputs or "cache-dependency-path" in inputs:
            return None
        entries = [("cache", ["pip"]), ("cache-dependency-path", _pip_files(ctx, job, installs))]
    else:
        if "cache" in inputs or "cache-dependency-path" in inputs:
            return None
        node = _node_entries(ctx, job, index, tool, installs)
        if node is None:
            return None
        entries = node
    if not accepts(action, major, {key for key, _ in entries}):
        return None
    edit = _set_inputs(job, index, step, entries)
    return _fix(finding, (edit,)) if edit is not None else None


def _pip_files(
    ctx: RepoContext, job: _Job, installs: list[tuple[InstallCommand, str]]
) -> list[str]:
    """Every existing file the job's pip installs read, ``-r``/``-c`` includes followed; the
    workflow itself when the packages are named in it (its text is then the cache's key)."""
    named: list[str] = []
    for install, base in installs:
        named += install_inputs(install, ctx, base)
    requirement_files = [f for f in named if not f.endswith(("pyproject.toml", "setup.py"))]
    resolved = requirements.resolve(ctx, requirement_files)
    files = [
        f for f in dict.fromkeys([*named, *(r.path for r in resolved.files)]) if f in ctx.paths
    ]
    return files or [job.path]


def _node_entries(
    ctx: RepoContext,
    job: _Job,
    index: int,
    tool: str,
    installs: list[tuple[InstallCommand, str]],
) -> list[tuple[str, list[str]]] | None:
    if tool == "yarn" and ctx.glob("**/.yarnrc.yml"):
        return None  # yarn berry: setup-node asks corepack's yarn, which may not be there yet
    if tool == "pnpm":
        # setup-node asks pnpm for its store: pnpm must be installed by an earlier step.
        earlier = [_uses(s) for s in job.steps[:index]]
        if not any(u and u[0] == "pnpm/action-setup" for u in earlier):
            return None
    locks = []
    for install, base in installs:
        locks += [
            f
            for f in install_inputs(install, ctx, base)
            if f.rpartition("/")[2] in LOCKFILES_BY_TOOL[tool]
        ]
    locks = list(dict.fromkeys(locks))
    at_root = [n for n in LOCKFILES_BY_TOOL[tool] if n in ctx.paths]
    if at_root and all(lock in at_root for lock in locks):
        return [("cache", [tool])]
    if not locks:
        return None
    return [("cache", [tool]), ("cache-dependency-path", locks)]


def ca109(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Move a broken cache-action pin to the first working release of the same line (or the
    working major when the whole line is broken). SHA pins need a person."""
    path, line = finding.location.path, finding.location.line
    text = ctx.read_text(path)
    if text is None or not safe_text(text):
        return None
    lines = split_lines(text)
    for number in range(line, min(line + 30, len(lines)) + 1):
        source = lines[number - 1]
        match = _USES.search(source)
        if match is None:
            continue
        action = match.group("action").lower()
        if f"uses:{action}" not in finding.subject.lower():
            return None
        spec = KNOWN_ACTIONS.get(action)
        if spec is None or spec.floor is None:
            return None
        comment = source.partition("#")[2]
        new_ref = _fixed_ref(spec.floor, match.group("ref"), comment)
        if new_ref is None:
            return None
        start, end = match.span("ref")
        replacement = source[:start] + new_ref + source[end:]
        if not replacement.endswith("\n"):
            replacement += "\n"
        return _fix(finding, (make_edit(path, text, number, number, replacement),))
    return None


def _fixed_ref(floor: Any, ref: str, comment: str) -> str | None:
    parsed = parse_ref(ref, comment)
    if parsed.kind not in ("major", "minor", "exact") or comment.strip():
        return None
    major = parsed.version[0]
    floors = dict(floor.min_by_major)
    if parsed.kind != "major" and major in floors:
        first = floors[major]
        return "v" + ".".join(str(part) for part in first[: len(parsed.version)])
    fixed = str(floor.fixed).partition("@")[2]
    return fixed or None


GENERATORS: dict[str, Generator] = {"CA101": ca101, "CA109": ca109}

__all__ = ["GENERATORS"]

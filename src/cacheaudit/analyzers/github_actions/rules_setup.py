"""Rules on the setup actions' built-in caches and on cache action versions: CA109 (a cache
action version that fails against the cache service), CA102 and CA103 (setup-python / setup-node
caching with no dependency or lock file), and CA504 for the files their
``cache-dependency-path`` names that do not exist."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.collector import _Collector, _loc
from cacheaudit.analyzers.github_actions.fixes import _checkout_first, _read_files, _render_step
from cacheaudit.analyzers.github_actions.model import (
    _GLOB_CHARS,
    CacheUse,
    Unit,
    _gh_glob,
    _is_expr,
    _lines_of,
    _unknowable,
    _workspace,
)
from cacheaudit.model import Fix
from cacheaudit.parsing.yaml import value_line
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

_LOCKERS = frozenset({"uv", "poetry", "pipenv", "pdm"})
_WRITERS = frozenset({"cp", "mv", "touch", "tee", "curl", "wget", "ln", "install"})


def _maybe_generated(unit: Unit, pos: int, pattern: str, before_line: int = 0) -> bool:
    """Whether a command that runs before step ``pos`` (or earlier in it, before
    ``before_line``) may write a file matching ``pattern``: a lock, compile or export, a
    redirection or copy naming it, or an artifact download."""
    base = posixpath.basename(pattern.rstrip("/"))
    stem = _GLOB_CHARS.split(base)[0] if _GLOB_CHARS.search(base) else base
    lock_like = (
        "lock" in base
        or "requirements" in base
        or "constraints" in base
        or base.endswith((".txt", "*"))
    )
    stop = min(pos + 1, len(unit.steps)) if before_line else pos
    for i, eff in enumerate(unit.steps[:stop]):
        run = eff.step.run
        if run is None:
            continue
        for command in eff.step.commands():
            if i == pos and command.line >= before_line:
                break
            argv, text = command.argv, command.text
            if not argv:
                continue
            names_it = bool(stem) and len(stem) > 2 and stem in text
            if names_it and (
                ">" in text
                or command.program in _WRITERS
                or any(a in ("-o", "--output", "--output-file", "-O") for a in argv)
            ):
                return True
            if lock_like and (
                command.program in ("pip-compile", "pip-sync")
                or (command.program in _LOCKERS and argv[1:2] in (("lock",), ("export",)))
                or argv[1:3] == ("pip", "compile")
            ):
                return True
    return False


def _rule_ca109(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    step = cache.step
    spec = step.spec
    if spec is None or spec.floor is None or step.uses is None:
        return
    if spec.floor.only_with_cache and cache.restores is False and cache.kind != "cache-save":
        return
    ref = step.uses.version
    broken = spec.floor.broken(ref)
    if broken is False:
        return
    line_text = step.doc.lines[step.line - 1] if 0 < step.line <= len(step.doc.lines) else ""
    column = line_text.find(step.uses.raw) + 1 or None
    name = step.uses.name
    written = step.uses.raw.split("@", 1)[0]
    fixed_line = line_text.replace(step.uses.raw, f"{written}@{spec.floor.fixed.split('@')[1]}")
    if "#" in fixed_line:  # a version comment no longer matches the new ref
        fixed_line = fixed_line.split("#", 1)[0].rstrip()
    if broken is None:
        # A SHA with no version comment cannot be checked offline. Such pins are nearly always
        # recent (Dependabot, Renovate, pinning tools): reporting each would be noise.
        return
    unit.broken.setdefault(
        cache.pos, f"{name}@{step.uses.ref} fails against the cache service since 2025-02"
    )
    shown = step.uses.ref + (
        f" ({step.uses.comment})"
        if ref.kind == "exact" and facts.parse_ref(step.uses.ref).kind == "sha"
        else ""
    )
    message = (
        f"{unit.at(step)} uses {name}@{shown}: since the cache service moved "
        f"(2025-02) this version's cache requests fail, so the step fails or caches "
        f"nothing. Versions before {_floor_text(spec.floor)} are affected."
    )
    fix = Fix(
        f"Use {spec.floor.fixed} or newer (when pinning by SHA, pin a release from "
        f"{_floor_text(spec.floor)} on and name it in a trailing comment).",
        fixed_line,
    )
    out.add(
        RULES["CA109"].finding(
            _loc(step, step.line, column), message, subject=unit.subject(step, "version"), fix=fix
        )
    )


def _floor_text(floor: facts.VersionFloor) -> str:
    first = [f"v{'.'.join(map(str, v))}" for _, v in floor.min_by_major]
    return " / ".join(first) if first else f"v{floor.fine_from_major}"


def _rule_ca102(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    ctx = out.ctx
    step = cache.step
    mode = step.inputs.get("cache", "").strip()
    if mode not in facts.SETUP_PYTHON_DEFAULT_GLOBS:
        return
    state = _workspace(unit, cache.pos)
    if state == "unknown":
        return
    explicit = "cache-dependency-path" in step.inputs
    raw = step.inputs.get("cache-dependency-path", "")
    patterns = _lines_of(raw) if explicit else list(facts.SETUP_PYTHON_DEFAULT_GLOBS[mode])
    if any(_is_expr(p) or _unknowable(p) for p in patterns):
        return
    matched = {p: _gh_glob(ctx, p) for p in patterns}
    fallback = _gh_glob(ctx, facts.SETUP_PYTHON_PIP_FALLBACK) if mode == "pip" else []
    if any(_maybe_generated(unit, cache.pos, p) for p in patterns):
        return
    where = unit.at(step)
    if state == "late" and (any(matched.values()) or fallback):
        message = (
            f"{where} turns on `cache: {mode}` before `actions/checkout` has run: "
            f"setup-python finds no dependency file and the step fails."
        )
        unit.broken[cache.pos] = "setup-python's cache is turned on before the checkout: it fails"
        out.add(
            RULES["CA102"].finding(
                _loc(step, cache.line),
                message,
                subject=unit.subject(step, "cache"),
                fix=Fix("Move `actions/checkout` before this step.", _checkout_first(unit, step)),
            )
        )
        return
    if any(matched.values()):
        _ca504_entries(out, unit, cache, "cache-dependency-path", matched)
        return
    if fallback:
        if explicit:
            _ca504_entries(out, unit, cache, "cache-dependency-path", matched)
        return
    looked = ", ".join(f"`{p}`" for p in patterns)
    also = f" (nor `{facts.SETUP_PYTHON_PIP_FALLBACK}`)" if mode == "pip" else ""
    line = step.input_line("cache-dependency-path") if explicit else cache.line
    message = (
        f"{where} sets `cache: {mode}` but no file matches {looked}{also}: "
        f"setup-python fails with 'No file ... matched'."
    )
    unit.broken[cache.pos] = f"setup-python's `cache: {mode}` finds no dependency file: it fails"
    files = _dependency_files(ctx, unit, mode)
    if files:
        snippet = _render_step(unit, step, {"cache-dependency-path": files})
        description = "Point `cache-dependency-path` at the files the job installs from."
    else:
        snippet = _render_step(unit, step, {}, remove=("cache", "cache-dependency-path"))
        description = (
            "The job installs from no dependency file: remove `cache:` (or cache "
            "with actions/cache keyed on a file that exists)."
        )
    out.add(
        RULES["CA102"].finding(
            _loc(step, line),
            message,
            subject=unit.subject(step, "cache"),
            fix=Fix(description, snippet),
        )
    )


def _ca504_entries(
    out: _Collector, unit: Unit, cache: CacheUse, input_name: str, matched: Mapping[str, list[str]]
) -> None:
    step = cache.step
    raw = step.inputs.get(input_name, "")
    base = (
        value_line(step.with_node, input_name)
        if step.with_node and input_name in step.with_node
        else step.line
    )
    block = "\n" in raw
    for offset, text in enumerate(raw.splitlines()):
        pat = text.strip()
        if not pat or pat not in matched or matched[pat] or _GLOB_CHARS.search(pat):
            continue
        line = base + offset if block else base
        message = (
            f"{unit.at(step)} lists `{pat}` in `{input_name}`, but that file does not "
            f"exist: the cache key silently ignores it."
        )
        rest = [p for p in _lines_of(raw) if p != pat]
        out.add(
            RULES["CA504"].finding(
                _loc(step, line),
                message,
                subject=unit.subject(step, f"{input_name}:{pat}"),
                fix=Fix(
                    "Correct the path to the file that exists, or remove the entry.",
                    _render_step(unit, step, {input_name: rest}) if rest else "",
                ),
            )
        )


def _dependency_files(ctx: RepoContext, unit: Unit, mode: str) -> list[str]:
    """Existing files the unit's installs for ``mode`` read (for cache-dependency-path)."""
    files: list[str] = []
    for install in unit.installs:
        if install.workdir is None or mode not in (install.cmd.cache_tool, install.cmd.tool):
            continue
        files.extend(_read_files(ctx, install))
    return list(dict.fromkeys(files))


def _rule_ca103(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    ctx = out.ctx
    step = cache.step
    manager = next(iter(cache.tools)) if cache.tools else None
    if manager is None:
        return
    state = _workspace(unit, cache.pos)
    if state == "unknown" or (state == "late" and cache.kind == "setup-node-auto"):
        return
    cdp = _lines_of(step.inputs.get("cache-dependency-path", ""))
    if any(_is_expr(p) or _unknowable(p) for p in cdp):
        return
    if cdp:
        matched = {p: _gh_glob(ctx, p) for p in cdp}
        if any(matched.values()):
            _ca504_entries(out, unit, cache, "cache-dependency-path", matched)
            return
        looked = ", ".join(f"`{p}`" for p in cdp)
    else:
        names = facts.SETUP_NODE_LOCKFILES[manager]
        if any(ctx.exists(n) for n in names):
            return
        looked = " or ".join(f"`{n}`" for n in names) + " at the repository root"
    if any(
        _maybe_generated(unit, cache.pos, p) for p in cdp or facts.SETUP_NODE_LOCKFILES[manager]
    ):
        return
    how = cache.what
    message = (
        f"{unit.at(step)} caches with {how} but finds no lock file ({looked}): "
        f"setup-node fails with 'Dependencies lock file is not found'."
    )
    unit.broken[cache.pos] = f"{how} finds no lock file: setup-node fails"
    if state == "late":
        message = (
            f"{unit.at(step)} caches with {how} before `actions/checkout` has run: "
            f"setup-node finds no lock file and fails."
        )
    candidates = [p for n in facts.SETUP_NODE_LOCKFILES[manager] for p in ctx.glob(f"**/{n}")]
    installs = any(i.cmd.tool == manager and i.registry for i in unit.installs)
    if candidates and state == "ok":
        snippet = _render_step(unit, step, {"cache-dependency-path": candidates[:3]})
        description = "Point `cache-dependency-path` at the lock file."
    elif cache.kind == "setup-node" and installs and state == "ok" and ctx.exists("package.json"):
        # setup-node hashes whatever files it is given: without a lock file, key the cache on
        # the manifest, so the job keeps its cache (removing `cache:` would be CA101).
        snippet = _render_step(unit, step, {"cache-dependency-path": ["package.json"]})
        description = (
            "Commit the lock file; until then, key the cache on package.json "
            "(`cache-dependency-path: package.json`) so the step stops failing."
        )
    elif cache.kind == "setup-node-auto":
        snippet = _render_step(unit, step, {"package-manager-cache": ["false"]})
        description = "Commit a lock file, or turn automatic caching off."
    else:
        snippet = _render_step(unit, step, {}, remove=("cache", "cache-dependency-path"))
        description = "Commit the lock file, or remove `cache:`."
    if state == "late":
        snippet = _checkout_first(unit, step)
        description = "Move `actions/checkout` before this step."
    out.add(
        RULES["CA103"].finding(
            _loc(step, cache.line),
            message,
            subject=unit.subject(step, "cache"),
            fix=Fix(description, snippet),
        )
    )

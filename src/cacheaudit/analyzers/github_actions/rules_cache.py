"""Rules on cache steps: the dispatch over a job's caches (the setup actions' caches and CA109
are judged in ``rules_setup``), the ``actions/cache`` key rules CA105-CA108 and CA113, and CA504
for the files those keys name that do not exist."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.caches import (
    _covers,
    _hashfiles_args,
    _key_pattern,
    _patterns_meet,
)
from cacheaudit.analyzers.github_actions.collector import _Collector, _loc
from cacheaudit.analyzers.github_actions.fixes import (
    _checkout_first,
    _default_key_glob,
    _new_cache_step,
    _read_files,
    _render_step,
)
from cacheaudit.analyzers.github_actions.model import (
    _EXPR,
    _GLOB_CHARS,
    _HASHFILES,
    _STRING,
    CacheUse,
    PathEntry,
    Unit,
    _fold,
    _gh_glob,
    _is_expr,
    _last_step,
    _lines_of,
    _unknowable,
    _workspace,
)
from cacheaudit.analyzers.github_actions.rules_setup import (
    _maybe_generated,
    _rule_ca102,
    _rule_ca103,
    _rule_ca109,
)
from cacheaudit.model import Fix
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

_CONTEXT_REF = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w*-]+|\[[^\]]*\])*")
_VOLATILE = (
    "github.sha",
    "github.run_id",
    "github.run_number",
    "github.run_attempt",
    "github.event.after",
    "github.event.pull_request.head.sha",
)
_STATIC_CONTEXT = re.compile(
    r"(runner\.(os|arch)|matrix\.[\w-]+|github\.(job|workflow|ref|ref_name|head_ref|base_ref|"
    r"repository|event_name|workflow_ref|ref_type)|env\.[\w-]+|steps\.[\w-]+\.outputs\."
    r"(python-version|node-version|uv-version|python-path))"
)
_EXPR_WORDS = frozenset({
    "true", "false", "null", "format", "join", "tojson", "fromjson", "contains", "startswith",
    "endswith", "always", "success", "failure", "cancelled", "hashfiles",
})  # fmt: skip
_OS_WORDS = re.compile(r"linux|ubuntu|macos|darwin|windows", re.I)
_NEVER_SAVED = "no step saves an entry this restore can find: it never hits"


def _key_kind(key: str, env: Mapping[str, str | None]) -> str:
    """``content`` (hashFiles), ``volatile`` (sha/run id), ``static``, or ``unknown``."""
    exprs = _EXPR.findall(key)
    if any(_HASHFILES.search(e) for e in exprs):
        return "content"
    kind = "static"
    for expr in exprs:
        if any(v in expr for v in _VOLATILE):
            return "volatile"
        body = _STRING.sub("", expr)
        for ref in _CONTEXT_REF.findall(body):
            if ref.lower() in _EXPR_WORDS:
                continue
            unknown_env = ref.startswith("env.") and _is_expr(env.get(ref[4:]))
            if not _STATIC_CONTEXT.fullmatch(ref) or unknown_env:
                kind = "unknown"
    return kind


def _rules_cache_steps(out: _Collector, unit: Unit) -> None:
    for cache in unit.caches:
        _rule_ca109(out, unit, cache)
        if cache.kind == "setup-python":
            _rule_ca102(out, unit, cache)
        elif cache.kind in ("setup-node", "setup-node-auto"):
            _rule_ca103(out, unit, cache)
        elif cache.kind in ("cache", "cache-restore", "cache-save"):
            _rules_actions_cache(out, unit, cache)


def _is_dependency_cache(cache: CacheUse) -> bool:
    return any(e.kinds for e in cache.entries)


def _rules_actions_cache(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    ctx = out.ctx
    step = cache.step
    key = step.inputs.get("key", "")
    restore_keys = step.inputs.get("restore-keys", "").strip()
    env = cache.eff.env
    kind = _key_kind(key, env)
    key_line_no = step.input_line("key")
    dependency = _is_dependency_cache(cache)
    envs = [e for e in cache.entries if e.kinds & {"python-env", "node-env"}]
    tools = sorted({k for e in cache.entries for k in e.kinds} - {"python-env", "node-env"})
    label = (
        tools[0]
        if tools
        else (
            "venv"
            if any("python-env" in e.kinds for e in envs)
            else "node-modules"
            if envs
            else "deps"
        )
    )
    # CA106 / CA504: hashFiles patterns that match nothing.
    calls = _hashfiles_args(key)
    state = _workspace(unit, cache.pos)
    if calls and state != "unknown":
        for args in calls:
            if args is None:
                continue
            positive = [p for p in args if not p.startswith("!")]
            if not positive or any(_unknowable(p) for p in positive):
                continue
            if any(_maybe_generated(unit, cache.pos, p) for p in positive):
                continue
            matched = {p: _gh_glob(ctx, p) for p in positive}
            if state == "late" and any(matched.values()):
                shown = ", ".join(f"'{p}'" for p in positive)
                message = (
                    f"{unit.at(step)} keys the cache on `hashFiles({shown})` before "
                    "`actions/checkout` has run: hashFiles returns an empty string and"
                    " the key is constant."
                )
                unit.broken[cache.pos] = (
                    "its key hashes files before the checkout: the key is constant, never refreshed"
                )
                out.add(
                    RULES["CA106"].finding(
                        _loc(step, key_line_no),
                        message,
                        subject=unit.subject(step, "key"),
                        fix=Fix(
                            "Move `actions/checkout` before this step.", _checkout_first(unit, step)
                        ),
                    )
                )
            elif not any(matched.values()):
                shown = ", ".join(f"'{p}'" for p in positive)
                message = (
                    f"{unit.at(step)} keys the cache on `hashFiles({shown})`, which "
                    "matches no file in the repository: hashFiles returns an empty "
                    "string, so the key is constant and never refreshes."
                )
                unit.broken[cache.pos] = (
                    f"its key hashes `{shown}`, which matches no file: constant, never refreshed"
                )
                files = _key_files(ctx, unit, cache)
                snippet = ""
                if files:
                    new_key = key.replace(
                        _hashfiles_call_text(key, args),
                        "hashFiles(" + ", ".join(f"'{f}'" for f in files) + ")",
                    )
                    snippet = _render_step(unit, step, {"key": [new_key]})
                out.add(
                    RULES["CA106"].finding(
                        _loc(step, key_line_no),
                        message,
                        subject=unit.subject(step, "key"),
                        fix=Fix(
                            "Change the `hashFiles()` pattern to the dependency files that exist.",
                            snippet,
                        ),
                    )
                )
            else:
                for pat, hits in matched.items():
                    if hits or _GLOB_CHARS.search(pat):
                        continue
                    message = (
                        f"{unit.at(step)} hashes `{pat}` in its cache key, but that "
                        "file does not exist: the key ignores it."
                    )
                    call = _hashfiles_call_text(key, args)
                    kept = ", ".join(f"'{a}'" for a in args if a != pat)
                    new_key = key.replace(call, f"hashFiles({kept})") if call else key
                    out.add(
                        RULES["CA504"].finding(
                            _loc(step, key_line_no),
                            message,
                            subject=unit.subject(step, f"hashFiles:{pat}"),
                            fix=Fix(
                                "Correct the path to the file that exists, or remove it.",
                                _render_step(unit, step, {"key": [new_key]}),
                            ),
                        )
                    )
    if cache.kind == "cache-save" or not dependency:
        return
    # CA105: keys that never refresh (static) or never hit (run-unique, no restore-keys).
    if kind == "static" or (kind == "volatile" and not restore_keys):
        why = (
            "is the same on every run, so the cache is saved once and never refreshed as "
            "dependencies change"
            if kind == "static"
            else "changes on every run, so it never hits"
        )
        message = (
            f"{unit.at(step)} caches {', '.join(f'`{e.raw}`' for e in cache.entries)} "
            f"under key `{_fold(key)}`, which hashes no lock or requirements file: it "
            f"{why}."
        )
        unit.broken.setdefault(
            cache.pos,
            f"its key `{_fold(key)}` "
            + ("never changes: saved once, never refreshed" if kind == "static" else "never hits"),
        )
        files = _key_files(ctx, unit, cache)
        pattern = ", ".join(f"'{f}'" for f in files) or _default_key_glob(label)
        new_key = f"${{{{ runner.os }}}}-{label}-${{{{ hashFiles({pattern}) }}}}"
        updates = {"key": [new_key]}
        if not restore_keys:
            updates["restore-keys"] = ["|", f"${{{{ runner.os }}}}-{label}-"]
        out.add(
            RULES["CA105"].finding(
                _loc(step, key_line_no),
                message,
                subject=unit.subject(step, "key"),
                fix=Fix(
                    "Key the cache on `runner.os` plus `hashFiles()` of the files the job "
                    "installs from, with a `restore-keys` prefix.",
                    _render_step(unit, step, updates),
                ),
            )
        )
    # CA107: installed environments keyed without the OS or the matrix runtime version.
    if envs and kind in ("content", "static"):
        _rule_ca107(out, unit, cache, envs, key, key_line_no)
    # CA108: node_modules.
    node = [e for e in cache.entries if "node-env" in e.kinds]
    bun = _node_manager(unit) == "npm" and any(i.cmd.tool == "bun" for i in unit.installs)
    if node and bun:
        message = (
            f"{unit.at(step)} caches `{node[0].raw}`: node_modules breaks across runtime "
            "versions and platforms; cache bun's download cache (~/.bun/install/cache) instead."
        )
        files = _key_files(ctx, unit, cache) or ["bun.lock"]
        out.add(
            RULES["CA108"].finding(
                _loc(step, node[0].line),
                message,
                subject=unit.subject(step, "node_modules"),
                fix=Fix(
                    "Cache `~/.bun/install/cache` keyed on the lock file instead of node_modules.",
                    _new_cache_step(unit, step, "bun", ["~/.bun/install/cache"], files),
                ),
            )
        )
    elif node:
        message = (
            f"{unit.at(step)} caches `{node[0].raw}`: node_modules breaks across Node "
            "versions and `npm ci` deletes it before installing; cache npm's download "
            "cache (~/.npm) instead."
        )
        setup = _last_step(unit, "setup-node", cache.pos)
        if setup is not None and "cache" not in setup.inputs:
            snippet = _render_step(unit, setup, {"cache": [_node_manager(unit)]})
            description = "Turn on setup-node's cache and drop the node_modules cache."
        else:
            snippet = _new_cache_step(
                unit, step, "npm", ["~/.npm"], _key_files(ctx, unit, cache) or ["package-lock.json"]
            )
            description = "Cache `~/.npm` keyed on the lock file instead of node_modules."
        out.add(
            RULES["CA108"].finding(
                _loc(step, node[0].line),
                message,
                subject=unit.subject(step, "node_modules"),
                fix=Fix(description, snippet),
            )
        )
    # CA113: a content-addressed download cache with no fallback.
    never_saved = unit.broken.get(cache.pos) == _NEVER_SAVED
    if kind == "content" and not restore_keys and not envs and cache.restores and not never_saved:
        prefix = _key_prefix(key)
        message = (
            f"{unit.at(step)} has a content-addressed key but no `restore-keys`: every "
            "change to the hashed files starts from an empty cache."
        )
        snippet = _render_step(
            unit, step, {"restore-keys": ["|", prefix or f"${{{{ runner.os }}}}-{label}-"]}
        )
        out.add(
            RULES["CA113"].finding(
                _loc(step, key_line_no),
                message,
                subject=unit.subject(step, "restore-keys"),
                fix=Fix("Add `restore-keys` with the key's prefix up to the hash.", snippet),
            )
        )


def _hashfiles_call_text(key: str, args: list[str]) -> str:
    for m in _HASHFILES.finditer(key):
        depth, pos = 1, m.end()
        while pos < len(key) and depth:
            depth += {"(": 1, ")": -1}.get(key[pos], 0)
            pos += 1
        text = key[m.start() : pos]
        if all(a in text for a in args):
            return text
    return ""


def _key_prefix(key: str) -> str:
    m = _HASHFILES.search(key)
    if not m:
        return ""
    start = key.rfind("${{", 0, m.start())
    return key[:start].strip() if start > 0 else ""


def _key_files(ctx: RepoContext, unit: Unit, cache: CacheUse) -> list[str]:
    """Files to hash for this cache: what the installs it covers read."""
    files: list[str] = []
    for install in unit.installs:
        if install.workdir is None or install.pos <= cache.pos:
            continue
        if _covers(cache, install):
            files.extend(_read_files(ctx, install))
    return _prefer_locks(list(dict.fromkeys(files)))


def _prefer_locks(files: list[str]) -> list[str]:
    """Drop manifests (package.json, pyproject.toml) when their lock file is listed: the lock
    decides what is downloaded."""
    from cacheaudit.discovery import LOCKFILE_NAMES

    locked_dirs = {posixpath.dirname(f) for f in files if posixpath.basename(f) in LOCKFILE_NAMES}
    return [
        f
        for f in files
        if not (
            posixpath.basename(f) in ("package.json", "pyproject.toml", "Pipfile")
            and posixpath.dirname(f) in locked_dirs
        )
    ]


def _rule_ca107(
    out: _Collector, unit: Unit, cache: CacheUse, envs: list[PathEntry], key: str, line: int
) -> None:
    job = unit.job
    if job is None:
        return
    missing: list[str] = []
    varies = job.oses is not None and len(job.oses) > 1
    os_marked = (
        "runner.os" in key
        or "env.ImageOS" in key
        or "pythonLocation" in key
        or any(f"matrix.{v}" in key for v in job.runs_on_vars)
        or bool(_OS_WORDS.search(_EXPR.sub("", key)))
    )
    if varies and not os_marked:
        missing.append("`runner.os`")
    kinds = {k for e in envs for k in e.kinds}
    for setup_kind, input_name, env_kind in (
        ("setup-python", "python-version", "python-env"),
        ("setup-node", "node-version", "node-env"),
        ("setup-uv", "python-version", "python-env"),
    ):
        if env_kind not in kinds:
            continue
        setup = _last_step(unit, setup_kind, cache.pos)
        if setup is None:
            continue
        m = re.search(r"matrix\.([\w-]+)", setup.inputs.get(input_name, ""))
        if not m:
            continue
        values = job.matrix.get(m.group(1), [])
        if values is not None and len(set(values)) < 2:
            continue
        var = m.group(1)
        output = f"outputs.{input_name}"
        if f"matrix.{var}" in key or output in key or "pythonLocation" in key:
            continue
        missing.append(f"`matrix.{var}`")
    if not missing:
        return
    step = cache.step
    message = (
        f"{unit.at(step)} caches the installed environment "
        f"{', '.join(f'`{e.raw}`' for e in envs)} under key `{_fold(key)}`, which omits "
        f"{' and '.join(missing)}: a job on another "
        f"{'OS or ' if '`runner.os`' in missing else ''}runtime version restores an "
        "environment built for a different runtime."
    )
    parts = [p.strip("`") for p in missing]
    prefix = "-".join(f"${{{{ {p} }}}}" for p in parts)
    updates: dict[str, list[str]] = {"key": [f"{prefix}-{key.strip()}"]}
    restore = _lines_of(step.inputs.get("restore-keys", ""))
    if restore:  # a prefix fallback must not cross runtimes either
        updates["restore-keys"] = ["|", *(f"{prefix}-{r}" for r in restore)]
    snippet = _render_step(unit, step, updates)
    out.add(
        RULES["CA107"].finding(
            _loc(step, line),
            message,
            subject=unit.subject(step, "key-runtime"),
            fix=Fix(
                "Add the OS and the runtime version to the key (or cache the download cache "
                "instead of the environment).",
                snippet,
            ),
        )
    )


def _node_manager(unit: Unit) -> str:
    tools = [i.cmd.tool for i in unit.installs if i.cmd.tool in facts.NODE_TOOLS]
    return tools[0] if tools else "npm"


@dataclass(frozen=True)
class _KeyedCache:
    unit: Unit
    cache: CacheUse
    key: str
    """The key as a wildcard pattern (see ``_key_pattern``)."""
    prefixes: tuple[str, ...]
    """``restore-keys`` as patterns that match any continuation."""
    paths: frozenset[str] | None
    """The ``path`` lines as written (an entry's version hashes them); None with expressions."""


def _keyed(unit: Unit, cache: CacheUse) -> _KeyedCache:
    step = cache.step
    resolve: dict[str, str] = {}
    for other in unit.caches:
        if other.kind in ("cache", "cache-restore") and other.step.id and other.pos < cache.pos:
            resolve[other.step.id] = _key_pattern(other.step.inputs.get("key", ""))
    raw_paths = _lines_of(step.inputs.get("path", ""))
    paths = None if any(_is_expr(p) or "$" in p for p in raw_paths) else frozenset(raw_paths)
    prefixes = tuple(_key_pattern(p) + "\0" for p in _lines_of(step.inputs.get("restore-keys", "")))
    return _KeyedCache(
        unit, cache, _key_pattern(step.inputs.get("key", ""), resolve), prefixes, paths
    )


def _may_restore(saved: _KeyedCache, restore: _KeyedCache) -> bool:
    """Whether an entry ``saved`` writes can be found by ``restore`` (same paths, and the key
    or a ``restore-keys`` prefix can match)."""
    if saved.paths is not None and restore.paths is not None and saved.paths != restore.paths:
        return False
    return any(_patterns_meet(saved.key, p) for p in (restore.key, *restore.prefixes))


def _rule_key_pairs(out: _Collector) -> None:
    """actions/cache/restore and actions/cache/save steps whose keys can never meet, across
    the repository (caches are shared by every workflow of a repository): a restore nothing
    saves for never hits; a save nothing restores is wasted (CA105)."""
    keyed = [
        _keyed(unit, cache)
        for unit in out.index.units
        for cache in unit.caches
        if cache.kind in ("cache", "cache-restore", "cache-save") and _is_dependency_cache(cache)
    ]
    savers = [k for k in keyed if k.cache.kind in ("cache", "cache-save")]
    restorers = [k for k in keyed if k.cache.kind in ("cache", "cache-restore")]
    for item in keyed:
        step, unit = item.cache.step, item.unit
        if item.cache.kind == "cache-restore":
            if any(_may_restore(s, item) for s in savers):
                continue
            others = sorted({_fold(s.cache.step.inputs.get("key", "")) for s in savers})
            seen = f" (saves use {', '.join(f'`{k}`' for k in others[:2])})" if others else ""
            message = (
                f"{unit.at(step)} restores key `{_fold(step.inputs.get('key', ''))}`, but no "
                f"step in the repository saves an entry it can find{seen}: the restore never "
                "hits and every run downloads everything again."
            )
            unit.broken[item.cache.pos] = _NEVER_SAVED
            fix = Fix(
                "Save with the key the restore computed (`key: ${{ steps.<restore id>.outputs."
                "cache-primary-key }}`) and the same `path`, in an actions/cache/save step "
                "after the install; or use actions/cache, which restores and saves.",
                "",
            )
            subject = "key-never-saved"
        elif item.cache.kind == "cache-save":
            if any(_may_restore(item, r) for r in restorers):
                continue
            message = (
                f"{unit.at(step)} saves key `{_fold(step.inputs.get('key', ''))}`, but no step "
                "in the repository restores that key or a prefix of it with the same `path`: "
                "the entry is never used."
            )
            fix = Fix(
                "Restore it before the install with actions/cache/restore, with the same "
                "`path` and a `key` (or `restore-keys` prefix) that matches the saved key.",
                "",
            )
            subject = "key-never-restored"
        else:
            continue
        out.add(
            RULES["CA105"].finding(
                _loc(step, step.input_line("key")),
                message,
                subject=unit.subject(step, subject),
                fix=fix,
            )
        )

"""Caches: what a step restores and saves (``CacheUse``), read from setup-python, setup-node and
setup-uv ``cache`` inputs, ``actions/cache`` and other cache actions; and whether a cache covers
an install (the tool's cache directory, or its environment directory)."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.model import (
    _EXPR,
    _GLOB_CHARS,
    _HASHFILES,
    _OUTPUT_ASSIGN,
    _STRING,
    CacheUse,
    EffStep,
    Install,
    PathEntry,
    Step,
    Unit,
    _gh_glob,
    _is_expr,
    _lines_of,
    _workspace,
)
from cacheaudit.parsing.shell import Command
from cacheaudit.parsing.yaml import value_line
from cacheaudit.paths import glob_regex
from cacheaudit.repo import RepoContext

_SUBSTITUTION = re.compile(r"\$\(\s*([^()]*?)\s*\)")
_SET_OUTPUT = re.compile(r"::set-output\s+name=([\w-]+)::(.*)$", re.S)
_WORKSPACE_PREFIXES = ("$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}", "<workspace>")


def _norm_path(
    raw: str, env: Mapping[str, str | None], outputs: Mapping[str, str], depth: int = 0
) -> str | None:
    """A cache path normalised for comparison; None when an expression hides it."""

    def expr(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if inner in ("github.workspace", "env.GITHUB_WORKSPACE"):
            return "<workspace>"
        if inner in ("env.pythonLocation", "env.pythonlocation"):
            return "<python-location>"
        if inner in ("env.HOME",):
            return "~"
        em = re.fullmatch(r"env\.([\w-]+)", inner)
        value = env.get(em.group(1)) if em else None
        if value is not None and depth < 3:
            resolved = _norm_path(value, env, outputs, depth + 1)
            return "\0" if resolved is None else resolved
        sm = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", inner)
        if sm and f"{sm.group(1)}.{sm.group(2)}" in outputs:
            return outputs[f"{sm.group(1)}.{sm.group(2)}"]
        return "\0"

    text = _EXPR.sub(expr, raw.strip())
    if "\0" in text:
        return None
    text = text.replace("\\", "/")
    for prefix in facts.RUNNER_HOMES:
        if text == prefix or text.startswith(prefix + "/"):
            text = "~" + text[len(prefix) :]
    for prefix in _WORKSPACE_PREFIXES:
        if text == prefix or text.startswith(prefix + "/"):
            text = "." + text[len(prefix) :]
    text = re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: _plain(env.get(m.group(1))), text)
    if "\0" in text:
        return None
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/") or "."


def _plain(value: str | None) -> str:
    """An env value usable inside a path, or the unknown marker."""
    return value if value and not _is_expr(value) and "$" not in value else "\0"


def _under(entry: str, directory: str) -> bool:
    """True when caching ``entry`` saves ``directory``."""
    entry, directory = entry.lower(), directory.lower()
    if _GLOB_CHARS.search(entry):
        return glob_regex(entry).match(directory) is not None
    return directory == entry or directory.startswith(entry.rstrip("/") + "/") or entry == "~"


def _overlaps(entry: str, directory: str) -> bool:
    """Caching ``entry`` saves ``directory`` or a part of it (``~/.cache/pip/wheels``)."""
    return _under(entry, directory) or _under(directory, entry)


def _entry_kinds(norm: str) -> frozenset[str]:
    kinds: set[str] = set()
    if norm.startswith("<tool-cache:"):
        kinds.add(norm[len("<tool-cache:") : -1])
    for tool, dirs in facts.TOOL_CACHE_DIRS.items():
        if any(_overlaps(norm, d) for d in dirs if not d.startswith("<")):
            kinds.add(tool)
    base = posixpath.basename(norm.rstrip("/*"))
    if base in facts.PYTHON_ENV_NAMES or "site-packages" in norm or norm == "<python-location>":
        kinds.add("python-env")
    if base in facts.NODE_ENV_NAMES or norm.endswith("node_modules"):
        kinds.add("node-env")
    return frozenset(kinds)


def _outputs(unit_steps: Sequence[EffStep], upto: int) -> dict[str, str]:
    """``id.output`` → ``<tool-cache:TOOL>`` for steps that print a tool's cache directory into
    ``$GITHUB_OUTPUT`` (or the old ``::set-output``)."""
    found: dict[str, str] = {}
    for eff in unit_steps[:upto]:
        step = eff.step
        if not step.id or step.run is None:
            continue
        for command in step.commands():
            for word in command.argv[1:] if command.program == "echo" else ():
                m = _SET_OUTPUT.search(word) or (
                    _OUTPUT_ASSIGN.match(word) if "GITHUB_OUTPUT" in command.text else None
                )
                if not m:
                    continue
                sub = _SUBSTITUTION.search(m.group(2))
                tool = facts.CACHE_DIR_COMMANDS.get(tuple(sub.group(1).split())) if sub else None
                if tool:
                    found[f"{step.id}.{m.group(1)}"] = f"<tool-cache:{tool}>"
    return found


def _hashfiles_args(key: str) -> list[list[str] | None]:
    """The string arguments of each ``hashFiles(...)`` in a key; None for a call whose arguments
    are not all string literals."""
    calls: list[list[str] | None] = []
    for m in _HASHFILES.finditer(key):
        depth, pos = 1, m.end()
        while pos < len(key) and depth:
            depth += {"(": 1, ")": -1}.get(key[pos], 0)
            pos += 1
        body = key[m.end() : pos - 1]
        args = [a.replace("''", "'") for a in _STRING.findall(body)]
        rest = _STRING.sub("", body).replace(",", "").strip()
        calls.append(args if args and not rest else None)
    return calls


class _UseFactory(Protocol):
    def __call__(
        self,
        tools: frozenset[str] | None,
        restores: bool | None,
        line: int,
        key_inputs: Sequence[str] = (),
        entries: tuple[PathEntry, ...] = (),
        what: str = "",
    ) -> CacheUse: ...


def _cache_of(ctx: RepoContext, unit: Unit, pos: int) -> CacheUse | None:
    eff = unit.steps[pos]
    step = eff.step
    spec = step.spec
    if spec is None or step.uses is None:
        return None
    inputs = step.inputs
    kind = spec.kind
    major = step.uses.major()

    def use(
        tools: frozenset[str] | None,
        restores: bool | None,
        line: int,
        key_inputs: Sequence[str] = (),
        entries: tuple[PathEntry, ...] = (),
        what: str = "",
    ) -> CacheUse:
        return CacheUse(pos, eff, kind, tools, restores, line, tuple(key_inputs), entries, what)

    if kind == "setup-python":
        value = inputs.get("cache", "").strip()
        if not value:
            return None
        line = step.input_line("cache")
        if _is_expr(value):
            return use(None, None, line, what=f"`cache: {value}` on setup-python")
        tools = facts.SETUP_PYTHON_COVERS.get(value)
        return use(
            tools,
            True if tools else None,
            line,
            _setup_python_globs(ctx, step, value),
            what=f"`cache: {value}` on setup-python",
        )
    if kind == "setup-node":
        return _setup_node_cache(ctx, unit, pos, use)
    if kind == "setup-uv":
        value = inputs.get("enable-cache", "").strip().lower()
        line = step.input_line("enable-cache")
        if _is_expr(value):
            return use(None, None, line, what="setup-uv's cache")
        default_on = spec.cache_default_on_from is not None and (
            major is None or major >= spec.cache_default_on_from
        )
        if value in ("", "auto") and default_on:
            on = {"github": True, "self": False, "ephemeral": False}.get(unit.runner)
        else:
            on = value == "true" or (value == "" and default_on)
        if on is False:
            return None
        globs = (
            _lines_of(inputs["cache-dependency-glob"])
            if "cache-dependency-glob" in inputs
            else list(facts.SETUP_UV_DEFAULT_GLOBS)
        )
        return use(frozenset({"uv"}) if on else None, on, line, globs, what="setup-uv's cache")
    if kind in ("setup-pdm", "micromamba"):
        value = inputs.get(spec.cache_input or "", "").strip().lower()
        tool = "pdm" if kind == "setup-pdm" else "conda"
        if _is_expr(value):
            return use(None, None, step.input_line(spec.cache_input or ""))
        if value != "true":
            return None
        return use(
            frozenset({tool}),
            True,
            step.input_line(spec.cache_input or ""),
            _lines_of(inputs.get("cache-dependency-path", ""))
            or (["pdm.lock"] if tool == "pdm" else []),
            what=f"the {tool} cache of {step.uses.name}",
        )
    if kind == "pre-commit":
        return use(
            frozenset({"pre-commit"}),
            True,
            step.line,
            [".pre-commit-config.yaml"],
            what="pre-commit/action's cache",
        )
    if kind == "apt-cache":
        return use(frozenset({"apt"}), True, step.line, what="cache-apt-pkgs-action")
    if kind in ("cache", "cache-restore", "cache-save"):
        return _actions_cache(unit, pos, use)
    if kind == "docker-build":
        sources = " ".join(_lines_of(inputs.get("cache-from", "")))
        if "type=gha" in sources:
            return use(
                frozenset(),
                True,
                step.input_line("cache-from"),
                what="the GitHub Actions layer cache (`cache-from: type=gha`)",
            )
        return None
    if kind == "other-cache":
        found = _other_cache(step, spec, major, use)
        if (
            found is not None
            and step.uses.name == "actions/setup-go"
            and "cache-dependency-path" not in inputs
            and _workspace(unit, pos) == "ok"
            and not ctx.exists("go.sum")
        ):
            # setup-go keys its cache on the root go.sum; without one it restores nothing
            # ("Restore cache failed: Dependencies file is not found", setup-go#427).
            return None
        return found
    return None


def _other_cache(
    step: Step, spec: facts.ActionSpec, major: int | None, use: _UseFactory
) -> CacheUse | None:
    """Caches of other ecosystems: only whether they restore matters."""
    result: CacheUse | None = None
    default_on = spec.cache_default_on_from is not None and (
        major is None or major >= spec.cache_default_on_from
    )
    if spec.opt_out_input and spec.opt_out_input in step.inputs:
        value = step.inputs[spec.opt_out_input].strip().lower()
        if _is_expr(value):
            return use(frozenset(), None, step.input_line(spec.opt_out_input))
        if value == "true":
            return None
    if spec.cache_input and spec.cache_input in step.inputs:
        value = step.inputs[spec.cache_input].strip()
        if _is_expr(value):
            return use(frozenset(), None, step.input_line(spec.cache_input))
        if value.lower() in ("", "false"):
            return None
        result = use(
            frozenset(),
            True,
            step.input_line(spec.cache_input),
            what=f"the cache of {step.uses.name if step.uses else 'the action'}",
        )
    elif default_on:
        name = step.uses.name if step.uses else "the action"
        result = use(
            frozenset(),
            True,
            step.line,
            what=facts.OTHER_CACHE_WHAT.get(name, f"the cache of {name}"),
        )
    return result


def _setup_python_globs(ctx: RepoContext, step: Step, mode: str) -> list[str]:
    if "cache-dependency-path" in step.inputs:
        patterns = _lines_of(step.inputs["cache-dependency-path"])
    else:
        patterns = list(facts.SETUP_PYTHON_DEFAULT_GLOBS.get(mode, ()))
    if mode == "pip" and not any(_gh_glob(ctx, p) for p in patterns):
        return [facts.SETUP_PYTHON_PIP_FALLBACK]
    return patterns


def _package_manager(ctx: RepoContext) -> str | None:
    """The package manager named by the root package.json (setup-node's auto caching)."""
    text = ctx.read_text("package.json")
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    names: list[str] = []
    dev = data.get("devEngines")
    dev_pm = dev.get("packageManager") if isinstance(dev, dict) else None
    for entry in dev_pm if isinstance(dev_pm, list) else [dev_pm] if dev_pm else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])
    if isinstance(data.get("packageManager"), str):
        names.append(data["packageManager"])
    for name in names:
        m = re.match(r"\^?(npm|yarn|pnpm)(@|$)", name.strip())
        if m:
            return m.group(1)
    return None


def _setup_node_cache(ctx: RepoContext, unit: Unit, pos: int, use: _UseFactory) -> CacheUse | None:
    step = unit.steps[pos].step
    value = step.inputs.get("cache", "").strip()
    cdp = _lines_of(step.inputs.get("cache-dependency-path", ""))
    if value:
        line = step.input_line("cache")
        if _is_expr(value):
            return use(None, None, line, what=f"`cache: {value}` on setup-node")
        lockfiles = cdp or _root_locks(ctx, value)
        return use(
            frozenset({value}), True, line, lockfiles, what=f"`cache: {value}` on setup-node"
        )
    major = step.uses.major() if step.uses else None
    if major is not None and major < 5:
        return None
    pmc = step.inputs.get("package-manager-cache", "").strip().lower()
    if pmc == "false":
        return None
    manager = _package_manager(ctx)
    if manager is None or _workspace(unit, pos) != "ok":
        return None
    allowed = facts.SETUP_NODE_AUTO_MANAGERS[min(max(major or 99, 5), 6)]
    if manager not in allowed:
        return None
    what = f"setup-node's automatic {manager} cache (package.json names {manager})"
    if _is_expr(pmc):
        return use(None, None, step.line, what=what)
    lockfiles = cdp or _root_locks(ctx, manager)
    return dataclasses.replace(
        use(frozenset({manager}), True, step.line, lockfiles, what=what), kind="setup-node-auto"
    )


def _root_locks(ctx: RepoContext, manager: str) -> list[str]:
    """The root lock files setup-node hashes for ``manager`` (all names when none exists)."""
    names = facts.SETUP_NODE_LOCKFILES.get(manager, ())
    return [n for n in names if ctx.exists(n)] or list(names)


def _actions_cache(unit: Unit, pos: int, use: _UseFactory) -> CacheUse:
    eff = unit.steps[pos]
    step = eff.step
    outputs = _outputs(unit.steps, pos)
    raw = step.inputs.get("path", "")
    entries: list[PathEntry] = []
    first = (
        value_line(step.with_node, "path")
        if step.with_node and "path" in step.with_node
        else step.line
    )
    block = "\n" in raw
    for offset, line_text in enumerate(raw.splitlines()):
        text = line_text.strip()
        if not text or text.startswith("!"):
            continue
        norm = _norm_path(text, eff.env, outputs)
        kinds = _entry_kinds(norm) if norm is not None else frozenset()
        entries.append(PathEntry(text, norm, first + offset if block else first, kinds))
    kind = step.spec.kind if step.spec else "cache"
    lookup = step.inputs.get("lookup-only", "").strip().lower()
    restores: bool | None = kind != "cache-save" and lookup != "true"
    if _is_expr(lookup) and kind != "cache-save":
        restores = None
    key = step.inputs.get("key", "")
    patterns = [p for call in _hashfiles_args(key) for p in (call or []) if not p.startswith("!")]
    what = (
        "actions/cache of " + ", ".join(f"`{e.raw}`" for e in entries)
        if entries
        else "actions/cache"
    )
    return use(frozenset(), restores, step.line, patterns, tuple(entries), what)


def _install_dirs(install: Install, tool: str) -> list[str] | None:
    """Where this install keeps ``tool``'s cache; None when an expression decides it."""
    for option, value in install.cmd.option_values:
        if option in facts.CACHE_DIR_OPTIONS.get(tool, ()):
            norm = _norm_path(value, install.env, {})
            return None if norm is None else [norm]
    for name in facts.CACHE_DIR_ENV.get(tool, ()):
        if name in install.env:
            setting = install.env[name]
            norm = _norm_path(setting, install.env, {}) if setting is not None else None
            return None if norm is None else [norm]
    return [*facts.TOOL_CACHE_DIRS.get(tool, ()), f"<tool-cache:{tool}>"]


def _covers(cache: CacheUse, install: Install) -> bool | None:
    """Whether restoring ``cache`` gives ``install`` its downloads (None: cannot tell)."""
    if cache.restores is False:
        return False
    if cache.kind not in ("cache", "cache-restore"):
        if cache.tools is None:
            return None
        return bool(cache.tools & install.keys) and (cache.restores or None)
    unknown = False
    for entry in cache.entries:
        if entry.norm is None:
            unknown = True
            continue
        if "python-env" in entry.kinds and install.keys & facts.PYTHON_ENV_TOOLS:
            return True
        if "node-env" in entry.kinds and install.keys & facts.NODE_ENV_TOOLS:
            return True
        for tool in install.keys:
            dirs = _install_dirs(install, tool)
            if dirs is None:
                unknown = unknown or not entry.kinds
                continue
            if any(_overlaps(entry.norm, d) for d in dirs):
                return True if cache.restores else None
    return None if unknown else False


def _coverage(unit: Unit, install: Install) -> tuple[bool | None, CacheUse | None, CacheUse | None]:
    """(covered?, the covering cache, a matching cache that only comes later)."""
    result: bool | None = False
    covering = later = None
    for cache in unit.caches:
        verdict = _covers(cache, install)
        if cache.pos >= install.pos:
            if verdict and later is None:
                later = cache
            continue
        if verdict:
            return True, cache, None
        if verdict is None:
            result = None
    return result, covering, later


def _cache_cleans(unit: Unit) -> list[tuple[int, Step, Command, str]]:
    """``(position, step, command, tool)`` of commands that empty a tool's download cache
    (``npm cache clean --force``, ``pip cache purge``, ``uv cache clean``)."""
    found: list[tuple[int, Step, Command, str]] = []
    for pos, eff in enumerate(unit.steps):
        if eff.step.run is None:
            continue
        for command in eff.step.commands():
            argv = list(command.argv)
            if (
                len(argv) >= 3
                and argv[1] == "-m"
                and re.fullmatch(r"python[\d.]*", command.program)
            ):
                argv = argv[2:]
            if not argv:
                continue
            program = argv[0].replace("\\", "/").rsplit("/", 1)[-1]
            words = (program, *(a for a in argv[1:] if not a.startswith("-")))
            tool = facts.CACHE_CLEAN_COMMANDS.get(words[:3])
            if tool is not None:
                found.append((pos, eff.step, command, tool))
    return found


def _key_pattern(key: str, resolve: Mapping[str, str] | None = None) -> str:
    """A cache key as a wildcard pattern: literal text, each expression ``*`` (a reference to a
    restore step's ``cache-primary-key`` output replaced by that step's own key pattern)."""

    def expr(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        ref = re.fullmatch(r"steps\.([\w-]+)\.outputs\.cache-primary-key", inner)
        if ref and resolve is not None and ref.group(1) in resolve:
            return resolve[ref.group(1)]
        return "\0"

    return _EXPR.sub(expr, key.strip()).replace("*", "\0")


def _patterns_meet(a: str, b: str) -> bool:
    """Whether some string matches both wildcard patterns (``\\0`` matches any text)."""
    if len(a) * len(b) > 250_000:
        return True  # too long to compare: assume they may meet
    n, m = len(a), len(b)
    # reach[i][j]: a[i:] and b[j:] can match a common string.
    reach = [[False] * (m + 1) for _ in range(n + 1)]
    reach[n][m] = True
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            ok = False
            if i < n and a[i] == "\0":
                ok = reach[i + 1][j] or (j < m and reach[i][j + 1])
            if not ok and j < m and b[j] == "\0":
                ok = reach[i][j + 1] or (i < n and reach[i + 1][j])
            if not ok and i < n and j < m and a[i] == b[j] and a[i] != "\0":
                ok = reach[i + 1][j + 1]
            reach[i][j] = ok
    return reach[0][0]

"""Rules on installs: CA101 (install without a cache, also for installs inside composite
actions, judged over every job that calls them), CA104 (cache defeated by a flag or env var) and
CA114 (apt-get install on every run)."""

from __future__ import annotations

import re
from typing import Any

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.caches import _coverage, _covers
from cacheaudit.analyzers.github_actions.collector import _Collector, _defeated_by, _loc, _site
from cacheaudit.analyzers.github_actions.fixes import (
    _fix_ca101,
    _key_indent,
    _setup_uv_snippet,
    _without_no_cache,
)
from cacheaudit.analyzers.github_actions.model import (
    CacheUse,
    Install,
    Step,
    Unit,
    _fold,
    _map,
    _own,
    _publishes,
    _release_reasons,
)
from cacheaudit.model import Fix, Location
from cacheaudit.parsing.yaml import key_line
from cacheaudit.rules import RULES


def _rules_install(out: _Collector, unit: Unit) -> None:
    ctx = out.ctx
    groups: dict[str, list[tuple[Install, bool | None, CacheUse | None, CacheUse | None]]] = {}
    pip_cache = [
        c
        for c in unit.caches
        if c.restores is not False
        and ((c.tools is not None and "pip" in c.tools) or any("pip" in e.kinds for e in c.entries))
    ]
    pip_users = False
    for install in unit.installs:
        covered, covering, later = _coverage(unit, install)
        if (
            install.cmd.cache_tool == "pip"
            and install.registry
            and covered
            and _defeated_by(install) is None
            and not _bootstrap_tools(install)
        ):
            pip_users = True
        groups.setdefault(install.cmd.cache_tool, []).append((install, covered, covering, later))
        if _own(unit, install.step):
            if install.registry:
                cached = (
                    None if unit.runner in ("self", "other", "unknown") and not covered else covered
                )
                if cached and _defeated_by(install):
                    cached = False  # the flag keeps pip from using the restored cache
                out.index.installs.append(_site(ctx, unit, install, cached, covering))
        elif install.registry and not unit.standalone:
            key = (install.path, install.line, _fold(install.cmd.command.text))
            out.composite_installs.setdefault(key, []).append((unit, install, covered))
    _rule_ca104(out, unit, pip_cache, pip_users)
    _rule_ca101(out, unit, groups, pip_cache, pip_users)
    _rule_ca114(out, unit)


def _rule_ca101(
    out: _Collector,
    unit: Unit,
    groups: dict[str, list[Any]],
    pip_cache: list[CacheUse],
    pip_users: bool,
) -> None:
    if unit.runner not in ("github", "ephemeral") or unit.standalone:
        return
    if _release_reasons(unit) or _publishes(unit) is not None:
        return  # a release job should build from a clean slate (CA110), not restore caches
    for tool, entries in groups.items():
        if tool not in facts.CA101_TOOLS and not any(
            i.cmd.tool in facts.CA101_TOOLS for i, *_ in entries
        ):
            continue
        if tool == "uv" and pip_cache and not pip_users:
            continue  # CA104 says it: the pip cache is configured but uv installs bypass it
        todo = [
            (i, c, cov, later)
            for i, c, cov, later in entries
            if i.registry and c is False and _own(unit, i.step) and not _cached_bootstrap(unit, i)
        ]
        if not todo or any(c is None for i, c, *_ in entries if i.registry):
            continue
        install, _, _, later = todo[0]
        others = [i for i, *_ in todo[1:]]
        extra = ""
        if others:
            shown = ", ".join(f"`{_fold(i.cmd.command.text)}`" for i in others[:2])
            more = f" and {len(others) - 2} more" if len(others) > 2 else ""
            extra = f" (then {shown}{more})"
        where = unit.at(install.step)
        detail = ""
        if later is not None:
            detail = (
                f" The {later.what} in {later.step.label} is restored only after this"
                " install, so it never helps it."
            )
        flag = _defeated_by(install)
        if flag:
            detail += f" It also sets {flag}: drop it when you add the cache."
        tool_name = {"pip": "pip"}.get(tool, tool)
        message = (
            f"{where} runs {install.described}{extra} but nothing in the job caches "
            f"{tool_name}'s downloads: every run downloads everything again.{detail}"
        )
        fix = _fix_ca101(out.ctx, unit, install, [i for i, *_ in todo])
        out.add(
            RULES["CA101"].finding(
                _loc(install.step, install.line, install.column),
                message,
                subject=f"{unit.scope(install.step)} / {tool_name}",
                fix=fix,
            )
        )


_TOOL_PACKAGES = {
    "pipenv": "pipenv",
    "poetry": "poetry",
    "uv": "uv",
    "pdm": "pdm",
    "tox": "tox",
    "nox": "nox",
    "hatch": "hatch",
    "pre-commit": "pre-commit",
}


def _bootstrap_tools(install: Install) -> frozenset[str]:
    """The installers ``pip install poetry uv`` installs (empty for any other install)."""
    if install.cmd.requirement_files or not install.cmd.packages:
        return frozenset()
    names = {re.split(r"[<>=!~\[;@ ]", p, maxsplit=1)[0].lower() for p in install.cmd.packages}
    tools = {_TOOL_PACKAGES.get(n) for n in names}
    return frozenset() if None in tools else frozenset(t for t in tools if t)


def _cached_bootstrap(unit: Unit, install: Install) -> bool:
    """``pip install poetry`` in a job whose poetry installs are cached: installing the
    installer itself is a few kilobytes, not the dependencies the cache is for."""
    tools = _bootstrap_tools(install)
    return bool(tools) and all(
        any(i.cmd.tool == tool and _coverage(unit, i)[0] for i in unit.installs) for tool in tools
    )


def _composite_ca101(out: _Collector) -> None:
    """An install inside a composite: reported once, in the composite, when some job that calls
    it has no cache for it."""
    for (path, line, _), occurrences in sorted(out.composite_installs.items()):
        bare = [
            (u, i)
            for u, i, c in occurrences
            if c is False
            and u.runner in ("github", "ephemeral")
            and not _release_reasons(u)
            and _publishes(u) is None
        ]
        if not bare or any(c is None for _, _, c in occurrences):
            continue
        unit, install = bare[0]
        if install.cmd.tool not in facts.CA101_TOOLS:
            continue
        callers = sorted({u.where for u, _ in bare})
        shown = ", ".join(callers[:3]) + (
            f" and {len(callers) - 3} more" if len(callers) > 3 else ""
        )
        jobs = "the calling job has" if len(callers) == 1 else "the calling jobs have"
        message = (
            f"action {path} / {install.step.label} runs {install.described}, and {jobs} "
            f"no cache for {install.cmd.cache_tool}'s downloads ({shown}): every run "
            "downloads everything again."
        )
        fix = _fix_ca101(out.ctx, unit, install, [install])
        out.add(
            RULES["CA101"].finding(
                Location(path, line, install.column),
                message,
                subject=f"action / step {install.step.ident} / {install.cmd.cache_tool}",
                fix=fix,
            )
        )
    # InstallSites of composite installs: once each, cached only when every caller agrees.
    for _, occurrences in sorted(out.composite_installs.items()):
        verdicts = {c for _, _, c in occurrences}
        cached = verdicts.pop() if len(verdicts) == 1 else None
        unit, install, _ = occurrences[0]
        covering = _coverage(unit, install)[1]
        out.index.installs.append(_site(out.ctx, unit, install, cached, covering))


def _rule_ca104(out: _Collector, unit: Unit, pip_cache: list[CacheUse], pip_users: bool) -> None:
    if not pip_cache:
        return
    cache = pip_cache[0]
    for install in unit.installs:
        if not install.registry:
            continue
        reason = _defeated_by(install)
        if reason is not None:
            line, column = install.line, install.column
            env_line = (
                _env_line(unit, install.step, "PIP_NO_CACHE_DIR") if "in env" in reason else None
            )
            fix = Fix(
                "Drop the flag: the job caches pip's downloads, so they no longer need "
                "to be kept out of the way.",
                _without_no_cache(install),
            )
            if env_line is not None:
                line, column = env_line, None
                reason = f"`PIP_NO_CACHE_DIR` set in env (line {env_line})"
                fix = Fix(
                    "Delete `PIP_NO_CACHE_DIR` from env: pip reads any value, even "
                    '`false` or `0`, as "no cache".',
                    "",
                )
            message = (
                f"{unit.at(install.step)} runs {install.described} with {reason}, so pip"
                f" writes nothing to the cache configured by {cache.what} in "
                f"{cache.step.label}: the cache saves an empty directory."
            )
            out.add(
                RULES["CA104"].finding(
                    Location(install.path, line, column),
                    message,
                    subject=f"{unit.subject(install.step)} / pip-cache-defeated",
                    fix=fix,
                )
            )
            return
        if install.cmd.tool == "uv" and not pip_users:
            covered = any(_covers(c, install) for c in unit.caches if c.pos < install.pos)
            if covered:
                continue
            message = (
                f"{unit.at(install.step)} installs with {install.described}, which uses"
                f" uv's cache, not pip's: the pip cache configured by {cache.what} in "
                f"{cache.step.label} saves an empty directory and uv downloads everything"
                " on every run."
            )
            fix = Fix(
                "Cache uv's directory instead: use astral-sh/setup-uv with "
                "`enable-cache: true` (and drop the pip cache).",
                _setup_uv_snippet(unit),
            )
            out.add(
                RULES["CA104"].finding(
                    _loc(install.step, install.line, install.column),
                    message,
                    subject=f"{unit.subject(install.step)} / uv-bypasses-pip-cache",
                    fix=fix,
                )
            )
            return


def _env_line(unit: Unit, step: Step, name: str) -> int | None:
    """The line in this unit's file where env var ``name`` is set for ``step``."""
    nodes: list[Any] = [step.node.get("env")]
    if unit.job is not None and _own(unit, step):
        nodes += [unit.job.node.get("env"), _map(unit.doc.root).get("env")]
    for node in nodes:
        if isinstance(node, dict) and name in node:
            return key_line(node, name)
    return None


def _rule_ca114(out: _Collector, unit: Unit) -> None:
    apt = [
        i for i in unit.installs if i.cmd.tool == "apt" and i.cmd.action == "install" and i.registry
    ]
    if not apt or unit.runner not in ("github", "ephemeral"):
        return  # a persistent self-hosted machine keeps what apt installed
    if any(c.tools and "apt" in c.tools for c in unit.caches) or any(
        "apt" in e.kinds for c in unit.caches for e in c.entries
    ):
        return
    for path in sorted({i.path for i in apt}):
        first = next(i for i in apt if i.path == path)
        packages = (
            " ".join(dict.fromkeys(p for i in apt if i.path == path for p in i.cmd.packages))
            or "the packages"
        )
        where = (
            unit.at(first.step) if path == unit.doc.path else f"action {path} / {first.step.label}"
        )
        message = (
            f"{where} runs {first.described} on every run: apt downloads and installs "
            f"{packages} each time."
        )
        snippet = ""
        if unit.job is not None and path == unit.doc.path:
            indent = " " * (_key_indent(unit.doc, unit.job.node) or 4)
            snippet = (
                f"{indent}# an image built once with: apt-get install -y {packages}\n"
                f"{indent}container: ghcr.io/OWNER/ci-image:latest"
            )
        fix = Fix(
            "Run the job in a container image that already has these packages "
            "(`container:`), or drop the ones the runner image already ships.",
            snippet,
        )
        subject = (
            f"{unit.scope(first.step)} / apt"
            if path == unit.doc.path
            else f"action / step {first.step.ident} / apt"
        )
        out.add(
            RULES["CA114"].finding(
                Location(path, first.line, first.column), message, subject=subject, fix=fix
            )
        )

"""Rules on installs: CA101 (install without a cache, also for installs inside composite
actions, judged over every job that calls them), CA104 (cache defeated by a flag or env var) and
CA114 (apt-get install on every run)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.caches import _cache_cleans, _coverage, _covers
from cacheaudit.analyzers.github_actions.collector import (
    _broken_version,
    _Collector,
    _defeated_by,
    _loc,
    _site,
)
from cacheaudit.analyzers.github_actions.fixes import (
    _fix_ca101,
    _key_indent,
    _setup_uv_snippet,
    _without_no_cache,
)
from cacheaudit.analyzers.github_actions.installs import _column
from cacheaudit.analyzers.github_actions.model import (
    CacheUse,
    Install,
    Step,
    Unit,
    Verdict,
    _fold,
    _map,
    _own,
    _release_job,
)
from cacheaudit.model import CacheState, Fix, Location
from cacheaudit.parsing.yaml import key_line
from cacheaudit.rules import RULES


def _verdict(unit: Unit, install: Install, pip_cache: list[CacheUse]) -> Verdict:
    """The true cache state of one install in one job (RULES CA101; the install map)."""
    covered, covering, later = _coverage(unit, install)
    if covered and covering is not None:
        why = unit.broken.get(covering.pos)
        if why is None and _broken_version(covering.step):
            why = f"{covering.step.uses.raw if covering.step.uses else 'the action'} fails"
        if why is not None:
            return Verdict(CacheState.BROKEN, why, covering)
        flag = _defeated_by(install)
        if flag is not None:
            return Verdict(
                CacheState.BROKEN,
                f"{flag} keeps pip from reading and writing the cache {covering.what} restores",
                covering,
            )
        for pos, step, command, tool in _cache_cleans(unit):
            if pos >= covering.pos and tool in install.keys:
                return Verdict(
                    CacheState.BROKEN,
                    f"`{_fold(command.text)}` in {step.label} empties the cache that "
                    f"{covering.what} restores",
                    covering,
                )
        return Verdict(CacheState.EFFECTIVE, "", covering)
    if unit.standalone:
        return Verdict(
            CacheState.UNKNOWN,
            "a composite action with no caller in this repository: its callers' caches are unknown",
        )
    runner = {
        "self": "it runs on a self-hosted runner, whose local caches persist between jobs",
        "other": "it runs on custom runner labels (self-hosted or larger runners)",
        "unknown": "its runner is chosen by an expression",
    }.get(unit.runner)
    if runner is not None:
        return Verdict(CacheState.UNKNOWN, runner)
    if covered is None:
        culprit = next(
            (c for c in unit.caches if c.pos < install.pos and _covers(c, install) is None), None
        )
        what = f"{culprit.what or 'the cache'} in {culprit.step.label}" if culprit else "a cache"
        return Verdict(CacheState.UNKNOWN, f"whether {what} covers it is decided by an expression")
    if later is not None:
        return Verdict(
            CacheState.BROKEN,
            f"{later.what} in {later.step.label} is restored only after this install",
            later=later,
        )
    if install.cmd.tool == "uv" and pip_cache:
        return Verdict(
            CacheState.BROKEN,
            f"the job caches pip's directory ({pip_cache[0].what}), but uv keeps its own cache",
        )
    warms = _warmer(unit, install)
    if warms is not None:
        return Verdict(
            CacheState.MISSING,
            f"the job fills {warms.what} for other jobs ({warms.step.label} saves it)",
            warms=warms,
        )
    return Verdict(CacheState.MISSING)


def _warmer(unit: Unit, install: Install) -> CacheUse | None:
    """A later save-only cache step (``actions/cache/save``) of this tool's directory."""
    for cache in unit.caches:
        if cache.pos <= install.pos or cache.kind != "cache-save":
            continue
        if _covers(dataclasses.replace(cache, kind="cache", restores=True), install):
            return cache
    return None


def _rules_install(out: _Collector, unit: Unit) -> None:
    ctx = out.ctx
    groups: dict[str, list[tuple[Install, Verdict]]] = {}
    pip_cache = [
        c
        for c in unit.caches
        if c.restores is not False
        and ((c.tools is not None and "pip" in c.tools) or any("pip" in e.kinds for e in c.entries))
    ]
    pip_users = False
    for install in unit.installs:
        verdict = _verdict(unit, install, pip_cache)
        if (
            install.cmd.cache_tool == "pip"
            and install.registry
            and verdict.covering is not None
            and _defeated_by(install) is None
            and not _is_bootstrap(install)
        ):
            pip_users = True
        groups.setdefault(install.cmd.cache_tool, []).append((install, verdict))
        if not install.registry:
            continue
        if _own(unit, install.step):
            out.index.installs.append(_site(ctx, unit, install, verdict))
        elif not unit.standalone:
            key = (install.path, install.line, _fold(install.cmd.command.text))
            out.composite_installs.setdefault(key, []).append((unit, install, verdict))
    _rule_ca104(out, unit, pip_cache, pip_users)
    _rule_ca104_clean(out, unit, [v for entries in groups.values() for _, v in entries])
    _rule_ca101(out, unit, groups, pip_cache, pip_users)
    _rule_ca114(out, unit)


def _rule_ca101(
    out: _Collector,
    unit: Unit,
    groups: dict[str, list[tuple[Install, Verdict]]],
    pip_cache: list[CacheUse],
    pip_users: bool,
) -> None:
    if unit.runner not in ("github", "ephemeral") or unit.standalone or _release_job(unit):
        return
    for tool, entries in groups.items():
        if tool not in facts.CA101_TOOLS and not any(
            i.cmd.tool in facts.CA101_TOOLS for i, _ in entries
        ):
            continue
        # Only definitely uncached installs: one whose coverage is unknown is left out, and
        # does not silence the others. uv's own installs beside a pip cache are CA104's (the pip
        # cache is configured but uv bypasses it); tox/nox building envs with uv are not.
        ca104 = tool == "uv" and bool(pip_cache) and not pip_users
        todo = [
            i
            for i, v in entries
            if i.registry
            and _own(unit, i.step)
            and (v.state is CacheState.MISSING or v.later is not None)
            and v.warms is None
            and not (ca104 and i.cmd.tool == "uv")
        ]
        if not todo or all(_is_bootstrap(i) for i in todo):
            continue
        install = _main_install(todo)
        others = [i for i in todo if i is not install and not _is_bootstrap(i)]
        later = next(v.later for i, v in entries if i is install)
        extra = ""
        if others:
            shown = ", ".join(f"`{_fold(i.cmd.command.text)}`" for i in others[:2])
            more = f" and {len(others) - 2} more" if len(others) > 2 else ""
            extra = f" (with {shown}{more})"
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
        message = (
            f"{where} runs {install.described}{extra} but nothing in the job caches "
            f"{tool}'s downloads: every run downloads everything again.{detail}"
        )
        fix = _fix_ca101(out.ctx, unit, install, [install, *others])
        out.add(
            RULES["CA101"].finding(
                _loc(install.step, install.line, install.column),
                message,
                subject=f"{unit.scope(install.step)} / {tool}",
                fix=fix,
            )
        )


def _package_names(install: Install) -> set[str]:
    return {re.split(r"[<>=!~\[;@ ]", p, maxsplit=1)[0].lower() for p in install.cmd.packages}


def _is_bootstrap(install: Install) -> bool:
    """An install of installers or build tools only (``pip install -U pip build``, ``pip
    install tox``, ``npm i -g pnpm``, ``uv tool install ruff``): not the dependency set."""
    cmd = install.cmd
    if cmd.requirement_files or cmd.local_targets:
        return False
    if cmd.groups and install.group_packages is None:
        return False
    if cmd.tool == "uv" and cmd.action == "tool install":
        return True
    # `pip install --group tox` of a group holding only tox is the tox bootstrap
    names = _package_names(install) | (install.group_packages or frozenset())
    if cmd.tool in facts.NODE_ENV_TOOLS and ("-g" in cmd.options or "--global" in cmd.options):
        return bool(names)
    return bool(names) and names <= facts.BOOTSTRAP_PACKAGES


def _rank(install: Install) -> int:
    """How surely an install is the job's dependency set: 2 for installs from files, groups,
    the project or a lock (``-r requirements.txt``, ``pip install -e .[test]``, ``uv sync``,
    ``npm ci``) and environment runners (tox, nox); 1 for packages named on the command line;
    0 for bootstraps."""
    cmd = install.cmd
    if _is_bootstrap(install):
        return 0
    if cmd.requirement_files or cmd.groups or cmd.local_targets:
        return 2
    if cmd.tool in ("tox", "nox", "hatch", "pre-commit"):
        return 2
    if not cmd.packages:
        return 2  # uv sync, poetry install, npm ci, yarn: the lock or manifest
    return 1


def _main_install(installs: list[Install]) -> Install:
    """The install CA101 points at: the first of the highest rank."""
    best = max(_rank(i) for i in installs)
    return next(i for i in installs if _rank(i) == best)


def _composite_ca101(out: _Collector) -> None:
    """An install inside a composite: reported once, in the composite, when some job that calls
    it has no cache for it; recorded as an install site once per calling job."""
    by_tool: dict[tuple[str, str], list[tuple[Unit, Install]]] = {}
    for (path, _, _), occurrences in sorted(out.composite_installs.items()):
        for u, i, v in occurrences:
            if (
                v.state is CacheState.MISSING
                and u.runner in ("github", "ephemeral")
                and not _release_job(u)
                and i.cmd.tool in facts.CA101_TOOLS
            ):
                by_tool.setdefault((path, i.cmd.cache_tool), []).append((u, i))
    for (path, tool), bare in sorted(by_tool.items()):
        installs = list({id(i.cmd): i for _, i in bare}.values())
        if all(_is_bootstrap(i) for i in installs):
            continue
        install = _main_install(installs)
        unit = next(u for u, i in bare if i is install)
        others = [
            i for i in installs if _fold(i.cmd.command.text) != _fold(install.cmd.command.text)
        ]
        extra = f" (with `{_fold(others[0].cmd.command.text)}`" if others else ""
        extra += f" and {len(others) - 1} more)" if len(others) > 1 else (")" if others else "")
        callers = sorted({u.where for u, _ in bare})
        shown = ", ".join(callers[:3]) + (
            f" and {len(callers) - 3} more" if len(callers) > 3 else ""
        )
        jobs = "the calling job has" if len(callers) == 1 else "the calling jobs have"
        message = (
            f"action {path} / {install.step.label} runs {install.described}{extra}, and {jobs} "
            f"no cache for {tool}'s downloads ({shown}): every run downloads everything again."
        )
        fix = _fix_ca101(out.ctx, unit, install, [install, *others])
        out.add(
            RULES["CA101"].finding(
                Location(path, install.line, install.column),
                message,
                subject=f"action / {tool}",
                fix=fix,
            )
        )
    for _, occurrences in sorted(out.composite_installs.items()):
        for unit, install, verdict in occurrences:
            out.index.installs.append(_site(out.ctx, unit, install, verdict))


def _rule_ca104_clean(out: _Collector, unit: Unit, verdicts: list[Verdict]) -> None:
    """A command that empties the download cache after the job restored it."""
    for verdict in verdicts:
        covering = verdict.covering
        if verdict.state is not CacheState.BROKEN or covering is None:
            continue
        for pos, step, command, tool in _cache_cleans(unit):
            if pos < covering.pos or f"`{_fold(command.text)}` in {step.label}" not in (
                verdict.reason
            ):
                continue
            message = (
                f"{unit.at(step)} runs `{_fold(command.text)}` after {covering.what} in "
                f"{covering.step.label} restored {tool}'s cache: it empties the cache, so the "
                "installs download everything and the job saves an empty cache."
            )
            out.add(
                RULES["CA104"].finding(
                    _loc(step, command.line, _column(step.doc, command)),
                    message,
                    subject=f"{unit.subject(step)} / {tool}-cache-cleaned",
                    fix=Fix(
                        f"Delete `{_fold(command.text)}`: the cache is keyed on the lock file, "
                        "so a stale entry is replaced when the dependencies change.",
                        "",
                    ),
                )
            )


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

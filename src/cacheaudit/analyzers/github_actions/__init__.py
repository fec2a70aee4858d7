"""GitHub Actions: workflows (``.github/workflows/*.yml``) and composite actions (``action.yml``).

Rules CA101–CA114, plus CA504 for files named by cache inputs (``cache-dependency-path``,
``hashFiles``); missing ``-r`` files of installs are reported by ``cross`` from the install sites.

How it works. Every workflow job is expanded into a *unit*: its steps in order, with the steps of
local composite actions (``uses: ./path``) spliced in where they are called, each with the env
and working directory it runs with. The caches a unit restores and the installs it runs are then
read from that list, so a composite that sets up ``cache: pip`` covers the installs after it, and
an install inside a composite is judged with each job that calls it. Units are built once per
run (``ctx.memo``) and every file takes the findings located in it: an install inside a composite
is reported in the composite, once, however many jobs call it.

Precision first: an input set by an expression ``${{ ... }}`` is unknown, and a rule that
depends on it stays silent; so do rules that depend on files when the job checks out somewhere
else, and install rules on self-hosted runners (whose local caches persist between jobs).

Modules, in import order (each imports only the ones before it):

- ``actions``: the facts table (known actions, their cache inputs and defaults, tool cache dirs).
- ``model``: the parsed model (``Doc``, ``Job``, ``Step``, ``Unit``, ``Index``...), small
  helpers, and what a unit's steps tell the rules (workspace state, publishing).
- ``parse``: files into the model: steps, jobs, runners, triggers, composite expansion.
- ``caches``: what each step caches (``CacheUse``) and which cache covers which install.
- ``installs``: the installs a step runs (``Install``), following local scripts.
- ``compose``: what the compose/bake files of a ``docker compose build`` or ``docker buildx
  bake`` build, and whether they configure a layer cache.
- ``collector``: where findings and install sites are recorded.
- ``fixes``: the YAML snippets offered as fixes.
- ``rules_install``, ``rules_setup`` (the setup actions' caches, cache action versions),
  ``rules_cache`` (``actions/cache`` keys), ``rules_job``: the rules.
- this module: building the index once per run, running the rules, and ``analyze``.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re

from cacheaudit.analyzers.github_actions.caches import _cache_of
from cacheaudit.analyzers.github_actions.caches import _hashfiles_args as _hashfiles_args
from cacheaudit.analyzers.github_actions.collector import _Collector
from cacheaudit.analyzers.github_actions.installs import _run_installs, _script_publishes
from cacheaudit.analyzers.github_actions.model import _OUTPUT_ASSIGN, EffStep, Index, Unit, _map
from cacheaudit.analyzers.github_actions.parse import (
    _composite,
    _doc,
    _effective_triggers,
    _expand,
    _jobs_cached,
)
from cacheaudit.analyzers.github_actions.rules_cache import _key_kind as _key_kind
from cacheaudit.analyzers.github_actions.rules_cache import _rule_key_pairs, _rules_cache_steps
from cacheaudit.analyzers.github_actions.rules_install import _composite_ca101, _rules_install
from cacheaudit.analyzers.github_actions.rules_job import (
    _record_builds,
    _rule_ca110,
    _rule_ca111,
    _rule_ca112,
)
from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.model import Analysis
from cacheaudit.repo import RepoContext

_GITHUB_ENV_UNKNOWN = "${{ github-env }}"
"""A value written to ``$GITHUB_ENV`` that cacheaudit cannot read (an expansion)."""


def _with_github_env(steps: list[EffStep]) -> list[EffStep]:
    """Env vars an earlier step writes to ``$GITHUB_ENV`` (``echo "PIP_CACHE_DIR=..." >>
    "$GITHUB_ENV"``) hold for the steps after it; a step's own ``env:`` still wins."""
    written: dict[str, str | None] = {}
    out: list[EffStep] = []
    for eff in steps:
        if written:
            eff = dataclasses.replace(eff, env={**written, **eff.env})
        out.append(eff)
        for command in eff.step.commands():
            if "GITHUB_ENV" not in command.text or command.program not in ("echo", "printf"):
                continue
            for word in command.argv[1:]:
                m = _OUTPUT_ASSIGN.match(word)
                if m and re.fullmatch(r"[A-Za-z_]\w*", m.group(1)):
                    value = m.group(2)
                    written[m.group(1)] = _GITHUB_ENV_UNKNOWN if "$" in value else value
    return out


def _build_unit(ctx: RepoContext, unit: Unit) -> Unit:
    unit.steps = _with_github_env(unit.steps)
    for pos in range(len(unit.steps)):
        cache = _cache_of(ctx, unit, pos)
        if cache is not None:
            unit.caches.append(cache)
        unit.installs.extend(_run_installs(ctx, unit.steps[pos], pos))
        publishes = _script_publishes(ctx, unit.steps[pos])
        if publishes is not None:
            unit.publishes[pos] = publishes
    return unit


def _index(ctx: RepoContext) -> Index:
    return ctx.memo("gha", "index", lambda: _build_index(ctx))


def _by_path(ctx: RepoContext, index: Index) -> dict[str, Analysis]:
    """The index's findings, installs and builds grouped by file, once (not a scan per file)."""

    def compute() -> dict[str, Analysis]:
        grouped: dict[str, Analysis] = {}
        for finding in index.findings:
            grouped.setdefault(finding.location.path, Analysis()).findings.append(finding)
        for install in index.installs:
            grouped.setdefault(install.location.path, Analysis()).installs.append(install)
        for build in index.builds:
            grouped.setdefault(build.location.path, Analysis()).builds.append(build)
        return grouped

    return ctx.memo("gha", "by-path", compute)


def _build_index(ctx: RepoContext) -> Index:
    index = Index()
    for source in ctx.indexed_workflows():
        doc = _doc(ctx, source.path)
        if doc is not None and doc.root is not None:
            index.docs[doc.path] = doc
    for path in sorted(p for p, d in index.docs.items() if not d.is_action):
        doc = index.docs[path]
        triggers = _effective_triggers(index, path)
        for job in _jobs_cached(doc):
            if job.calls is not None or not job.steps:
                continue
            steps = _expand(ctx, index, job.steps, job.env, job.workdir, None, ())
            index.units.append(_build_unit(ctx, Unit(doc, job, steps, triggers)))
    called = {eff.step.doc.path for unit in index.units for eff in unit.steps}
    for source in ctx.files_of(FileKind.COMPOSITE_ACTION):
        if source.path in called:
            continue
        found = _composite(ctx, index, posixpath.dirname(source.path))
        if found is None:
            continue
        doc, own_steps = found
        effs = _expand(ctx, index, own_steps, {}, "", None, (doc.path,))
        index.units.append(_build_unit(ctx, Unit(doc, None, effs, None, standalone=True)))
    _evaluate(ctx, index)
    return index


def _evaluate(ctx: RepoContext, index: Index) -> None:
    out = _Collector(ctx, index)
    # Cache rules first: they record the caches that never serve (Unit.broken), which the
    # install rules read to give each install its true state.
    _rule_key_pairs(out)
    for unit in index.units:
        _rules_cache_steps(out, unit)
    for unit in index.units:
        _rules_install(out, unit)
        _rule_ca110(out, unit)
        _rule_ca111(out, unit)
        _record_builds(out, unit)
    _rule_ca112(out)
    _composite_ca101(out)


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    """Findings and install sites located in ``file`` (a workflow or an ``action.yml``)."""
    doc = _doc(ctx, file.path)
    if doc is None:
        return Analysis()
    if doc.error is not None:
        return Analysis(findings=[doc.error])
    if file.kind is FileKind.COMPOSITE_ACTION:
        runs = _map(_map(doc.root).get("runs"))
        if str(runs.get("using", "")).strip().lower() != "composite":
            return Analysis()
    index = _index(ctx)
    return _by_path(ctx, index).get(file.path, Analysis())

"""Named-file runs (pre-commit): which files' analysis can change what is reported on the named
files, so the others are never read or parsed.

A full audit runs every per-file analyzer on every file and keeps what is located in the named
files. A named-file run gets the same report by analysing only:

- a Dockerfile: itself, plus the CI files that may build it (their ``ImageBuild`` records give
  its runs per pipeline). A build names the Dockerfile's directory somewhere in the text it is
  computed from (the workflow and its local composite actions, the GitLab pipeline's files and
  the scripts they run), since a normalised path is made only of components written somewhere;
  files that cannot build it are skipped by that text test. Compose and bake files name the
  Dockerfiles themselves, so a workflow running compose or bake is always kept.
- a GitLab CI file: every pipeline whose files include it (the analyzer's own resolution).
- a workflow: itself (and, for a reusable workflow, the workflows that call it, found by its
  file name). Whether any other workflow warms a shared cache (CA112, for a workflow run only
  on pull requests) is answered before the analysis by indexing the other workflows one at a
  time until one does (:func:`seed_warmed`). The other repository-wide facts (cache keys saved
  and restored elsewhere, CA105; other installs naming the same missing file, CA504) are
  checked after the analysis: when the workflow has any of them, every workflow and
  composite action is analysed (the GitHub side of the full audit: CA105 pairs every cache
  step's keys and CA504 counts every GitHub install naming the file, and only GitHub installs
  are counted there), still without the Dockerfiles, GitLab and dependency files.

Anything else (requirement and lock files, whose findings name every install that reads them;
composite actions; scripts; directories) uses the full audit.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cacheaudit.analyzers.reach import reaching
from cacheaudit.discovery import FileKind
from cacheaudit.model import Analysis
from cacheaudit.repo import LazyRepoContext

_BUILD_WORDS = ("docker", "build-push-action", "compose", "bake")
"""A workflow records an ImageBuild only for build-push-action, ``docker ... build``, and
compose or bake builds (rules_job._record_builds)."""


GITHUB_KINDS = (FileKind.WORKFLOW, FileKind.COMPOSITE_ACTION)


@dataclass
class Plan:
    """The files whose per-file analysis a named-file run needs, and the workflows the GitHub
    index covers."""

    analyse: list[str] = field(default_factory=list)
    workflows: set[str] = field(default_factory=set)
    checked_workflows: list[str] = field(default_factory=list)
    """Named workflows whose repository-wide facts are checked after the analysis."""


def plan(ctx: LazyRepoContext, targets: tuple[str, ...]) -> Plan | None:
    """The plan for ``targets`` (files relative to the root), or None for the full audit."""
    result = Plan()
    wanted: set[str] = set()
    for target in targets:
        kind = ctx.kind_of(target)
        if kind is FileKind.DOCKERFILE:
            wanted.add(target)
            found = _building(ctx, target)
            wanted.update(found)
            result.workflows.update(p for p in found if ctx.kind_of(p) is FileKind.WORKFLOW)
        elif kind is FileKind.GITLAB_CI:
            wanted.update(_pipelines_with(ctx, target))
        elif kind is FileKind.WORKFLOW:
            callers = _callers(ctx, target)
            wanted.update(callers)
            result.workflows.update(callers)
            result.checked_workflows.append(target)
        else:
            return None
    if result.workflows:
        # Builds and installs inside local composite actions are located in the action.
        wanted.update(ctx.paths_of(FileKind.COMPOSITE_ACTION))
    result.analyse = sorted(wanted)
    return result


def seed_ci_targets(ctx: LazyRepoContext, targets: Iterable[str]) -> None:
    """Compute the Dockerfile analyzer's ``--target`` scan of the CI files over only those that
    may build the named Dockerfiles, and leave it in the run's memo: the scan keeps, for each
    Dockerfile, the first CI file (in path order) that builds each stage, and a file that cannot
    build a named Dockerfile adds nothing to its entry. The entries of other Dockerfiles are
    incomplete, but no other Dockerfile is analysed in this run.

    A CI file adds an entry only when the text the scan reads (the file and the scripts it
    follows) names the Dockerfile's directory and writes a stage (``--target`` or a ``target``
    input): :func:`may_name_target` is that second test."""
    from cacheaudit.analyzers.dockerfile.ci_targets import ci_targets, may_name_target

    needles = [_needle(t) for t in targets if ctx.kind_of(t) is FileKind.DOCKERFILE]
    if not needles:
        return
    kinds = (FileKind.WORKFLOW, FileKind.COMPOSITE_ACTION, FileKind.GITLAB_CI)
    paths = ctx.paths_of(*kinds)
    staged = reaching(ctx, paths, lambda path: may_name_target(_text(ctx, path)))
    candidates = [p for p in paths if p in staged]
    keep: set[str] = set()
    for needle in needles:
        if needle is None:
            keep.update(candidates)
        else:
            keep |= reaching(ctx, candidates, _writes(ctx, needle))
    chosen = [p for p in candidates if p in keep]
    ci_targets(ctx.restricted(chosen))


def _needle(dockerfile: str) -> str | None:
    """What a path naming ``dockerfile`` must contain: its directory's name (None at the root,
    where a build of ``.`` names nothing)."""
    directory = posixpath.dirname(dockerfile)
    return posixpath.basename(directory) if directory else None


# --- Dockerfiles ------------------------------------------------------------------------------


def _building(ctx: LazyRepoContext, dockerfile: str) -> list[str]:
    """The workflows and GitLab root files that may build ``dockerfile``."""
    needle = _needle(dockerfile)
    out = []
    composites = None
    for path in ctx.paths_of(FileKind.WORKFLOW):
        text = _text(ctx, path)
        if "./" in text:
            if composites is None:
                actions = ctx.paths_of(FileKind.COMPOSITE_ACTION)
                composites = "\n".join(_text(ctx, p) for p in actions)
            text = text + "\n" + composites
        lowered = text.lower()
        if not any(word in lowered for word in _BUILD_WORDS):
            continue
        if needle is None or needle in text or "compose" in lowered or "bake" in lowered:
            out.append(path)
    out.extend(_gitlab_building(ctx, needle))
    return out


def _gitlab_building(ctx: LazyRepoContext, needle: str | None) -> list[str]:
    roots = ctx.paths_of(FileKind.GITLAB_CI)
    if needle is None:
        return roots
    from cacheaudit.analyzers.gitlab_ci import _pipeline_roots
    from cacheaudit.analyzers.gitlab_ci.resolve import resolve

    read: dict[str, list[str]] = {}
    for root in roots:
        files = [root]
        for pipeline in _pipeline_roots(ctx, root):
            files.extend(resolve(ctx, pipeline).files)
        read[root] = list(dict.fromkeys(files))
    start = dict.fromkeys(p for files in read.values() for p in files)
    reached = reaching(ctx, start, _writes(ctx, needle))
    return [root for root in roots if any(p in reached for p in read[root])]


def _writes(ctx: LazyRepoContext, needle: str) -> Callable[[str], bool]:
    return lambda path: needle in _text(ctx, path)


# --- GitLab CI --------------------------------------------------------------------------------


def _pipelines_with(ctx: LazyRepoContext, target: str) -> list[str]:
    """The GitLab root files whose pipelines (child pipelines included) read ``target``: the
    analyzer reports a file's findings with the pipeline that includes it."""
    from cacheaudit.analyzers.gitlab_ci import _pipeline_roots
    from cacheaudit.analyzers.gitlab_ci.resolve import resolve

    out = []
    for root in ctx.paths_of(FileKind.GITLAB_CI):
        if root == target:
            out.append(root)
            continue
        for pipeline in _pipeline_roots(ctx, root):
            if pipeline == target or target in resolve(ctx, pipeline).files:
                out.append(root)
                break
    return out


# --- Workflows --------------------------------------------------------------------------------


def _callers(ctx: LazyRepoContext, workflow: str) -> list[str]:
    """``workflow`` and, when it is reusable, the workflows that may call it (transitively):
    a reusable workflow's triggers are its callers'. A call names the called file."""
    found = [workflow]
    pending = [workflow]
    while pending:
        path = pending.pop()
        if "workflow_call" not in _text(ctx, path):
            continue
        name = posixpath.basename(path)
        for other in ctx.paths_of(FileKind.WORKFLOW):
            if other not in found and name in _text(ctx, other):
                found.append(other)
                pending.append(other)
    return found


def seed_warmed(ctx: LazyRepoContext, workflows: Iterable[str]) -> None:
    """CA112 asks whether any workflow of the repository warms a shared cache (runs on a
    push-like event and restores a cache). When a named workflow runs only on pull requests,
    answer it here, in the run's memo, exactly as the full index would: a workflow's units
    depend only on itself and the workflows that call it (:func:`_callers`), so each
    workflow is indexed alone with its callers until one warms the cache. Only the first
    ``_ALONE`` whose text looks like a warmer (a push or schedule trigger and a cache) are
    tried alone; when none of them warms it, every workflow is indexed at once, as the full
    audit does. The text test picks what to try first, never the answer."""
    from cacheaudit.analyzers.github_actions import _index
    from cacheaudit.analyzers.github_actions.parse import _doc, _triggers
    from cacheaudit.analyzers.github_actions.rules_job import _PR_EVENTS, warmed

    def pr_only(path: str) -> bool:
        doc = _doc(ctx, path)
        if doc is None or doc.root is None:
            return False
        events = _triggers(doc).events
        return bool(events) and events <= _PR_EVENTS and "pull_request" in events

    if not any(pr_only(p) for p in workflows if ctx.kind_of(p) is FileKind.WORKFLOW):
        return

    def compute() -> bool:
        def warms(scope: Iterable[str]) -> bool:
            view = ctx.indexing(scope)
            found = warmed(_index(view))
            ctx.adopt(view)
            return found

        paths = ctx.paths_of(FileKind.WORKFLOW)
        tried = 0
        for path in paths:
            if tried < _ALONE and _looks_warm(_text(ctx, path)):
                if warms(_callers(ctx, path)):
                    return True
                tried += 1
        # No warmer among the likely ones: the full index answers at once (indexing each
        # workflow alone costs more than indexing them together).
        return warms(paths)

    ctx.memo("gha", "warmed", compute)


_ALONE = 16
"""Workflows indexed one at a time (with their callers) before the whole index is built."""


def _looks_warm(text: str) -> bool:
    lowered = text.lower()
    return ("push" in lowered or "schedule" in lowered) and "cache" in lowered


def workflows_self_contained(
    ctx: LazyRepoContext, workflows: Iterable[str], analysis: Analysis
) -> bool:
    """False when a named workflow's report may depend on workflows outside the index: a cache
    restored or saved with actions/cache/restore|save (CA105 pairs keys across the repository),
    or an install naming a file that does not exist (CA504 reports it once, at the first of
    every install naming it). (CA112's fact is seeded exactly by :func:`seed_warmed`.)"""
    from cacheaudit.analyzers.github_actions import _index

    named = set(workflows)
    index = _index(ctx)
    for unit in index.units:
        if unit.doc.path not in named:
            continue
        if any(c.kind in ("cache-restore", "cache-save") for c in unit.caches):
            return False
    for site in analysis.installs:
        if site.location.path in named and site.platform not in ("gitlab-ci", "dockerfile"):
            for path in site.inputs:
                if path not in ctx.paths and not ctx.is_dir(path):
                    return False
    return True


def _text(ctx: LazyRepoContext, path: str) -> str:
    return ctx.read_text(path) or ""

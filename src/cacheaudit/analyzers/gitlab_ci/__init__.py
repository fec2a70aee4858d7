"""GitLab CI analyzer: rules CA201–CA207, plus CA504 for files the configuration names.

The effective configuration of every job (includes, anchors, ``extends``, ``!reference``,
``default:``, ``inherit:``) comes from :mod:`.resolve`. The analyzer then reads each job's shell
the way the runner runs it (``before_script`` and ``script`` in one shell, ``after_script`` in a
fresh one; ``cd``, ``export``, ``<tool> config set`` and sourced or executed repository scripts
followed), works out where every installer writes its download cache, and judges the job's
caches against that:

- CA201: an install whose downloads no cache of the job holds.
- CA202: a cached path outside ``$CI_PROJECT_DIR``, or a cached ``.cache/pip`` (``.npm``,
  ``.cache/uv``...) the tool never writes to because its variable or flag was not pointed there.
- CA203: a dependency cache with no ``key`` or a constant one.
- CA204: several jobs share a dependency cache and all push it (default ``pull-push``).
- CA205: ``unprotect: true``.
- CA206: a pip cache defeated by ``--no-cache-dir``, ``PIP_NO_CACHE_DIR`` or ``uv pip``.
- CA207: ``docker build`` without a layer cache source.

Findings are grouped by the line that causes them (a template's script line shared by ten jobs
is one finding naming the ten jobs) and point at the file where that line is written. Local
child pipelines (``trigger: include:``) are audited as pipelines of their own, with the
variables their trigger job forwards. Findings that rest on something being absent (no cache,
a variable not set) are left out for jobs whose configuration cannot be fully seen: an
``extends`` parent or a ``default:`` that may come from a remote, project, template or
component include.

Modules, in import order (each imports only the ones before it):

- ``model``: values with their origin, the effective ``Job`` and ``Pipeline``, and the facts
  of a job the rules read (``Step``, ``Place``, ``JobCache``, ``Facts``).
- ``load``: YAML files into values, deep merging, ``include:`` entries.
- ``resolve``: the effective configuration (includes, ``extends``, ``!reference``, defaults).
- ``tools``: where each installer's download cache goes and how a job moves it.
- ``steps``: a job's commands in order, with the environment and directory each runs in.
- ``places``: variables expanded, where caches are written, what cached paths hold, keys.
- ``text``: message wording and the YAML snippets fixes emit.
- ``installs``: which commands download from a registry, and their install map entries.
- ``audit``: per-job facts and the collector of findings and install sites.
- ``rules_paths``, ``rules_install``, ``rules_cache``, ``rules_build``: the rules, each with
  its fix.
- this module: pipelines to audit (child pipelines included), running the rules, ``analyze``.
"""

from __future__ import annotations

from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.model import Variable
from cacheaudit.analyzers.gitlab_ci.resolve import resolve
from cacheaudit.analyzers.gitlab_ci.rules_build import judge_builds
from cacheaudit.analyzers.gitlab_ci.rules_cache import (
    judge_keys,
    judge_policies,
    judge_unprotect,
)
from cacheaudit.analyzers.gitlab_ci.rules_install import judge_installs
from cacheaudit.analyzers.gitlab_ci.rules_paths import judge_paths
from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.model import Analysis
from cacheaudit.repo import RepoContext

ROOT_FILE = ".gitlab-ci.yml"


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    """Audit the pipeline rooted at ``file`` (and its child pipelines), unless another CI file
    includes it: then it is audited as part of that pipeline."""
    if file.path != ROOT_FILE and _covered_elsewhere(ctx, file.path):
        return Analysis()
    result = Analysis()
    for root, forwarded in _pipeline_roots(ctx, file.path).items():
        found = run(Audit(ctx, resolve(ctx, root), forwarded))
        result.findings.extend(found.findings)
        result.installs.extend(found.installs)
        result.builds.extend(found.builds)
    return result


def run(audit: Audit) -> Analysis:
    """Every rule on every job of the audit's pipeline (trigger jobs run nothing)."""
    facts = [audit.facts(job) for job in audit.pipeline.jobs if not job.is_trigger]
    for fact in facts:
        judge_installs(audit, fact)
        judge_paths(audit, fact)
        judge_keys(audit, fact)
        judge_unprotect(audit, fact)
        judge_builds(audit, fact)
    judge_policies(audit, facts)
    return Analysis(audit.findings(), audit.sites, audit.builds)


def _pipeline_roots(ctx: RepoContext, root: str) -> dict[str, dict[str, Variable]]:
    """``root`` and the local child pipelines its trigger jobs start (recursively), each with
    the variables its trigger job forwards to it (``trigger:forward:yaml_variables``, on by
    default)."""
    roots: dict[str, dict[str, Variable]] = {root: {}}
    pending = [root]
    while pending and len(roots) < 50:
        parent = pending.pop(0)
        for job in resolve(ctx, parent).jobs:
            for child in job.trigger_includes:
                if child not in roots and child in ctx.paths:
                    roots[child] = {**roots[parent], **job.variables}
                    pending.append(child)
    return roots


def _covered_elsewhere(ctx: RepoContext, path: str) -> bool:
    """Whether another CI file includes ``path`` or starts it as a child pipeline."""
    covered, failures = _coverage(ctx)
    for other, error in failures:
        if other != path:
            raise error  # that file's configuration cannot be resolved: neither can this
    return path in covered


def _coverage(ctx: RepoContext) -> tuple[frozenset[str], tuple[tuple[str, Exception], ...]]:
    """The files some CI file includes or starts as child pipelines (a file never covers
    itself, so a file is covered by another exactly when it is in this union), computed once
    per run; and the CI files whose pipelines could not be resolved, with the error."""

    def compute() -> tuple[frozenset[str], tuple[tuple[str, Exception], ...]]:
        covered: set[str] = set()
        failures: list[tuple[str, Exception]] = []
        for other in ctx.files_of(FileKind.GITLAB_CI):
            try:
                for root in _pipeline_roots(ctx, other.path):
                    covered.update(p for p in resolve(ctx, root).files if p != other.path)
            except Exception as error:  # raised for every file that asks (as when each asked)
                failures.append((other.path, error))
        return frozenset(covered), tuple(failures)

    return ctx.memo("gitlab-ci:covered", "", compute)

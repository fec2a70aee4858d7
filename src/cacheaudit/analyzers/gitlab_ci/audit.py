"""One audit of one pipeline: the facts of each job (its steps, caches, registry installs), and
where findings and install sites are collected. Findings are grouped by the line that causes
them: a template's script line shared by ten jobs is one finding naming the ten jobs."""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cacheaudit.analyzers import scripts
from cacheaudit.analyzers.github_actions.model import publish_command
from cacheaudit.analyzers.gitlab_ci.installs import downloads, install_site, key_file_matches
from cacheaudit.analyzers.gitlab_ci.model import Facts, Job, JobCache, Pipeline, Step, Variable
from cacheaudit.analyzers.gitlab_ci.places import (
    cache_dir,
    is_env_dir,
    job_caches,
    meant_for,
    tool_of,
)
from cacheaudit.analyzers.gitlab_ci.steps import job_steps
from cacheaudit.analyzers.gitlab_ci.text import jobs_phrase
from cacheaudit.analyzers.gitlab_ci.tools import SKIP_TOOLS, TOOLS
from cacheaudit.installs import LOCKFILES_BY_TOOL, MANIFESTS_BY_TOOL, install_inputs
from cacheaudit.model import CacheState, Finding, Fix, ImageBuild, InstallSite, Location
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

Message = Callable[[str], str]
"""Builds a finding's message from the phrase naming its jobs."""

LOCK_NAMES = frozenset(name for names in LOCKFILES_BY_TOOL.values() for name in names)


@dataclass
class Hit:
    rule: str
    location: Location
    subject: str
    message: Message
    fix: Fix | None
    weight: float
    jobs: list[str] = field(default_factory=list)


@dataclass
class Audit:
    ctx: RepoContext
    pipeline: Pipeline
    forwarded: dict[str, Variable] = field(default_factory=dict)
    """Variables a parent pipeline's trigger job passes to this (child) pipeline."""
    hits: dict[tuple[str, str, int, int, str], Hit] = field(default_factory=dict)
    more: dict[tuple[str, Location, str], dict[str, tuple[int, str]]] = field(default_factory=dict)
    """CA201: per finding and job, how many more installs of the tool run uncached, and why."""
    sites: list[InstallSite] = field(default_factory=list)
    builds: list[ImageBuild] = field(default_factory=list)

    def findings(self) -> list[Finding]:
        """The pipeline's notices, then one finding per hit, naming all its jobs."""
        findings = list(self.pipeline.notices)
        parallel = {j.name: j.parallel for j in self.pipeline.jobs}
        for hit in self.hits.values():
            jobs = list(dict.fromkeys(hit.jobs))
            findings.append(
                RULES[hit.rule].finding(
                    hit.location,
                    hit.message(jobs_phrase(jobs, parallel)),
                    subject=hit.subject,
                    fix=hit.fix,
                    weight=hit.weight,
                )
            )
        return findings

    def hit(
        self,
        rule: str,
        location: Location,
        subject: str,
        job: str,
        message: Message,
        fix: Fix | None,
        weight: float = 1.0,
    ) -> None:
        slot = (rule, location.path, location.line, location.column or 0, subject)
        if slot not in self.hits:
            self.hits[slot] = Hit(rule, location, subject, message, fix, weight)
        self.hits[slot].jobs.append(job)

    # -- facts --

    def facts(self, job: Job) -> Facts:
        if self.forwarded:
            job = replace(job, variables={**self.forwarded, **job.variables})
        steps = job_steps(self.ctx, job)
        caches = job_caches(job)
        installs = []
        counter: Counter[tuple[str, str, str]] = Counter()
        for step in steps:
            for install in scripts.repo_installs(self.ctx, [step.command], step.workdir):
                if not downloads(self.ctx, install, step):
                    continue
                slot = (step.owner, step.section, install.tool)
                counter[slot] += 1
                installs.append((step, install, counter[slot]))
        # an include that cannot be read may define `default: cache` for this job; a job with
        # a cache of its own (or `cache: []`, or `inherit: default: false`) keeps its own
        why = ""
        if job.problems:
            why = f"its configuration is not fully known ({job.problems[0]})"
        elif (
            self.pipeline.open_globals
            and job.cache_state == "none"
            and job.inherits_default("cache")
        ):
            source = self.pipeline.open_globals[0].replace(":", " include ", 1)
            why = f"it may inherit a default cache from the {source}, which cannot be read offline"
        return Facts(job, steps, caches, installs, not why, why)

    def record_site(
        self,
        fact: Facts,
        step: Step,
        install: InstallCommand,
        state: CacheState,
        reason: str,
        cache: JobCache | None,
    ) -> None:
        self.sites.append(
            install_site(self.ctx, self.pipeline.root, fact, step, install, state, reason, cache)
        )

    def release_job(self, fact: Facts) -> str:
        """Why the job is a release job, whose installs are not CA201's business (a release
        builds from a clean slate; RULES CA201): it publishes (``twine upload``, ``poetry
        publish``, ``npm publish``, ``docker push``...) or runs only for releases. ``""`` for
        other jobs."""
        if fact.job.release_only:
            return fact.job.release_only
        for step in fact.steps:
            how = publish_command(step.command, previews=False)
            if how is not None:
                return f"it publishes (`{how}`)"
        return ""

    def matches(self, pattern: str) -> bool:
        """Whether a ``key: files`` entry names an existing file."""
        return key_file_matches(self.ctx, pattern)

    def dependency_caches(self, fact: Facts) -> list[JobCache]:
        """The job's caches that hold dependencies for it: its installs fill them, or it
        installs nothing and reads them (tests run from a cached ``.venv``). A job that only
        carries another tool's cache along (an npm job under a ``default:`` pip cache) is not
        counted for it."""
        known = [
            (s, i, t) for s, i, _ in fact.installs if (t := tool_of(i)) and i.tool not in SKIP_TOOLS
        ]
        out = []
        for cache in fact.caches:
            if not cache.spec.untracked and all(p.place.kind != "project" for p in cache.paths):
                continue  # nothing of it is saved (CA202), so its key and policy do not matter
            holds = any(
                cache.covers(cache_dir(self.ctx, fact.job, step, install))
                or any(is_env_dir(p, spec.family) or meant_for(p, spec) for p in cache.paths)
                for step, install, spec in known
            )
            meant = any(
                meant_for(p, spec) or is_env_dir(p, spec.family)
                for p in cache.paths
                for spec in TOOLS.values()
            )
            if holds or (meant and not known):
                out.append(cache)
        return out

    def settled(self, fact: Facts, cache: JobCache) -> bool:
        """Whether no unseen ``extends`` parent can add keys (``key``, ``policy``) to this
        cache. (An unread include could also deep-merge into ``default: cache``; that is rare
        enough to be ignored, unlike the variables and default caches such includes set.)"""
        return not fact.job.problems

    def key_files(self, fact: Facts, tool: str | None = None) -> list[str]:
        """Up to two existing files that say what the job installs: lock files first."""
        found: list[str] = []
        for step, install, _ in fact.installs:
            spec = tool_of(install)
            if spec is None or (tool is not None and spec.tool != tool and install.tool != tool):
                continue
            inputs = (
                install_inputs(install, self.ctx, step.workdir) if step.workdir is not None else ()
            )
            locks = [i for i in inputs if posixpath.basename(i) in LOCK_NAMES]
            found.extend(locks or [i for i in inputs if i in self.ctx.paths])
        if not found:
            for tool_name in ([tool] if tool else []) + [i.tool for _, i, _ in fact.installs]:
                for name in LOCKFILES_BY_TOOL.get(tool_name, ()) + MANIFESTS_BY_TOOL.get(
                    tool_name, ()
                ):
                    if name in self.ctx.paths:
                        found.append(name)
        return list(dict.fromkeys(found))[:2]

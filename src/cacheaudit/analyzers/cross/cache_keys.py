"""CA503 cache-key-ignores-install-input: the cache key does not hash a file the install
reads."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from cacheaudit.analyzers.cross.sites import (
    MANIFEST_NAMES,
    Site,
    existing_inputs,
    listing,
    requirement_inputs,
    site_location,
    workflow,
)
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing import requirements as reqs
from cacheaudit.parsing.lockfiles import (
    TOOL_BY_LOCKFILE,
    lock_files,
)
from cacheaudit.paths import glob_match
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

# --- CA503 cache-key-ignores-install-input ---------------------------------------------------


def key_ignores_inputs(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    findings = []
    for site in sites:
        keys = site.site.cache_key_inputs
        if site.site.cached is not True or not keys:
            continue
        if any("$" in k or "{{" in k for k in keys):
            continue  # computed patterns: cannot be judged statically
        if not _hashes_something(ctx, keys):
            continue  # the key hashes nothing that exists: CA106/CA504 say so
        inputs = _effective_inputs(ctx, site)
        if not inputs:
            continue
        missing = [p for p in inputs if not _covered(p, keys) and not _lock_keyed(ctx, p, keys)]
        if not missing:
            continue
        hashed = ", ".join(keys)
        listed = listing(missing, 4)
        message = (
            f"{site.site.context}: the cache key hashes {hashed}, but `{site.command}` also "
            f"installs from {listed}: when {'it changes' if len(missing) == 1 else 'they change'} "
            f"the key stays the same, the old cache is restored and never saved again, and the "
            f"new packages are downloaded on every run"
        )
        findings.append(
            RULES["CA503"].finding(
                site_location(site),
                message,
                subject=f"{site.site.context} / cache key",
                fix=_key_fix(ctx, site, _key_files(ctx, inputs, keys)),
            )
        )
    return findings


def _hashes_something(ctx: RepoContext, keys: tuple[str, ...]) -> bool:
    def compute() -> bool:
        return bool(ctx.matching(keys))  # indexed: the same as any(_covered(p, keys) ...)

    return ctx.memo("key-hashes-something", "\0".join(keys), compute)


_RUNNER_CONFIGS = frozenset({"tox.ini", "tox.toml", "noxfile.py", "setup.cfg"})


def _effective_inputs(ctx: RepoContext, site: Site) -> list[str]:
    """The site's existing inputs plus the files their ``-r``/``-c`` lines pull in."""
    found = existing_inputs(ctx, site)
    if site.site.tool in ("tox", "nox"):  # their config names deps; its -r files are inputs
        found = [p for p in found if posixpath.basename(p) not in _RUNNER_CONFIGS]
    installed, constraints = requirement_inputs(ctx, site)
    if installed or constraints:
        resolution = reqs.resolve(ctx, installed, constraints)
        found.extend(f.path for f in resolution.files)
    return list(dict.fromkeys(found))


def _covered(path: str, patterns: Iterable[str]) -> bool:
    positive = [p for p in patterns if p.strip() and not p.strip().startswith("!")]
    negative = [p.strip()[1:] for p in patterns if p.strip().startswith("!")]
    return any(glob_match(p, path) for p in positive) and not any(
        glob_match(p, path) for p in negative
    )


def _is_lock_like(ctx: RepoContext, path: str) -> bool:
    if posixpath.basename(path) in TOOL_BY_LOCKFILE:
        return True
    parsed = reqs.load(ctx, path) if path.endswith((".txt", ".in")) else None
    return parsed is not None and parsed.compiled


def _lock_keyed(ctx: RepoContext, path: str, keys: Iterable[str]) -> bool:
    """A manifest (pyproject.toml, package.json...) whose directory holds a lock file the key
    hashes: the lock changes whenever the manifest's dependencies do."""
    if posixpath.basename(path) not in MANIFEST_NAMES:
        return False
    directory = posixpath.dirname(path)
    return any(
        lock.directory == directory and _covered(lock.path, keys) for lock in lock_files(ctx)
    )


def _key_files(ctx: RepoContext, inputs: list[str], keys: Iterable[str]) -> list[str]:
    files = [p for p in inputs if not _lock_keyed(ctx, p, keys)]
    # Locks and compiled files first: GitLab keys hash at most two files.
    return sorted(files, key=lambda p: (not _is_lock_like(ctx, p), p))


def _key_fix(ctx: RepoContext, site: Site, files: list[str]) -> Fix:
    if site.site.platform == "gitlab-ci":
        chosen = files[:2]
        note = (
            " GitLab hashes at most two files: compile the rest into one lock file."
            if len(files) > 2
            else ""
        )
        lines = "\n".join(f"        - {p}" for p in chosen)
        return Fix(
            f"Key the job's cache on the files it installs from (replace its `key:`).{note}",
            f"    key:\n      files:\n{lines}",
        )
    step = _cache_step(ctx, site)
    indent = " " * ((step.column - 1) if step else 10)
    block = "\n".join(f"{indent}  {p}" for p in files)
    if step is not None and step.kind == "actions/cache":
        quoted = ", ".join(f"'{p}'" for p in files)
        tool = site.site.tool
        return Fix(
            f"Hash every installed file in the key of the actions/cache step (line {step.line}).",
            f"{indent}key: ${{{{ runner.os }}}}-{tool}-${{{{ hashFiles({quoted}) }}}}",
        )
    key = "cache-dependency-glob" if step is not None and step.kind == "setup-uv" else None
    key = key or "cache-dependency-path"
    where = f" of the step at line {step.line}" if step else ""
    return Fix(
        f"List every installed file in `{key}`{where}.",
        f"{indent}{key}: |\n{block}",
    )


@dataclass(frozen=True)
class _CacheStep:
    kind: str
    """``setup``, ``setup-uv`` or ``actions/cache``."""
    line: int
    column: int
    """Column of the keys inside its ``with:`` mapping."""


def _cache_step(ctx: RepoContext, site: Site) -> _CacheStep | None:
    """The caching step of the job that holds the site (the nearest one above it)."""
    doc = workflow(ctx, site.path)
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, dict):
        return None
    from cacheaudit.parsing.yaml import item_line, key_column, key_line

    line = site.site.location.line
    best: _CacheStep | None = None
    for job_id, job in jobs.items():
        steps = job.get("steps") if isinstance(job, dict) else None
        if not isinstance(steps, list) or key_line(jobs, job_id) > line:
            continue
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            start = item_line(steps, index)
            uses = step.get("uses")
            with_ = step.get("with")
            if start > line or not isinstance(uses, str) or not isinstance(with_, dict):
                continue
            kind = _cache_kind(uses.split("@", 1)[0].strip().lower())
            if kind is None:
                continue
            first = next(iter(with_), None)
            column = key_column(with_, first) if first is not None else None
            if best is None or start > best.line:
                best = _CacheStep(kind, start, column or 11)
    return best


def _cache_kind(action: str) -> str | None:
    if action in ("actions/cache", "actions/cache/restore"):
        return "actions/cache"
    if action == "astral-sh/setup-uv":
        return "setup-uv"
    if action in ("actions/setup-python", "actions/setup-node"):
        return "setup"
    return None

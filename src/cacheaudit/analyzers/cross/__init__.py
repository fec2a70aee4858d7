"""Rules across files: the install map (every InstallSite the per-file analyzers recorded) joined
with the dependency files and lock files those installs read.

- CA401 unpinned-install-inputs: installed requirements files that float (no lock/constraints).
- CA402 vcs-requirement-unpinned: installed VCS/archive URLs pip rebuilds on every install.
- CA403 no-lockfile: a project installed from pyproject.toml with nothing pinning it.
- CA501 lockfile-not-used: a lock file exists but the install resolves without it.
- CA502 locked-install-not-enforced: a lock-aware install that may rewrite the lock.
- CA503 cache-key-ignores-install-input: the cache key does not hash a file the install reads.
- CA504 referenced-file-missing: an install names a requirements file that does not exist.

An application is told from a library only by evidence: CA403 fires for a pyproject.toml that CI
or Docker installs, never for one that is merely declared.

Modules, by what the rules judge: :mod:`.sites` (the install map read back, shared helpers),
:mod:`.installed` (which dependency files the repository installs: shared by CA401–CA403),
:mod:`.lock_use` (CA501, CA502), :mod:`.pinning` (CA401–CA403), :mod:`.cache_keys` (CA503),
:mod:`.missing_inputs` (CA504). Each rule's fix is built beside its check.
"""

from __future__ import annotations

from cacheaudit.analyzers.cross.cache_keys import key_ignores_inputs
from cacheaudit.analyzers.cross.installed import sample
from cacheaudit.analyzers.cross.lock_use import locked_not_enforced, lockfile_not_used
from cacheaudit.analyzers.cross.missing_inputs import missing_inputs
from cacheaudit.analyzers.cross.pinning import no_lockfile, unpinned_inputs, unpinned_sources
from cacheaudit.analyzers.cross.sites import Site, reparse, site_order
from cacheaudit.model import Analysis, Finding, InstallSite
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.repo import RepoContext


def analyze_repo(ctx: RepoContext, installs: list[InstallSite]) -> Analysis:
    ordered = sorted(installs, key=site_order)
    # The same install is often written many times over (a matrix, a template): parse each
    # (command, line, tool) once; that is all reparse() reads of a site.
    parsed: dict[tuple[str, int, str], InstallCommand | None] = {}
    sites = []
    for site in ordered:
        if sample(site.location.path):
            continue
        key = (site.command, site.location.line, site.tool)
        if key not in parsed:
            parsed[key] = reparse(site)
        sites.append(Site(site, parsed[key]))
    findings: list[Finding] = []
    lock_findings, ignored_files = lockfile_not_used(ctx, sites)
    findings.extend(lock_findings)
    findings.extend(unpinned_inputs(ctx, sites, ignored_files))
    findings.extend(unpinned_sources(ctx, sites))
    findings.extend(no_lockfile(ctx, sites))
    findings.extend(locked_not_enforced(ctx, sites))
    findings.extend(key_ignores_inputs(ctx, sites))
    findings.extend(missing_inputs(ctx, sites))
    return Analysis(findings=findings)

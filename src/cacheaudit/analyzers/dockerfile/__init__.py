"""Dockerfile analyzer: CA301–CA308, plus CA504 for COPY and bind-mount sources.

How it works. The file is parsed (:mod:`cacheaudit.parsing.dockerfile`), then one forward pass
builds the model: per stage, what BuildKit would know at each ``RUN`` (the environment, ``ENV``
inherited by stages built ``FROM`` an earlier stage, ``ARG`` scoped to its stage; the user and its
home; the working directory; which build-context files were copied where). Each ``RUN``'s shell
text (shell form, exec form, heredocs) goes through :mod:`cacheaudit.parsing.shell`. The rules
then read the model; the cache mounts are compared with where each tool really writes.

cacheaudit's stance: keep download caches outside the image with BuildKit cache mounts;
``--no-cache-dir`` (or deleting the cache in the same RUN) keeps the image lean but still
re-downloads everything, so it is a lesser finding rather than a fix.

Modules, in import order (each imports only the ones before it):

- ``facts``: tool cache dirs inside a container, cache-disabling flags, apt's recipe.
- ``model``: stages, copies, RUNs with their state, the file's model; path and text helpers.
- ``context``: which directory is the build context; what ``.dockerignore`` lets through.
- ``ci_targets``: the stages CI builds with ``--target`` (read from the CI files and the scripts
  they run), shipped like the final stage.
- ``walk``: parsed instructions into the model (users, config-set cache dirs...).
- ``mounts``: where a tool writes its cache in a RUN, what the RUN's cache mounts do about it,
  and each install site's cache state with its reason.
- ``installs``: which installs download (not bootstraps or project steps), the files each
  reads, image paths mapped back to the repository, the install sites.
- ``rewrite``: instructions rewritten for fixes, and fixes as line edits.
- ``rules_cache`` (CA301, CA302, CA304), ``rules_apt`` (CA305, CA306, CA308), ``rules_order``
  (CA303), ``rules_npm`` (CA307), ``rules_refs`` (CA504): the rules, each with its fix.
- this module: ``analyze``.

Templates (cookiecutter, copier) are audited around their syntax: see
:mod:`cacheaudit.parsing.dockerfile`.
"""

from __future__ import annotations

from cacheaudit.analyzers.dockerfile.installs import install_sites
from cacheaudit.analyzers.dockerfile.rules_apt import rules_apt
from cacheaudit.analyzers.dockerfile.rules_cache import rules_cache
from cacheaudit.analyzers.dockerfile.rules_npm import rule_ca307
from cacheaudit.analyzers.dockerfile.rules_order import rule_ca303
from cacheaudit.analyzers.dockerfile.rules_refs import rule_ca504
from cacheaudit.analyzers.dockerfile.walk import build
from cacheaudit.discovery import SourceFile
from cacheaudit.model import Analysis
from cacheaudit.notices import parse_error
from cacheaudit.parsing.dockerfile import parse
from cacheaudit.repo import RepoContext


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    """Findings and install sites of one Dockerfile."""
    parsed = parse(file.text)
    notices = [parse_error(file.path, p.message, p.line) for p in parsed.problems[:1]]
    if not parsed.instructions:
        return Analysis(findings=notices)
    dc = build(ctx, file, parsed)
    findings = [
        *rules_cache(dc),
        *rule_ca307(dc),
        *rule_ca504(dc),
        *rules_apt(dc),
        *rule_ca303(dc),
    ]
    findings.sort(key=lambda f: f.sort_key)
    return Analysis(findings=notices + findings, installs=install_sites(dc))

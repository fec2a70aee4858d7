"""Edits for GitLab CI findings: the cache variables (``PIP_CACHE_DIR``, ``UV_CACHE_DIR``,
``npm_config_cache``...) and a ``cache:`` block keyed on the lock file (CA201), or the variable
that makes the tool write where the cache is (CA202).

The rule's fix is a YAML snippet in the file's style: ``job: {variables, cache}`` (CA201),
``job: {variables}`` or top-level ``variables:`` (CA202), with ``before_script:`` instead of
``variables:`` for pnpm. This module merges those keys into that mapping of the finding's file,
as new lines at the column of their siblings, after the mapping's last value wherever the
parser says it ends (indentless sequences, flow collections, block scalars). The result must
read as the old document plus exactly the snippet's keys, and the pipelines that read the file,
audited again with the edit made, must no longer report the finding and report nothing new;
else there is no edit.

The fix stays advice (a person decides) when:

- the snippet names several jobs, several top-level keys, or a key the mapping already has
  (a cache to replace, a variable to change, a ``before_script`` to extend);
- the mapping is flow style, tagged, takes keys from ``<<:`` (a merged ``variables:`` would be
  shadowed), or is anchored and used through an alias (the edit would change the alias too);
- the job is extended by another job or ``!reference``-d: the keys would reach those too;
- the job already gets a cache from a template (the two would deep-merge) or a dependency
  cache from ``default:`` (its own would replace it), or a ``before_script`` from either (its
  own would replace it);
- the job runs in parallel: its N runs would all push the one cache (CA204).

The cache key's ``prefix`` gets ``-$CI_JOB_NAME`` in the edit (the snippet shown is the rule's):
the rule's snippet is the same for every job that installs with the tool, and one cache pushed
by several jobs is CA204.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Any

from cacheaudit.analyzers.gitlab_ci import run as run_pipeline
from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.model import Facts, Job, Pipeline, Variable
from cacheaudit.analyzers.gitlab_ci.resolve import resolve
from cacheaudit.discovery import FileKind
from cacheaudit.fix.generators import Generator
from cacheaudit.fix.generators._yaml import (
    BlockMapping,
    PathPart,
    adds_only,
    block_mapping,
    indent_of,
    parse_events,
    safe_text,
    shift,
)
from cacheaudit.fix.text import EditConflict, apply_text, make_edit
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing.yaml import YamlError, load, load_path, tag_of
from cacheaudit.repo import RepoContext

MAX_PIPELINES = 50


def _blocks(snippet: str, name: str) -> dict[str, str] | None:
    """The snippet's keys under ``name``, each as its text dedented to column 0."""
    lines = snippet.strip("\n").split("\n")
    if not lines or lines[0].rstrip() != f"{name}:":
        return None
    body = [line for line in lines[1:] if line.strip()]
    if not body:
        return None
    base = indent_of(body[0])
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for line in body:
        if indent_of(line) < base:
            return None
        if indent_of(line) == base and not line.lstrip().startswith("- "):
            current = line.strip().split(":", 1)[0]
            if current in blocks:
                return None
            blocks[current] = [line[base:]]
        elif current is not None:
            blocks[current].append(line[base:])
        else:
            return None
    return {key: "\n".join(value) + "\n" for key, value in blocks.items()}


def _entries_of(block: str) -> str:
    """The entries of a one-key block (``variables:\\n  A: b``), dedented to column 0."""
    inner = [line for line in block.split("\n")[1:] if line.strip()]
    if not inner:
        return ""
    base = min(indent_of(line) for line in inner)
    return "\n".join(line[base:] for line in inner) + "\n"


def _job_prefix(block: str) -> str:
    """The ``cache:`` block with ``-$CI_JOB_NAME`` after a constant ``prefix``."""
    out = []
    for line in block.split("\n"):
        stripped = line.strip()
        if stripped.startswith("prefix:") and "$" not in stripped and "#" not in stripped:
            value = stripped.partition(":")[2].strip()
            if value and value[0] not in "'\"":
                line = f"{line.rstrip()}-$CI_JOB_NAME"
        out.append(line)
    return "\n".join(out)


def _roots(ctx: RepoContext) -> dict[str, dict[str, Variable]]:
    """Every pipeline the analyzer audits (root files and local child pipelines), each with the
    variables its trigger job forwards, as :func:`cacheaudit.analyzers.gitlab_ci.analyze`."""

    def compute() -> dict[str, dict[str, Variable]]:
        roots: dict[str, dict[str, Variable]] = {}
        pending: list[tuple[str, dict[str, Variable]]] = [
            (f.path, {}) for f in ctx.files_of(FileKind.GITLAB_CI)
        ]
        while pending and len(roots) < MAX_PIPELINES:
            root, forwarded = pending.pop(0)
            if root in roots:
                continue
            roots[root] = forwarded
            for job in resolve(ctx, root).jobs:
                pending += [
                    (child, {**forwarded, **job.variables})
                    for child in job.trigger_includes
                    if child in ctx.paths
                ]
        return roots

    return ctx.memo("fix:gitlab-roots", "", compute)


def _key(finding: Finding) -> tuple[str, str, str]:
    """A finding's identity across an edit that inserts lines (no line numbers, no ordinals)."""
    return (
        finding.rule_id,
        finding.location.path,
        re.sub(r"#\d+|\bline \d+|:\d+", "", finding.subject),
    )


@dataclasses.dataclass
class _Audit(Audit):
    """An audit that keeps each job's facts, and takes the facts of jobs an edit leaves alone
    from an earlier audit (reading a job's shell is most of a pipeline's audit)."""

    reuse: dict[str, Facts] = dataclasses.field(default_factory=dict)
    kept: dict[str, Facts] = dataclasses.field(default_factory=dict)

    def facts(self, job: Job) -> Facts:
        fact = self.reuse.get(job.name) or super().facts(job)
        self.kept[job.name] = fact
        return fact


def _audit(
    ctx: RepoContext, root: str, forwarded: dict[str, Variable], reuse: dict[str, Facts]
) -> tuple[Counter[Any], dict[str, Facts]]:
    audit = _Audit(ctx, resolve(ctx, root), forwarded, reuse=reuse)
    found = run_pipeline(audit).findings
    return Counter(_key(f) for f in found), audit.kept


def _reaudit_clean(
    ctx: RepoContext, other: RepoContext, path: str, finding: Finding, changed: str
) -> bool:
    """The pipelines that read ``path``, audited again in ``other`` (where ``path`` has the
    edit): ``finding`` is gone and no finding appears (the fix engine's own check, before the
    edit is offered). Only the ``changed`` job is read again (every job when the edit is to
    top-level variables)."""
    roots = {r: fw for r, fw in _roots(ctx).items() if path in resolve(ctx, r).files}
    if not roots:
        return False
    before: Counter[Any] = Counter()
    after: Counter[Any] = Counter()
    for root, forwarded in roots.items():

        def audited(
            root: str = root, forwarded: dict[str, Variable] = forwarded
        ) -> tuple[Counter[Any], dict[str, Facts]]:
            return _audit(ctx, root, forwarded, {})

        found, facts = ctx.memo("fix:gitlab-audit", root, audited)
        before += found
        reuse = {} if changed == "variables" else {k: v for k, v in facts.items() if k != changed}
        after += _audit(other, root, forwarded, reuse)[0]
    return after[_key(finding)] == 0 and all(after[k] <= before[k] for k in after)


def _used_elsewhere(ctx: RepoContext, files: set[str], name: str) -> bool:
    """True when a job ``extends`` the job ``name`` or a ``!reference`` names it."""

    def walk(node: Any, depth: int = 0) -> bool:
        if depth > 100:
            return True
        if isinstance(node, list):
            if tag_of(node) == "!reference" and node and str(node[0]) == name:
                return True
            return any(walk(item, depth + 1) for item in node)
        if isinstance(node, dict):
            return any(walk(value, depth + 1) for value in node.values())
        return False

    for path in files:
        try:
            root = load_path(ctx, path)
        except YamlError:
            return True
        if not isinstance(root, dict):
            continue
        for key, value in root.items():
            extends = value.get("extends") if isinstance(value, dict) else None
            parents = extends if isinstance(extends, list) else [extends]
            if key != name and not name.startswith(".") and name in parents:
                return True
            if walk(value):
                return True
    return False


def _may_add(ctx: RepoContext, jobs: list[tuple[Pipeline, Job]], name: str, keys: set[str]) -> bool:
    """Whether adding ``keys`` to the job ``name`` changes only that job's own caching."""
    if name.startswith("."):  # a template: extending jobs get its variables, nothing else
        return keys <= {"variables"}
    if not jobs:
        return False
    for pipeline, job in jobs:
        if job.parallel > 1 and "cache" in keys:
            return False  # every parallel run would push the cache (CA204)
        if "cache" in keys and job.cache_state == "default":
            # its own cache replaces the default one: fine when that one holds nothing the
            # job installs (an npm job under a default pip cache)
            if Audit(ctx, pipeline).dependency_caches(Audit(ctx, pipeline).facts(job)):
                return False
        elif "cache" in keys and job.cache_state != "none":
            return False  # a template's cache would deep-merge with it; `cache: []` is meant
        if "before_script" in keys and any(s.section == "before_script" for s in job.scripts):
            return False
    return True


def _edit(ctx: RepoContext, finding: Finding) -> Fix | None:
    fix = finding.fix
    path = finding.location.path
    if fix is None or not fix.snippet.strip() or finding.message.startswith("Jobs "):
        return None  # a finding about several jobs: fixing the one in the snippet is not enough
    text = ctx.read_text(path)
    if text is None or not safe_text(text):
        return None
    try:
        root = load_path(ctx, path)
        wanted = load(fix.snippet)
    except YamlError:
        return None
    if not isinstance(root, dict) or not isinstance(wanted, dict) or len(wanted) != 1:
        return None
    name = str(next(iter(wanted)))
    body = wanted[name]
    target = root.get(name)
    blocks = _blocks(fix.snippet, name)
    if not isinstance(body, dict) or not isinstance(target, dict) or blocks is None:
        return None
    if set(blocks) != {str(k) for k in body}:
        return None
    try:
        events = parse_events(text)
    except YamlError:
        return None
    mapping = block_mapping(text, (name,), events)
    if mapping is None or not mapping.editable or mapping.column == 0:
        return None
    insertions: dict[int, list[str]] = {}
    additions: dict[tuple[PathPart, ...], dict[str, Any]] = {}

    def insert(where: BlockMapping, entries: str) -> None:
        insertions.setdefault(where.last_line + 1, []).append(shift(entries, where.column))

    if name == "variables":  # top-level variables: every job that takes them
        if any(str(k) in target for k in body):
            return None
        insert(mapping, "".join(blocks.values()))
        additions[(name,)] = dict(body)
    else:
        pipelines = [resolve(ctx, r) for r in _roots(ctx) if path in resolve(ctx, r).files]
        files = {f for p in pipelines for f in p.files} | {path}
        jobs = [(p, j) for p in pipelines for j in p.jobs if j.name == name]
        if not _may_add(ctx, jobs, name, set(blocks)) or _used_elsewhere(ctx, files, name):
            return None
        new: dict[str, Any] = {}
        for key, block in blocks.items():
            if key == "cache":
                block = _job_prefix(block)
                value = load(block)["cache"]
                key_map = value.get("key") if isinstance(value, dict) else None
                if not (isinstance(key_map, dict) and "files" in key_map):
                    return None  # a key not on the lock file never refreshes (CA203)
                blocks[key] = block
            else:
                value = body[key]
            if key == "variables" and key in target:
                current = target[key]
                inner = block_mapping(text, (name, key), events)
                if inner is None or not inner.editable or not isinstance(value, dict):
                    return None
                if not isinstance(current, dict) or any(str(v) in current for v in value):
                    return None  # a variable to change, not add: a person decides
                insert(inner, _entries_of(block))
                additions[(name, key)] = dict(value)
            elif key in target:
                return None
            else:
                new[key] = value
        appended = "".join(blocks[key] for key in new)
        if appended:
            insert(mapping, appended)
            additions[(name,)] = new
    edits = tuple(
        make_edit(path, text, line, line - 1, "".join(parts))
        for line, parts in sorted(insertions.items())
    )
    if not edits:
        return None
    try:
        new_text = apply_text(text.encode("utf-8"), edits).decode("utf-8")
    except EditConflict:
        return None
    other = ctx.with_text(path, new_text)
    try:
        if not adds_only(root, load_path(other, path), additions):
            return None
    except YamlError:
        return None
    if not _reaudit_clean(ctx, other, path, finding, name):
        return None
    return dataclasses.replace(fix, edits=edits)


def ca201(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Add the cache variables and a ``cache:`` keyed on the lock file to a job without one."""
    return _edit(ctx, finding)


def ca202(ctx: RepoContext, finding: Finding) -> Fix | None:
    """Point the tool's cache into the cached project directory. Re-writing a ``cache:`` that
    names a path outside the project stays advice: once it works, jobs sharing it need their
    own ``policy`` (CA204), which only a person can assign."""
    return _edit(ctx, finding)


GENERATORS: dict[str, Generator] = {"CA201": ca201, "CA202": ca202}

"""Which repository files a CI file's text may run, and which CI files can reach a file that
passes a text test: to skip parsing the files whose analysis cannot produce a given fact.

A job runs a repository file only when its text names it (``./scripts/build.sh``,
``bash ci/test``, ``make -f other.mk``) or runs a tool that reads a file by convention (make
reads the Makefile, npm & co. package.json, compose and bake their default files). Data files
are never run as scripts: requirement, lock and project files, Dockerfiles, workflows, and
YAML, JSON, TOML, text and config files (GitLab includes are followed through the pipeline's
resolution, package.json through the convention). The reference graph below over-approximates
what :func:`cacheaudit.analyzers.scripts.follow` reads, so a file the graph cannot reach is
never read by ``follow`` either.

Used by the named-file mode (:mod:`cacheaudit.lazy`: which CI files may build a Dockerfile)
and by the full audit (:mod:`~cacheaudit.analyzers.dockerfile.ci_targets`: which CI files may
build a stage with ``--target``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable

from cacheaudit.discovery import FileKind
from cacheaudit.repo import RepoContext

IMPLICIT = {
    # A command that runs a file the text does not name: make reads the Makefile, npm & co.
    # package.json, compose and bake their default files.
    "make": ("Makefile", "makefile", "GNUmakefile"),
    "gmake": ("Makefile", "makefile", "GNUmakefile"),
    "npm": ("package.json",),
    "yarn": ("package.json",),
    "pnpm": ("package.json",),
    "bun": ("package.json",),
    "node": ("package.json",),
    "compose": (
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
        "compose.override.yml",
        "compose.override.yaml",
        "docker-compose.override.yml",
        "docker-compose.override.yaml",
    ),
    "bake": ("docker-bake.hcl", "docker-bake.json", "docker-bake.override.hcl"),
}

_DATA_KINDS = frozenset(
    {
        FileKind.REQUIREMENTS,
        FileKind.LOCKFILE,
        FileKind.PYPROJECT,
        FileKind.PIPFILE,
        FileKind.SETUP_CFG,
        FileKind.DOCKERFILE,
        FileKind.WORKFLOW,
        FileKind.COMPOSITE_ACTION,
    }
)
"""Files no CI job runs as a script: named in a command, they are read by a tool."""

_NOT_SCRIPTS = (".yml", ".yaml", ".json", ".toml", ".lock", ".txt", ".md", ".cfg", ".ini")


def peeked(ctx: RepoContext, path: str) -> str:
    """The file's text for a text test ("" when it cannot be read): a peek, so a file that
    cannot be read is reported (CA002) only when an analyzer reads it."""
    return ctx.peek_text(path) or ""


def reaching(ctx: RepoContext, start: Iterable[str], test: Callable[[str], bool]) -> set[str]:
    """The files, among ``start`` and the files they may run (transitively, see
    :func:`references`), from which a file passing ``test`` is reachable (itself included).

    One walk of the reference graph and one backward walk from the files that pass: linear,
    where asking each start file separately walks the shared part of the graph again."""
    edges: dict[str, list[str]] = {}
    pending = list(dict.fromkeys(start))
    while pending:
        path = pending.pop()
        if path in edges:
            continue
        edges[path] = refs = references(ctx, path)
        pending.extend(p for p in refs if p not in edges)
    callers: dict[str, list[str]] = {}
    for path, refs in edges.items():
        for ref in refs:
            callers.setdefault(ref, []).append(path)
    reached = {path for path in edges if test(path)}
    pending = list(reached)
    while pending:
        for caller in callers.get(pending.pop(), ()):
            if caller not in reached:
                reached.add(caller)
                pending.append(caller)
    return reached


def references(ctx: RepoContext, path: str) -> list[str]:
    """The repository files ``path``'s text may run: every file whose name is written in it
    (as a path or a bare name), and the files make, npm & co., compose and bake read without
    being named."""

    def compute() -> list[str]:
        body = peeked(ctx, path)
        found = [p for name, paths in _runnable_names(ctx).items() if name in body for p in paths]
        lowered = body.lower()  # a case-insensitive match of a word is in the lowered text
        for word, implicit in IMPLICIT.items():
            if word in lowered and re.search(rf"\b{word}\b", body, re.I):
                found.extend(p for name in implicit for p in ctx.named(name))
        return found

    return ctx.memo("reach:references", path, compute)


def _runnable_names(ctx: RepoContext) -> dict[str, list[str]]:
    """File name → the repository files of that name a job may run (from the listing)."""

    def compute() -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in sorted(ctx.paths):
            if ctx.kind_of(path) not in _DATA_KINDS and not path.lower().endswith(_NOT_SCRIPTS):
                index.setdefault(posixpath.basename(path), []).append(path)
        return index

    return ctx.memo("reach:runnable", "", compute)

"""Indexes of the repository's paths by directory, built once per run (memoised on the
:class:`~cacheaudit.repo.RepoContext`), so cross-file questions ("which files stand in this
directory?", "which files lie below it?") look at their candidates instead of every path."""

from __future__ import annotations

import posixpath

from cacheaudit.repo import RepoContext


def children(ctx: RepoContext, directory: str) -> list[str]:
    """Sorted paths whose ``posixpath.dirname`` is ``directory`` (``""``: the root's files)."""

    def compute() -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in sorted(ctx.paths):
            index.setdefault(posixpath.dirname(path), []).append(path)
        return index

    return ctx.memo("pathindex", "children", compute).get(directory, [])


def below(ctx: RepoContext, directory: str) -> list[str]:
    """Sorted paths that start with ``directory + "/"`` (every path for ``""``)."""

    def compute() -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in sorted(ctx.paths):
            end = path.find("/")
            while end != -1:
                index.setdefault(path[:end], []).append(path)
                end = path.find("/", end + 1)
        return index

    if not directory:
        return ctx.memo("pathindex", "all", lambda: sorted(ctx.paths))
    return ctx.memo("pathindex", "below", compute).get(directory, [])

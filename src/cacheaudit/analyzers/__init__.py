"""Analyzers: one module per file family, each exposing the same function.

Per-file analyzers expose ``analyze(ctx, file) -> Analysis``; ``cross`` exposes
``analyze_repo(ctx, installs) -> Analysis`` and runs after them on the install map. Modules are
imported only when a file of their kind exists, to keep start-up lean.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.model import Analysis, InstallSite
from cacheaudit.repo import RepoContext


class FileAnalyzer(Protocol):
    def analyze(self, ctx: RepoContext, file: SourceFile) -> Analysis: ...


class RepoAnalyzer(Protocol):
    def analyze_repo(self, ctx: RepoContext, installs: list[InstallSite]) -> Analysis: ...


ANALYZERS: dict[FileKind, str] = {
    FileKind.WORKFLOW: "cacheaudit.analyzers.github_actions",
    FileKind.COMPOSITE_ACTION: "cacheaudit.analyzers.github_actions",
    FileKind.GITLAB_CI: "cacheaudit.analyzers.gitlab_ci",
    FileKind.DOCKERFILE: "cacheaudit.analyzers.dockerfile",
    FileKind.REQUIREMENTS: "cacheaudit.analyzers.dependencies",
    FileKind.PYPROJECT: "cacheaudit.analyzers.dependencies",
}
"""Which module analyzes which kind. Kinds not listed (lock files, package.json...) are only
context for other analyzers."""

WHOLE_REPO_ANALYZERS = frozenset({"cacheaudit.analyzers.github_actions"})
"""Modules that index all their files on first use (to follow reusable workflows and local
composite actions): a worker pool must give all their files to one worker."""

CROSS_ANALYZER = "cacheaudit.analyzers.cross"


def file_analyzer(kind: FileKind) -> FileAnalyzer | None:
    module = ANALYZERS.get(kind)
    if module is None:
        return None
    analyzer: FileAnalyzer = importlib.import_module(module)
    return analyzer


def repo_analyzer() -> RepoAnalyzer:
    analyzer: RepoAnalyzer = importlib.import_module(CROSS_ANALYZER)
    return analyzer

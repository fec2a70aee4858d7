"""STUB: analyzer pending (see its issue)."""

from __future__ import annotations

from cacheaudit.discovery import SourceFile
from cacheaudit.model import Analysis
from cacheaudit.repo import RepoContext


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    return Analysis()

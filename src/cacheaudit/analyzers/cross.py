"""STUB: cross-file rules pending (see its issue)."""

from __future__ import annotations

from cacheaudit.model import Analysis, InstallSite
from cacheaudit.repo import RepoContext


def analyze_repo(ctx: RepoContext, installs: list[InstallSite]) -> Analysis:
    return Analysis()

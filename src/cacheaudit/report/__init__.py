"""Output formats: one module each, exposing ``render(report, *, color) -> str``. They return
text and never print; the CLI decides where it goes. Modules load only when chosen."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from cacheaudit.model import Report

FORMATS: dict[str, str] = {
    "console": "cacheaudit.report.console",
    "concise": "cacheaudit.report.concise",
    "json": "cacheaudit.report.json",
    "sarif": "cacheaudit.report.sarif",
    "github": "cacheaudit.report.github",
    "gitlab": "cacheaudit.report.gitlab",
    "markdown": "cacheaudit.report.markdown",
    "badge": "cacheaudit.report.badge",
}

PROJECT_URL = "https://github.com/cacheaudit/cacheaudit"
"""Where the tool lives: SARIF ``informationUri``, links in Markdown."""


class Renderer(Protocol):
    def render(self, report: Report, *, color: bool = False) -> str: ...


def renderer(name: str) -> Renderer:
    module: Renderer = importlib.import_module(FORMATS[name])
    return module


def repository_prefix(report: Report) -> str:
    """Where the audited root sits inside its git repository (``""`` or ``"services/api/"``).

    Code scanning, workflow annotations and GitLab's Code Quality widget resolve paths against
    the repository root, while findings are relative to the audited directory; auditing a
    sub-directory of a monorepo must still point at the right file. Without a ``.git`` above
    the root there is nothing to resolve against, and paths stay as they are.
    """
    root = Path(report.root)
    for candidate in (root, *root.parents):
        if (candidate / ".git").exists():
            relative = root.relative_to(candidate).as_posix()
            return "" if relative == "." else relative + "/"
    return ""


def language_of(path: str) -> str:
    """Syntax of a fix snippet for highlighting, from the path it is written for."""
    lower = path.lower()
    if lower.endswith((".yml", ".yaml")):
        return "yaml"
    if "dockerfile" in lower or "containerfile" in lower:
        return "dockerfile"
    if lower.endswith(".toml"):
        return "toml"
    return "text"


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``: counts in every human format read as English."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

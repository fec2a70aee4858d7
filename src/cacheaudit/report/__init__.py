"""Output formats: one module each, exposing ``render(report, *, color) -> str``. They return
text and never print; the CLI decides where it goes. Modules load only when chosen, and this
package imports neither the model nor rich (a result-cache hit imports it for ``FORMATS``)."""

from __future__ import annotations

import importlib
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cacheaudit.model import Finding, Report

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


def display_path(report: Report, path: str, base: str | None) -> str:
    """``path`` (relative to the audited root) as the user can open it from ``base`` (the current
    directory); unchanged when ``base`` is None."""
    if base is None or not path:
        return path
    relative = os.path.relpath(os.path.join(report.root, path), base)
    return relative.replace(os.sep, "/")


def location(finding: Finding, report: Report, base: str | None) -> str:
    """``path:line:col`` (``path:line`` without a column): what terminals and editors open."""
    loc = finding.location
    where = f"{display_path(report, loc.path, base)}:{max(loc.line, 1)}"
    return f"{where}:{loc.column}" if loc.column else where


def severity_summary(findings: tuple[Finding, ...]) -> str:
    """``3 findings (1 error, 2 warning)``, or ``no findings``."""
    from cacheaudit.model import Severity

    if not findings:
        return "no findings"
    counts = Counter(f.severity for f in findings)
    detail = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
    return f"{plural(len(findings), 'finding')} ({detail})"


def config_label(config_file: str, base: str | None) -> str:
    """The config file as shown to the user: relative to ``base``, naming the table it was read
    from in a ``pyproject.toml``."""
    shown = config_file
    if base is not None and os.path.isabs(config_file):
        shown = os.path.relpath(config_file, base).replace(os.sep, "/")
    if os.path.basename(config_file) == "pyproject.toml":
        shown += " [tool.cacheaudit]"
    return shown

"""Output formats: one module each, exposing ``render(report, *, color) -> str``. They return
text and never print; the CLI decides where it goes. Modules load only when chosen."""

from __future__ import annotations

import importlib
from typing import Protocol

from cacheaudit.model import Report

FORMATS: dict[str, str] = {
    "console": "cacheaudit.report.console",
    "json": "cacheaudit.report.json",
}


class Renderer(Protocol):
    def render(self, report: Report, *, color: bool = False) -> str: ...


def renderer(name: str) -> Renderer:
    module: Renderer = importlib.import_module(FORMATS[name])
    return module

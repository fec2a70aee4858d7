"""Edits for GitLab CI findings (filled in below)."""

from __future__ import annotations

from cacheaudit.fix.generators import Generator

GENERATORS: dict[str, Generator] = {}

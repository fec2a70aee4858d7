"""Shared test helpers: run the real pipeline on a fixture repository."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cacheaudit.audit import audit
from cacheaudit.config import build_config
from cacheaudit.model import Finding, Report

FIXTURES = Path(__file__).parent / "fixtures"


def run_audit(root: Path, **options: Any) -> Report:
    """Audit ``root`` as `cacheaudit ROOT` would, with build_config keyword options."""
    return audit(build_config(root.resolve(), **options))


def found(report: Report) -> set[tuple[str, str, int]]:
    """(rule id, path, line) of every finding and notice: what fixtures' expected.txt lists."""
    return {
        (f.rule_id, f.location.path, f.location.line) for f in (*report.findings, *report.notices)
    }


def of_rule(report: Report, rule_id: str) -> list[Finding]:
    return [f for f in report.findings if f.rule_id == rule_id]


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy ``tests/fixtures/<name>`` to a temporary directory (for tests that modify it)."""

    def copy(name: str) -> Path:
        target = tmp_path / name.replace("/", "_")
        shutil.copytree(FIXTURES / name, target, symlinks=True)
        return target

    return copy


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write ``{relative path: text}`` into a fresh directory and return it."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "repo"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return make


@pytest.fixture(autouse=True, scope="session")
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """CLI runs in tests keep their result cache in a temporary directory, never in ~/.cache."""
    import os

    os.environ["CACHEAUDIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("result-cache"))

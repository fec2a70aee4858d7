"""The pre-commit hook, proven with the real `pre-commit try-repo` against fixture git
repositories: one meets its threshold, one falls below it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_cli_commands import CACHED_WORKFLOW, UNCACHED_WORKFLOW

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(PROJECT),
            "cacheaudit",
            "--all-files",
            "--verbose",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.fixture(scope="module")
def precommit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One hook environment for both cases: building it is the slow part.
    return tmp_path_factory.mktemp("pre-commit-home")


def _repo(make_repo: Callable[[dict[str, str]], Path], workflow: str) -> Path:
    root = make_repo(
        {
            ".github/workflows/ci.yml": workflow,
            "requirements.txt": "requests==2.32.3\n",
            ".cacheaudit.toml": 'fail-under = 100\nselect = ["CA101"]\n',
        }
    )
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    return root


def test_hook_passes_when_the_threshold_is_met(
    make_repo: Callable[[dict[str, str]], Path], precommit_home: Path
) -> None:
    result = _try_repo(_repo(make_repo, CACHED_WORKFLOW), precommit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_hook_fails_below_the_threshold(
    make_repo: Callable[[dict[str, str]], Path], precommit_home: Path
) -> None:
    result = _try_repo(_repo(make_repo, UNCACHED_WORKFLOW), precommit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    assert "CA101" in result.stdout
    assert ".github/workflows/ci.yml" in result.stdout

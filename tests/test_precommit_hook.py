"""The pre-commit hook, proven with the real `pre-commit try-repo` against fixture git
repositories: one meets its threshold, one falls below it; `pre-commit run --all-files` agrees
with `cacheaudit .`; a change to a GitLab include or a `requirements/*.txt` runs the hook; and
the README's `repo: local` set-up works as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

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


def _try_repo(
    repo: Path, home: Path, *, all_files: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(PROJECT),
            "cacheaudit",
            *(["--all-files"] if all_files else []),
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


GITLAB_CI = """\
include:
  - local: ci/build.yml
"""
GITLAB_INCLUDE = """\
test:
  image: python:3.12
  script:
    - pip install -r requirements/dev.txt
    - pytest
"""


def _gitlab_repo(make_repo: Callable[[dict[str, str]], Path]) -> Path:
    root = make_repo(
        {
            ".gitlab-ci.yml": GITLAB_CI,
            "ci/build.yml": GITLAB_INCLUDE,
            "requirements/dev.txt": "pytest\nrequests\n",
            "src/app.py": "print('hello')\n",
        }
    )
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    return root


def _cacheaudit_json(root: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "cacheaudit", ".", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_all_files_agrees_with_cacheaudit_dot(
    make_repo: Callable[[dict[str, str]], Path], precommit_home: Path
) -> None:
    root = _gitlab_repo(make_repo)
    expected = _cacheaudit_json(root)
    result = _try_repo(root, precommit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    score = expected["score"]
    assert isinstance(score, dict)
    assert f"cache score {score['overall']}/100" in result.stdout
    findings = expected["findings"]
    assert isinstance(findings, list) and findings  # the include's uncached install is seen
    for finding in findings:
        assert f"{finding['path']}:{finding['line']}" in result.stdout


@pytest.mark.parametrize("changed", ["ci/build.yml", "requirements/dev.txt"])
def test_a_change_to_an_include_or_requirements_dir_runs_the_hook(
    make_repo: Callable[[dict[str, str]], Path], precommit_home: Path, changed: str
) -> None:
    root = _gitlab_repo(make_repo)
    with (root / changed).open("a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    _git(root, "add", changed)
    result = _try_repo(root, precommit_home, all_files=False)
    assert "Skipped" not in result.stdout, result.stdout
    assert "cache score" in result.stdout


def test_a_change_to_other_files_skips_the_hook(
    make_repo: Callable[[dict[str, str]], Path], precommit_home: Path
) -> None:
    root = _gitlab_repo(make_repo)
    (root / "src/app.py").write_text("print('bye')\n", encoding="utf-8")
    _git(root, "add", "src/app.py")
    result = _try_repo(root, precommit_home, all_files=False)
    assert "Skipped" in result.stdout, result.stdout


LOCAL_EXAMPLE = PROJECT / "tests" / "report" / "ci_examples" / "pre-commit-local.yaml"


def test_local_hook_matches_the_published_hook() -> None:
    [hook] = YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    local = YAML(typ="safe").load(LOCAL_EXAMPLE.read_text("utf-8"))["repos"][0]["hooks"][0]
    assert local["files"] == hook["files"]
    assert local["pass_filenames"] is hook["pass_filenames"] is False


def test_readme_local_hook_works_as_written(
    make_repo: Callable[[dict[str, str]], Path], precommit_home: Path
) -> None:
    root = _gitlab_repo(make_repo)
    shutil.copy(LOCAL_EXAMPLE, root / ".pre-commit-config.yaml")
    _git(root, "add", "-A")
    bin_dir = Path(sys.executable).parent  # cacheaudit installed from this checkout
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(precommit_home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # warnings only: passes
    assert re.search(r"ci/build\.yml:\d+:\d+: CA201 \[warning\]", result.stdout), result.stdout

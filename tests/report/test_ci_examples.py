"""The copy-paste CI set-ups the README shows (kept here as files): valid for GitHub and GitLab
(SchemaStore schemas vendored by check-jsonschema) and clean when cacheaudit audits them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_audit

EXAMPLES = Path(__file__).parent / "ci_examples"
PLACES = {
    "github-workflow.yml": (".github/workflows/cacheaudit.yml", "vendor.github-workflows"),
    "gitlab-ci.yml": (".gitlab-ci.yml", "vendor.gitlab-ci"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PLACES))
def test_example_is_valid_ci_configuration(name: str) -> None:
    _, schema = PLACES[name]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            schema,
            str(EXAMPLES / name),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(PLACES))
def test_example_audits_clean(name: str, tmp_path: Path) -> None:
    place, _ = PLACES[name]
    target = tmp_path / place
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((EXAMPLES / name).read_text(encoding="utf-8"), encoding="utf-8")
    # What the examples use: the action and its lock file, copied to tools/cacheaudit.
    tools = tmp_path / "tools" / "cacheaudit"
    (tools / "requirements").mkdir(parents=True)
    project = Path(__file__).parents[2]
    for rel in ("action.yml", "requirements/action.txt"):
        (tools / rel).write_text((project / rel).read_text(encoding="utf-8"), encoding="utf-8")
    report = run_audit(tmp_path)
    assert [(f.rule_id, f.message) for f in (*report.findings, *report.notices)] == []


def test_examples_use_every_ci_output() -> None:
    github = (EXAMPLES / "github-workflow.yml").read_text(encoding="utf-8")
    assert "github/codeql-action/upload-sarif" in github
    assert "sarif_file: cacheaudit.sarif" in github  # the action's default sarif-file
    assert "security-events: write" in github
    gitlab = (EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8")
    assert "codequality: gl-code-quality-report.json" in gitlab
    assert "--output-format gitlab=gl-code-quality-report.json" in gitlab


@pytest.mark.parametrize("name", sorted(PLACES))
def test_examples_use_only_what_exists_today(name: str) -> None:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert "cacheaudit/cacheaudit@" not in text  # no published action yet
    assert "pip install cacheaudit" not in text and "cacheaudit==" not in text  # nor PyPI


@pytest.mark.parametrize("name", sorted(PLACES))
def test_readme_shows_the_checked_example(name: str) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = (EXAMPLES / name).read_text(encoding="utf-8").rstrip("\n")
    assert f"```yaml\n{example}\n```" in readme, f"README's copy of {name} has drifted"

"""GitLab CI edits (CA201/CA202) on the shapes real files take: each either gets an edit that,
applied and re-audited, removes its finding and adds none, or stays advice for a stated reason.
The shapes come from tests/realworld (pgjones/quart and hypercorn: indentless sequences;
meltano: parallel jobs, a shared ``.cache`` that poetry does not write to)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cacheaudit.fix as fix_package
from cacheaudit.audit import audit
from cacheaudit.config import build_config
from cacheaudit.fix.engine import run
from cacheaudit.model import Finding
from cacheaudit.parsing.yaml import load

QUART = """\
py37:
  image: python:3.7
  script:
  - pip install tox
  - tox -e py37

pages:
  image: python:3.9
  script:
  - pip install sphinx
  - make html
  artifacts:
    paths:
    - public
  rules:
  - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
"""


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fix_package, "STRICT", True)


def _repo(tmp_path: Path, ci: str | bytes, files: dict[str, str] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / ".gitlab-ci.yml").write_bytes(ci if isinstance(ci, bytes) else ci.encode())
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _ca201(root: Path, job: str, tool: str = "") -> Finding:
    found = [
        f
        for f in audit(build_config(root)).findings
        if f.rule_id == "CA201"
        and f.subject.startswith(f"{job} /")
        and (not tool or f"/ {tool} install" in f.subject)
    ]
    assert len(found) == 1, found
    return found[0]


def _fixed(root: Path) -> tuple[str, list[Finding]]:
    """The fixed .gitlab-ci.yml and the findings of a re-audit; every edit was applied."""
    outcome = run(build_config(root), unsafe=True)
    assert not outcome.refused, outcome.refused
    new = outcome.changes[".gitlab-ci.yml"][1].decode()
    (root / ".gitlab-ci.yml").write_text(new, newline="")
    return new, list(audit(build_config(root)).findings)


def test_indentless_sequences_quart(tmp_path: Path) -> None:
    root = _repo(tmp_path, QUART)
    assert _ca201(root, "py37").fix.edits  # type: ignore[union-attr]
    new, after = _fixed(root)
    data = load(new)
    assert data["py37"]["script"] == ["pip install tox", "tox -e py37"]
    assert data["py37"]["cache"]["key"]["prefix"] == "pip-$CI_JOB_NAME"
    assert data["pages"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert data["pages"]["variables"]["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"
    assert [f.rule_id for f in after if f.rule_id.startswith("CA2")] == []


def test_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    root = _repo(tmp_path, QUART.replace("\n", "\r\n").encode())
    new, after = _fixed(root)
    assert "\n" not in new.replace("\r\n", "") and "cache:\r\n" in new
    assert [f.rule_id for f in after if f.rule_id.startswith("CA2")] == []


def test_odd_indentation_and_existing_variables_last(tmp_path: Path) -> None:
    ci = (
        "test:\n   image: python:3.12\n   script:\n      - pip install -r requirements.txt\n"
        "   variables:\n      FOO: bar\n"
    )
    root = _repo(tmp_path, ci, {"requirements.txt": "requests==2.32.3\n"})
    new, after = _fixed(root)
    assert new.startswith(
        ci.rstrip("\n") + '\n      PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"\n   cache:\n'
    )
    assert load(new)["test"]["variables"] == {
        "FOO": "bar",
        "PIP_CACHE_DIR": "$CI_PROJECT_DIR/.cache/pip",
    }
    assert load(new)["test"]["cache"]["key"]["files"] == ["requirements.txt"]
    assert [f.rule_id for f in after if f.rule_id.startswith("CA2")] == []


NODE = {"package.json": '{"name": "x"}\n', "package-lock.json": '{"lockfileVersion": 3}\n'}

ADVICE = {
    # every one of the 3 runs would push the cache it gets (CA204)
    "parallel job": "test:\n  parallel: 3\n  script:\n    - pip install requests flask\n",
    "flow-style job": "test: {image: 'python:3', script: [pip install requests flask]}\n",
    # a job's own `variables:` replaces the merged one: the merge would be shadowed
    "merge key": (
        ".base: &base\n  variables:\n    A: b\n"
        "test:\n  <<: *base\n  script:\n    - pip install requests flask\n"
    ),
    # the keys would reach the job that extends it too
    "extended by another job": (
        "test:\n  script:\n    - pip install requests flask\n"
        "more:\n  extends: test\n  script:\n    - pip install requests flask\n"
    ),
    # its own cache would replace the default one, which holds its pip downloads
    "default cache it needs": (
        'variables:\n  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"\n'
        "default:\n  cache:\n    key:\n      files: [requirements.txt]\n    paths: [.cache/pip]\n"
        "test:\n  script:\n    - pip install -r requirements.txt\n    - npm ci\n"
    ),
    # meltano: caching `.cache/` for pip makes it a poetry cache poetry never writes to (CA202)
    "cache that turns another install into CA202": (
        'variables:\n  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache"\n'
        "test:\n  script:\n    - pip install requests flask\n    - poetry install\n"
    ),
}


@pytest.mark.parametrize("name", ADVICE)
def test_unsafe_shapes_stay_advice(name: str, tmp_path: Path) -> None:
    root = _repo(tmp_path, ADVICE[name], NODE | {"requirements.txt": "requests==2.32.3\n"})
    tool = "npm" if name == "default cache it needs" else "pip"
    finding = _ca201(root, "test", tool)
    assert finding.fix is not None and finding.fix.snippet and not finding.fix.edits


def test_npm_job_under_a_default_pip_cache_gets_its_own(tmp_path: Path) -> None:
    """Near-miss of "default cache it needs": the default cache holds nothing the job installs."""
    ci = (
        'variables:\n  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"\n'
        "default:\n  cache:\n    key:\n      files: [requirements.txt]\n    paths: [.cache/pip]\n"
        "web:\n  script:\n    - npm ci\n"
    )
    root = _repo(tmp_path, ci, NODE)
    assert _ca201(root, "web").fix.edits  # type: ignore[union-attr]
    new, after = _fixed(root)
    assert load(new)["web"]["cache"]["paths"] == [".npm/"]
    assert [f.rule_id for f in after if f.rule_id.startswith("CA2")] == []

"""Discovery: classification, skipped directories, and hostile files becoming CA002 notices."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cacheaudit.discovery import FileKind, classify, discover

DOCKER = "FROM python:3.12-slim\nRUN pip install requests\n"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".github/workflows/ci.yml", FileKind.WORKFLOW),
        (".github/workflows/release.yaml", FileKind.WORKFLOW),
        (".github/actions/setup/action.yml", FileKind.COMPOSITE_ACTION),
        ("action.yaml", FileKind.COMPOSITE_ACTION),
        (".gitlab-ci.yml", FileKind.GITLAB_CI),
        ("Dockerfile", FileKind.DOCKERFILE),
        ("docker/Dockerfile.prod", FileKind.DOCKERFILE),
        ("Dockerfile-alpine", FileKind.DOCKERFILE),
        ("Dockerfile_dev", FileKind.DOCKERFILE),
        ("DockerfileDebian", FileKind.DOCKERFILE),
        ("api.Dockerfile", FileKind.DOCKERFILE),
        ("web.dockerfile", FileKind.DOCKERFILE),
        ("Containerfile", FileKind.DOCKERFILE),
        ("requirements.txt", FileKind.REQUIREMENTS),
        ("requirements-dev.txt", FileKind.REQUIREMENTS),
        ("dev-requirements.txt", FileKind.REQUIREMENTS),
        ("requirements/base.txt", FileKind.REQUIREMENTS),
        ("constraints.txt", FileKind.REQUIREMENTS),
        ("requirements.in", FileKind.REQUIREMENTS),
        ("pyproject.toml", FileKind.PYPROJECT),
        ("uv.lock", FileKind.LOCKFILE),
        ("web/package-lock.json", FileKind.LOCKFILE),
        ("web/package.json", FileKind.PACKAGE_JSON),
        ("Pipfile", FileKind.PIPFILE),
    ],
)
def test_classify_known_files(path: str, kind: FileKind) -> None:
    assert classify(path) is kind


@pytest.mark.parametrize(
    "path",
    [
        ".github/workflows/README.md",
        ".github/workflows/sub/ci.yml",  # GitHub reads only the workflows directory itself
        "MANIFEST.in",
        "Dockerfile.dockerignore",
        "src/pkg/dockerfile.py",  # a module about Dockerfiles
        "parsing/Dockerfile.rs",
        "docs/Dockerfiles",  # a name ending in a lower-case word: not the Dockerfile convention
        "Dockerfile-lint.sh",
        "docs/requirements.md",
        "notes.txt",
        "ci.yml",
    ],
)
def test_classify_ignores_lookalikes(path: str) -> None:
    assert classify(path) is None


def test_walk_skips_vendored_and_virtualenv_directories(
    make_repo: Callable[[dict[str, str]], Path],
) -> None:
    root = make_repo(
        {
            "requirements.txt": "requests==2.32.3\n",
            "node_modules/pkg/requirements.txt": "x\n",
            ".git/requirements.txt": "x\n",
            "env-any-name/pyvenv.cfg": "home = /usr\n",
            "env-any-name/lib/requirements.txt": "x\n",
            "services/api/Dockerfile": "FROM python:3.12\n",
        }
    )
    found = discover(root)
    assert [f.path for f in found.files] == ["requirements.txt", "services/api/Dockerfile"]
    assert "node_modules/pkg/requirements.txt" not in found.paths
    assert found.notices == []


def test_exclude_globs_prune_directories_and_files(
    make_repo: Callable[[dict[str, str]], Path],
) -> None:
    root = make_repo(
        {
            "requirements.txt": "a\n",
            "tests/fixtures/x/requirements.txt": "b\n",
            "docker/old.Dockerfile": "FROM x\n",
        }
    )
    found = discover(root, exclude=["tests/fixtures", "*.Dockerfile"])
    assert [f.path for f in found.files] == ["requirements.txt"]


def _notice_reasons(root: Path, **kwargs: int) -> dict[str, str]:
    found = discover(root, **kwargs)  # type: ignore[arg-type]
    assert all(n.rule_id == "CA002" for n in found.notices)
    return {n.location.path: n.message for n in found.notices}


def test_symlinks_out_of_root_are_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "requirements.txt").write_text("secret==1\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").symlink_to(outside / "requirements.txt")
    (root / "etc").symlink_to("/")
    (root / "inside.txt").write_text("x")
    (root / "requirements-dev.txt").symlink_to(root / "inside.txt")  # inside: fine
    found = discover(root)
    reasons = {n.location.path: n.message for n in found.notices}
    assert "outside the scanned root" in reasons["requirements.txt"]
    assert [f.path for f in found.files] == ["requirements-dev.txt"]
    assert not any(p.startswith("etc/") for p in found.paths)  # the link to / is not walked


def test_symlink_loops_become_notices(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    (root / "a" / "loop").symlink_to(root / "a")  # directory loop: never followed
    (root / "Dockerfile").symlink_to(root / "Dockerfile.other")
    (root / "Dockerfile.other").symlink_to(root / "Dockerfile")  # file loop
    reasons = _notice_reasons(root)
    assert "loop" in reasons["Dockerfile"]
    assert "loop" in reasons["Dockerfile.other"]


def test_oversized_binary_and_undecodable_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("x==1\n" * 400)  # 2,000 bytes
    (root / "Dockerfile").write_bytes(b"FROM x\n\x00\x01\x02")
    (root / "constraints.txt").write_bytes("caf\xe9==1\n".encode("latin-1"))
    (root / "pyproject.toml").write_bytes(b"\xef\xbb\xbf[project]\r\nname = 'x'\r\n")
    found = discover(root, max_bytes=1000)
    reasons = {n.location.path: n.message for n in found.notices}
    assert "too large" in reasons["requirements.txt"]
    assert "binary" in reasons["Dockerfile"]
    assert "not valid UTF-8" in reasons["constraints.txt"]
    # BOM and CRLF are normalised, not reported.
    [pyproject] = found.files
    assert pyproject.text == "[project]\nname = 'x'\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads mode-000 files")
def test_unreadable_file_is_a_notice(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    target = root / "requirements.txt"
    target.write_text("x\n")
    target.chmod(0)
    try:
        assert "unreadable" in _notice_reasons(root)["requirements.txt"]
    finally:
        target.chmod(0o644)


def test_walk_is_deterministic(make_repo: Callable[[dict[str, str]], Path]) -> None:
    files = {f"svc{i}/Dockerfile": "FROM x\n" for i in range(20)}
    root = make_repo(files)
    first = discover(root)
    second = discover(root)
    assert [f.path for f in first.files] == sorted(files) == [f.path for f in second.files]


def test_gitignore_root_nested_negation_and_parents(tmp_path: Path) -> None:
    files = {
        ".gitignore": "build/\n*.tmp.txt\n/generated/\n!keep.tmp.txt\n",
        "build/Dockerfile": DOCKER,
        "sub/build/Dockerfile": DOCKER,  # `build/` has no inner slash: any depth
        "generated/requirements.txt": "x==1\n",
        "sub/generated/requirements.txt": "x==1\n",  # `/generated/` is anchored at the root
        "a.tmp.txt": "",
        "keep.tmp.txt": "",
        "services/.gitignore": "*.Dockerfile\n!prod.Dockerfile\n",
        "services/dev.Dockerfile": DOCKER,
        "services/prod.Dockerfile": DOCKER,
        "Dockerfile": DOCKER,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {
        "Dockerfile",
        "services/prod.Dockerfile",
        "sub/generated/requirements.txt",
    }
    assert "keep.tmp.txt" in found.paths and "a.tmp.txt" not in found.paths
    assert "build/Dockerfile" not in found.paths  # ignored files are not in the checkout
    everything = discover(tmp_path, respect_gitignore=False)
    assert {"build/Dockerfile", "services/dev.Dockerfile"} <= {f.path for f in everything.files}
    # Auditing services/ alone still honours the root's rules and its own.
    (tmp_path / ".git").mkdir()
    (tmp_path / "services" / "build").mkdir()
    (tmp_path / "services" / "build" / "Dockerfile").write_text(DOCKER)
    sub = discover(tmp_path / "services", repository=tmp_path)
    assert {f.path for f in sub.files} == {"prod.Dockerfile"}


def test_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("scratch/\n")
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "Dockerfile").write_text(DOCKER)
    assert discover(tmp_path, repository=tmp_path).files == []


def test_excluded_files_exist_but_are_not_audited(tmp_path: Path) -> None:
    (tmp_path / "requirements-dev.txt").write_text("pytest==8.0.0\n")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "requirements.txt").write_text("x==1\n")
    found = discover(tmp_path, exclude=["requirements-dev.txt", "vendor/**"])
    assert found.files == []
    assert {"requirements-dev.txt", "vendor/requirements.txt"} <= found.paths
    assert found.excluded == {"requirements-dev.txt", "vendor/requirements.txt"}


EXCLUDED_INPUT_WORKFLOW = """\
name: CI
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
          cache-dependency-path: requirements-dev.txt
      - run: pip install -r requirements-dev.txt
"""


def test_excluding_an_install_input_is_not_a_missing_file(tmp_path: Path) -> None:
    from tests.conftest import run_audit

    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(EXCLUDED_INPUT_WORKFLOW)
    (tmp_path / "requirements-dev.txt").write_text("requests==2.32.3\n")
    report = run_audit(tmp_path, exclude=["requirements-dev.txt"])
    assert [(f.rule_id, f.message) for f in report.findings] == []
    assert "requirements-dev.txt" not in report.files_audited
    # Really missing is still an error.
    (tmp_path / "requirements-dev.txt").unlink()
    missing = run_audit(tmp_path, exclude=["requirements-dev.txt"])
    assert {"CA504"} <= {f.rule_id for f in missing.findings}

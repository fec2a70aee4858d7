"""A run on named files (pre-commit) reads and analyses only what the named files need
(cacheaudit.lazy); its report is byte-identical to the full audit filtered to those files, which
is what a directory run computes and what ``audit.FULL_AUDIT_ONLY`` forces. The differential
over every file of every repository, against the code before the change, is
``benchmarks/compare_named.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cacheaudit import audit as audit_module
from cacheaudit import lazy
from cacheaudit.config import build_config
from cacheaudit.discovery import FileKind, classify, discover
from cacheaudit.repo import LazyRepoContext
from cacheaudit.report.json import report_dict

TESTS = Path(__file__).parents[1]
REPOS = sorted(p.parent for p in (TESTS / "fixtures").glob("*/*/expected.txt")) + sorted(
    p for p in (TESTS / "realworld").iterdir() if p.is_dir()
)
KINDS = (FileKind.DOCKERFILE, FileKind.WORKFLOW, FileKind.GITLAB_CI, FileKind.REQUIREMENTS)
PER_KIND = 12


def _sample() -> list[tuple[Path, tuple[str, ...]]]:
    """Up to PER_KIND named files of each kind, spread over the repositories, plus a few that
    take the full path (scripts, several files, a directory with a file)."""
    by_kind: dict[FileKind, list[tuple[Path, tuple[str, ...]]]] = {k: [] for k in KINDS}
    extra: list[tuple[Path, tuple[str, ...]]] = []
    for repo in REPOS:
        files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
        named = [f for f in files if classify(f) in KINDS]
        for name in named:
            kind = classify(name)
            assert kind is not None
            by_kind[kind].append((repo, (name,)))
        if len(named) >= 2:
            extra.append((repo, tuple(named[:2])))
        scripts = [f for f in files if f.endswith(".sh")]
        if scripts:
            extra.append((repo, (scripts[0],)))
        if named and "/" in named[0]:
            extra.append((repo, (named[0].split("/")[0], named[-1])))
    chosen = []
    for items in by_kind.values():
        step = max(1, len(items) // PER_KIND)
        chosen.extend(items[::step][:PER_KIND])
    return chosen + extra[:: max(1, len(extra) // 10)][:10]


CASES = _sample()


def _report(root: Path, targets: tuple[str, ...]) -> str:
    config = build_config(root, targets=targets, cwd=root)
    return json.dumps(report_dict(audit_module.audit(config)), indent=2)


@pytest.mark.parametrize(
    ("root", "targets"), CASES, ids=[f"{r.name}:{','.join(t)}" for r, t in CASES]
)
def test_named_files_identical_to_full_audit(
    root: Path, targets: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 10**9)
    lazily = _report(root, targets)
    monkeypatch.setattr(audit_module, "FULL_AUDIT_ONLY", True)
    assert _report(root, targets) == lazily


def test_the_lazy_path_is_taken_and_reads_little() -> None:
    """A named Dockerfile, GitLab file and workflow get a plan (no fall-back), and the plan
    for a Dockerfile no CI file builds is the Dockerfile alone."""
    seen = set()
    for root, targets in CASES:
        kind = classify(targets[0])
        if len(targets) != 1 or kind not in (
            FileKind.DOCKERFILE,
            FileKind.GITLAB_CI,
            FileKind.WORKFLOW,
        ):
            continue
        found = discover(root, read=False)
        assert not found.files and found.unread, "the walk reads nothing"
        ctx = LazyRepoContext(root, frozenset(found.paths), found.unread, 1 << 20)
        chosen = lazy.plan(ctx, targets)
        assert chosen is not None
        assert targets[0] in chosen.analyse
        seen.add(kind)
    assert seen == {FileKind.DOCKERFILE, FileKind.GITLAB_CI, FileKind.WORKFLOW}


def test_lone_dockerfile_plan(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM python:3.12\nRUN pip install flask\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "Dockerfile").write_text("FROM python:3.12\n")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "img.yml").write_text(
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: docker build other\n"
    )
    (workflows / "svc.yml").write_text(
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
        "        py: ['3.11', '3.12']\n    steps:\n      - run: docker build svc\n"
    )
    found = discover(tmp_path, read=False)
    ctx = LazyRepoContext(tmp_path, frozenset(found.paths), found.unread, 1 << 20)
    chosen = lazy.plan(ctx, ("svc/Dockerfile",))
    assert chosen is not None
    assert chosen.analyse == [".github/workflows/svc.yml", "svc/Dockerfile"]
    report = _report(tmp_path, ("svc/Dockerfile",))
    assert '"runs_per_pipeline": 2' in report  # the matrix build was seen


def _lazy_taken(root: Path, target: str) -> bool:
    config = build_config(root, targets=(target,), cwd=root)
    _found, ctx, _analysis = audit_module._analyze_named(config)
    return ctx is not None


_PR_ONLY = (
    "on: pull_request\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - uses: actions/cache@v4\n        with:\n"
    "          path: ~/.cache/pip\n          key: pip-${{ hashFiles('requirements.txt') }}\n"
    "      - run: pip install -r requirements.txt\n"
)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize(
    "others",
    [
        {},  # nothing warms the cache: CA112 fires, every workflow was indexed
        {  # a plain push workflow restoring a cache
            ".github/workflows/main.yml": _PR_ONLY.replace("on: pull_request", "on: push"),
        },
        {  # a warmer whose text has neither "push" nor "cache": setup-go caches by default,
            # and its trigger comes from the push workflow calling it
            ".github/workflows/go.yml": (
                "on: workflow_call\njobs:\n  g:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/setup-go@v5\n        with:\n          go-version: '1.22'\n"
                "      - run: go build ./...\n"
            ),
            ".github/workflows/zz.yml": (
                "on:\n  workflow_dispatch:\njobs:\n  call:\n    uses: ./.github/workflows/go.yml\n"
            ),
        },
        {  # push on tags only does not warm the default branch's cache
            ".github/workflows/rel.yml": _PR_ONLY.replace(
                "on: pull_request", "on:\n  push:\n    tags: ['v*']"
            ),
        },
    ],
    ids=["none", "push", "reusable-setup-go", "tags-only"],
)
def test_pull_request_only_workflow_lazy(
    tmp_path: Path, others: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CA112's repository-wide fact (does any workflow warm the cache) is answered lazily,
    exactly: the lazy path is taken and equals the full audit."""
    _write(tmp_path, {"requirements.txt": "flask==3.0.0\n", ".github/workflows/pr.yml": _PR_ONLY})
    _write(tmp_path, others)
    target = ".github/workflows/pr.yml"
    assert _lazy_taken(tmp_path, target)
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 10**9)
    lazily = _report(tmp_path, (target,))
    monkeypatch.setattr(audit_module, "FULL_AUDIT_ONLY", True)
    assert _report(tmp_path, (target,)) == lazily
    if ".github/workflows/rel.yml" not in others:  # tags only: whatever the full audit says
        assert ("CA112" in lazily) == (not others)


@pytest.mark.parametrize(
    "run",
    [
        "docker build --target runtime svc",
        'docker build --tar"get" runtime svc',  # quotes removed by the shell
        "docker build --tar\\\n  get runtime svc",  # a continued line
        "docker build $'--\\x74arget' runtime svc",  # an ANSI-C escape
        "docker build svc",  # no stage: the prefilter drops it, same report
    ],
)
def test_target_prefilter_keeps_every_stage(
    tmp_path: Path, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dockerfile = (
        "FROM python:3.12 AS build\nRUN pip install flask\n"
        "FROM python:3.12-slim AS runtime\nRUN pip install gunicorn\n"
        "FROM runtime AS final\n"
    )
    workflow = (
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n" + "".join(f"          {line}\n" for line in run.splitlines())
    )
    _write(tmp_path, {"svc/Dockerfile": dockerfile, ".github/workflows/img.yml": workflow})
    assert _lazy_taken(tmp_path, "svc/Dockerfile")
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 10**9)
    lazily = _report(tmp_path, ("svc/Dockerfile",))
    monkeypatch.setattr(audit_module, "FULL_AUDIT_ONLY", True)
    assert _report(tmp_path, ("svc/Dockerfile",)) == lazily


def test_may_name_target() -> None:
    from cacheaudit.analyzers.dockerfile.ci_targets import may_name_target

    assert may_name_target("docker build --target x .")
    assert may_name_target('with:\n  "tar\\x67et": x')
    assert may_name_target("--tar'g'et x")
    assert not may_name_target("docker build -t img .\npip install -r requirements.txt\n")


_RESTORE = (
    "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - uses: actions/cache/restore@v4\n        with:\n"
    "          path: ~/.cache/pip\n          key: pip-${{ hashFiles('requirements.txt') }}\n"
    "      - run: pip install -r requirements.txt\n"
)


@pytest.mark.parametrize(
    ("files", "target", "rule"),
    [
        (  # CA504: reported once, at the first install naming the file, with the count
            {
                ".github/workflows/a.yml": _PR_ONLY.replace("-r requirements.txt", "-r gone.txt"),
                ".github/workflows/b.yml": _PR_ONLY.replace("-r requirements.txt", "-r gone.txt"),
                "Dockerfile": "FROM python:3.12\nRUN pip install -r gone.txt\n",
            },
            ".github/workflows/a.yml",
            "CA504",
        ),
        (  # ... and not at the second
            {
                ".github/workflows/a.yml": _PR_ONLY.replace("-r requirements.txt", "-r gone.txt"),
                ".github/workflows/b.yml": _PR_ONLY.replace("-r requirements.txt", "-r gone.txt"),
            },
            ".github/workflows/b.yml",
            None,
        ),
        (  # CA105: nothing saves what the restore looks for
            {".github/workflows/r.yml": _RESTORE},
            ".github/workflows/r.yml",
            "CA105",
        ),
        (  # the save is in a composite action another workflow runs: no "cache" in its text
            {
                ".github/workflows/r.yml": _RESTORE,
                ".github/workflows/s.yml": (
                    "on: push\njobs:\n  s:\n    runs-on: ubuntu-latest\n    steps:\n"
                    "      - uses: actions/checkout@v4\n      - uses: ./.github/actions/keep\n"
                ),
                ".github/actions/keep/action.yml": (
                    "runs:\n  using: composite\n  steps:\n"
                    "    - uses: actions/cache/save@v4\n      with:\n        path: ~/.cache/pip\n"
                    "        key: pip-${{ hashFiles('requirements.txt') }}\n"
                ),
            },
            ".github/workflows/r.yml",
            None,
        ),
    ],
    ids=["ca504-first", "ca504-second", "ca105-never-saved", "ca105-saved-in-action"],
)
def test_repository_wide_workflow_facts(
    tmp_path: Path,
    files: dict[str, str],
    target: str,
    rule: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CA105 and CA504 need every workflow: the named-file run indexes all workflows and
    composite actions (still lazily: no Dockerfile, GitLab or dependency file is analysed)
    and reports what the full audit reports."""
    _write(tmp_path, {"requirements.txt": "flask==3.0.0\n", **files})
    assert _lazy_taken(tmp_path, target)
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 10**9)
    lazily = _report(tmp_path, (target,))
    monkeypatch.setattr(audit_module, "FULL_AUDIT_ONLY", True)
    assert _report(tmp_path, (target,)) == lazily
    rules = {f["rule_id"] for f in json.loads(lazily)["findings"]}
    for checked in ("CA105", "CA504"):
        assert (checked in rules) == (checked == rule)

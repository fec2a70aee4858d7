"""An exception inside one analyzer on one file is contained: it becomes a CA001 notice naming
the file and the analyzer, every other file is still audited with the same results, and the
exit code changes only under ``--strict``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cacheaudit.analyzers import cross, dockerfile, gitlab_ci
from cacheaudit.discovery import SourceFile
from cacheaudit.model import Analysis, Finding, InstallSite, Report
from cacheaudit.repo import RepoContext
from tests.conftest import found, run_audit
from tests.hardening.hostile import DOCKERFILE, GITLAB, REQUIREMENTS, WORKFLOW
from tests.hardening.sandbox import BOOM_ENV, Sandbox

Repo = Callable[[dict[str, str]], Path]

FILES = {
    "boom/Dockerfile": DOCKERFILE,
    "ok/Dockerfile": DOCKERFILE,
    "requirements.txt": "requests>=2\n",
    ".gitlab-ci.yml": GITLAB,
    ".github/workflows/ci.yml": WORKFLOW,
}


def _raising_on(
    needle: str, original: Callable[[RepoContext, SourceFile], Analysis]
) -> Callable[[RepoContext, SourceFile], Analysis]:
    def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
        if needle in file.path:
            raise RuntimeError(f"injected failure on {file.path}")
        return original(ctx, file)

    return analyze


def _internal_errors(report: Report) -> list[str]:
    return [n.message for n in report.notices if n.subject.startswith("internal-error")]


def _outside(report: Report, prefix: str) -> set[tuple[str, str, int]]:
    return {item for item in found(report) if not item[1].startswith(prefix)}


def test_a_crashing_file_analyzer_costs_one_file_not_the_run(
    make_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(FILES)
    clean = run_audit(root)
    monkeypatch.setattr(dockerfile, "analyze", _raising_on("boom/", dockerfile.analyze))
    broken = run_audit(root)

    (message,) = _internal_errors(broken)
    assert "boom/Dockerfile" in message and "dockerfile" in message and "injected" in message
    notice = next(n for n in broken.notices if n.subject.startswith("internal-error"))
    assert (notice.rule_id, notice.location.path) == ("CA001", "boom/Dockerfile")
    # Everything else is exactly as in the clean run.
    assert broken.files_audited == clean.files_audited
    assert _outside(broken, "boom/") == _outside(clean, "boom/")
    assert [i for i in broken.installs if not i.location.path.startswith("boom/")] == [
        i for i in clean.installs if not i.location.path.startswith("boom/")
    ]


def test_a_crashing_analyzer_on_an_include_root_keeps_other_areas(
    make_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(FILES)
    clean = run_audit(root)
    monkeypatch.setattr(gitlab_ci, "analyze", _raising_on(".gitlab-ci.yml", gitlab_ci.analyze))
    broken = run_audit(root)
    (message,) = _internal_errors(broken)
    assert ".gitlab-ci.yml" in message and "gitlab-ci" in message
    assert _outside(broken, ".gitlab-ci.yml") == _outside(clean, ".gitlab-ci.yml")


def test_a_crashing_cross_file_analyzer_keeps_every_per_file_result(
    make_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(FILES)
    from_cross: list[Finding] = []
    original = cross.analyze_repo

    def recording(ctx: RepoContext, installs: list[InstallSite]) -> Analysis:
        result = original(ctx, installs)
        from_cross.extend(result.findings)
        return result

    monkeypatch.setattr(cross, "analyze_repo", recording)
    clean = run_audit(root)

    def explode(ctx: RepoContext, installs: list[InstallSite]) -> Analysis:
        raise KeyError("injected")

    monkeypatch.setattr(cross, "analyze_repo", explode)
    broken = run_audit(root)
    (message,) = _internal_errors(broken)
    assert "cross-file" in message
    per_file = found(clean) - {(f.rule_id, f.location.path, f.location.line) for f in from_cross}
    assert per_file, "the repository should give per-file findings"
    assert per_file <= found(broken)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "sandbox")


def _cli(
    sandbox: Sandbox, root: Path, *args: str, boom: str | None = None
) -> tuple[int, dict[str, Any]]:
    env = {BOOM_ENV: boom} if boom else {}
    run = sandbox.run([str(root), "--format", "json", *args], timeout=60, env=env)
    assert run.returncode in (0, 1, 2), run.describe()
    return run.returncode, (run.report() if run.returncode != 2 else {"stderr": run.stderr})


def test_cli_exits_zero_on_an_internal_error_without_strict(
    make_repo: Repo, sandbox: Sandbox
) -> None:
    """A real process (the failure injected by a ``sitecustomize`` hook, so it also reaches
    pool workers): the report is complete and the exit code is that of the threshold alone."""
    root = make_repo(FILES)
    code, report = _cli(sandbox, root, boom="dockerfile:boom/")
    assert code == 0
    notices = [n for n in report["notices"] if n["subject"].startswith("internal-error")]
    assert [n["path"] for n in notices] == ["boom/Dockerfile"]
    assert "dockerfile" in notices[0]["message"]
    assert "ok/Dockerfile" in report["files_audited"]


def test_cli_strict_fails_on_an_internal_error(make_repo: Repo, sandbox: Sandbox) -> None:
    root = make_repo(FILES)
    code, report = _cli(sandbox, root, "--strict", boom="dockerfile:boom/")
    assert code != 2, f"--strict is not accepted: {report.get('stderr', '')[-500:]}"
    assert code == 1
    assert any(n["subject"].startswith("internal-error") for n in report["notices"])


def test_cli_strict_passes_a_clean_run(make_repo: Repo, sandbox: Sandbox) -> None:
    root = make_repo({"requirements.txt": REQUIREMENTS})
    code, report = _cli(sandbox, root, "--strict")
    assert code != 2, f"--strict is not accepted: {report.get('stderr', '')[-500:]}"
    assert code == 0

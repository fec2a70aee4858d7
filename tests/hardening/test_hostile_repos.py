"""Hostile repositories through the real CLI, each in a watched child process.

For every case in ``hostile.CASES``: the run finishes within ``WALL_SECONDS`` and
``PEAK_RSS_MB``; it exits 0 or 1 with a JSON report (never a traceback, never exit 3); no
analyzer crashed (no internal-error notice); every reported path is inside the root; the child
opened or listed nothing outside the root apart from the Python installation, and attempted no
network connection and no process other than Python itself; discovery notices are present with
their paths; and, once the analyzers concerned are in place, the expected finding or CA001
notice is there too.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.hostile import (
    CASES,
    DOCKERFILE,
    PEAK_RSS_MB,
    WALL_SECONDS,
    Case,
    build_outside,
    write,
)
from tests.hardening.sandbox import Run, Sandbox, escapes

PENDING_ANALYZERS: frozenset[str] = frozenset()
"""Analyzer modules not yet written: outcome tests that need them are expected to fail
(strict, so the mark must go as soon as the analyzer lands)."""


@dataclass(frozen=True)
class CaseRun:
    case: Case
    run: Run
    report: dict[str, Any]
    escapes: tuple[str, ...]


def _remove_tree(path: Path) -> None:
    """``rm -rf`` that restores mode-000 entries first and does not recurse (``os.walk`` and
    ``shutil.rmtree`` do, and some cases are 1,000 directories deep)."""
    if not path.exists():
        return
    path.chmod(stat.S_IRWXU)
    stack, directories = [str(path)], []
    while stack:
        current = stack.pop()
        directories.append(current)
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    os.chmod(entry.path, stat.S_IRWXU)
                    stack.append(entry.path)
                else:
                    os.unlink(entry.path)
    for directory in reversed(directories):
        os.rmdir(directory)


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_capabilities() -> None:
    """Runs in the child before exec: root without the capabilities that bypass file modes, so
    mode-000 files really are unreadable (CI runs as root) while the interpreter, owned by
    root, stays usable."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _execute(case: Case, base: Path) -> CaseRun:
    root, outside = base / "repo", base / "outside"
    root.mkdir(parents=True)
    build_outside(outside)
    sandbox = Sandbox(base / "sandbox")
    demote = _drop_file_capabilities if case.unprivileged and os.geteuid() == 0 else None
    case.build(root, outside)
    try:
        run = sandbox.run(
            [str(root), "--format", "json", "--no-color"], timeout=WALL_SECONDS * 2, preexec=demote
        )
    except (OSError, subprocess.SubprocessError) as exc:
        if demote is None:
            raise
        _remove_tree(root)
        pytest.skip(f"cannot drop root's file capabilities here: {exc}")
    found_escapes = tuple(escapes(run, root, sandbox))
    report = run.report() if run.returncode in (0, 1) else {}
    _remove_tree(root)  # some cases are hundreds of megabytes
    return CaseRun(case, run, report, found_escapes)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Case], CaseRun]]:
    """Runs each case once per module (the bound test and the outcome test share the run)."""
    base = tmp_path_factory.mktemp("hostile")
    runs: dict[str, CaseRun] = {}

    def get(case: Case) -> CaseRun:
        if case.name not in runs:
            runs[case.name] = _execute(case, base / case.name)
        return runs[case.name]

    yield get
    _remove_tree(base)


def _items(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report.get("findings", []), *report.get("notices", []), *report.get("suppressed", [])]


def _listing(report: dict[str, Any]) -> str:
    return "\n".join(
        f"  {i['rule_id']} {i['path']!r}:{i['line']} {i['message'][:160]}" for i in _items(report)
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_repository_is_bounded_and_contained(
    case: Case, audited: Callable[[Case], CaseRun]
) -> None:
    result = audited(case)
    run = result.run
    assert not run.timed_out, f"{case.name}: no result within {WALL_SECONDS * 2:.0f} s (hang?)"
    assert run.returncode in (0, 1), f"{case.name}: {run.describe()}"
    assert run.seconds < WALL_SECONDS, f"{case.name}: too slow: {run.describe()}"
    assert run.max_rss_mb < PEAK_RSS_MB, f"{case.name}: too much memory: {run.describe()}"
    assert not result.escapes, f"{case.name}: touched things outside the root:\n" + "\n".join(
        result.escapes[:20]
    )

    report = result.report
    crashes = [i for i in report["notices"] if i["subject"].startswith("internal-error")]
    assert not crashes, f"{case.name}: an analyzer crashed:\n{_listing({'notices': crashes})}"
    for item in _items(report):
        path = item["path"]
        assert not path.startswith(("/", "../")) and "/../" not in path, (
            f"{case.name}: a result points outside the root: {path!r}"
        )
        if item["rule_id"] in ("CA001", "CA002"):
            assert path in item["message"], f"{case.name}: notice without its path: {item}"
    for wanted in case.notices:
        assert any(wanted.matches(i) for i in _items(report)), (
            f"{case.name}: missing {wanted}; got:\n{_listing(report)}"
        )
    missing = sorted(set(case.audited) - set(report["files_audited"]))
    assert not missing, f"{case.name}: not audited: {missing}; got {report['files_audited']}"


def _outcome_params() -> list[Any]:
    params = []
    for case in CASES:
        if not case.outcome:
            continue
        pending = sorted(set(case.needs) & PENDING_ANALYZERS)
        marks = (
            [pytest.mark.xfail(strict=True, reason=f"analyzers not written yet: {pending}")]
            if pending
            else []
        )
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.mark.parametrize("case", _outcome_params())
def test_hostile_repository_outcome(case: Case, audited: Callable[[Case], CaseRun]) -> None:
    """The hostile file still gets its finding, or a CA001 notice naming it."""
    result = audited(case)
    assert result.run.returncode in (0, 1), f"{case.name}: {result.run.describe()}"
    items = _items(result.report)
    missing = [str(w) for w in case.outcome if not any(w.matches(i) for i in items)]
    assert not missing, f"{case.name}: missing {missing}; got:\n{_listing(result.report)}"


def test_every_case_has_an_expectation() -> None:
    # A case that asserts nothing beyond "did not crash" must say why in this list.
    crash_only = {"empty-files", "references-leaving-the-root"}
    for case in CASES:
        if case.name in crash_only:
            continue
        assert case.notices or case.outcome or case.audited, case.name


def test_undecodable_file_names_reach_every_output_format(tmp_path: Path) -> None:
    """A directory name that is not UTF-8 (legal on Linux) must not crash any report format, on
    standard output or with ``--output``, and what is written must be valid UTF-8."""
    from cacheaudit.report import FORMATS

    root = tmp_path / "repo"
    root.mkdir()
    bad = os.fsencode(root) + b"/bad\xffname"
    os.mkdir(bad)
    with open(bad + b"/Dockerfile", "wb") as handle:
        handle.write(DOCKERFILE.encode())
    write(root, "requirements.txt", "flask\n")
    sandbox = Sandbox(tmp_path / "sandbox")
    failures = []
    for name in FORMATS:
        out = tmp_path / f"report.{name}"
        for extra in ([], ["--output", str(out)]):
            run = sandbox.run([str(root), "--format", name, *extra], timeout=WALL_SECONDS)
            written = out.read_bytes() if extra and out.exists() else run.stdout_bytes
            try:
                written.decode("utf-8")
            except UnicodeDecodeError as exc:
                failures.append(f"--format {name} {' '.join(extra)}: not UTF-8 ({exc})")
            if run.returncode not in (0, 1):
                failures.append(f"--format {name} {' '.join(extra)}: {run.describe()[-400:]}")
    assert not failures, "\n".join(failures)

"""The result cache: a hit gives byte-identical output, and any change to an input misses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cacheaudit import cache
from cacheaudit.cli import main
from tests.conftest import FIXTURES

CASE = FIXTURES / "gitlab" / "install-without-cache"
"""A GitLab repository whose job runs `bash ci/install.sh`: a file read beyond discovery."""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CACHEAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    target = tmp_path / "repo"
    shutil.copytree(CASE, target)
    (target / "expected.txt").unlink()
    return target


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main(args)
    return capsys.readouterr().out


def entries(tmp: Path) -> list[Path]:
    return sorted((tmp / "cache").glob("*.pickle"))


def hit(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> bool:
    """Run once and say whether the cache served it (a hit writes no entry)."""
    before = {p: p.stat().st_mtime_ns for p in entries(repo.parent)}
    run([str(repo), "-f", "json", *args], capsys)
    after = {p: p.stat().st_mtime_ns for p in entries(repo.parent)}
    return before == after and bool(after)


def test_hit_output_is_byte_identical_to_the_miss_and_to_no_cache(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("json", "sarif", "console"):
        miss = run([str(repo), "-f", fmt], capsys)
        assert hit(repo, capsys) or fmt != "json"
        again = run([str(repo), "-f", fmt], capsys)
        fresh = run([str(repo), "-f", fmt, "--no-cache"], capsys)
        assert miss == again == fresh


def test_a_hit_imports_no_analyzer_and_no_parser(repo: Path) -> None:
    code = (
        "import sys\nfrom cacheaudit.cli import main\n"
        "try:\n    main([sys.argv[1], '-f', 'json'])\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith(('cacheaudit.analyzers.',"
        " 'cacheaudit.parsing', 'ruamel', 'yaml', 'cacheaudit.installmap'))]\n"
        "print(sorted(loaded), file=sys.stderr)\n"
    )
    first = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True)
    assert "cacheaudit.analyzers.gitlab_ci" in first.stderr  # the miss analyzed
    assert second.stderr.strip() == "[]", second.stderr


@pytest.mark.parametrize(
    "change",
    [
        "discovered file",
        "file read through the context",
        "new path",
        "removed path",
        "option",
        "version",
        "config file",
    ],
)
def test_any_changed_input_misses(
    repo: Path, change: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run([str(repo), "-f", "json"], capsys)
    assert hit(repo, capsys)
    args: list[str] = []
    if change == "discovered file":
        ci = repo / ".gitlab-ci.yml"
        ci.write_text(ci.read_text() + "\n# a comment\n")
    elif change == "file read through the context":
        script = repo / "ci" / "install.sh"
        script.write_text(script.read_text().replace("pip install", "pip  install"))
    elif change == "new path":
        (repo / "notes.md").write_text("hello\n")
    elif change == "removed path":
        (repo / "requirements-dev.txt").unlink()
    elif change == "option":
        args = ["--ignore", "CA201"]
    elif change == "version":
        monkeypatch.setattr(cache, "__version__", "99.0")
    elif change == "config file":
        (repo / ".cacheaudit.toml").write_text('ignore = ["CA202"]\n')
    assert not hit(repo, capsys, *args)
    assert hit(repo, capsys, *args)  # and the new result is cached in turn


def test_corrupt_or_foreign_entries_are_ignored(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = run([str(repo), "-f", "json"], capsys)
    (entry,) = entries(repo.parent)
    for junk in (b"", b"\x80\x04junk", entry.read_bytes()[:100]):
        entry.write_bytes(junk)
        assert run([str(repo), "-f", "json"], capsys) == expected
    # A pickle of something that is not ours must not be unpickled (it could run code).
    import pickle

    entry.write_bytes(pickle.dumps((subprocess.Popen, ["true"])))
    assert run([str(repo), "-f", "json"], capsys) == expected


def test_no_cache_neither_reads_nor_writes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run([str(repo), "-f", "json", "--no-cache"], capsys)
    assert entries(repo.parent) == []


def test_named_files_bypass_the_cache(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pre-commit names files: that run reads only what they need, so it neither looks up nor
    # stores an entry (a lookup would hash every file of the tree), and reports as --no-cache.
    monkeypatch.chdir(repo)
    named = run([".gitlab-ci.yml", "-f", "json"], capsys)
    assert entries(repo.parent) == []
    assert named == run([".gitlab-ci.yml", "-f", "json", "--no-cache"], capsys)
    assert '"path": ".gitlab-ci.yml"' in named


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CACHEAUDIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "cacheaudit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.directory() == Path.home() / ".cache" / "cacheaudit"


def test_pool_workers_report_their_reads(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cacheaudit import audit as audit_module
    from cacheaudit.config import build_config

    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 0)
    reads: dict[str, str] = {}
    serial_reads: dict[str, str] = {}
    parallel = audit_module.audit(build_config(repo.resolve()), reads=reads)
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 10**9)
    serial = audit_module.audit(build_config(repo.resolve()), reads=serial_reads)
    assert "ci/install.sh" in reads
    assert reads == serial_reads
    assert parallel == serial


def test_a_probed_file_that_appears_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read of a file that did not exist (a Dockerfile's .dockerignore) is recorded as absent;
    the hit checks it is still absent, and creating it misses."""
    monkeypatch.setenv("CACHEAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    target = tmp_path / "repo"
    shutil.copytree(FIXTURES / "docker" / "apt-ci-target-stage", target)
    (target / "expected.txt").unlink()
    run([str(target), "-f", "json"], capsys)
    assert hit(target, capsys)
    (target / ".dockerignore").write_text("**/__pycache__\n")
    assert not hit(target, capsys)
    assert hit(target, capsys)
    (target / ".dockerignore").unlink()
    (target / ".dockerignore").symlink_to(target / "Dockerfile")  # a symlink exists too
    assert not hit(target, capsys)

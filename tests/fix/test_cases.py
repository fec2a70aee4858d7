"""For each fixable rule: ``cacheaudit fix`` on a realistic repository gives exactly the expected
files (``cases/<rule>/after``), the re-audit no longer reports the rule there, and a second
``fix`` changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cacheaudit.audit import audit
from cacheaudit.cli import app
from cacheaudit.config import build_config

CASES = Path(__file__).resolve().parent / "cases"
RULES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "SOURCE"
    }


@pytest.mark.parametrize("rule", RULES)
def test_fix_gives_the_expected_files_and_is_idempotent(rule: str, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(CASES / rule / "before", work)
    runner = CliRunner()
    first = runner.invoke(app, ["fix", "--select", rule, str(work)])
    assert first.exit_code == 0, first.output
    assert _files(work) == _files(CASES / rule / "after")
    assert "from a re-audit" in first.output
    report = audit(build_config(work, select=[rule]))
    assert [f for f in report.findings if f.fix and f.fix.edits] == []
    second = runner.invoke(app, ["fix", "--diff", "--select", rule, str(work)])
    assert second.exit_code == 0 and second.stdout == ""
    assert _files(work) == _files(CASES / rule / "after")


def test_diff_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(CASES / "CA306" / "before", work)
    result = CliRunner().invoke(app, ["fix", "--diff", str(work)])
    assert result.exit_code == 1
    assert "+    apt-get update && apt-get install -y" in result.stdout
    assert _files(work) == _files(CASES / "CA306" / "before")


def test_crlf_and_mode_are_kept(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(CASES / "CA306" / "before", work)
    dockerfile = work / "Dockerfile"
    dockerfile.write_bytes(dockerfile.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    dockerfile.chmod(0o640)
    assert CliRunner().invoke(app, ["fix", "--select", "CA306", str(work)]).exit_code == 0
    data = dockerfile.read_bytes()
    assert b"apt-get update && apt-get install" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert not data.endswith(b"\n")
    assert dockerfile.stat().st_mode & 0o777 == 0o640


def test_unsafe_fixes_need_the_flag(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "fixtures/docker/copy-before-install", work
    )
    (work / "expected.txt").unlink()
    before = _files(work)
    result = CliRunner().invoke(app, ["fix", "--select", "CA303", str(work)])
    assert _files(work) == before and "--unsafe-fixes" in result.output
    CliRunner().invoke(app, ["fix", "--select", "CA303", "--unsafe-fixes", str(work)])
    assert _files(work) != before


def test_a_file_that_does_not_parse_is_never_touched(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(CASES / "CA306" / "before", work)
    broken = work / ".github/workflows/ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("jobs: [\n  - uses: actions/cache@v2\n")
    CliRunner().invoke(app, ["fix", str(work)])
    assert broken.read_text() == "jobs: [\n  - uses: actions/cache@v2\n"

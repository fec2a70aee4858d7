"""The command line's new output options: every format by name, several outputs from one run
(``--output-format FORMAT=FILE``, ``-`` for standard output) and ``--badge``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cacheaudit.cli import main
from tests.report.repos import GITHUB_ACTIONS


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in GITHUB_ACTIONS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("fmt", ["sarif", "github", "gitlab", "markdown", "badge"])
def test_each_new_format_by_name(repo: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([str(repo), "--format", fmt], capsys)
    assert (code, err) == (0, "")
    if fmt in ("sarif", "gitlab"):
        json.loads(out)
    elif fmt == "badge":
        ET.fromstring(out)
    elif fmt == "markdown":
        assert out.startswith("## cacheaudit: ")
    else:
        assert out.rstrip().splitlines()[-1].startswith("cacheaudit: cache score ")


def test_several_outputs_from_one_run(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out" / "nested"  # parents are created
    code, out, _ = run(
        [
            str(repo),
            "--no-color",
            "--fail-under",
            "100",
            "--output-format",
            f"sarif={out_dir / 'cacheaudit.sarif'}",
            "--output-format",
            f"json={out_dir / 'report.json'}",
            "--output-format",
            f"gitlab={out_dir / 'gl-code-quality.json'}",
            "--output-format",
            f"markdown={out_dir / 'summary.md'}",
            "--badge",
            str(out_dir / "badge.svg"),
        ],
        capsys,
    )
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    sarif = json.loads((out_dir / "cacheaudit.sarif").read_text(encoding="utf-8"))
    # One run: every output describes the same findings, the same score and the same exit code.
    assert code == report["exit_code"] == sarif["runs"][0]["invocations"][0]["exitCode"]
    assert len(sarif["runs"][0]["results"]) == len(report["findings"]) + len(report["suppressed"])
    assert sarif["runs"][0]["properties"]["score"] == report["score"]["overall"]
    gitlab = json.loads((out_dir / "gl-code-quality.json").read_text(encoding="utf-8"))
    assert [i["fingerprint"] for i in gitlab] == [f["fingerprint"] for f in report["findings"]]
    overall = report["score"]["overall"]
    assert f"cache score {overall}/100" in (out_dir / "summary.md").read_text(encoding="utf-8")
    badge = (out_dir / "badge.svg").read_text(encoding="utf-8")
    assert f">{overall} {report['score']['grade']}</text>" in badge
    assert out.startswith("cacheaudit ")  # the console report still goes to the terminal
    if report["findings"]:
        assert code == 1


def test_dash_sends_an_extra_format_to_stdout_after_the_primary(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            str(repo),
            "--no-color",
            "--output-format",
            "github=-",
            "--output-format",
            f"sarif={tmp_path / 'x.sarif'}",
        ],
        capsys,
    )
    assert code == 0
    console, _, annotations = out.partition("\n::")
    assert console.startswith("cacheaudit ")
    assert out.rstrip().splitlines()[-1].startswith("cacheaudit: cache score ")
    assert (tmp_path / "x.sarif").is_file()
    if annotations:
        assert all(
            line.startswith("::") or line.startswith("cacheaudit:")
            for line in ("::" + annotations).splitlines()
        )


def test_primary_output_file_and_quiet_still_write_extras(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [str(repo), "-q", "--badge", str(tmp_path / "b.svg")],
        capsys,
    )
    assert code == 0
    assert out.startswith("cacheaudit: ") and len(out.splitlines()) == 1
    ET.fromstring((tmp_path / "b.svg").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sarif=", "--output-format wants FORMAT or FORMAT=FILE"),
        ("sarif= ", "--output-format wants FORMAT or FORMAT=FILE"),
        ("xml=out.xml", "unknown format 'xml' in --output-format"),
    ],
)
def test_bad_output_format_is_a_usage_error(
    repo: Path, spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([str(repo), "--output-format", spec], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert out == ""  # checked before auditing


def test_unwritable_output_is_a_usage_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run([str(repo), "-q", "--output-format", f"sarif={blocker / 'x.sarif'}"], capsys)
    assert code == 2
    assert "cannot write" in err

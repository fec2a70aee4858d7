"""The command line end to end: exit codes, formats, subcommands, errors without tracebacks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from cacheaudit import __version__
from cacheaudit.cli import main
from cacheaudit.rules import RULES

Repo = Callable[[dict[str, str]], Path]
SCHEMA = json.loads(
    (Path(__file__).parents[1] / "docs" / "report-schema-v2.json").read_text(encoding="utf-8")
)

UNCACHED_WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install dependencies
        run: |
          python -m pip install --upgrade pip
          pip install -r requirements.txt
      - run: pytest
"""

CACHED_WORKFLOW = UNCACHED_WORKFLOW.replace(
    'python-version: "3.12"', 'python-version: "3.12"\n          cache: pip'
)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def uncached(make_repo: Repo) -> Path:
    return make_repo(
        {
            ".github/workflows/ci.yml": UNCACHED_WORKFLOW,
            "requirements.txt": "requests==2.32.3\n",
        }
    )


def test_nothing_to_audit_says_so_and_exits_0(
    make_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo({"README.md": "# hello\n", "src/app.py": "print(1)\n"})
    code, out, _ = run([str(root)], capsys)
    assert code == 0
    assert "Nothing to audit" in out


def test_missing_path_is_a_one_line_error_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["/no/such/dir"], capsys)
    assert code == 2
    assert out == ""
    assert err.strip() == "cacheaudit: error: path does not exist: /no/such/dir"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "CA9"], "unknown rule or prefix 'CA9'"),
        (["--ignore", "not-a-rule"], "unknown rule 'not-a-rule'"),
        (["--format", "xml"], "unknown format 'xml'"),
        (["--fail-on", "fatal"], "invalid value for --fail-on: 'fatal' is not one of"),
        (["--no-such-option"], "no such option: --no-such-option"),
        (["--color", "sometimes"], "invalid value for --color"),
        (["--fail-under", "120"], "invalid value for --fail-under"),
        (["--format", "json", "--output-format", "sarif"], "give one output format"),
        (["--statistics", "--format", "json"], "--statistics works with"),
    ],
)
def test_bad_options_exit_2_without_traceback(
    uncached: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run([str(uncached), *args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    # One style for every usage error: a single line, `cacheaudit: error: ...`.
    assert err.count("\n") == 1 and err.startswith("cacheaudit: error: ")


def test_fail_under_sets_exit_code(uncached: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(uncached), "--fail-under", "100", "--no-color"], capsys)
    assert code == 1
    assert "CA101" in out
    code, _, _ = run([str(uncached), "--fail-under", "0"], capsys)
    assert code == 0
    code, _, _ = run([str(uncached)], capsys)  # no threshold: report only
    assert code == 0


def test_fail_on_severity(uncached: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(uncached), "--fail-on", "warning"], capsys)[0] == 1
    assert run([str(uncached), "--fail-on", "error"], capsys)[0] == 0


def test_fixed_repository_meets_the_threshold(
    make_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(
        {".github/workflows/ci.yml": CACHED_WORKFLOW, "requirements.txt": "requests==2.32.3\n"}
    )
    code, _, _ = run([str(root), "--fail-under", "100", "--select", "CA101"], capsys)
    assert code == 0


def test_json_report_follows_the_documented_schema(
    uncached: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    code, out, _ = run([str(uncached), "--format", "json", "--output", str(target)], capsys)
    assert code == 0 and out == ""
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert data["tool"] == {"name": "cacheaudit", "version": __version__}
    [finding] = [f for f in data["findings"] if f["rule_id"] == "CA101"]
    assert finding["path"] == ".github/workflows/ci.yml"
    assert finding["line"] == 17  # the `pip install -r` line inside the run block
    assert data["summary"]["findings"] == len(data["findings"])
    assert data["score"]["categories"]["docker"] == {
        "applicable": False,
        "score": None,
        "coverage": None,
        "deductions": [],
    }


def test_suppressed_findings_are_counted_not_scored(
    make_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    suppressed = UNCACHED_WORKFLOW.replace(
        "pip install -r requirements.txt",
        "pip install -r requirements.txt  # cacheaudit: ignore[CA101]",
    )
    root = make_repo(
        {".github/workflows/ci.yml": suppressed, "requirements.txt": "requests==2.32.3\n"}
    )
    code, out, _ = run([str(root), "--format", "json", "--select", "CA101"], capsys)
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["findings"] == []
    assert [(s["rule_id"], s["reason"]) for s in data["suppressed"]] == [("CA101", "inline")]
    # Suppressing the finding hides it, but the install is still uncached: coverage stays 0.
    assert data["score"]["hidden_findings"] == 1
    assert data["score"]["coverage"]["ratio"] == 0
    assert data["score"]["overall"] == 40


def test_named_files_report_only_those_files(
    uncached: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (uncached / ".git").mkdir()
    (uncached / "Dockerfile").write_text(
        "FROM python:3.12\nCOPY . .\nRUN pip install -r requirements.txt\n"
    )
    monkeypatch.chdir(uncached)
    code, out, _ = run(["Dockerfile", "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert {f["path"] for f in data["findings"]} == {"Dockerfile"}
    assert data["files_audited"] == ["Dockerfile"]
    assert data["score"]["categories"]["ci"]["applicable"] is False


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert (code, out.strip()) == (0, f"cacheaudit {__version__}")


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "--json"], capsys)
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == list(RULES)


@pytest.mark.parametrize("key", ["CA303", "docker-copy-before-install", "ca303"])
def test_explain_by_id_or_name(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["explain", key], capsys)
    assert code == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in out
    assert "CA303 docker-copy-before-install" in out


def test_a_directory_named_rules_can_be_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rules").mkdir()
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["./rules"], capsys)
    assert code == 0 and "Nothing to audit" in out
    code, out, _ = run(["audit", "rules"], capsys)
    assert code == 0 and "Nothing to audit" in out


def test_python_dash_m_and_plain_output_when_piped(uncached: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cacheaudit", str(uncached)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # not a TTY: no colour codes
    assert "cache score" in result.stdout
    assert ".github/workflows/ci.yml" in result.stdout


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.pop("COLUMNS", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "cacheaudit", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        encoding=env.get("PYTHONIOENCODING", "utf-8"),
        errors="strict",
        check=False,
    )


@pytest.mark.parametrize("fmt", ["console", "markdown", "concise"])
@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_an_output_encoding_without_box_characters_never_crashes(
    uncached: Path, fmt: str, encoding: str
) -> None:
    result = _cli([".", "-f", fmt], uncached, PYTHONIOENCODING=encoding)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "CA101" in result.stdout
    if fmt == "console":
        assert "+--" in result.stdout  # ASCII box, not replacement characters
        assert "?" * 5 not in result.stdout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--fail-under", "100"], r"cacheaudit: score \d+ is below --fail-under 100"),
        (
            ["--fail-on", "warning"],
            r"cacheaudit: 1 finding at warning or above \(--fail-on warning\)",
        ),
        (["--fail-under", "100", "-q"], r"cacheaudit: score \d+ is below --fail-under 100"),
        (
            ["--fail-on", "info", "-f", "json"],
            r"cacheaudit: 1 finding at info or above \(--fail-on info\)",
        ),
        (
            ["--fail-under-coverage", "50"],
            r"cacheaudit: 0% of downloads served from cache is below --fail-under-coverage 50%",
        ),
    ],
)
def test_exit_1_says_why_on_the_last_line_of_stderr(
    uncached: Path, args: list[str], reason: str
) -> None:
    result = _cli([".", *args], uncached)
    assert result.returncode == 1
    assert re.fullmatch(reason + r".*", result.stderr.rstrip().splitlines()[-1])


def test_exit_reason_names_the_config_file(make_repo: Repo) -> None:
    root = make_repo(
        {
            ".github/workflows/ci.yml": UNCACHED_WORKFLOW,
            "requirements.txt": "requests==2.32.3\n",
            ".cacheaudit.toml": 'fail-on = "warning"\n',
        }
    )
    result = _cli(["."], root)
    assert result.returncode == 1
    assert result.stderr.rstrip().splitlines()[-1].endswith("(fail-on warning in .cacheaudit.toml)")


def test_fail_under_coverage_from_the_config_file(make_repo: Repo) -> None:
    files = {
        ".github/workflows/ci.yml": UNCACHED_WORKFLOW,
        "requirements.txt": "requests==2.32.3\n",
    }
    failing = make_repo({**files, ".cacheaudit.toml": "fail-under-coverage = 1\n"})
    result = _cli(["."], failing)
    assert result.returncode == 1
    assert (
        result.stderr.rstrip()
        .splitlines()[-1]
        .endswith("below fail-under-coverage 1% in .cacheaudit.toml")
    )
    passing = make_repo({**files, ".github/workflows/ci.yml": CACHED_WORKFLOW})
    assert _cli([".", "--fail-under-coverage", "100"], passing).returncode == 0


def test_exit_0_prints_nothing_on_stderr(uncached: Path) -> None:
    result = _cli([".", "--fail-under", "0"], uncached)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("args", "env", "colored"),
    [
        ([], {}, False),  # piped
        (["--color", "always"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),  # the flag wins
        ([], {"FORCE_COLOR": "1"}, True),  # CI logs render ANSI
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
        (["--no-color"], {"FORCE_COLOR": "1"}, False),
    ],
)
def test_color_choice(uncached: Path, args: list[str], env: dict[str, str], colored: bool) -> None:
    result = _cli([".", *args], uncached, **env)
    assert result.returncode == 0, result.stderr
    assert ("\x1b[" in result.stdout) is colored


@pytest.mark.parametrize("columns", [60, 200])
def test_columns_sets_the_width(uncached: Path, columns: int) -> None:
    result = _cli([".", "--color", "always"], uncached, COLUMNS=str(columns))
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stdout)
    widths = [len(line) for line in plain.splitlines()]
    prose = [line for line in plain.splitlines() if line.startswith("  = why")]
    assert prose and all(len(line) <= columns for line in prose)
    if columns == 200:
        assert max(widths) > 100  # prose uses the room it has


def test_paths_are_relative_to_the_current_directory(uncached: Path) -> None:
    result = _cli([uncached.name, "-f", "concise"], uncached.parent)
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{uncached.name}/.github/workflows/ci.yml:17:")
    assert (uncached.parent / first.split(":")[0]).is_file()


def test_help_shows_the_audit_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for option in ("--fail-under SCORE", "--fail-on <error|warning|info>", "--select RULES",
                   "--exclude GLOB", "--color <auto|always|never>", "--output-format FORMAT[=FILE]",
                   "--statistics", "--show-settings", "--write-baseline FILE",
                   "--no-respect-gitignore", "-V, --version"):  # fmt: skip
        assert option in out, option
    assert "'cacheaudit explain RULE'" in " ".join(out.split())  # the subcommands are named


def test_short_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["-V"], capsys)
    assert (code, out.strip()) == (0, f"cacheaudit {__version__}")


def test_output_format_concise_and_statistics(
    uncached: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([str(uncached), "--output-format", "concise"], capsys)
    assert code == 0
    assert re.search(r"ci\.yml:17:\d+: CA101 \[warning\] ", out)
    code, out, _ = run([str(uncached), "--statistics"], capsys)
    assert code == 0
    assert re.search(r"^1\s+CA101\s+\[warning\]\s+gha-install-without-cache$", out, re.M)


def test_write_baseline_then_use_it(uncached: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = uncached / "baseline.json"
    code, out, err = run([str(uncached), "--write-baseline", str(target)], capsys)
    assert code == 0 and out == ""
    assert "wrote a baseline of" in err
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert data["findings"]
    code, out, _ = run(
        [str(uncached), "--baseline", str(target), "--fail-on", "info", "-f", "json"], capsys
    )
    assert code == 0
    assert json.loads(out)["findings"] == []
    # Rewriting it with the baseline in force keeps the accepted findings.
    again = uncached / "again.json"
    run([str(uncached), "--baseline", str(target), "--write-baseline", str(again)], capsys)
    assert len(json.loads(again.read_text("utf-8"))["findings"]) == len(data["findings"])


def test_json_that_is_not_a_report_is_refused_as_baseline(
    uncached: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = uncached / "package.json"
    bogus.write_text('{"name": "x", "findings": []}\n')
    code, out, err = run([str(uncached), "--baseline", str(bogus)], capsys)
    assert code == 2 and out == ""
    assert "is not a cacheaudit JSON report" in err


def test_show_settings_names_the_config_file(
    make_repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(
        {
            "pyproject.toml": '[tool.cacheaudit]\nfail-under = 70\nexclude = ["legacy/**"]\n',
            "frontend/Dockerfile": "FROM node:20\n",
        }
    )
    (root / ".git").mkdir()
    monkeypatch.chdir(root / "frontend")
    code, out, _ = run(["--show-settings"], capsys)
    assert code == 0
    assert re.search(r"^config file\s+\.\./pyproject\.toml \[tool\.cacheaudit\]$", out, re.M)
    assert re.search(r"^fail-under\s+70$", out, re.M)

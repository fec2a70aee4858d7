"""The composite GitHub Action (action.yml): valid action metadata, audits clean with cacheaudit
itself, and its shell steps do what they claim when run the way the runner runs them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import run_audit
from tests.report.conftest import PROJECT
from tests.report.repos import GITHUB_ACTIONS

ACTION = PROJECT / "action.yml"


def load_action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ACTION.read_text(encoding="utf-8"))
    return data


def step(action: dict[str, Any], key: str) -> dict[str, Any]:
    [found] = [s for s in action["runs"]["steps"] if s.get("id") == key or s.get("name") == key]
    return found


@pytest.mark.slow
def test_action_metadata_is_valid_against_the_schemastore_schema() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-actions",
            str(ACTION),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_shape() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    assert {"path", "fail-under", "sarif-file", "args"} <= set(action["inputs"])
    assert all("description" in spec for spec in action["inputs"].values())
    assert {"score", "grade", "sarif-file"} <= set(action["outputs"])
    steps = action["runs"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/setup-python", "actions/cache"]
    for s in steps:
        if "run" in s:
            assert s["shell"] == "bash"
            # Inputs reach scripts through env only: no template injection into the shell.
            assert "${{" not in s["run"]
            # Step outputs, not GITHUB_ENV (zizmor's github-env audit).
            assert "GITHUB_ENV" not in s["run"]
    # cacheaudit runs exactly once and produces every output from that run.
    runs_cacheaudit = [s for s in steps if '"$python" -m cacheaudit' in s.get("run", "")]
    assert len(runs_cacheaudit) == 1
    script = runs_cacheaudit[0]["run"]
    for output in ("github=-", "markdown=$GITHUB_STEP_SUMMARY", "sarif=$SARIF_FILE"):
        assert output in script
    assert script.rstrip().endswith('exit "$status"')


PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$", re.M)


def test_actions_are_pinned_by_commit_with_the_version_in_a_comment() -> None:
    text = ACTION.read_text(encoding="utf-8")
    uses = re.findall(r"^\s*(?:- )?uses: .*$", text, re.M)
    assert uses and all(PINNED.match(line) for line in uses), uses


def test_dependencies_install_from_the_hash_pinned_lock_file() -> None:
    lock = (PROJECT / "requirements" / "action.txt").read_text(encoding="utf-8")
    requirements = re.findall(
        r"^([A-Za-z0-9._-]+)==[^ \\]+.*\\\n(?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+", lock, re.M
    )
    entries = re.findall(r"^[A-Za-z0-9._-]+(?===)", lock, re.M)
    assert entries and len(requirements) == len(entries)  # every entry pinned and hashed
    pyproject = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    deps = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.M | re.S)
    assert deps is not None
    names = {
        re.sub(r"[._]", "-", re.split(r"[<>=;\[ ]", line.strip().strip('",'))[0].lower())
        for line in deps.group(1).splitlines()
        if line.strip().startswith('"')
    }
    locked = {re.sub(r"[._]", "-", name.lower()) for name in entries}
    assert names <= locked, names - locked
    install = step(load_action(), "install")["run"]
    assert "--require-hashes" in install and "requirements/action.txt" in install


@pytest.mark.slow
@pytest.mark.parametrize("target", ["action.yml", "readme-workflow"])
def test_zizmor_finds_nothing(target: str, tmp_path: Path) -> None:
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(zizmor).exists():
        pytest.fail("zizmor is not installed (it is in the test extras)")
    if target == "action.yml":
        path = ACTION
    else:
        workflows = tmp_path / ".github" / "workflows"
        workflows.mkdir(parents=True)
        path = workflows / "cacheaudit.yml"
        shutil.copy(PROJECT / "tests" / "report" / "ci_examples" / "github-workflow.yml", path)
    proc = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


def test_pip_cache_is_keyed_on_the_actions_own_dependencies() -> None:
    action = load_action()
    cache = next(
        s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache")
    )
    paths = cache["with"]["path"].split()
    assert "~/.cache/pip" in paths
    key = cache["with"]["key"]
    assert "runner.os" in key and "steps.python.outputs.python-version" in key
    assert "steps.deps.outputs.hash" in key
    restore = cache["with"]["restore-keys"].strip()
    assert restore.endswith("-") and key.startswith(restore)
    setup = step(action, "python")
    assert setup["with"]["update-environment"] is False


def test_action_audits_clean_with_cacheaudit() -> None:
    report = run_audit(PROJECT, targets=("action.yml",))
    problems = [
        f"{f.rule_id} {f.location.path}:{f.location.line} {f.message}"
        for f in (*report.findings, *report.notices)
    ]
    assert problems == []
    assert [s.finding.rule_id for s in report.suppressed] == []  # clean, not silenced
    [site] = [s for s in report.installs if s.location.path == "action.yml"]
    assert site.tool == "pip" and site.cached is True


def _github_env(tmp_path: Path) -> dict[str, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"):
        path = tmp_path / name.lower()
        path.write_text("", encoding="utf-8")
        files[name] = str(path)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    return {
        **os.environ,
        **files,
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_ACTION_PATH": str(PROJECT),
        "NO_COLOR": "1",
    }


def _run_step(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not available")
    # The runner's own invocation for `shell: bash`.
    return subprocess.run(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _outputs(path: str) -> dict[str, str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_dependency_hash_step(tmp_path: Path) -> None:
    env = {**_github_env(tmp_path), "PYTHON": sys.executable}
    proc = _run_step(step(load_action(), "deps")["run"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lock = PROJECT / "requirements" / "action.txt"
    expected = hashlib.sha256(lock.read_bytes()).hexdigest()[:20]
    assert _outputs(env["GITHUB_OUTPUT"]) == {"hash": expected}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    for rel, text in GITHUB_ACTIONS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / ".git").mkdir()
    return root


def _audit_env(tmp_path: Path, **inputs: str) -> dict[str, str]:
    return {
        **_github_env(tmp_path),
        "CACHEAUDIT_PYTHON": sys.executable,
        "AUDIT_PATH": ".",
        "FAIL_UNDER": "",
        "SARIF_FILE": "cacheaudit.sarif",
        "EXTRA_ARGS": "",
        **inputs,
    }


@pytest.mark.slow
def test_audit_step_runs_once_and_writes_every_output(workspace: Path, tmp_path: Path) -> None:
    env = _audit_env(tmp_path, EXTRA_ARGS="--exclude 'docs/**' --ignore CA113,CA112")
    proc = _run_step(step(load_action(), "audit")["run"], env, workspace)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(Path(env["RUNNER_TEMP"], "cacheaudit-report.json").read_text("utf-8"))
    outputs = _outputs(env["GITHUB_OUTPUT"])
    overall = report["score"]["overall"]
    assert outputs == {
        "score": str(overall),
        "grade": report["score"]["grade"],
        "sarif-file": "cacheaudit.sarif",
    }
    sarif = json.loads((workspace / "cacheaudit.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["properties"]["score"] == overall
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary.startswith(f"## cacheaudit: cache score {overall}/100")
    assert proc.stdout.startswith("cacheaudit ")  # the console report, then annotations
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == len(report["findings"]) + len(report["notices"])
    assert not any(f["rule_id"] in ("CA113", "CA112") for f in report["findings"])


@pytest.mark.slow
def test_audit_step_exits_by_the_threshold(workspace: Path, tmp_path: Path) -> None:
    script = step(load_action(), "audit")["run"]
    env = _audit_env(tmp_path, FAIL_UNDER="100", SARIF_FILE="")
    proc = _run_step(script, env, workspace)
    report = json.loads(Path(env["RUNNER_TEMP"], "cacheaudit-report.json").read_text("utf-8"))
    assert report["score"]["overall"] < 100  # the workspace installs with pip and no cache
    assert proc.returncode == report["exit_code"] == 1
    assert "score" in _outputs(env["GITHUB_OUTPUT"])  # outputs are written before failing
    # The reason, from cacheaudit's last line on stderr, as an error on the workflow run.
    overall = report["score"]["overall"]
    assert f"::error title=cacheaudit::score {overall} is below --fail-under 100" in proc.stdout
    assert proc.stderr.rstrip().splitlines()[-1] == (
        f"cacheaudit: score {overall} is below --fail-under 100"
    )
    assert "sarif-file" not in _outputs(env["GITHUB_OUTPUT"])
    assert not (workspace / "cacheaudit.sarif").exists()
    passing = _audit_env(tmp_path / "again", FAIL_UNDER="0")
    assert _run_step(script, passing, workspace).returncode == 0


@pytest.mark.slow
def test_audit_step_rejects_badly_quoted_args(workspace: Path, tmp_path: Path) -> None:
    env = _audit_env(tmp_path, EXTRA_ARGS="--ignore 'CA113")
    proc = _run_step(step(load_action(), "audit")["run"], env, workspace)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == (
        "::error title=cacheaudit::the args input cannot be split like a shell would: "
        "No closing quotation"
    )


@pytest.mark.slow
def test_audit_step_passes_usage_errors_through(workspace: Path, tmp_path: Path) -> None:
    env = _audit_env(tmp_path, EXTRA_ARGS="--select CA999")
    proc = _run_step(step(load_action(), "audit")["run"], env, workspace)
    assert proc.returncode == 2
    assert "unknown rule" in proc.stderr

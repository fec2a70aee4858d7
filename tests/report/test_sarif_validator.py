"""The SARIF of every fixture repository, of realistic repositories audited with the real
pipeline, of this repository itself and of hand-built reports, checked by the official validator
(``Sarif.Multitool validate --rule-kind "Gh;Sarif"``: SARIF rules plus GitHub code scanning's
ingestion rules) with zero errors and zero warnings allowed, and against the SARIF 2.1.0 JSON
schema shipped in the same package.

The validator's exit code is 0 even when it finds problems, so its own SARIF output is read. A
known-bad log is validated in the same call to prove the check can fail.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jsonschema
import pytest

from cacheaudit.audit import exit_code
from cacheaudit.config import build_config
from cacheaudit.report import sarif
from tests.conftest import FIXTURES, run_audit
from tests.report.conftest import PROJECT, SAMPLE_REPORTS, Validator
from tests.report.repos import REPOS

pytestmark = pytest.mark.slow

FIXTURE_CASES = sorted(p.parent for p in FIXTURES.glob("*/*/expected.txt"))
FIX_CASES = sorted((FIXTURES.parent / "fix" / "cases").glob("*/before"))
"""Repositories whose findings carry edits of every generator family: SARIF ``fixes[]``."""
CONTROL = "known-bad-control"


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _audited(root: Path, **options: Any) -> dict[str, Any]:
    report = run_audit(root, **options)
    code = exit_code(report, build_config(root.resolve(), **options))
    return sarif.sarif_log(dataclasses.replace(report, exit_code=code))


def _known_bad(log: dict[str, Any]) -> dict[str, Any]:
    bad = json.loads(json.dumps(log))
    run = bad["runs"][0]
    run["tool"]["driver"]["rules"][0].pop("help")  # GH2012: GitHub requires help
    run["results"] = [
        {
            "ruleId": run["tool"]["driver"]["rules"][0]["id"],
            "message": {"text": "A result without a region."},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.yml"}}}],
        }
    ]
    return bad


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every SARIF log to validate, by a readable name."""
    found: dict[str, dict[str, Any]] = {}
    for name, build in SAMPLE_REPORTS.items():
        found[f"sample-{name}"] = sarif.sarif_log(build())
    base = tmp_path_factory.mktemp("repos")
    for name, files in REPOS.items():
        found[f"repo-{name}"] = _audited(_write(base / name, files))
    found["repo-github-actions-fail-under"] = _audited(base / "github-actions", fail_under=100)
    for case in FIXTURE_CASES:
        found[f"fixture-{case.parent.name}-{case.name}"] = _audited(case)
    for case in FIX_CASES:
        found[f"fix-case-{case.parent.name}"] = _audited(case)
    found["cacheaudit-itself"] = _audited(PROJECT)
    return found


def test_every_fixture_repository_is_included(logs: dict[str, dict[str, Any]]) -> None:
    assert len(logs) == (
        len(SAMPLE_REPORTS) + len(REPOS) + 1 + len(FIXTURE_CASES) + len(FIX_CASES) + 1
    )
    # The set exercises results, suppressions and notices, not only empty logs.
    runs = [log["runs"][0] for log in logs.values()]
    assert any(r["results"] and "suppressions" not in r["results"][0] for r in runs)
    assert any("suppressions" in res for r in runs for res in r["results"])
    assert any("toolExecutionNotifications" in r["invocations"][0] for r in runs)
    # ... and the edits of `cacheaudit fix` (fixes[] with artifactChanges), every fix case's
    assert len(FIX_CASES) >= 6
    for case in FIX_CASES:
        results = logs[f"fix-case-{case.parent.name}"]["runs"][0]["results"]
        changes = [c for r in results for f in r.get("fixes", []) for c in f["artifactChanges"]]
        assert changes and all(c["replacements"] for c in changes), case


def _effective_level(result: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    if "level" in result:
        return str(result["level"])
    index = result.get("ruleIndex")
    if isinstance(index, int) and 0 <= index < len(rules):
        level = rules[index].get("defaultConfiguration", {}).get("level")
        if level:
            return str(level)
    return "warning"  # SARIF's default level


def _validate(validator: Validator, files: list[Path], output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(validator.executable),
            "validate",
            *map(str, files),
            "--rule-kind",
            "Gh;Sarif",
            "--output",
            str(output),
            "--log",
            "ForceOverwrite",
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _problems(validation: dict[str, Any]) -> dict[str, list[str]]:
    """Errors and warnings of a validator log, by the stem of the file they are about."""
    [run] = validation["runs"]
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert not invocation.get("toolExecutionNotifications"), invocation
    rules = run["tool"]["driver"].get("rules", [])
    problems: dict[str, list[str]] = {}
    for result in run["results"]:
        level = _effective_level(result, rules)
        if level not in ("error", "warning"):
            continue
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        name = Path(unquote(urlparse(uri).path)).stem
        text = result["message"].get("text") or " ".join(result["message"].get("arguments", []))
        problems.setdefault(name, []).append(f"{level} {result['ruleId']}: {text}")
    return problems


def test_official_validator_reports_no_errors_and_no_warnings(
    logs: dict[str, dict[str, Any]], sarif_validator: Validator, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    files = []
    for name, log in {CONTROL: _known_bad(next(iter(logs.values()))), **logs}.items():
        path = inputs / f"{name}.sarif"
        path.write_text(json.dumps(log, indent=2), encoding="utf-8")
        files.append(path)
    # One process for all logs: the validator pays several seconds of start-up and URI checks
    # (which fail fast offline and report nothing) per process, and little per file.
    output = tmp_path / "validation.sarif"
    proc = _validate(sarif_validator, files, output)
    stdout, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, stdout
    assert f"Done. {len(files)} files scanned." in stdout, stdout
    problems = _problems(json.loads(output.read_text(encoding="utf-8-sig")))
    control = problems.pop(CONTROL, [])
    assert any("GH2012" in p for p in control), "the validator missed the known-bad control log"
    assert problems == {}


@pytest.fixture(scope="module")
def schema_validator(sarif_validator: Validator) -> Any:
    schema = json.loads(sarif_validator.schema.read_text(encoding="utf-8-sig"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_every_log_matches_the_shipped_sarif_schema(
    logs: dict[str, dict[str, Any]], schema_validator: Any
) -> None:
    errors = {
        name: [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errs]
        for name, log in logs.items()
        if (errs := list(schema_validator.iter_errors(log)))
    }
    assert errors == {}


def test_the_schema_check_can_fail(logs: dict[str, dict[str, Any]], schema_validator: Any) -> None:
    bad = json.loads(json.dumps(logs["sample-findings"]))
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    bad["runs"][0]["unknown"] = True
    assert len(list(schema_validator.iter_errors(bad))) == 2


def test_the_schema_check_reads_fixes(
    logs: dict[str, dict[str, Any]], schema_validator: Any
) -> None:
    """A malformed ``fixes[]`` entry is caught: the schema check covers the edits."""
    bad = json.loads(json.dumps(logs["fix-case-CA201"]))
    result = next(r for r in bad["runs"][0]["results"] if r.get("fixes"))
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"][0]
    del replacement["deletedRegion"]  # required
    replacement["insertedContent"] = {"text": 1}  # must be a string
    assert len(list(schema_validator.iter_errors(bad))) == 2

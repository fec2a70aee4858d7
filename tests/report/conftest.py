"""Shared set-up of the report tests: reports built by hand (so the formats are tested apart from
what the analyzers find today) and the official SARIF validator, installed with npm into
``.cache/sarif-validator`` once and reused by later runs.

Under ``CI=true`` a validator that is missing and cannot be installed fails the tests that need
it; elsewhere (no npm, not Linux x64) they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cacheaudit.model import Category, Finding, Fix, Location, Report, SuppressedFinding
from cacheaudit.notices import parse_error, skipped
from cacheaudit.rules import RULES
from cacheaudit.scoring import score

PROJECT = Path(__file__).resolve().parents[2]
VALIDATOR_PACKAGE = "@microsoft/sarif-multitool-linux"
VALIDATOR_VERSION = "5.7.0"
VALIDATOR_PREFIX = PROJECT / ".cache" / "sarif-validator"
VALIDATOR_DIR = VALIDATOR_PREFIX / "node_modules" / "@microsoft" / "sarif-multitool-linux"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> None:
    """Fail under CI (the validation must not be skipped there), skip elsewhere."""
    if in_ci():
        pytest.fail(f"SARIF validator unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(f"SARIF validator unavailable: {reason}")


@dataclass(frozen=True)
class Validator:
    executable: Path
    schema: Path
    """The SARIF 2.1.0 JSON schema shipped in the package."""


def _installed_version() -> str | None:
    try:
        data = json.loads((VALIDATOR_DIR / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version")
    return version if isinstance(version, str) else None


def install_validator() -> Validator:
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        unavailable(f"{VALIDATOR_PACKAGE} runs on Linux x64 only, not {platform.platform()}")
    if _installed_version() != VALIDATOR_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not on PATH")
            raise AssertionError  # unreachable: unavailable() always raises
        try:
            proc = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(VALIDATOR_PREFIX),
                    "--no-audit",
                    "--no-fund",
                    f"{VALIDATOR_PACKAGE}@{VALIDATOR_VERSION}",
                ],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            unavailable(f"npm install failed: {exc}")
            raise AssertionError from exc
        if proc.returncode != 0:
            unavailable(f"npm install failed ({proc.returncode}): {proc.stderr[-2000:]}")
    executable = VALIDATOR_DIR / "Sarif.Multitool"
    schema = VALIDATOR_DIR / "sarif-2.1.0.json"
    if not executable.is_file() or not schema.is_file():
        unavailable(f"{VALIDATOR_DIR} lacks Sarif.Multitool or sarif-2.1.0.json")
    # The package's postinstall only does `chmod u+x`; npm may be configured not to run scripts.
    mode = executable.stat().st_mode
    if not mode & stat.S_IXUSR:
        executable.chmod(mode | stat.S_IXUSR)
    return Validator(executable, schema)


@pytest.fixture(scope="session")
def sarif_validator() -> Validator:
    return install_validator()


# ---- reports built by hand -------------------------------------------------------------------

WORKFLOW = ".github/workflows/ci.yml"


def _findings() -> list[Finding]:
    return [
        RULES["CA101"].finding(
            Location(WORKFLOW, 14, 11),
            "job `test` / step 3 (Install deps) runs `pip install -r requirements.txt` and nothing "
            "in the job caches pip's downloads",
            subject="job test / step 3 (Install deps)",
            fix=Fix(
                "Turn on pip caching in actions/setup-python: add `cache: pip`.",
                "      - uses: actions/setup-python@v5\n"
                "        with:\n"
                '          python-version: "3.12"\n'
                "          cache: pip\n",
            ),
        ),
        RULES["CA110"].finding(
            Location(".github/workflows/release.yml", 31, 9, 34),
            "job `publish` runs on `release` and restores a cache that pull requests can write "
            "(100% of the time, key: a,b)",
            subject="workflow release.yml / job publish / step 2",
            fix=Fix("Do not restore caches in the publishing job.", "lookup-only: true\n"),
        ),
        RULES["CA205"].finding(
            Location(".gitlab-ci.yml", 12, 3),
            "job `build` sets `unprotect: true`",
            subject="job build / cache 1",
        ),
        RULES["CA303"].finding(
            Location("docker/app server.Dockerfile", 7, 1),
            "stage `builder`: `COPY . .` before `pip install` | every edit reinstalls "
            "<all> dependencies\nsecond line",
            subject="stage builder / COPY #1",
            fix=Fix(
                "Copy only requirements.txt, install, then copy the source.",
                "COPY requirements.txt .\nRUN --mount=type=cache,target=/root/.cache/pip "
                "pip install -r requirements.txt\nCOPY . .\n",
            ),
            weight=0.5,
        ),
        RULES["CA401"].finding(
            Location("requirements/dév.txt", 0),
            "requirements/dév.txt is installed in CI and has 4 unpinned requirements",
            subject="requirements/dév.txt",
        ),
    ]


def _suppressed() -> list[SuppressedFinding]:
    return [
        SuppressedFinding(
            RULES["CA113"].finding(
                Location(WORKFLOW, 22, 11),
                "the cache key of step 4 has no restore-keys",
                subject="job test / step 4",
            ),
            reason,
        )
        for reason in ("inline",)
    ] + [
        SuppressedFinding(
            RULES["CA306"].finding(
                Location("Dockerfile", 3), "apt-get update alone", subject="RUN #1"
            ),
            "config",
        ),
        SuppressedFinding(
            RULES["CA404"].finding(
                Location("requirements.txt", 1), "no hashes", subject="requirements.txt"
            ),
            "baseline",
        ),
        SuppressedFinding(
            RULES["CA305"].finding(Location("Dockerfile", 5), "apt no mounts", subject="RUN #2"),
            "file",
        ),
    ]


def make_report(
    findings: list[Finding] | None = None,
    suppressed: list[SuppressedFinding] | None = None,
    notices: list[Finding] | None = None,
    areas: tuple[Category, ...] = (Category.CI, Category.DOCKER, Category.DEPENDENCIES),
    exit_code: int = 0,
    root: str = "/nonexistent/cacheaudit-report-test",
) -> Report:
    found = sorted(findings or [], key=lambda f: f.sort_key)
    return Report(
        root=root,
        version="0.1.0",
        findings=tuple(found),
        suppressed=tuple(suppressed or []),
        notices=tuple(notices or []),
        score=score(found, areas, {r.id: r.fix for r in RULES.values()}),
        installs=(),
        files_audited=(WORKFLOW, "Dockerfile", "requirements.txt"),
        exit_code=exit_code,
    )


def report_with_findings() -> Report:
    return make_report(
        _findings(),
        _suppressed(),
        [
            parse_error("broken.yml", "mapping values are not allowed here", 3, 7),
            skipped("huge.txt", "larger than 5 MiB"),
        ],
        exit_code=1,
    )


def report_clean() -> Report:
    return make_report()


def report_nothing_to_audit() -> Report:
    return make_report(areas=())


def report_only_suppressed() -> Report:
    return make_report(suppressed=_suppressed())


SAMPLE_REPORTS = {
    "findings": report_with_findings,
    "clean": report_clean,
    "nothing-to-audit": report_nothing_to_audit,
    "only-suppressed": report_only_suppressed,
}

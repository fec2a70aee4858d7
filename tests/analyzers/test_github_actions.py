"""GitHub Actions analyzer: what each finding says, where it points, the fix it carries, the
install sites it records, and the facts (defaults by version, broken versions) it relies on.

Fixture repositories under tests/fixtures/github/ pin which rules fire; these tests pin the
details a fixture's ``expected.txt`` cannot see.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import of_rule, run_audit

from cacheaudit.analyzers import github_actions as gha
from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.model import CacheState, Finding, InstallSite, Report, Severity
from cacheaudit.repo import RepoContext

MakeRepo = Callable[[dict[str, str]], Path]
WF = ".github/workflows/ci.yml"
PINNED = "attrs==23.2.0\n"


def wf(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def audit(make_repo: MakeRepo, files: dict[str, str]) -> Report:
    return run_audit(make_repo(files))


def only(report: Report, rule: str) -> Finding:
    found = of_rule(report, rule)
    assert len(found) == 1, [f.message for f in report.findings]
    return found[0]


def sites(report: Report, path: str = WF) -> list[InstallSite]:
    return [s for s in report.installs if s.location.path == path]


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.split("\n"), 1) if needle in ln)


TEST_JOB = wf(
    """
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
          - name: Set up Python
            uses: actions/setup-python@v5
            with:
              python-version: "3.12"
          - name: Install dependencies
            run: |
              python -m pip install --upgrade pip
              pip install -r requirements.txt \\
                -r requirements-dev.txt
          - run: pytest
    """
)


# --- CA101: message, location, fix, install sites ------------------------------------------------


def test_ca101_names_workflow_job_and_step_and_points_at_the_install_line(make_repo: MakeRepo):
    report = audit(
        make_repo,
        {WF: TEST_JOB, "requirements.txt": PINNED, "requirements-dev.txt": "pytest==8.2.2\n"},
    )
    finding = only(report, "CA101")
    assert "workflow ci.yml / job test / step 3 (Install dependencies)" in finding.message
    assert "pip install -r requirements.txt -r requirements-dev.txt" in finding.message
    # The `pip install` line inside the block, not the `run:` key or the pip self-upgrade.
    assert finding.location.line == line_of(TEST_JOB, "pip install -r requirements.txt")
    assert (
        finding.location.column
        == TEST_JOB.split("\n")[finding.location.line - 1].index("pip install") + 1
    )
    assert finding.subject == "job test / pip"


def test_ca101_fix_adds_cache_lines_to_the_setup_step_in_the_files_own_indentation(
    make_repo: MakeRepo,
):
    four = wf(
        """
        on: [push]
        jobs:
            test:
                runs-on: ubuntu-latest
                steps:
                    -   uses: actions/checkout@v4
                    -   name: Set up Python
                        uses: actions/setup-python@v5
                        with:
                            python-version: "3.12"
                    -   name: Install dependencies
                        run: pip install -r requirements.txt -r requirements-dev.txt
        """
    )
    report = audit(
        make_repo, {WF: four, "requirements.txt": PINNED, "requirements-dev.txt": "pytest==8.2.2\n"}
    )
    fix = only(report, "CA101").fix
    assert fix is not None
    assert fix.description.startswith("Turn on setup-python's cache in step 2 (Set up Python)")
    assert fix.snippet.split("\n") == [
        "            -   name: Set up Python",
        "                uses: actions/setup-python@v5",
        "                with:",
        '                    python-version: "3.12"',
        "                    cache: pip",
        "                    cache-dependency-path: |",
        "                        requirements.txt",
        "                        requirements-dev.txt",
    ]


def test_ca101_without_a_setup_step_adds_an_actions_cache_step_before_the_install(
    make_repo: MakeRepo,
):
    text = "\n".join(
        ln
        for ln in TEST_JOB.split("\n")
        if not any(
            part in ln for part in ("Set up Python", "setup-python", "with:", "python-version")
        )
    )
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": "pytest==8.2.2\n"}
    )
    fix = only(report, "CA101").fix
    assert fix is not None and "before step 2 (Install dependencies)" in fix.description
    lines = fix.snippet.split("\n")
    assert lines[0] == "      - name: Cache pip downloads"
    assert lines[1] == "        uses: actions/cache@v4"
    assert "          path: ~/.cache/pip" in lines
    assert (
        "          key: ${{ runner.os }}-pip-${{ hashFiles('requirements.txt', "
        "'requirements-dev.txt') }}"
    ) in lines


def test_install_sites_record_tool_command_inputs_and_cache(make_repo: MakeRepo):
    cached = TEST_JOB.replace(
        'python-version: "3.12"',
        'python-version: "3.12"\n          '
        "cache: pip\n          cache-dependency-path: requirements*.txt",
    )
    report = audit(
        make_repo,
        {WF: cached, "requirements.txt": PINNED, "requirements-dev.txt": "pytest==8.2.2\n"},
    )
    [site] = sites(report)  # the pip self-upgrade is not a registry install
    assert site.platform == "github-actions"
    assert site.context == "workflow ci.yml / job test / step 3 (Install dependencies)"
    assert site.tool == "pip"
    assert site.command == "pip install -r requirements.txt -r requirements-dev.txt"
    assert site.inputs == ("requirements.txt", "requirements-dev.txt")
    assert site.cached is True
    assert site.cache_key_inputs == ("requirements*.txt",)
    assert not of_rule(report, "CA101")


def test_cd_in_the_script_moves_the_install_inputs(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          api:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: cd services/api && pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "services/api/requirements.txt": PINNED})
    [site] = sites(report)
    assert site.inputs == ("services/api/requirements.txt",)
    assert site.cached is False


@pytest.mark.parametrize(
    ("runs_on", "cached"),
    [("ubuntu-latest", False), ("[self-hosted, linux]", None), ("${{ inputs.runner }}", None)],
)
def test_self_hosted_and_unknown_runners_are_never_told_to_cache(
    make_repo: MakeRepo, runs_on: str, cached: bool | None
):
    text = TEST_JOB.replace("runs-on: ubuntu-latest", f"runs-on: {runs_on}")
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    assert bool(of_rule(report, "CA101")) is (cached is False)
    assert sites(report)[0].cached is cached


@pytest.mark.parametrize(
    ("ref", "enable", "fires"),
    [
        ("v4", None, True),  # enable-cache defaulted to false before v5
        ("v3.2.0", None, True),
        ("v5", None, False),  # 'auto': on for GitHub-hosted runners
        ("v6", None, False),
        ("v6", "false", True),
        ("v4", "true", False),
        ("v6", "${{ matrix.cache }}", False),  # unknown: stay silent
    ],
)
def test_setup_uv_cache_defaults_by_major_version(
    make_repo: MakeRepo, ref: str, enable: str | None, fires: bool
):
    with_lines = f"\n        with:\n          enable-cache: {enable}" if enable else ""
    text = (
        wf(
            f"""
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: astral-sh/setup-uv@{ref}
        """
        ).rstrip("\n")
        + with_lines.replace("\n        ", "\n        ")
        + "\n      - run: uv sync --locked\n"
    )
    report = audit(
        make_repo,
        {
            WF: text,
            "pyproject.toml": "[project]\nname='a'\nversion='1'\ndependencies=['attrs==23.2.0']\n",
            "uv.lock": "version = 1\n",
        },
    )
    assert bool(of_rule(report, "CA101")) is fires, [f.message for f in report.findings]


def test_an_expression_cache_input_is_unknown_not_missing(make_repo: MakeRepo):
    text = TEST_JOB.replace(
        'python-version: "3.12"', 'python-version: "3.12"\n          cache: ${{ matrix.cache }}'
    )
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    assert not report.findings
    assert sites(report)[0].cached is None


def test_old_set_output_idiom_caches_the_tools_directory(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - id: pip-cache
                run: echo "::set-output name=dir::$(pip cache dir)"
              - uses: actions/cache@v4
                with:
                  path: ${{ steps.pip-cache.outputs.dir }}
                  key: pip-${{ runner.os }}-${{ hashFiles('requirements.txt') }}
                  restore-keys: pip-${{ runner.os }}-
              - run: pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    assert not report.findings
    assert sites(report)[0].cached is True
    assert sites(report)[0].cache_key_inputs == ("requirements.txt",)


def test_windows_pip_cache_path_covers_pip(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: windows-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/cache@v4
                with:
                  path: ~\\AppData\\Local\\pip\\Cache
                  key: pip-${{ runner.os }}-${{ hashFiles('requirements.txt') }}
                  restore-keys: pip-${{ runner.os }}-
              - run: pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    assert not report.findings
    assert sites(report)[0].cached is True


def test_pip_install_dot_counts_only_when_the_project_has_dependencies(make_repo: MakeRepo):
    text = TEST_JOB.replace("-r requirements.txt \\\n            -r requirements-dev.txt", ".")
    for deps, fires in (("[]", False), ('["httpx==0.27.0"]', True)):
        project = f"[project]\nname = 'tool'\nversion = '1'\ndependencies = {deps}\n"
        report = audit(make_repo, {WF: text, "pyproject.toml": project, "uv.lock": "version = 1\n"})
        assert bool(of_rule(report, "CA101")) is fires, deps


def test_scripts_and_make_targets_in_the_repository_are_read(make_repo: MakeRepo):
    text = TEST_JOB.replace(
        "python -m pip install --upgrade pip\n          pip install -r requirements.txt \\\n"
        "            -r requirements-dev.txt",
        "bash scripts/deps.sh\n          make install",
    )
    files = {
        WF: text,
        "requirements.txt": PINNED,
        "Makefile": "install:\n\tpip install x\n",
        "scripts/deps.sh": "#!/bin/bash\nset -e\n\npip install -r requirements.txt\n",
    }
    report = audit(make_repo, files)
    finding = only(report, "CA101")
    assert finding.location.line == line_of(text, "bash scripts/deps.sh")
    assert "(scripts/deps.sh:4)" in finding.message
    site, make = sites(report)
    assert site.context.endswith("/ scripts/deps.sh")
    assert site.inputs == ("requirements.txt",)
    assert make.context.endswith("/ Makefile") and make.command == "pip install x"


def test_fingerprint_does_not_move_with_lines(make_repo: MakeRepo):
    files = {"requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    first = only(audit(make_repo, {WF: TEST_JOB, **files}), "CA101")
    shifted = "# a comment\n\n" + TEST_JOB
    second = only(audit(make_repo, {WF: shifted, **files}), "CA101")
    assert second.location.line == first.location.line + 2
    assert second.fingerprint == first.fingerprint


def test_inline_ignore_on_the_install_line_suppresses(make_repo: MakeRepo):
    text = TEST_JOB.replace(
        "      - name: Install dependencies",
        "      # cacheaudit: ignore[CA101]\n      - name: Install dependencies",
    )
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    # The directive covers its own line and the next; the finding is two lines further down.
    assert of_rule(report, "CA101")
    text = TEST_JOB.replace(
        "          pip install -r requirements.txt \\",
        "          # cacheaudit: ignore[CA101]\n          pip install -r requirements.txt \\",
    )
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    assert not of_rule(report, "CA101")
    assert [s.finding.rule_id for s in report.suppressed] == ["CA101"]


# --- composite actions -------------------------------------------------------------------------

COMPOSITE = wf(
    """
    name: deps
    runs:
      using: composite
      steps:
        - shell: bash
          run: pip install -r requirements.txt
    """
)


def caller(job: str, before: str = "") -> str:
    return (
        wf(
            f"""
        on: push
        jobs:
          {job}:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
        """
        )
        + before
        + "      - uses: ./.github/actions/deps\n"
    )


def test_a_composite_installing_without_cache_is_reported_once_in_the_composite(
    make_repo: MakeRepo,
):
    files = {
        ".github/actions/deps/action.yml": COMPOSITE,
        "requirements.txt": PINNED,
        WF: caller("a"),
        ".github/workflows/other.yml": caller("b"),
    }
    report = audit(make_repo, files)
    finding = only(report, "CA101")
    assert finding.location.path == ".github/actions/deps/action.yml"
    assert finding.location.line == 6
    assert "workflow ci.yml / job a, workflow other.yml / job b" in finding.message
    # One install site per calling job: each job downloads on each of its runs.
    found = sites(report, ".github/actions/deps/action.yml")
    assert [s.cache_state for s in found] == [CacheState.MISSING, CacheState.MISSING]
    assert sorted(s.runs_note for s in found) == [
        "called from workflow ci.yml / job a",
        "called from workflow other.yml / job b",
    ]


def test_a_composite_is_covered_by_the_callers_cache_and_judged_per_calling_job(
    make_repo: MakeRepo,
):
    setup = (
        "      - uses: actions/setup-python@v5\n        with:\n          python-version: "
        '"3.12"\n          cache: pip\n'
    )
    files = {
        ".github/actions/deps/action.yml": COMPOSITE,
        "requirements.txt": PINNED,
        WF: caller("a", setup),
    }
    report = audit(make_repo, files)
    assert not report.findings
    assert sites(report, ".github/actions/deps/action.yml")[0].cached is True
    files[".github/workflows/other.yml"] = caller("b")
    report = audit(make_repo, files)
    assert "workflow other.yml / job b" in only(report, "CA101").message
    states = {
        s.runs_note.rsplit("/ job ", 1)[1]: s.cache_state
        for s in sites(report, ".github/actions/deps/action.yml")
    }
    assert states == {"a": CacheState.EFFECTIVE, "b": CacheState.MISSING}


def test_an_uncalled_composite_is_not_judged_without_its_callers(make_repo: MakeRepo):
    report = audit(make_repo, {"action.yml": COMPOSITE, "requirements.txt": PINNED})
    assert not report.findings
    [site] = sites(report, "action.yml")
    assert (
        site.cached is None
        and site.context == "action action.yml / step 1 (pip install -r requirements.txt)"
    )


@pytest.mark.parametrize("using", ["docker", "node20"])
def test_docker_and_javascript_actions_have_no_steps_to_audit(make_repo: MakeRepo, using: str):
    text = f"name: x\nruns:\n  using: {using}\n  image: Dockerfile\n  main: index.js\n"
    report = audit(make_repo, {"action.yml": text})
    assert not report.findings and not report.notices


# --- CA102 / CA103 -----------------------------------------------------------------------------


def test_ca102_points_at_cache_dependency_path_and_fix_names_the_installed_file(
    make_repo: MakeRepo,
):
    text = TEST_JOB.replace(
        'python-version: "3.12"',
        'python-version: "3.12"\n          cache: pip\n          cache-dependency-path: reqs.txt',
    )
    text = text.replace(
        "-r requirements.txt \\\n            -r requirements-dev.txt", "-r requirements/dev.txt"
    )
    report = audit(make_repo, {WF: text, "requirements/dev.txt": PINNED})
    finding = only(report, "CA102")
    assert finding.location.line == line_of(text, "cache-dependency-path")
    assert "no file matches `reqs.txt` (nor `**/pyproject.toml`)" in finding.message
    assert finding.fix is not None
    assert "          cache-dependency-path: requirements/dev.txt" in finding.fix.snippet.split(
        "\n"
    )
    assert "reqs.txt" not in finding.fix.snippet


@pytest.mark.parametrize(
    ("ref", "manager", "fires"),
    [
        ("v4", "npm", False),
        ("v5", "npm", True),
        ("v5", "pnpm", True),
        ("v6", "pnpm", False),
        ("v6", "npm", True),
    ],
)
def test_setup_node_automatic_cache_by_version_and_package_manager(
    make_repo: MakeRepo, ref: str, manager: str, fires: bool
):
    text = wf(
        f"""
        on: push
        jobs:
          web:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@{ref}
                with:
                  node-version: 22
        """
    )
    package = f'{{"name": "w", "packageManager": "{manager}@9.0.0"}}'
    report = audit(make_repo, {WF: text, "package.json": package})
    assert bool(of_rule(report, "CA103")) is fires
    if fires:
        fix = only(report, "CA103").fix
        assert fix is not None and fix.snippet.endswith("          package-manager-cache: false")


def test_setup_node_reads_dev_engines_package_manager(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          web:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v6
        """
    )
    package = '{"devEngines": {"packageManager": {"name": "npm", "onFail": "error"}}}'
    assert of_rule(audit(make_repo, {WF: text, "package.json": package}), "CA103")


def test_checkout_after_the_cache_step_is_reported_with_the_order_to_paste(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.12"
                  cache: pip
              - uses: actions/checkout@v4
              - run: pip install -r requirements.txt
        """
    )
    finding = only(audit(make_repo, {WF: text, "requirements.txt": PINNED}), "CA102")
    assert "before `actions/checkout` has run" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet.split("\n")[0] == "      - uses: actions/checkout@v4"


def test_a_checkout_into_a_subdirectory_makes_file_checks_unknowable(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
                with:
                  path: app
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.12"
                  cache: pip
              - run: pip install -r app/requirements.txt
        """
    )
    assert not audit(make_repo, {WF: text}).findings


# --- CA104 -------------------------------------------------------------------------------------


def test_ca104_for_pip_no_cache_dir_in_workflow_env_points_at_the_env_line(make_repo: MakeRepo):
    text = TEST_JOB.replace("jobs:\n", "env:\n  PIP_NO_CACHE_DIR: 0\njobs:\n").replace(
        'python-version: "3.12"', 'python-version: "3.12"\n          cache: pip'
    )
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    finding = only(report, "CA104")
    assert finding.location.line == line_of(text, "PIP_NO_CACHE_DIR")
    assert f"line {finding.location.line}" in finding.message
    assert sites(report)[0].cached is False


def test_ca104_fix_rewrites_the_install_line_without_the_flag(make_repo: MakeRepo):
    text = TEST_JOB.replace(
        "pip install -r requirements.txt \\\n            -r requirements-dev.txt",
        "PIP_NO_CACHE_DIR=1 pip install --no-cache-dir -r requirements.txt",
    )
    text = text.replace('python-version: "3.12"', 'python-version: "3.12"\n          cache: pip')
    finding = only(audit(make_repo, {WF: text, "requirements.txt": PINNED}), "CA104")
    assert finding.fix is not None
    assert finding.fix.snippet == "          pip install -r requirements.txt"


# --- keys: CA105, CA106, CA107, CA113 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("pip-${{ hashFiles('requirements.txt') }}", "content"),
        ("pip-cache", "static"),
        ("${{ runner.os }}-pip-${{ matrix.python }}", "static"),
        ("${{ runner.os }}-${{ env.V }}", "static"),
        ("${{ runner.os }}-${{ env.FROM_INPUT }}", "unknown"),
        ("pip-${{ github.sha }}", "volatile"),
        ("pip-${{ github.run_id }}-${{ steps.x.outputs.y }}", "volatile"),
        ("pip-${{ steps.date.outputs.week }}", "unknown"),
        ("${{ inputs.key }}", "unknown"),
    ],
)
def test_key_kind(key: str, kind: str):
    env = {"V": "2", "FROM_INPUT": "${{ inputs.v }}"}
    assert gha._key_kind(key, env) == kind


@pytest.mark.parametrize(
    ("key", "calls"),
    [
        ("x-${{ hashFiles('a.txt', 'b/**/*.lock') }}", [["a.txt", "b/**/*.lock"]]),
        ("${{ hashFiles('a') }}-${{ hashFiles(\"b\") }}", [["a"], None]),
        ("${{ hashFiles(format('{0}.txt', matrix.x)) }}", [None]),
        ("no hashing", []),
    ],
)
def test_hashfiles_arguments(key: str, calls: list[list[str] | None]):
    assert gha._hashfiles_args(key) == calls


def test_ca106_fix_hashes_the_files_the_job_installs_from(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/cache@v4
                with:
                  path: ~/.cache/pip
                  key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements.txt') }}
                  restore-keys: ${{ runner.os }}-pip-
              - run: pip install -r requirements/ci.txt
        """
    )
    finding = only(audit(make_repo, {WF: text, "requirements/ci.txt": PINNED}), "CA106")
    assert finding.location.line == line_of(text, "key:")
    assert finding.fix is not None
    assert (
        "          key: ${{ runner.os }}-pip-${{ hashFiles('requirements/ci.txt') }}"
        in finding.fix.snippet.split("\n")
    )


def test_ca113_restore_keys_take_the_keys_own_prefix(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/cache@v4
                with:
                  path: ~/.cache/pip
                  key: deps-${{ runner.os }}-v3-${{ hashFiles('requirements.txt') }}
              - run: pip install -r requirements.txt
        """
    )
    finding = only(audit(make_repo, {WF: text, "requirements.txt": PINNED}), "CA113")
    assert finding.fix is not None
    assert finding.fix.snippet.split("\n")[-2:] == [
        "          restore-keys: |",
        "            deps-${{ runner.os }}-v3-",
    ]


def test_ca107_runtime_comes_from_the_setup_steps_matrix_variable(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                py: ["3.11", "3.12"]
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: ${{ matrix.py }}
              - uses: actions/cache@v4
                with:
                  path: .venv
                  key: venv-${{ runner.os }}-${{ hashFiles('requirements.txt') }}
              - run: python -m venv .venv && .venv/bin/pip install -r requirements.txt
        """
    )
    finding = only(audit(make_repo, {WF: text, "requirements.txt": PINNED}), "CA107")
    assert (
        "omits `matrix.py`" in finding.message
        and "runner.os" not in finding.message.split("omits")[1]
    )


# --- CA109 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "comment", "kind", "version"),
    [
        ("v4", "", "major", (4,)),
        ("v4.1", "", "minor", (4, 1)),
        ("4.2.0", "", "exact", (4, 2, 0)),
        ("main", "", "other", ()),
        ("release/v1", "", "other", ()),
        ("1bd1e32a3bdc45362d1e726936510720a7c30a57", "", "sha", ()),
        ("1bd1e32a3bdc45362d1e726936510720a7c30a57", "v4.2.0", "exact", (4, 2, 0)),
        ("1bd1e32a3bdc45362d1e726936510720a7c30a57", "pin@v4.1.2 (2024)", "exact", (4, 1, 2)),
        ("1bd1e32a3bdc45362d1e726936510720a7c30a57", "v4", "sha", ()),
    ],
)
def test_parse_ref(ref: str, comment: str, kind: str, version: tuple[int, ...]):
    assert facts.parse_ref(ref, comment) == facts.Ref(kind, version)


@pytest.mark.parametrize(
    ("action", "ref", "broken"),
    [
        ("actions/cache", "v1", True),
        ("actions/cache", "v2.1.7", True),
        ("actions/cache", "v3", False),
        ("actions/cache", "v3.3.3", True),
        ("actions/cache", "v3.4.0", False),
        ("actions/cache", "v4", False),
        ("actions/cache", "v4.1.2", True),
        ("actions/cache", "v4.1", True),
        ("actions/cache", "v4.2.0", False),
        ("actions/cache", "v5.0.0", False),
        ("actions/setup-python", "v3", True),
        ("actions/setup-python", "v4", False),
        ("actions/setup-python", "v4.8.0", True),
        ("actions/setup-python", "v4.9.1", False),  # the v4 backport (setup-python PR #1073)
        ("actions/setup-python", "v5.3.0", True),
        ("actions/setup-python", "v5.4.0", False),
        ("actions/setup-python", "v6.0.0", False),
        ("actions/setup-node", "v2", True),
        ("actions/setup-node", "v3", False),  # floating v3 moved to v3.9.x (PR #1270)
        ("actions/setup-node", "v3.8.2", True),
        ("actions/setup-node", "v3.9.0", False),
        ("actions/setup-node", "v4", False),
        ("actions/setup-node", "v4.1.0", True),
        ("actions/setup-node", "v4.2.0", False),
        ("actions/cache", "1bd1e32a3bdc45362d1e726936510720a7c30a57", None),
    ],
)
def test_version_floors(action: str, ref: str, broken: bool | None):
    floor = facts.KNOWN_ACTIONS[action].floor
    assert floor is not None
    assert floor.broken(facts.parse_ref(ref)) is broken


def test_ca109_sha_without_comment_is_silent_and_fix_keeps_the_line_shape(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/cache@0c45773b623bea8c8e75f6c82b208c3cf94ea4f9
                with:
                  path: ~/.cache/pip
                  key: pip-${{ hashFiles('requirements.txt') }}
                  restore-keys: pip-
              - uses: actions/setup-python@v4.8.0  # pinned
                with:
                  python-version: "3.12"
                  cache: pip
              - run: pip install -r requirements.txt
        """
    )
    found = of_rule(audit(make_repo, {WF: text, "requirements.txt": PINNED}), "CA109")
    # the bare SHA cannot be checked offline: no finding; the exact old pin is an error
    (pinned,) = found
    assert pinned.severity is Severity.ERROR
    assert pinned.fix is not None
    assert pinned.fix.snippet == "      - uses: actions/setup-python@v5"
    assert (
        pinned.location.column
        == text.split("\n")[pinned.location.line - 1].index("actions/setup-python") + 1
    )


# --- CA110 / CA111 / CA112 ---------------------------------------------------------------------


def test_reusable_workflow_inherits_the_callers_release_trigger(make_repo: MakeRepo):
    called = wf(
        """
        on: workflow_call
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.12"
                  cache: pip
              - run: pip install -r requirements.txt
        """
    )
    release = (
        "on:\n  release:\n    types: [published]\njobs:\n  b:\n    uses: ./.github/"
        "workflows/build.yml\n"
    )
    files = {".github/workflows/build.yml": called, "requirements.txt": PINNED}
    assert not audit(make_repo, files).findings  # no caller: its triggers are unknown
    files[".github/workflows/release.yml"] = release
    finding = only(audit(make_repo, files), "CA110")
    assert finding.location.path == ".github/workflows/build.yml"
    assert "runs from a workflow triggered only by `release`" in finding.message
    assert finding.security


def test_ca110_for_a_cache_inside_a_composite_points_at_the_calling_step(make_repo: MakeRepo):
    composite = wf(
        """
        runs:
          using: composite
          steps:
            - uses: actions/setup-python@v5
              with:
                python-version: "3.12"
                cache: pip
        """
    )
    release = (
        "on:\n  push:\n    tags: ['v*']\njobs:\n  dist:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/py\n"
    )
    report = audit(
        make_repo,
        {".github/actions/py/action.yml": composite, WF: release, "requirements.txt": PINNED},
    )
    finding = only(report, "CA110")
    assert (finding.location.path, finding.location.line) == (WF, 9)
    assert "(inside action .github/actions/py/action.yml)" in finding.message


def test_ca111_several_images_get_their_own_scope(make_repo: MakeRepo):
    text = wf(
        """
        on: push
        jobs:
          image:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: docker/build-push-action@v6
                with:
                  tags: ghcr.io/acme/billing-api:latest
        """
    )
    finding = only(audit(make_repo, {WF: text}), "CA111")
    assert finding.fix is not None
    assert finding.fix.snippet.split("\n") == [
        "      - uses: docker/setup-buildx-action@v3",
        "      - uses: docker/build-push-action@v6",
        "        with:",
        "          tags: ghcr.io/acme/billing-api:latest",
        "          cache-from: type=gha,scope=billing-api",
        "          cache-to: type=gha,scope=billing-api,mode=max",
    ]


@pytest.mark.parametrize(
    ("on", "fires"),
    [
        ("pull_request", True),
        ("[pull_request, merge_group]", True),
        ("[push, pull_request]", False),
        ("pull_request_target", False),
        ("workflow_call", False),
    ],
)
def test_ca112_only_for_pull_request_only_workflows(make_repo: MakeRepo, on: str, fires: bool):
    text = TEST_JOB.replace(
        "on:\n  push:\n    branches: [main]\n  pull_request:\n", f"on: {on}\n"
    ).replace('python-version: "3.12"', 'python-version: "3.12"\n          cache: pip')
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    assert bool(of_rule(report, "CA112")) is fires
    if fires:
        fix = only(report, "CA112").fix
        assert fix is not None and fix.snippet.endswith("  push:\n    branches: [main]")


# --- robustness --------------------------------------------------------------------------------


def test_parse_errors_become_ca001_with_the_line(make_repo: MakeRepo):
    report = audit(make_repo, {WF: "on: push\njobs:\n  a: [unclosed\n"})
    [notice] = report.notices
    assert notice.rule_id == "CA001" and notice.location.path == WF
    assert notice.location.line > 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just a string\n",
        "- a\n- b\n",
        "on: push\njobs: [1, 2]\n",
        "on: push\njobs:\n  a: 3\n",
        "on: push\njobs:\n  a:\n    runs-on: {group: big}\n    steps: {x: 1}\n",
        "on: {push: {tags: 3}}\njobs:\n  a:\n    steps:\n      - 1\n      - uses: 5\n"
        "      - run: [x]\n",
        "on: push\njobs:\n  a:\n    strategy: {matrix: ${{ fromJSON(x) }}}\n    runs-on: "
        "${{ matrix.os }}\n    steps:\n      - uses: actions/cache@v4\n        with: {path: 7}\n",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./missing\n"
        "      - uses: ./\n      - uses: docker://alpine\n      - run: pip install 'unclosed\n",
    ],
)
def test_hostile_workflows_do_not_crash(make_repo: MakeRepo, text: str):
    report = audit(make_repo, {WF: text, "action.yml": text})
    assert not [n for n in report.notices if "internal error" in n.message]


def test_composites_calling_each_other_in_a_loop_terminate(make_repo: MakeRepo):
    loop = (
        "runs:\n  using: composite\n  steps:\n    - uses: ./.github/actions/{}\n"
        "    - run: pip install -r requirements.txt\n      shell: bash\n"
    )
    files = {
        ".github/actions/a/action.yml": loop.format("b"),
        ".github/actions/b/action.yml": loop.format("a"),
        WF: caller("x").replace("deps", "a"),
        "requirements.txt": PINNED,
    }
    report = audit(make_repo, files)
    assert {f.location.path for f in of_rule(report, "CA101")} == {
        ".github/actions/a/action.yml",
        ".github/actions/b/action.yml",
    }


def test_analyze_is_a_pure_function_of_context_and_file(tmp_path: Path):
    files = {WF: TEST_JOB, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    ctx = RepoContext.from_files(tmp_path, files)
    source = SourceFile(FileKind.WORKFLOW, WF, TEST_JOB)
    first, second = gha.analyze(ctx, source), gha.analyze(ctx, source)
    assert first == second and [f.rule_id for f in first.findings] == ["CA101"]


@pytest.mark.parametrize(
    ("uses", "fires"),
    [
        # Only actions known to cache count as cover, however an unknown one is named.
        ("acme/ci-actions/setup-python-env@v2", True),
        ("buildjet/setup-python@v5\n        with:\n          cache: pip", False),  # a known fork
        ("pnpm/action-setup@v4", True),  # known to cache nothing
        ("docker/login-action@v3", True),
        ("acme/notify-slack@v1", True),
    ],
)
def test_only_actions_known_to_cache_count_as_cover(make_repo: MakeRepo, uses: str, fires: bool):
    text = TEST_JOB.replace(
        "      - name: Install dependencies",
        f"      - uses: {uses}\n      - name: Install dependencies",
    )
    report = audit(
        make_repo, {WF: text, "requirements.txt": PINNED, "requirements-dev.txt": PINNED}
    )
    assert bool(of_rule(report, "CA101")) is fires


def test_matrix_and_trigger_shapes_that_are_not_lists_do_not_crash(make_repo: MakeRepo):
    text = wf(
        """
        on:
          push: {branches: main, tags: 5}
          pull_request: {branches: develop}
        jobs:
          a:
            runs-on: ${{ matrix.os }}
            strategy:
              matrix:
                os: ubuntu-latest
                include: 5
            steps:
              - uses: actions/checkout@v4
              - run: pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    assert not [n for n in report.notices if "internal error" in n.message]


@pytest.mark.parametrize(("value", "cached"), [("/tmp/pip", True), ("$RUNNER_TEMP/pip", None)])
def test_cache_dirs_written_to_github_env_apply_to_later_steps(
    make_repo: MakeRepo, value: str, cached: bool | None
):
    text = wf(
        f"""
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: echo "PIP_CACHE_DIR={value}" >> "$GITHUB_ENV"
              - uses: actions/cache@v4
                with:
                  path: /tmp/pip
                  key: pip-${{{{ hashFiles('requirements.txt') }}}}
                  restore-keys: pip-
              - run: pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    assert not of_rule(report, "CA101")
    assert sites(report)[0].cached is cached


# --- install map: cache state, runs per pipeline, image builds ------------------------------------


def test_runs_per_pipeline_follow_the_matrix_include_and_exclude(make_repo: MakeRepo):
    text = wf(
        """
        on: [push]
        jobs:
          test:
            runs-on: ${{ matrix.os }}
            strategy:
              matrix:
                os: [ubuntu-latest, windows-latest]
                python: ["3.11", "3.12", "3.13"]
                include:
                  - os: ubuntu-latest
                    python: "3.12"
                    coverage: true   # extends a combination: no new run
                  - os: macos-latest
                    python: "3.13"   # a combination of its own: one more run
                exclude:
                  - os: windows-latest
                    python: "3.11"
            steps:
              - uses: actions/checkout@v4
              - run: pip install -r requirements.txt
          dynamic:
            runs-on: ubuntu-latest
            strategy:
              matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
            steps:
              - run: pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    test, dynamic = sites(report)
    assert (test.runs_per_pipeline, test.runs_note) == (6, "matrix 2×3 + 1 included − 1 excluded")
    assert dynamic.runs_per_pipeline == 1 and "expression" in dynamic.runs_note


def test_every_install_site_gets_its_true_cache_state(make_repo: MakeRepo):
    text = wf(
        """
        on: [push]
        jobs:
          cached:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.12"
                  cache: pip
              - run: pip install --no-cache-dir -r requirements.txt
          static:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/cache@v4
                with:
                  path: ~/.cache/pip
                  key: pip-v1
              - run: pip install -r requirements.txt
          gpu:
            runs-on: [self-hosted, gpu]
            steps:
              - run: pip install -r requirements.txt
          bare:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: pip install -r requirements.txt
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    states = {s.context.split(" / ")[1]: (s.cache_state, s.cache_reason) for s in sites(report)}
    assert states["job cached"][0] is CacheState.BROKEN
    assert "--no-cache-dir" in states["job cached"][1]
    assert states["job static"] == (
        CacheState.BROKEN,
        "its key `pip-v1` never changes: saved once, never refreshed",
    )
    assert states["job gpu"][0] is CacheState.UNKNOWN and "self-hosted" in states["job gpu"][1]
    assert states["job bare"] == (CacheState.MISSING, "")


def test_image_builds_are_recorded_with_their_dockerfile_and_runs(make_repo: MakeRepo):
    text = wf(
        """
        on: [push]
        jobs:
          image:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                variant: [slim, full]
            steps:
              - uses: actions/checkout@v4
              - uses: docker/build-push-action@v6
                with:
                  context: services/api
              - uses: docker/build-push-action@v6
                with:
                  context: .
                  file: docker/worker.Dockerfile
              - run: docker buildx build -f docker/cli.Dockerfile -t cli .
                working-directory: tools
        """
    )
    report = audit(make_repo, {WF: text})
    assert [(b.dockerfile, b.runs_per_pipeline) for b in report.builds] == [
        ("services/api/Dockerfile", 2),
        ("docker/worker.Dockerfile", 2),
        ("tools/docker/cli.Dockerfile", 2),
    ]


def test_compose_and_bake_builds_record_the_dockerfiles_their_files_name(make_repo: MakeRepo):
    text = wf(
        """
        on: [push]
        jobs:
          e2e:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                shard: [1, 2, 3]
            steps:
              - uses: actions/checkout@v4
              - run: docker compose -f deploy/compose.yml -f deploy/compose.ci.yml build api
              - run: docker compose -f deploy/images.yml up -d --build
              - run: docker compose -f deploy/missing.yml build
        """
    )
    compose = textwrap.dedent(
        """
        services:
          api:
            build:
              context: ../services/api
          worker:
            build: ../services/worker
          db:
            image: postgres:17
        """
    )
    override = "services:\n  api:\n    build:\n      dockerfile: ci.Dockerfile\n"
    images = "services:\n  db:\n    image: postgres:17\n"
    files = {
        WF: text,
        "deploy/compose.yml": compose,
        "deploy/compose.ci.yml": override,
        "deploy/images.yml": images,
    }
    report = audit(make_repo, files)
    # `build api` builds only api, with the override's Dockerfile; the images-only file builds
    # nothing; a file that is not in the repository builds an unknown Dockerfile.
    assert [(b.dockerfile, b.runs_per_pipeline) for b in report.builds] == [
        ("services/api/ci.Dockerfile", 3),
        (None, 3),
    ]


def test_zizmor_ignore_suppresses_ca110_with_the_comment_as_reason(make_repo: MakeRepo):
    text = wf(
        """
        on:
          push:
            tags: ["v*"]
        jobs:
          dist:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              # zizmor: ignore[cache-poisoning] -- test deps only
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.12"
                  cache: pip
              - uses: actions/setup-node@v4
                with:
                  node-version: 20
                  cache: npm  # zizmor: ignore[artipacked]
        """
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED, "package-lock.json": "{}"})
    [suppressed] = report.suppressed
    assert suppressed.finding.rule_id == "CA110"
    assert suppressed.reason == "zizmor: ignore[cache-poisoning] -- test deps only"
    # Another audit's ignore comment does not cover CA110.
    assert only(report, "CA110").location.line == line_of(text, "cache: npm")


@pytest.mark.parametrize(
    ("on", "release_only"),
    [
        ("  push:\n    tags: ['v*']\n", True),
        ("  release:\n  workflow_dispatch:\n", True),
        ("  push:\n    branches: [release/*]\n", True),
        ("  push:\n    branches: [main]\n    tags: ['v*']\n", False),
        ("  push:\n    tags: ['v*']\n  pull_request:\n", False),
        ("  release:\n  schedule:\n    - cron: '0 0 * * *'\n", False),
    ],
)
def test_only_workflows_that_run_on_release_events_alone_are_release_workflows(
    make_repo: MakeRepo, on: str, release_only: bool
):
    text = (
        "on:\n" + on + "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n"
        "        with:\n          cache: pip\n      - run: pip install -r requirements.txt\n"
    )
    report = audit(make_repo, {WF: text, "requirements.txt": PINNED})
    assert bool(of_rule(report, "CA110")) is release_only

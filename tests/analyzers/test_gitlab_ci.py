"""GitLab CI: the effective job configuration (includes, extends, default, inherit, anchors,
!reference) and the CA201–CA207 findings built on it: messages, locations, fixes, install map."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import of_rule, run_audit

from cacheaudit.analyzers.gitlab_ci.model import Job, Pipeline
from cacheaudit.analyzers.gitlab_ci.resolve import resolve
from cacheaudit.discovery import DEFAULT_MAX_FILE_BYTES, discover
from cacheaudit.model import Finding, InstallSite, Report
from cacheaudit.repo import RepoContext

MakeRepo = Callable[[dict[str, str]], Path]

REQS = "requests==2.32.3\n"


def pipeline(make_repo: MakeRepo, files: dict[str, str], root: str = ".gitlab-ci.yml") -> Pipeline:
    base = make_repo(files)
    ctx = RepoContext.from_discovery(base, discover(base), DEFAULT_MAX_FILE_BYTES)
    return resolve(ctx, root)


def job(p: Pipeline, name: str) -> Job:
    return next(j for j in p.jobs if j.name == name)


def audit(make_repo: MakeRepo, files: dict[str, str]) -> Report:
    return run_audit(make_repo(files))


def only(report: Report, rule: str) -> Finding:
    found = of_rule(report, rule)
    assert len(found) == 1, [(f.rule_id, f.location, f.message) for f in report.findings]
    return found[0]


def sites(report: Report) -> list[InstallSite]:
    return [s for s in report.installs if s.platform == "gitlab-ci"]


# --- effective configuration ----------------------------------------------------------------


def test_main_file_overrides_included_job_by_deep_merge(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": "include: ci/jobs.yml\ntest:\n  variables:\n    A: main\n",
            "ci/jobs.yml": "test:\n  variables:\n    A: inc\n    B: inc\n  script: [pytest]\n",
        },
    )
    test = job(p, "test")
    assert {k: v.value for k, v in test.variables.items()} == {"A": "main", "B": "inc"}
    assert [s.text for s in test.scripts] == ["pytest"]
    assert test.scripts[0].origin.path == "ci/jobs.yml"
    assert p.files == (".gitlab-ci.yml", "ci/jobs.yml")


def test_local_include_glob_and_forms(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "include:\n  - '/ci/*.yml'\n  - local: other/x.yaml\n  - local: nested/**.yml\n"
            ),
            "ci/a.yml": "a:\n  script: [a]\n",
            "ci/b.yml": "b:\n  script: [b]\n",
            "ci/deeper/c.yml": "c:\n  script: [c]\n",
            "other/x.yaml": "x:\n  script: [x]\n",
            "nested/d/e.yml": "e:\n  script: [e]\n",
        },
    )
    assert sorted(j.name for j in p.jobs) == ["a", "b", "e", "x"]


def test_extends_list_later_parent_wins_and_arrays_are_replaced(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                ".one:\n  variables: {URL: one, KEEP: yes}\n  tags: [a]\n  script: [one]\n"
                ".two:\n  variables: {URL: two}\n  tags: [b]\n"
                "rspec:\n  extends: [.one, .two]\n  variables: {OWN: x}\n  script: [own]\n"
            ),
        },
    )
    rspec = job(p, "rspec")
    assert {k: v.value for k, v in rspec.variables.items()} == {
        "URL": "two",
        "KEEP": "yes",
        "OWN": "x",
    }
    assert [s.text for s in rspec.scripts] == ["own"]
    assert [j.name for j in p.jobs] == ["rspec"]  # hidden templates are not jobs


def test_null_removes_an_extended_key_and_the_default_applies(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "default:\n  cache:\n    paths: [.cache/pip]\n"
                ".t:\n  cache:\n    key: t\n    paths: [venv/]\n"
                "a:\n  extends: .t\n  script: [x]\n"
                "b:\n  extends: .t\n  cache: null\n  script: [x]\n"
            ),
        },
    )
    assert job(p, "a").cache_state == "own"
    b = job(p, "b")
    assert b.cache_state == "default"
    assert [v.text for v in b.caches[0].paths] == [".cache/pip"]


def test_job_cache_replaces_default_cache_entirely(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "default:\n  cache:\n    key: {files: [requirements.txt]}\n"
                "    paths: [.cache/pip]\n"
                "    policy: pull\n"
                "test:\n  cache:\n    paths: [.venv/]\n  script: [x]\n"
                "off:\n  cache: []\n  script: [x]\n"
                "plain:\n  script: [x]\n"
            ),
        },
    )
    test = job(p, "test")
    assert test.cache_state == "own"
    assert test.caches[0].key is None and test.caches[0].policy is None
    assert job(p, "off").cache_state == "disabled" and job(p, "off").caches == ()
    plain = job(p, "plain")
    assert plain.cache_state == "default" and plain.caches[0].from_default
    assert plain.cache_keyword is not None and plain.cache_keyword.line == 2


def test_inherit_default_and_variables(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "variables: {A: '1', B: '2'}\n"
                "default:\n  image: python:3.12\n  cache: {paths: [.cache/pip]}\n"
                "  before_script: [echo default]\n"
                "none:\n  inherit: {default: false, variables: false}\n  script: [x]\n"
                "some:\n  inherit: {default: [before_script], variables: [B]}\n  script: [x]\n"
            ),
        },
    )
    none = job(p, "none")
    assert none.cache_state == "none" and none.variables == {} and len(none.scripts) == 1
    some = job(p, "some")
    assert some.cache_state == "none"
    assert [s.text for s in some.scripts] == ["echo default", "x"]
    assert list(some.variables) == ["B"]
    assert not some.inherits_variable("A") and some.inherits_default("before_script")


def test_deprecated_top_level_keywords_act_as_default(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "cache:\n  paths: [.npm/]\nbefore_script: [npm ci]\nweb:\n  script: [x]\n"
            )
        },
    )
    web = job(p, "web")
    assert web.cache_state == "default"
    assert [s.text for s in web.scripts] == ["npm ci", "x"]


def test_reference_resolves_after_extends_across_files(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "include: [setup.yml]\n"
                "lint:\n  before_script:\n    - !reference [.full, before_script]\n"
                "    - echo own\n  script: [ruff check .]\n"
            ),
            "setup.yml": (
                ".base:\n  before_script:\n    - pip install -r requirements.txt\n"
                ".full:\n  extends: .base\n"
            ),
        },
    )
    lint = job(p, "lint")
    assert [(s.text, s.origin.path, s.origin.line) for s in lint.scripts[:2]] == [
        ("pip install -r requirements.txt", "setup.yml", 3),
        ("echo own", ".gitlab-ci.yml", 5),
    ]


def test_anchors_and_merge_keys_keep_the_line_where_the_value_is_written(
    make_repo: MakeRepo,
) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                ".cache: &cache\n  key: deps\n  paths:\n    - .venv/\n"
                "test:\n  cache:\n    <<: *cache\n    policy: pull\n  script: [x]\n"
            ),
        },
    )
    cache = job(p, "test").caches[0]
    assert cache.key is not None and cache.key.origin.line == 2
    assert cache.paths[0].origin.line == 4
    assert cache.policy is not None and cache.policy.origin.line == 8


def test_block_script_lines_and_spec_header(make_repo: MakeRepo) -> None:
    text = (
        "spec:\n  inputs:\n    python:\n      default: '3.12'\n---\n"
        "test:\n  script: |\n    echo hi\n    pip install \\\n      -r requirements.txt\n"
    )
    report = audit(make_repo, {".gitlab-ci.yml": text, "requirements.txt": REQS})
    assert not report.notices
    assert [(s.location.line, s.command) for s in sites(report)] == [
        (9, "pip install -r requirements.txt")
    ]


def test_parallel_matrix_counts_instances(make_repo: MakeRepo) -> None:
    p = pipeline(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "a:\n  parallel: 4\n  script: [x]\n"
                "b:\n  parallel:\n    matrix:\n      - PY: ['3.11', '3.12']\n        DB: [pg, my]\n"
                "      - PY: ['3.13']\n  script: [x]\n"
            ),
        },
    )
    assert job(p, "a").parallel == 4 and job(p, "b").parallel == 5


def test_include_cycles_and_unreadable_includes_do_not_crash(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "include:\n  - local: a.yml\n  - remote: https://example.com/x.yml\n"
                "  - template: Python.gitlab-ci.yml\n  - local: missing.yml\n"
                "test:\n  script: [x]\n  tags: !custom [a]\n"
            ),
            "a.yml": "include: [b.yml]\n",
            "b.yml": "include: ['/a.yml', '/.gitlab-ci.yml']\n",
        },
    )
    got = sorted((f.rule_id, f.location.line) for f in (*report.findings, *report.notices))
    assert got == [("CA002", 3), ("CA002", 4), ("CA504", 5)]
    missing = only(report, "CA504")
    assert "missing.yml" in missing.message


def test_top_level_list_is_a_parse_error(make_repo: MakeRepo) -> None:
    report = audit(make_repo, {".gitlab-ci.yml": "- a\n- b\n"})
    assert [f.rule_id for f in report.notices] == ["CA001"]


def test_circular_extends_is_reported_as_config_error(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                ".a:\n  extends: .b\n.b:\n  extends: .a\nt:\n  extends: .a\n  script: [x]\n"
            ),
        },
    )
    assert {f.rule_id for f in report.notices} == {"CA001"}
    assert any("circular" in f.message for f in report.notices)


# --- CA201 ----------------------------------------------------------------------------------


def test_ca201_names_job_points_at_install_and_fixes_with_lock_file(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "test:\n"
                "    image: python:3.12\n"
                "    script:\n"
                "        - pip install poetry==1.8.3\n"
                "        - poetry install --no-root\n"
                "        - poetry run pytest\n"
            ),
            "pyproject.toml": (
                '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = "^3.12"\n'
            ),
            "poetry.lock": "[metadata]\nlock-version = '2.0'\n",
        },
    )
    found = {f.message.split("`")[3]: f for f in of_rule(report, "CA201")}
    # `pip install poetry==1.8.3` bootstraps the installer: not the dependency set
    assert set(found) == {"poetry install --no-root"}
    poetry = found["poetry install --no-root"]
    assert poetry.location.line == 5 and poetry.location.column == 11
    assert "Job `test`" in poetry.message and "no cache is configured" in poetry.message
    assert poetry.fix is not None
    assert poetry.fix.snippet == (
        "test:\n"
        "    variables:\n"
        '        POETRY_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pypoetry"\n'
        "    cache:\n"
        "        key:\n"
        "            files:\n"
        "                - poetry.lock\n"
        "            prefix: poetry\n"
        "        paths:\n"
        "            - .cache/pypoetry/"
    )


def test_ca201_once_per_job_and_tool_at_main_install(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                ".setup:\n  before_script:\n    - pip install -r requirements.txt\n"
                "a:\n  extends: .setup\n  script:\n    - pip install -r requirements-dev.txt\n"
                "b:\n  extends: .setup\n  script: [pytest]\n"
                "c:\n  extends: .setup\n  script: [pip install pytest-xdist, pytest -n 4]\n"
            ),
            "requirements.txt": REQS,
            "requirements-dev.txt": REQS,
        },
    )
    found = {f.location.line: f.message for f in of_rule(report, "CA201")}
    # a: its own script's install of the same rank as the template's; b and c: the template's
    # requirements file, over c's own install of one named package
    assert sorted(found) == [3, 7]
    assert "Job `a`" in found[7] and "(and 1 more pip install)" in found[7]
    assert "Jobs `b` and `c`" in found[3]
    assert "(and 1 more pip install)" not in found[3]  # jobs differ: generic text


def test_ca201_not_for_bootstraps_alone_or_release_jobs(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "sdist:\n  script: [pip install --upgrade pdm, pdm build]\n"
                "tools:\n  script: [pip install -r ci/tools.txt, tox -l]\n"
                "upload:\n  script:\n    - pip install -r requirements.txt\n"
                "    - python -m twine upload dist/*\n"
                "tagged:\n  rules: [{if: $CI_COMMIT_TAG}]\n"
                "  script: [pip install -r requirements.txt]\n"
                "untagged:\n  rules: [{if: $CI_COMMIT_TAG == null}]\n"
                "  script: [pip install -r requirements.txt]\n"
            ),
            "ci/tools.txt": "tox>=4\n# the runner\n",
            "requirements.txt": REQS,
        },
    )
    (finding,) = of_rule(report, "CA201")
    assert "Job `untagged`" in finding.message
    # the bootstraps are still install sites: their downloads are real
    assert {s.command for s in sites(report) if s.context.endswith("job sdist")} == {
        "pip install --upgrade pdm"
    }


def test_ca201_not_for_cached_env_or_bootstrap_or_projects_without_dependencies(
    make_repo: MakeRepo,
) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "test:\n  cache:\n    key: {files: [requirements.txt]}\n    paths: [venv/]\n"
                "  script:\n    - python -m venv venv\n    - source venv/bin/activate\n"
                "    - pip install --upgrade pip wheel\n    - pip install -r requirements.txt\n"
                "    - pip install -e .\n    - apt-get update && apt-get install -y make\n"
            ),
            "requirements.txt": REQS,
            "pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = []\n',
        },
    )
    assert not of_rule(report, "CA201")
    cached = {s.command: s.cached for s in sites(report)}
    assert cached["pip install -r requirements.txt"] is True
    assert "pip install -e ." not in cached  # no dependencies: not a registry install
    assert cached["apt-get install -y make"] is False  # apt's downloads: nothing caches them


def test_ca201_follows_cd_for_inputs_and_script_files(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": "api:\n  script:\n    - cd backend\n    - ./scripts/setup.sh\n",
            "backend/scripts/setup.sh": "#!/bin/sh\nset -e\npip install -r requirements.txt\n",
            "backend/requirements.txt": REQS,
        },
    )
    finding = only(report, "CA201")
    # at the line that runs the script: the job's cache is configured in the CI file
    assert (finding.location.path, finding.location.line) == (".gitlab-ci.yml", 4)
    assert "`pip install -r requirements.txt` in backend/scripts/setup.sh:3" in finding.message
    (site,) = sites(report)
    assert site.inputs == ("backend/requirements.txt",)
    assert site.cached is False
    assert (site.location.path, site.location.line) == (".gitlab-ci.yml", 4)
    assert site.context == "pipeline .gitlab-ci.yml / job api / backend/scripts/setup.sh:3"


# --- CA202 ----------------------------------------------------------------------------------


def test_ca202_outside_project_in_included_template(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": "include: ci/t.yml\na:\n  extends: .t\n  script: [x]\n"
            "b:\n  extends: .t\n  script: [y]\n",
            "ci/t.yml": ".t:\n  cache:\n    paths:\n      - /root/.npm\n",
        },
    )
    finding = only(report, "CA202")
    assert (finding.location.path, finding.location.line) == ("ci/t.yml", 4)
    assert "Jobs `a` and `b` cache `/root/.npm`" in finding.message
    assert (
        finding.fix is not None
        and 'npm_config_cache: "$CI_PROJECT_DIR/.npm"' in finding.fix.snippet
    )


def test_ca202_empty_pip_cache_and_fix_uses_top_level_variables(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "default:\n  cache:\n    key: {files: [requirements.txt]}\n    paths:\n"
                "    - .cache/pip\ntest:\n  script:\n  - pip install -r requirements.txt\n"
            ),
            "requirements.txt": REQS,
        },
    )
    finding = only(report, "CA202")
    assert finding.location.line == 5
    assert "pip writes its download cache to ~/.cache/pip (PIP_CACHE_DIR is not set)" in (
        finding.message
    )
    assert finding.fix is not None
    assert finding.fix.snippet == 'variables:\n  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"'
    assert not of_rule(report, "CA201")


@pytest.mark.parametrize(
    "setup",
    [
        "  variables:\n    PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n",
        "  variables:\n    XDG_CACHE_HOME: ${CI_PROJECT_DIR}/.cache\n",
        "  variables:\n    HOME: $CI_PROJECT_DIR\n",
        "  variables:\n    ROOT: $CI_PROJECT_DIR/.cache\n    PIP_CACHE_DIR: $ROOT/pip\n",
        '  before_script:\n    - export PIP_CACHE_DIR="$PWD/.cache/pip"\n',
        '  before_script:\n    - pip config set global.cache-dir "$CI_PROJECT_DIR/.cache/pip"\n',
    ],
)
def test_ca202_not_when_pip_is_pointed_into_the_project(make_repo: MakeRepo, setup: str) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "test:\n" + setup + "  cache:\n    key: {files: [requirements.txt]}\n"
                "    paths: [.cache/pip]\n  script:\n    - pip install -r requirements.txt\n"
            ),
            "requirements.txt": REQS,
        },
    )
    assert not report.findings, [f.message for f in report.findings]
    assert [s.cached for s in sites(report)] == [True]


def test_ca202_export_does_not_reach_after_script(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "test:\n  cache:\n    key: {files: [package-lock.json]}\n    paths: [.npm/]\n"
                "  script:\n    - export npm_config_cache=$CI_PROJECT_DIR/.npm\n    - npm ci\n"
                "  after_script:\n    - npm ci\n"
            ),
            "package.json": "{}",
            "package-lock.json": "{}",
        },
    )
    assert [(s.location.line, s.cached) for s in sites(report)] == [(7, True), (9, False)]
    assert only(report, "CA202").location.line == 4


# --- CA203 / CA204 / CA205 ------------------------------------------------------------------


def test_ca203_constant_key_after_variable_expansion(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n  V: '2'\n"
                "a:\n  cache:\n    key: pip-v$V-$CI_JOB_NAME\n    paths: [.cache/pip]\n"
                "  script: [pip install -r requirements.txt]\n"
                "b:\n  cache:\n    key: pip-$CI_COMMIT_REF_SLUG\n    paths: [.cache/pip]\n"
                "  script: [pip install -r requirements.txt]\n"
            ),
            "requirements.txt": REQS,
        },
    )
    finding = only(report, "CA203")
    assert finding.location.line == 6 and "`pip-v$V-$CI_JOB_NAME`" in finding.message
    assert finding.weight == 0.5  # a download cache only grows; a stale .venv weighs 1
    assert finding.fix is not None and "- requirements.txt" in finding.fix.snippet


def test_ca204_counts_parallel_instances_and_respects_pull(make_repo: MakeRepo) -> None:
    base = (
        "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
        "default:\n  cache:\n    key: {files: [requirements.txt]}\n    paths: [.cache/pip]\n"
        "test:\n  parallel: 3\n  script: [pip install -r requirements.txt]\n"
    )
    report = audit(make_repo, {".gitlab-ci.yml": base, "requirements.txt": REQS})
    finding = only(report, "CA204")
    assert finding.location.line == 4
    assert "`test` (parallel: 3)" in finding.message and "the 3 runs of `test`" in finding.message
    pulled = base.replace("paths: [.cache/pip]\n", "paths: [.cache/pip]\n    policy: $POLICY\n")
    assert not of_rule(
        audit(make_repo, {".gitlab-ci.yml": pulled, "requirements.txt": REQS}), "CA204"
    )


def test_ca204_only_where_runs_fill_the_cache_alike(make_repo: MakeRepo) -> None:
    base = (
        "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
        "default:\n  cache:\n    key: {files: [tox.ini]}\n    paths: [.cache/pip]\n"
        "py312:\n  script: [pip install tox, tox -e py312]\n"
        "lint:\n  script: [pip install tox, tox -e lint]\n"
        "docs:\n  script: [pip install tox, tox -e docs]\n"
        "matrix:\n  parallel: {matrix: [{PY: ['3.11', '3.12']}]}\n"
        "  image: python:$PY\n  script: [pip install tox, tox -e py]\n"
    )
    files = {"tox.ini": "[tox]\nenv_list = py312, lint, docs\n"}
    # each job (and each matrix image) puts other packages into the shared cache
    assert not of_rule(audit(make_repo, {".gitlab-ci.yml": base, **files}), "CA204")
    twins = base + "again:\n  script: [pip install tox, tox -e lint]\n"
    finding = only(audit(make_repo, {".gitlab-ci.yml": twins, **files}), "CA204")
    assert "the 2 runs of `lint` and `again`" in finding.message


def test_ca205_points_at_unprotect(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "test:\n  cache:\n    key: {files: [package-lock.json]}\n    paths: [.npm/]\n"
                "    unprotect: 'true'\n  script: [npm ci --cache .npm --prefer-offline]\n"
            ),
            "package.json": "{}",
            "package-lock.json": "{}",
        },
    )
    finding = only(report, "CA205")
    assert (finding.location.line, finding.location.column) == (5, 5)
    assert finding.fix is not None and finding.fix.snippet == "    unprotect: false"


# --- CA206 / CA207 / CA504 ------------------------------------------------------------------


def test_ca206_inline_env_and_fix_line(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
                "test:\n  cache:\n    key: {files: [requirements.txt]}\n    paths: [.cache/pip]\n"
                "  script:\n    - PIP_NO_CACHE_DIR=0 pip install --no-cache -r requirements.txt\n"
            ),
            "requirements.txt": REQS,
        },
    )
    finding = only(report, "CA206")
    assert finding.location.line == 8 and not of_rule(report, "CA201")
    assert finding.fix is not None
    assert finding.fix.snippet == "    - pip install -r requirements.txt"


def test_ca207_build_variants(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "build:\n  script:\n"
                "    - docker --host tcp://docker:2375 image build -t app .\n"
                "    - DOCKER_BUILDKIT=0 docker build --cache-from app:latest -t app .\n"
                "    - /kaniko/executor --destination app\n"
                "    - docker compose build\n"
            ),
        },
    )
    lines = sorted(f.location.line for f in of_rule(report, "CA207"))
    assert lines == [3, 5]
    kaniko = next(f for f in of_rule(report, "CA207") if f.location.line == 5)
    assert kaniko.fix is not None and kaniko.fix.snippet.endswith(
        "--cache=true --cache-repo=$CI_REGISTRY_IMAGE/app/cache --destination app"
    )


def test_ca504_requirement_file_missing_unless_generated(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
                "default:\n  cache:\n    key: {files: [requirements/base.txt]}\n"
                "    paths: [.cache/pip]\n"
                "a:\n  script:\n    - pip install -r requirements/dev.txt\n"
                "b:\n  script:\n    - pip-compile -o requirements/lock.txt requirements/base.txt\n"
                "    - pip install -r requirements/lock.txt\n"
            ),
            "requirements/base.txt": REQS,
            "requirements/deve.txt": REQS,
        },
    )
    finding = only(report, "CA504")
    assert finding.location.line == 9 and "requirements/dev.txt" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet == "    - pip install -r requirements/deve.txt"


# --- pipelines, determinism -----------------------------------------------------------------


def test_included_nested_ci_file_is_audited_once_and_child_pipelines_too(
    make_repo: MakeRepo,
) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "include: services/api/.gitlab-ci.yml\n"
                "child:\n  trigger:\n    include: ci/child.yml\n"
            ),
            "services/api/.gitlab-ci.yml": (
                "api:\n  script:\n    - pip install -r requirements.txt\n"
            ),
            "ci/child.yml": "web:\n  script:\n    - npm ci\n",
            "requirements.txt": REQS,
        },
    )
    where = sorted((f.location.path, f.location.line) for f in of_rule(report, "CA201"))
    assert where == [("ci/child.yml", 3), ("services/api/.gitlab-ci.yml", 3)]
    contexts = sorted(s.context for s in sites(report))
    assert contexts == ["pipeline .gitlab-ci.yml / job api", "pipeline ci/child.yml / job web"]


def test_results_are_deterministic(make_repo: MakeRepo) -> None:
    files = {
        ".gitlab-ci.yml": (
            "default:\n  cache: {paths: [.cache/pip]}\n"
            + "".join(f"j{i}:\n  script: [pip install -r requirements.txt]\n" for i in range(6))
        ),
        "requirements.txt": REQS,
    }
    root = make_repo(files)
    first, second = run_audit(root), run_audit(root)
    assert [(f.rule_id, f.location, f.message, f.fingerprint) for f in first.findings] == [
        (f.rule_id, f.location, f.message, f.fingerprint) for f in second.findings
    ]
    ca202 = only(first, "CA202")
    assert ca202.message.startswith("Jobs `j0`, `j1`, `j2` and 3 more cache `.cache/pip`")


def test_child_pipeline_gets_forwarded_variables(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
                "api:\n  trigger:\n    include:\n      - local: ci/api.yml\n"
            ),
            "ci/api.yml": (
                "test:\n  cache:\n    key: {files: [requirements.txt]}\n    paths: [.cache/pip]\n"
                "  script: [pip install -r requirements.txt]\n"
            ),
            "requirements.txt": REQS,
        },
    )
    assert not report.findings, [f.message for f in report.findings]
    assert [(s.context, s.cached) for s in sites(report)] == [
        ("pipeline ci/api.yml / job test", True)
    ]


def test_ca203_not_for_input_interpolation(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "spec:\n  inputs:\n    key:\n      default: deps\n---\n"
                "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
                "test:\n  cache:\n    key: $[[ inputs.key ]]\n    paths: [.cache/pip]\n"
                "  script: [pip install -r requirements.txt]\n"
            ),
            "requirements.txt": REQS,
        },
    )
    assert not of_rule(report, "CA203")


def test_ca201_message_counts_more_installs_and_merges_reasons(make_repo: MakeRepo) -> None:
    single = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "test:\n  script:\n    - pip install -r requirements.txt\n"
                "    - pip install pytest-xdist==3.6.1\n"
            ),
            "requirements.txt": REQS,
        },
    )
    assert "(and 1 more pip install)" in only(single, "CA201").message
    mixed = audit(
        make_repo,
        {
            ".gitlab-ci.yml": (
                "default:\n  cache: {key: {files: [requirements.txt]}, paths: [.venv/]}\n"
                ".py:\n  before_script: [pip install -r requirements.txt]\n"
                "a:\n  extends: .py\n  cache: []\n  script: [x]\n"
                "b:\n  extends: .py\n  inherit: {default: false}\n  script: [x]\n"
            ),
            "requirements.txt": REQS,
        },
    )
    message = only(mixed, "CA201").message
    assert message.startswith("Jobs `a` and `b` install")
    assert "none of their caches holds pip's downloads" in message


# --- install map: cache state, runs per pipeline, image builds ---------------------------------


def _sites(report: Report) -> dict[str, InstallSite]:
    return {s.context.split("job ")[-1]: s for s in report.installs if s.platform == "gitlab-ci"}


def test_install_map_states_say_why(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            "requirements.txt": REQS,
            ".gitlab-ci.yml": (
                "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
                "ok:\n  cache: {key: {files: [requirements.txt]}, paths: [.cache/pip]}\n"
                "  script: [pip install -r requirements.txt]\n"
                "outside:\n  cache: {paths: [~/.cache/pip]}\n  variables: {PIP_CACHE_DIR: ''}\n"
                "  script: [pip install -r requirements.txt]\n"
                "unset:\n  cache: {paths: [.cache/pip]}\n  inherit: {variables: false}\n"
                "  script: [pip install -r requirements.txt]\n"
                "defeated:\n  cache: {paths: [.cache/pip]}\n"
                "  script: [pip install --no-cache-dir -r requirements.txt]\n"
                "push-only:\n  cache: {paths: [.cache/pip], policy: push}\n"
                "  script: [pip install -r requirements.txt]\n"
                "per-pipeline:\n  cache: {key: $CI_PIPELINE_ID, paths: [.cache/pip]}\n"
                "  script: [pip install -r requirements.txt]\n"
                "none:\n  script: [pip install -r requirements.txt]\n"
            ),
        },
    )
    sites = _sites(report)
    assert sites["ok"].cache_state.value == "effective"
    assert sites["none"].cache_state.value == "missing"
    expected = {
        "outside": "outside `$CI_PROJECT_DIR`",
        "unset": "PIP_CACHE_DIR is not set",
        "defeated": "--no-cache-dir",
        "push-only": "`policy: push`",
        "per-pipeline": "$CI_PIPELINE_ID",
    }
    for job_name, reason in expected.items():
        assert sites[job_name].cache_state.value == "broken", job_name
        assert reason in sites[job_name].cache_reason, (job_name, sites[job_name].cache_reason)


def test_install_map_unknown_only_where_an_include_may_set_the_cache(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            "requirements.txt": REQS,
            ".gitlab-ci.yml": (
                "include:\n  - project: acme/ci\n    file: python.yml\n"
                "inherits:\n  script: [pip install -r requirements.txt]\n"
                "own:\n  cache: {paths: [node_modules/]}\n"
                "  script: [pip install -r requirements.txt]\n"
                "opted-out:\n  inherit: {default: false}\n"
                "  script: [pip install -r requirements.txt]\n"
                "extends-remote:\n  extends: .python\n  script: [pip install -r requirements.txt]\n"
            ),
        },
    )
    sites = _sites(report)
    assert sites["inherits"].cache_state.value == "unknown"
    assert "project include" in sites["inherits"].cache_reason
    assert sites["extends-remote"].cache_state.value == "unknown"
    assert sites["own"].cache_state.value == "missing"
    assert sites["opted-out"].cache_state.value == "missing"
    assert {f.location.line for f in of_rule(report, "CA201")} == {8, 11}


def test_runs_per_pipeline_count_parallel_and_matrix(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            "requirements.txt": REQS,
            ".gitlab-ci.yml": (
                "n:\n  parallel: 4\n  script: [pip install -r requirements.txt]\n"
                "m:\n  parallel:\n    matrix:\n"
                "      - {PY: ['3.11', '3.12', '3.13'], DB: [pg, mysql]}\n"
                "      - {PY: '3.10'}\n"
                "  script: [pip install -r requirements.txt]\n"
            ),
        },
    )
    sites = _sites(report)
    assert (sites["n"].runs_per_pipeline, sites["n"].runs_note) == (4, "parallel: 4")
    assert (sites["m"].runs_per_pipeline, sites["m"].runs_note) == (7, "matrix 3×2 + 1")


def test_image_builds_are_recorded_with_their_dockerfile_and_runs(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            "api/Dockerfile": "FROM python:3.12\n",
            "Dockerfile": "FROM python:3.12\n",
            "ci/app.Dockerfile": "FROM python:3.12\n",
            ".gitlab-ci.yml": (
                "docker:\n  image: docker:27\n  parallel: 2\n  script:\n"
                "    - docker build -t $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHA api\n"
                "    - docker buildx build -f ci/app.Dockerfile --push -t $CI_REGISTRY_IMAGE .\n"
                "kaniko:\n  image: {name: gcr.io/kaniko-project/executor:debug}\n  script:\n"
                "    - executor --context $CI_PROJECT_DIR --destination $CI_REGISTRY_IMAGE:x\n"
                "buildah:\n  script:\n    - buildah bud -f Dockerfile -t x .\n"
            ),
        },
    )
    builds = sorted(
        (b.context.split("job ")[-1], b.dockerfile, b.runs_per_pipeline) for b in report.builds
    )
    assert builds == [
        ("buildah", "Dockerfile", 1),
        ("docker", "api/Dockerfile", 2),
        ("docker", "ci/app.Dockerfile", 2),
        ("kaniko", "Dockerfile", 1),
    ]


def test_each_image_gets_its_own_cache_ref(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        {
            "api/Dockerfile": "FROM python:3.12\n",
            "web/Dockerfile": "FROM node:22\n",
            ".gitlab-ci.yml": (
                "images:\n  image: docker:27\n  script:\n"
                "    - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA -f api/Dockerfile api\n"
                "    - docker build -t $CI_REGISTRY_IMAGE/web:$CI_COMMIT_SHA web\n"
                "    - docker buildx build --push -t registry.example.com/acme/tool:1.0 .\n"
            ),
        },
    )
    snippets = [f.fix.snippet for f in of_rule(report, "CA207") if f.fix]
    assert len(snippets) == 3
    assert "--cache-from $CI_REGISTRY_IMAGE:api " in snippets[0]
    assert "--cache-from $CI_REGISTRY_IMAGE/web:latest " in snippets[1]
    assert "ref=registry.example.com/acme/tool:buildcache-1.0 " in snippets[2]


def test_ca201_poetry_config_in_project_venv_is_the_cached_environment(
    make_repo: MakeRepo,
) -> None:
    ci = (
        "variables:\n  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip\n"
        "cache:\n  key: {files: [poetry.lock]}\n  paths: [.cache/pip, .venv/]\n"
        "before_script:\n  - pip install poetry\n  - poetry config virtualenvs.in-project true\n"
        "build:\n  script: [poetry install]\n"
    )
    files = {
        "pyproject.toml": '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nrequests = "*"\n',
        "poetry.lock": "[metadata]\nlock-version = '2.0'\n",
    }
    assert not of_rule(audit(make_repo, {".gitlab-ci.yml": ci, **files}), "CA201")
    elsewhere = ci.replace("virtualenvs.in-project true", "virtualenvs.in-project false")
    finding = only(audit(make_repo, {".gitlab-ci.yml": elsewhere, **files}), "CA201")
    assert "poetry install" in finding.message

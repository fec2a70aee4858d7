"""The per-file dependency rules: CA001 lines, CA404, CA504 includes; pyproject parsing; and
CA402 on the files an install reads (built here, reported by the cross-file analyzer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheaudit.analyzers import cross, dependencies
from cacheaudit.model import Finding, InstallSite, Location
from cacheaudit.parsing.shell import find_installs, parse_script
from cacheaudit.repo import RepoContext


def run(files: dict[str, str], path: str) -> list[Finding]:
    ctx = RepoContext.from_files(Path("/nonexistent-root"), files)
    source = ctx.file(path)
    assert source is not None, f"{path} is not classified"
    return dependencies.analyze(ctx, source).findings


def installed(
    files: dict[str, str],
    command: str = "pip install -r requirements.txt",
    *,
    inputs: tuple[str, ...] = ("requirements.txt",),
    path: str = ".github/workflows/ci.yml",
    platform: str = "github-actions",
) -> list[Finding]:
    """CA402 findings when ``command`` (recorded as an install site reading ``inputs``) runs."""
    ctx = RepoContext.from_files(Path("/nonexistent-root"), files)
    (install,) = find_installs(parse_script(command))
    site = InstallSite(
        Location(path, 9), platform, "job test", install.tool, command, inputs, cached=True
    )
    return [f for f in cross.analyze_repo(ctx, [site]).findings if f.rule_id == "CA402"]


def rules(findings: list[Finding]) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.location.line) for f in findings)


# --- requirements: CA001 ---------------------------------------------------------------------


def test_lines_pip_rejects_are_parse_errors_at_their_line() -> None:
    findings = run(
        {"requirements.txt": "flask==3.0.3\n--bogus-option\nnot valid!!\n"}, "requirements.txt"
    )
    assert rules(findings) == [("CA001", 2), ("CA001", 3)]
    assert "no such option: --bogus-option" in findings[0].message


def test_an_include_cycle_is_reported_once() -> None:
    files = {
        "requirements/a.txt": "-r b.txt\nflask==3.0.3\n",
        "requirements/b.txt": "-r a.txt\n",
    }
    found = run(files, "requirements/a.txt") + run(files, "requirements/b.txt")
    assert rules(found) == [("CA001", 1)]
    assert found[0].location.path == "requirements/a.txt"
    assert "leads back to requirements/a.txt" in found[0].message


# --- requirements: CA504 ---------------------------------------------------------------------


def test_missing_include_points_at_the_file_that_exists() -> None:
    files = {
        "requirements-prod.txt": "# prod\n-r common.txt\ngunicorn==23.0.0\n",
        "requirements/common.txt": "requests==2.32.3\n",
    }
    (finding,) = run(files, "requirements-prod.txt")
    assert (finding.rule_id, finding.location.line) == ("CA504", 2)
    assert "`-r common.txt`" in finding.message and "common.txt does not exist" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet == "-r requirements/common.txt"


def test_missing_constraint_include_relative_to_a_subdirectory() -> None:
    files = {
        "requirements/test.txt": "-c ../constraint.txt\npytest\n",
        "constraints.txt": "pytest==8.3.3\n",
    }
    (finding,) = run(files, "requirements/test.txt")
    assert finding.rule_id == "CA504"
    assert finding.fix is not None
    # constraint.txt is a near-miss of constraints.txt in the same directory
    assert finding.fix.snippet == "-c ../constraints.txt"


def test_existing_and_unknowable_includes_are_fine() -> None:
    files = {
        "requirements/dev.txt": "-r base.txt\n-r ${EXTRA}/more.txt\n-r https://x.example/r.txt\n",
        "requirements/base.txt": "flask==3.0.3\n",
    }
    assert run(files, "requirements/dev.txt") == []


# --- requirements: CA402 ---------------------------------------------------------------------


def test_vcs_branch_names_package_ref_and_fix() -> None:
    files = {
        "requirements.txt": "flask==3.0.3\n"
        "acme-kit @ git+https://github.com/acme/kit.git@main ; python_version >= '3.10'\n"
    }
    assert run(files, "requirements.txt") == []  # not judged on its own
    (finding,) = installed(files)
    assert (finding.rule_id, finding.location.line) == ("CA402", 2)
    assert "acme-kit" in finding.message and "`main`" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet == (
        "acme-kit @ git+https://github.com/acme/kit.git@<full 40-character commit sha>"
        ' ; python_version >= "3.10"'
    )


def test_vcs_forms_that_pip_cannot_cache() -> None:
    files = {
        "requirements.txt": (
            "git+https://github.com/org/one.git@v1.0#egg=one\n"
            "-e git+https://github.com/org/two.git#egg=two\n"
            "three @ git+https://github.com/org/three.git@3f1c2e7\n"
            "four @ hg+https://hg.example.com/four@" + "c" * 40 + "\n"
        )
    }
    findings = installed(files)
    assert rules(findings) == [("CA402", 1), ("CA402", 2), ("CA402", 3), ("CA402", 4)]
    one, two, three, four = findings
    assert one.fix is not None
    assert (
        one.fix.snippet
        == "git+https://github.com/org/one.git@<full 40-character commit sha>#egg=one"
    )
    assert "default branch" in two.message
    assert two.fix is not None and two.fix.snippet.startswith("-e git+https://")
    assert "abbreviated commit `3f1c2e7`" in three.message
    assert "hg checkout" in four.message


def test_vcs_on_a_full_commit_is_fine() -> None:
    files = {"requirements.txt": "kit @ git+https://github.com/acme/kit.git@" + "0a" * 20 + "\n"}
    assert installed(files) == []


def test_vcs_in_an_input_file_is_reported_in_its_compiled_file_only() -> None:
    line = "kit @ git+https://github.com/acme/kit.git@main\n"
    files = {"requirements.in": line, "requirements.txt": line}
    assert installed(files, "pip install -r requirements.in", inputs=("requirements.in",)) == []
    assert rules(installed(files)) == [("CA402", 1)]
    alone = {"requirements.in": line}
    assert rules(
        installed(alone, "pip install -r requirements.in", inputs=("requirements.in",))
    ) == [("CA402", 1)]


# --- requirements: CA404 ---------------------------------------------------------------------

PIP_COMPILE_HEADER = (
    "#\n# This file is autogenerated by pip-compile with Python 3.12\n"
    "# by the following command:\n#\n"
    "#    pip-compile --output-file=requirements.txt requirements.in\n#\n"
)


def test_compiled_without_hashes_points_at_the_command_and_adds_the_flag() -> None:
    text = PIP_COMPILE_HEADER + "click==8.1.7\n    # via flask\nflask==3.0.3\n"
    (finding,) = run({"requirements.txt": text}, "requirements.txt")
    assert (finding.rule_id, finding.location.line) == ("CA404", 5)
    assert finding.fix is not None
    assert finding.fix.snippet == (
        "pip-compile --generate-hashes --output-file=requirements.txt requirements.in"
    )


def test_uv_export_fix_drops_no_hashes() -> None:
    text = (
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv export --frozen --no-hashes -o requirements.txt\nanyio==4.6.0\n"
    )
    (finding,) = run({"requirements.txt": text}, "requirements.txt")
    assert finding.fix is not None
    assert finding.fix.snippet == "uv export --frozen -o requirements.txt"


def test_partial_hashes_make_the_install_fail() -> None:
    text = "flask==3.0.3 \\\n    --hash=sha256:abc\nclick==8.1.7\nitsdangerous\n"
    (finding,) = run({"requirements.txt": text}, "requirements.txt")
    assert (finding.rule_id, finding.location.line) == ("CA404", 3)
    assert "click, itsdangerous have none: the install fails" in finding.message


@pytest.mark.parametrize(
    "text",
    [
        PIP_COMPILE_HEADER + "flask==3.0.3 \\\n    --hash=sha256:abc\n",  # hashed
        "flask==3.0.3\nclick==8.1.7\n",  # pinned by hand: not known to be complete
        PIP_COMPILE_HEADER + "flask>=3\n",  # not fully pinned
    ],
)
def test_no_ca404(text: str) -> None:
    assert run({"requirements.txt": text}, "requirements.txt") == []


# --- pyproject.toml --------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "Orders"
version = "1.0"
dynamic = ["readme"]
dependencies = [
    "flask>=3.0",
    'sqlalchemy>=2.0',
]

[project.optional-dependencies]
pg = ["psycopg[binary]>=3.2"]

[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff==0.6.9"]

[tool.poetry.group.docs.dependencies]
mkdocs = "^1.6"

[tool.uv]
dev-dependencies = ["ipython"]
"""


def test_parse_project_reads_every_dependency_table_with_lines() -> None:
    project = dependencies.parse_project(PYPROJECT, "services/orders/pyproject.toml")
    got = [(d.requirement.name, d.table, d.requirement.line) for d in project.dependencies]
    assert got == [
        ("flask", "project.dependencies", 6),
        ("sqlalchemy", "project.dependencies", 7),
        ("psycopg", "project.optional-dependencies.pg", 11),
        ("pytest", "dependency-groups.test", 14),
        ("ruff", "dependency-groups.lint", 15),
        ("ipython", "tool.uv.dev-dependencies", 21),
        ("mkdocs", "tool.poetry.group.docs.dependencies", 18),
    ]
    assert project.name == "Orders"
    assert project.directory == "services/orders"
    assert project.managers == frozenset({"uv", "poetry"})
    assert not project.dynamic_dependencies
    assert project.dependencies_line == 6


def test_parse_project_dynamic_dependencies_and_poetry_specs() -> None:
    project = dependencies.parse_project(
        '[project]\nname = "x"\ndynamic = ["dependencies"]\n\n'
        "[tool.poetry.dependencies]\n"
        'python = "^3.12"\n'
        'fastapi = "0.115.0"\n'
        'uvicorn = { version = "^0.30", extras = ["standard"] }\n'
        'kit = { git = "https://github.com/acme/kit.git", branch = "main" }\n'
        'local = { path = "../local", develop = true }\n',
        "pyproject.toml",
    )
    assert project.dynamic_dependencies
    by_name = {d.requirement.name: d.requirement for d in project.dependencies}
    assert set(by_name) == {"fastapi", "uvicorn", "kit", "local"}
    assert by_name["fastapi"].pinned
    assert not by_name["uvicorn"].pinned
    assert by_name["kit"].vcs is not None and by_name["kit"].vcs.ref == "main"
    assert by_name["local"].local
    assert by_name["kit"].line == 9


def test_invalid_toml_is_a_parse_error_with_position() -> None:
    findings = run({"pyproject.toml": '[project]\nname = "x"\nversion = \n'}, "pyproject.toml")
    assert rules(findings) == [("CA001", 3)]


def test_invalid_dependency_string_is_a_parse_error() -> None:
    text = '[project]\nname = "x"\ndependencies = [\n  "flask>=3",\n  "bad dep!!",\n]\n'
    assert rules(run({"pyproject.toml": text}, "pyproject.toml")) == [("CA001", 5)]


def test_vcs_dependency_without_a_lock() -> None:
    text = (
        '[project]\nname = "svc"\ndependencies = [\n'
        '    "kit @ git+https://github.com/acme/kit.git@develop",\n]\n'
        "\n[tool.poetry.dependencies]\n"
        'tool = { git = "https://github.com/acme/tool.git", tag = "v2.0" }\n'
    )
    assert run({"pyproject.toml": text}, "pyproject.toml") == []  # a manifest alone: not judged
    findings = installed({"pyproject.toml": text}, "pip install .", inputs=("pyproject.toml",))
    assert rules(findings) == [("CA402", 4), ("CA402", 8)]
    pep, poetry = findings
    assert pep.fix is not None and pep.fix.snippet == (
        '"kit @ git+https://github.com/acme/kit.git@<full 40-character commit sha>",'
    )
    assert poetry.fix is not None and poetry.fix.snippet == (
        'tool = { git = "https://github.com/acme/tool.git", '
        'rev = "<full 40-character commit sha>" }'
    )
    # A lock file records the commit each VCS dependency resolved to.
    locked = {"pyproject.toml": text, "uv.lock": "version = 1\n"}
    assert installed(locked, "pip install .", inputs=("pyproject.toml",)) == []


# --- CA402: only what an install reads; archive URLs ----------------------------------------

BRANCH = "kit @ git+https://github.com/acme/kit.git@main\n"


def test_vcs_in_an_included_file_is_found_through_the_include() -> None:
    files = {"requirements.txt": "-r requirements/base.txt\n", "requirements/base.txt": BRANCH}
    assert [(f.location.path, f.location.line) for f in installed(files)] == [
        ("requirements/base.txt", 1)
    ]


def test_files_nobody_installs_are_not_judged() -> None:
    files = {
        "requirements.txt": "flask==3.0.3\n",
        "docs/requirements.txt": BRANCH,
        "tests/fixtures/app/requirements.txt": BRANCH,
    }
    assert installed(files) == []


def test_installs_written_in_example_directories_are_not_judged() -> None:
    files = {"examples/app/requirements.txt": BRANCH}
    command = "pip install -r requirements.txt"
    inputs = ("examples/app/requirements.txt",)
    assert installed(files, command, inputs=inputs, path="examples/app/Dockerfile") == []
    assert len(installed(files, command, inputs=inputs, path="app/Dockerfile")) == 1


PROJECT_WITH_EXTRAS = """\
[project]
name = "svc"
dependencies = ["flask>=3"]

[project.optional-dependencies]
edge = ["kit @ git+https://github.com/acme/kit.git@main"]

[dependency-groups]
dev = ["tool @ https://github.com/acme/tool/archive/main.tar.gz"]
"""


@pytest.mark.parametrize(
    ("command", "lines"),
    [
        ("pip install .", []),
        ("pip install '.[edge]'", [6]),
        ("pip install . --group dev", [9]),
        ("uv sync", [9]),
        ("uv sync --no-dev", []),
        ("uv sync --all-extras", [6, 9]),
    ],
)
def test_pyproject_extras_and_groups_count_only_when_installed(
    command: str, lines: list[int]
) -> None:
    files = {"pyproject.toml": PROJECT_WITH_EXTRAS}
    found = installed(files, command, inputs=("pyproject.toml",))
    assert [f.location.line for f in found] == lines


def test_a_published_library_is_not_judged_unless_deployed() -> None:
    files = {
        "pyproject.toml": PROJECT_WITH_EXTRAS,
        ".github/workflows/release.yml": "jobs:\n  p:\n    steps:\n"
        "      - uses: pypa/gh-action-pypi-publish@release/v1\n",
    }
    command, inputs = "pip install '.[edge]'", ("pyproject.toml",)
    assert installed(files, command, inputs=inputs) == []
    deployed = installed(files, command, inputs=inputs, path="Dockerfile", platform="dockerfile")
    assert [f.location.line for f in deployed] == [6]
    dev_image = "docker/development/Dockerfile"
    assert installed(files, command, inputs=inputs, path=dev_image, platform="dockerfile") == []


@pytest.mark.parametrize(
    ("line", "fires"),
    [
        ("tool @ https://github.com/acme/tool/archive/refs/tags/v1.2.zip", True),
        ("https://github.com/acme/tool/archive/main.tar.gz", True),
        ("tool @ https://example.com/dl/abc123.tar.gz#sha256=" + "0" * 64, True),
        ("tool @ https://example.com/dl/tool-1.2.tar.gz", False),
        ("tool @ https://files.example.com/tool-1.2-py3-none-any.whl", False),
        ("tool @ https://example.com/dl/tool_pkg-2024.1.zip", False),
        ("tool @ file:///opt/wheels/tool.tar.gz", False),
        ("tool==1.2", False),
    ],
)
def test_archive_urls_pip_cannot_cache(line: str, fires: bool) -> None:
    found = installed({"requirements.txt": line + "\n"})
    assert bool(found) is fires, found
    if fires:
        assert "name-version" in found[0].message
        assert found[0].fix is not None and "==<version>" in found[0].fix.snippet


def test_tox_sessions_requirements_are_judged() -> None:
    files = {
        "tox.ini": "[testenv]\ndeps = -rrequirements-test.txt\n",
        "requirements-test.txt": BRANCH,
    }
    found = installed(files, "tox -e py", inputs=("tox.ini", "requirements-test.txt"))
    assert [(f.location.path, f.location.line) for f in found] == [("requirements-test.txt", 1)]

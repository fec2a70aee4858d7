"""Following what a CI command runs from other files (cacheaudit.analyzers.scripts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cacheaudit.analyzers.scripts import (
    follow,
    followed_installs,
    runner_backend,
    session_inputs,
)
from cacheaudit.parsing.shell import Command, find_installs, parse_script
from cacheaudit.repo import RepoContext

_ROOT: list[Path] = []


@pytest.fixture(autouse=True)
def _root(tmp_path: Path) -> Iterator[None]:
    _ROOT.append(tmp_path)
    yield
    _ROOT.pop()


def ctx_of(files: dict[str, str]) -> RepoContext:
    """A repository of ``files`` on disk (scripts and Makefiles are read from the root)."""
    root = _ROOT[-1] / f"repo{len(list(_ROOT[-1].iterdir()))}"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    root.mkdir(exist_ok=True)
    return RepoContext.from_files(root, files)


def cmd(text: str) -> Command:
    (command,) = parse_script(text)
    return command


def installs(files: dict[str, str], text: str, workdir: str | None = "") -> list[tuple[str, str]]:
    """(install command text, file:line it is written at) for what ``text`` runs."""
    found = followed_installs(ctx_of(files), cmd(text), workdir)
    return [(i.command.text, f"{path}:{i.line}") for i, _, path in found]


# --- shell scripts ---------------------------------------------------------------------------

SETUP = "#!/usr/bin/env bash\nset -e\npip install -r requirements.txt\n"


@pytest.mark.parametrize(
    "text",
    [
        "bash ci/setup.sh",
        "bash -x ci/setup.sh",
        "sh -e ci/setup.sh --verbose",
        "bash -o pipefail ci/setup.sh",
        "./ci/setup.sh",
        "ci/setup.sh",
        "source ci/setup.sh",
        ". ci/setup.sh",
        "sudo -E bash ci/setup.sh",
    ],
)
def test_shell_scripts_are_followed(text: str) -> None:
    assert installs({"ci/setup.sh": SETUP}, text) == [
        ("pip install -r requirements.txt", "ci/setup.sh:3")
    ]


@pytest.mark.parametrize(
    ("files", "text"),
    [
        ({"ci/setup.sh": SETUP}, "bash -c 'echo ci/setup.sh'"),
        ({"ci/setup.sh": SETUP}, "bash $SCRIPT"),
        ({"ci/setup.sh": SETUP}, "cat ci/setup.sh"),
        ({"ci/setup.sh": SETUP}, "bash ci/missing.sh"),
        ({"ci/setup.py": "import os\nos.system('pip install x')\n"}, "./ci/setup.py"),
        ({"bin/tool": "#!/usr/bin/env python3\npip = 1\n"}, "bin/tool"),
    ],
)
def test_shell_script_near_misses(files: dict[str, str], text: str) -> None:
    assert installs(files, text) == []


def test_script_paths_are_relative_to_the_working_directory() -> None:
    files = {"web/ci/setup.sh": SETUP}
    assert installs(files, "bash ci/setup.sh", "web") == [
        ("pip install -r requirements.txt", "web/ci/setup.sh:3")
    ]
    assert installs(files, "bash ci/setup.sh", None) == []  # unknown directory: no guess


def test_cd_inside_a_script_moves_its_installs() -> None:
    files = {"ci/setup.sh": "cd backend\npip install -r requirements.txt\n"}
    ((_, workdir, _),) = followed_installs(ctx_of(files), cmd("bash ci/setup.sh"), "")
    assert workdir == "backend"


def test_nested_scripts_and_cycles_end() -> None:
    files = {
        "a.sh": "#!/bin/sh\n. ./b.sh\nnpm ci\n",
        "b.sh": "#!/bin/sh\n./a.sh\npip install x\n",
    }
    assert installs(files, "./a.sh") == [("pip install x", "b.sh:3"), ("npm ci", "a.sh:3")]


def test_depth_is_bounded() -> None:
    files = {f"s{i}.sh": f"./s{i + 1}.sh\n" for i in range(10)}
    files["s10.sh"] = "pip install x\n"
    assert installs(files, "./s0.sh") == []
    files["s3.sh"] = "pip install y\n"
    assert installs(files, "./s0.sh") == [("pip install y", "s3.sh:1")]


def test_sourced_scripts_say_so() -> None:
    files = {"env.sh": "export PIP_CACHE_DIR=.cache/pip\n"}
    (run,) = follow(ctx_of(files), cmd("source env.sh"), "")
    assert run.sourced
    (run,) = follow(ctx_of(files), cmd("bash env.sh"), "")
    assert not run.sourced


# --- make ------------------------------------------------------------------------------------

MAKEFILE = """\
PYTHON ?= python3
VENV := .venv
PIP = $(VENV)/bin/pip

.PHONY: all deps test venv

all: deps test

venv:
\t$(PYTHON) -m venv $(VENV)

deps: venv
\t@$(PIP) install -r requirements.txt \\
\t    -r requirements-dev.txt
\t-npm ci

test: deps
\t$(VENV)/bin/pytest

release:
\t$(MAKE) -C docs html
\t$(MAKE) deps
"""


def test_make_target_with_prerequisites_and_variables() -> None:
    found = installs({"Makefile": MAKEFILE}, "make deps")
    assert found == [
        (".venv/bin/pip install -r requirements.txt -r requirements-dev.txt", "Makefile:13"),
        ("npm ci", "Makefile:15"),
    ]


def test_make_default_target_is_the_first() -> None:
    found = installs({"Makefile": MAKEFILE}, "make")
    assert [where for _, where in found] == ["Makefile:13", "Makefile:15"]


def test_make_recursion_and_directories() -> None:
    files = {
        "Makefile": MAKEFILE,
        "docs/Makefile": "html:\n\tpip install -r requirements.txt\n\tsphinx-build . _build\n",
        "docs/requirements.txt": "sphinx==7.3.7\n",
    }
    found = followed_installs(ctx_of(files), cmd("make release"), "")
    assert [(path, i.line, wd) for i, wd, path in found] == [
        ("docs/Makefile", 2, "docs"),
        ("Makefile", 13, ""),
        ("Makefile", 15, ""),
    ]


@pytest.mark.parametrize(
    ("text", "workdir"),
    [
        ("make -C backend install", ""),
        ("make --directory=backend install", ""),
        ("gmake -Cbackend install", ""),
        ("make -f backend/Makefile install", ""),
        ("make install PYTHON=python3.12 -j4", "backend"),
    ],
)
def test_make_options(text: str, workdir: str) -> None:
    files = {"backend/Makefile": "install:\n\tpip install -r requirements.txt\n"}
    assert [w for _, w in installs(files, text, workdir)] == ["backend/Makefile:2"]


def test_make_cycles_and_unknown_targets_end() -> None:
    files = {"Makefile": "a: b\n\tpip install x\nb: a\n\t$(MAKE) a\n"}
    assert [w for _, w in installs(files, "make a")] == ["Makefile:2"]
    assert installs(files, "make nothing-here") == []
    assert installs({}, "make deps") == []
    assert installs(files, "make -C $DIR a") == []


# --- package.json scripts --------------------------------------------------------------------

PACKAGE = """\
{
  "name": "web",
  "scripts": {
    "preci:install": "corepack enable",
    "ci:install": "npm ci --no-audit",
    "postci:install": "pip install -r requirements.txt",
    "test": "vitest run",
    "deps": "pnpm install --frozen-lockfile",
    "build": "vite build"
  }
}
"""


def test_npm_run_reads_the_script_with_pre_and_post() -> None:
    assert installs({"package.json": PACKAGE}, "npm run ci:install") == [
        ("npm ci --no-audit", "package.json:5"),
        ("pip install -r requirements.txt", "package.json:6"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "yarn deps",
        "yarn run deps",
        "pnpm deps",
        "pnpm run deps",
        "bun run deps",
        "npm run-script deps",
        "npm --prefix . run deps",
        "node --run deps",
        "node --run=deps",
    ],
)
def test_package_scripts_of_every_manager(text: str) -> None:
    assert installs({"package.json": PACKAGE}, text) == [
        ("pnpm install --frozen-lockfile", "package.json:8")
    ]


def test_package_script_in_another_directory() -> None:
    files = {"web/package.json": PACKAGE}
    for text in ("npm --prefix web run deps", "yarn --cwd web deps", "pnpm -C web run deps"):
        found = followed_installs(ctx_of(files), cmd(text), "")
        assert [(p, wd) for _, wd, p in found] == [("web/package.json", "web")], text


@pytest.mark.parametrize(
    "text",
    [
        "npm run build", "npm test", "yarn install", "yarn add deps", "npm run missing", "yarn",
        "node deps", "node --run", "node server.js --run deps",
    ],
)  # fmt: skip
def test_package_script_near_misses(text: str) -> None:
    assert installs({"package.json": PACKAGE}, text) == []


def test_broken_package_json_is_skipped() -> None:
    assert installs({"package.json": "{ not json"}, "npm run deps") == []


# --- tox and nox -----------------------------------------------------------------------------

TOX_INI = """\
[tox]
requires = tox-uv>=1
envlist = py312, lint

[testenv]
deps =
    -rrequirements/test.txt
    -r{toxinidir}/requirements/extra.txt
commands = pytest

[testenv:lint]
deps = ruff==0.6.9
"""

NOXFILE = """\
import nox

nox.options.default_venv_backend = "uv"

@nox.session
def tests(session):
    session.install("-r", "requirements-test.txt")
    session.install(".")
"""


def test_tox_session_inputs_and_uv_runner() -> None:
    files = {
        "tox.ini": TOX_INI,
        "requirements/test.txt": "pytest==8.3.3\n",
        "requirements/extra.txt": "x==1\n",
    }
    ctx = ctx_of(files)
    (tox,) = find_installs(parse_script("tox -e py312"))
    assert session_inputs(ctx, tox, "") == (
        "tox.ini",
        "requirements/test.txt",
        "requirements/extra.txt",
    )
    assert runner_backend(ctx, tox, "") == "uv"
    plain = ctx_of({"tox.ini": "[tox]\nenvlist = py\n[testenv]\ndeps = pytest\n"})
    assert session_inputs(plain, tox, "") == ("tox.ini",)
    assert runner_backend(plain, tox, "") == ""


def test_tox_config_in_pyproject_or_setup_cfg() -> None:
    (tox,) = find_installs(parse_script("tox"))
    pyproject = ctx_of({"pyproject.toml": "[tool.tox]\nrequires = ['tox>=4']\n"})
    assert session_inputs(pyproject, tox, "") == ("pyproject.toml",)
    library = ctx_of({"pyproject.toml": "[project]\nname = 'x'\n"})
    assert session_inputs(library, tox, "") == ()


def test_nox_session_inputs_and_backend() -> None:
    files = {"noxfile.py": NOXFILE, "requirements-test.txt": "pytest==8.3.3\n"}
    (nox,) = find_installs(parse_script("nox -s tests"))
    ctx = ctx_of(files)
    assert session_inputs(ctx, nox, "") == ("noxfile.py", "requirements-test.txt")
    assert runner_backend(ctx, nox, "") == "uv"
    assert runner_backend(ctx_of({"noxfile.py": "import nox\n"}), nox, "") == ""


def test_tox_inputs_follow_the_environments_that_run() -> None:
    text = (
        "[tox]\nenvlist = py312, lint\n\n[testenv]\ndeps = -rrequirements/test.txt\n"
        "\n[testenv:lint]\ndeps = ruff==0.6.9\n\n[testenv:docs]\ndeps =\n"
        "    -r{toxinidir}/docs/requirements.txt\n    # -r{toxinidir}/docs/requirements.in\n"
        "    -c{toxinidir}/constraints.txt\n"
    )
    files = {
        "tox.ini": text,
        "requirements/test.txt": "pytest==8.3.3\n",
        "docs/requirements.txt": "sphinx==7.3.7\n",
        "docs/requirements.in": "sphinx\n",
        "constraints.txt": "x==1\n",
    }
    ctx = ctx_of(files)

    def inputs(command: str) -> tuple[str, ...]:
        (install,) = find_installs(parse_script(command))
        return session_inputs(ctx, install, "")

    assert inputs("tox -p auto") == ("tox.ini", "requirements/test.txt")
    assert inputs("tox -e docs") == ("tox.ini", "requirements/test.txt", "docs/requirements.txt")


def test_script_variables_are_put_in() -> None:
    script = (
        '#!/bin/sh -e\n[ "$1" = "-p" ] && PYTHON=$2 || PYTHON="python3"\n'
        'REQUIREMENTS="requirements.txt"\nif [ -z "$CI" ]; then\n  PIP="venv/bin/pip"\n'
        'else\n  PIP="pip"\nfi\n"$PIP" install -U pip\n"$PIP" install -r "$REQUIREMENTS"\n'
        '"$PYTHON" -m pip install -r ${EXTRA}/dev.txt\n'
    )
    found = followed_installs(ctx_of({"scripts/install": script}), cmd("scripts/install"), "")
    assert [(i.command.argv, i.requirement_files) for i, _, _ in found] == [
        (("pip", "install", "-U", "pip"), ()),
        (("pip", "install", "-r", "requirements.txt"), ("requirements.txt",)),
        (("python3", "-m", "pip", "install", "-r", "${EXTRA}/dev.txt"), ("${EXTRA}/dev.txt",)),
    ]


@pytest.mark.parametrize(
    ("tox_ini", "backend"),
    [
        ("[tox]\nrequires = tox-uv>=1\n", "uv"),
        ("[testenv]\nrunner = uv-venv-lock-runner\n", "uv"),
        ("[testenv]\nuv_seed = true\n", "uv"),
        ("[tox]\n# we could use tox-uv one day\nrequires = tox>=4\n", ""),
    ],
)
def test_tox_uv_backend_from_the_config(tox_ini: str, backend: str) -> None:
    (tox,) = find_installs(parse_script("tox -e py"))
    assert runner_backend(ctx_of({"tox.ini": tox_ini}), tox, "") == backend

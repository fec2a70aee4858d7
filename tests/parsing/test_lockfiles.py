"""Package counts from lock files and requirements files (for the score), on real lock files
(tests/parsing/lockfiles/SOURCE says where each comes from)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheaudit.parsing.lockcount import (
    PackageCount,
    Selection,
    count_lock_packages,
    selection_for,
)
from cacheaudit.parsing.requirements import count_requirements
from cacheaudit.parsing.shell import find_installs, parse_script
from cacheaudit.repo import RepoContext

LOCKS = Path(__file__).parent / "lockfiles"


def count(file: str, selection: Selection | None = None, name: str | None = None) -> PackageCount:
    text = (LOCKS / file).read_text(encoding="utf-8")
    found = count_lock_packages(name or file, text, selection)
    assert found is not None
    return found


def select(command: str) -> Selection:
    (install,) = find_installs(parse_script(command))
    return selection_for(install)


# --- uv.lock ---------------------------------------------------------------------------------
# Project: pyyaml; group dev: mypy (mypy-extensions, pathspec, typing-extensions), pre-commit
# (cfgv, identify, nodeenv, pyyaml, virtualenv → distlib, filelock, platformdirs), ruff,
# types-pyyaml. The project itself is editable: not downloaded.


def test_uv_sync_default_includes_the_dev_group() -> None:
    found = count("uv.lock", select("uv sync --locked"))
    assert (found.packages, found.exact) == (15, True)


def test_uv_no_dev_and_only_dev() -> None:
    assert count("uv.lock", select("uv sync --no-dev")).packages == 1  # pyyaml
    assert count("uv.lock", select("uv sync --only-dev")).packages == 15
    assert count("uv.lock", select("uv sync --only-group dev --no-dev")).packages == 15


def test_uv_bytes_take_the_linux_cpython_312_wheel() -> None:
    # The project requires Python 3.13, so the lock has no cp312 wheel of pyyaml: a CPython 3.12
    # job would build the sdist, whose size the lock records; pure wheels (py3-none-any) fit.
    only_pyyaml = count("uv.lock", Selection(dev=False))
    text = (LOCKS / "uv.lock").read_text(encoding="utf-8")
    assert only_pyyaml.bytes == _size_of(text, "pyyaml-6.0.3.tar.gz")
    with_dev = count("uv.lock")
    assert with_dev.bytes is not None
    assert with_dev.bytes > only_pyyaml.bytes + _size_of(text, "ruff-0.13.3.tar.gz")


def _size_of(text: str, prefix: str) -> int:
    line = next(ln for ln in text.splitlines() if prefix in ln)
    return int(line.split("size = ")[1].split(",")[0])


def test_uv_markers_for_other_platforms_are_left_out() -> None:
    text = (
        'version = 1\nrequires-python = ">=3.12"\n\n'
        '[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        "dependencies = [\n"
        '    { name = "colorama", marker = "sys_platform == \'win32\'" },\n'
        '    { name = "uvloop", marker = "sys_platform != \'win32\'" },\n'
        '    { name = "tomli", marker = "python_full_version < \'3.11\'" },\n]\n\n'
        '[[package]]\nname = "colorama"\nversion = "0.4.6"\n'
        'source = { registry = "https://pypi.org/simple" }\n\n'
        '[[package]]\nname = "uvloop"\nversion = "0.21.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        'sdist = { url = "https://x/uvloop-0.21.0.tar.gz", size = 2492741 }\n'
        "wheels = [\n"
        '    { url = "https://x/uvloop-0.21.0-cp312-cp312-macosx_10_13_universal2.whl", '
        "size = 1447410 },\n"
        '    { url = "https://x/uvloop-0.21.0-cp312-cp312-manylinux_2_17_x86_64.'
        'manylinux2014_x86_64.whl", size = 4701267 },\n'
        '    { url = "https://x/uvloop-0.21.0-cp312-cp312-musllinux_1_2_x86_64.whl", '
        "size = 4464190 },\n]\n\n"
        '[[package]]\nname = "tomli"\nversion = "2.2.1"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
    )
    found = count_lock_packages("uv.lock", text)
    assert found is not None
    assert (found.packages, found.bytes) == (1, 4701267)  # uvloop's manylinux wheel


# --- poetry.lock (lock-version 2.1) ----------------------------------------------------------
# main: requests (certifi, charset-normalizer, idna, urllib3), colorama only on win32, pyyaml
# only with extra `yaml`; group dev: pytest (iniconfig, packaging, pluggy; exceptiongroup,
# tomli only on Python 3.10); optional group docs: mkdocs-material-extensions.


def test_poetry_groups_extras_and_markers() -> None:
    assert count("poetry.lock", select("poetry install --only main")).packages == 5
    default = select("poetry install --no-interaction")
    # The lock cannot tell which groups pyproject.toml marks optional: the caller passes them.
    assert count("poetry.lock", default).packages == 10
    without_docs = Selection(exclude_groups=frozenset({"docs"}))
    assert count("poetry.lock", without_docs).packages == 9
    assert count("poetry.lock", select("poetry install --without dev,docs")).packages == 5
    assert count("poetry.lock", select("poetry install --only main -E yaml")).packages == 6
    assert count("poetry.lock").exact


# --- pdm.lock --------------------------------------------------------------------------------
# Every package is in group dev; colorama is Windows-only; coverage appears twice (with and
# without its `toml` extra): 22 entries, 20 downloads.


def test_pdm_groups_markers_and_extra_variants() -> None:
    assert count("pdm.lock", select("pdm install")).packages == 20
    assert count("pdm.lock", select("pdm sync --prod")).packages == 0


# --- Pipfile.lock ----------------------------------------------------------------------------


def test_pipfile_default_and_develop() -> None:
    # default: requests + 4 dependencies (colorama is win32 only); develop: pytest + 3.
    assert count("Pipfile.lock", select("pipenv install --deploy")).packages == 5
    assert count("Pipfile.lock", select("pipenv sync --dev")).packages == 9


# --- package-lock.json, yarn.lock, pnpm-lock.yaml --------------------------------------------
# package.json: cors, dotenv; dev: morgan (basic-auth, debug, ms, depd, on-finished,
# ee-first, on-headers, safe-buffer); optional: fsevents (macOS only).


def test_package_lock_dev_and_platform() -> None:
    assert count("package-lock.json", select("npm ci")).packages == 13
    assert count("package-lock.json", select("npm ci --omit=dev")).packages == 4
    assert count("package-lock.json", select("NODE_ENV=production npm ci")).packages == 4


def test_yarn_classic_cannot_tell_dev_apart() -> None:
    full = count("yarn-classic.lock", select("yarn install --frozen-lockfile"), "yarn.lock")
    assert (full.packages, full.exact) == (13, True)
    prod = count("yarn-classic.lock", select("yarn install --production"), "yarn.lock")
    assert (prod.packages, prod.exact) == (13, False)  # an upper bound


def test_yarn_berry_walks_from_the_workspace() -> None:
    # fsevents is darwin-only, and node-gyp's tree is only reachable through it.
    found = count("yarn-berry.lock", select("yarn install --immutable"), "yarn.lock")
    assert (found.packages, found.exact) == (13, True)


def test_pnpm_v9_importers_and_snapshots() -> None:
    full = count("pnpm-lock.yaml", select("pnpm install --frozen-lockfile"))
    prod = count("pnpm-lock.yaml", select("pnpm install --prod"))
    # morgan's own tree: morgan, basic-auth, on-finished 2.3.0, on-headers, safe-buffer 5.1.2
    assert full.packages - prod.packages == 5
    text = (LOCKS / "pnpm-lock.yaml").read_text(encoding="utf-8")
    listed = text.split("\npackages:\n", 1)[1].split("\nsnapshots:\n", 1)[0]
    assert full.packages == sum(
        1 for ln in listed.splitlines() if ln.startswith("  ") and not ln.startswith("   ")
    )


@pytest.mark.parametrize(
    "name", ["uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "package-lock.json",
             "yarn.lock", "pnpm-lock.yaml"],
)  # fmt: skip
def test_unparsable_locks_give_none(name: str) -> None:
    assert count_lock_packages(name, "{[ not a lock") is None or name == "yarn.lock"
    assert count_lock_packages("Cargo.lock", "") is None


# --- requirements files ----------------------------------------------------------------------


def repo(tmp_path: Path, files: dict[str, str]) -> RepoContext:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    return RepoContext.from_files(tmp_path, files)


def test_requirements_pinned_with_includes_are_exact(tmp_path: Path) -> None:
    ctx = repo(
        tmp_path,
        {
            "requirements.txt": "-r requirements/base.txt\nflask==3.0.3\nwerkzeug==3.0.4\n",
            "requirements/base.txt": "requests==2.32.3\nflask==3.0.3\n",
        },
    )
    found = count_requirements(ctx, ["requirements.txt"])
    assert found is not None
    assert (found.packages, found.exact) == (3, True)
    assert found.source == "requirements.txt (+1 included)"


def test_requirements_ranges_and_local_paths_are_a_lower_bound(tmp_path: Path) -> None:
    ctx = repo(
        tmp_path,
        {"requirements.txt": "flask>=3\nrequests==2.32.3\n-e .\n", "constraints.txt": "x==1\n"},
    )
    found = count_requirements(ctx, ["requirements.txt"], ["constraints.txt"])
    assert found is not None
    assert (found.packages, found.exact) == (2, False)
    assert count_requirements(ctx, ["missing.txt"]) is None

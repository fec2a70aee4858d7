"""The indexed and memoised cross-file helpers give exactly what the full scans they replace
gave (same values, same order, same ties).

Each replaced function's old body is kept here as the reference. Two kinds of check:

- spies: a real serial audit of every fixture and real-world repository and of a generated
  monorepo, where each call of a new helper is also answered by its reference and compared;
- hypothesis: random trees and queries for the path indexes and the nearest-path searches.
"""

from __future__ import annotations

import collections
import difflib
import importlib
import importlib.util
import posixpath
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cacheaudit.analyzers.gitlab_ci as gitlab_ci
from cacheaudit import audit as audit_module
from cacheaudit import installmap, pathindex
from cacheaudit.analyzers import dependencies
from cacheaudit.analyzers.dockerfile import context as docker_context
from cacheaudit.analyzers.dockerfile.model import DockerfileModel
from cacheaudit.analyzers.gitlab_ci.resolve import resolve
from cacheaudit.config import build_config
from cacheaudit.discovery import FileKind
from cacheaudit.model import CacheState, Finding, InstallSite
from cacheaudit.parsing import lockfiles
from cacheaudit.parsing.lockcount import count_lock_packages, selection_for
from cacheaudit.parsing.lockfiles import (
    WORKSPACE_LOCK_TOOLS,
    LockFile,
    load_toml,
    lock_files,
)
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.repo import RepoContext

TESTS = Path(__file__).parents[1]
REPOSITORY = TESTS.parent
CORPUS = sorted(p.parent for p in (TESTS / "fixtures").glob("*/*/expected.txt")) + sorted(
    p for p in (TESTS / "realworld").iterdir() if p.is_dir()
)
# Packages re-export functions under their modules' names: fetch the modules themselves.
gitlab_resolve = importlib.import_module("cacheaudit.analyzers.gitlab_ci.resolve")
lock_use = importlib.import_module("cacheaudit.analyzers.cross.lock_use")
missing_inputs = importlib.import_module("cacheaudit.analyzers.cross.missing_inputs")


# --- the references: the bodies these helpers had before they were indexed ---------------------


def old_closest_existing(ctx: RepoContext, missing: str) -> str | None:
    name = posixpath.basename(missing)
    directory = posixpath.dirname(missing)
    same_name = ctx.named(name)
    if same_name:
        home = directory.split("/") if directory else []

        def distance(path: str) -> tuple[int, str]:
            parent = posixpath.dirname(path)
            parts = parent.split("/") if parent else []
            common = 0
            for a, b in zip(home, parts, strict=False):
                if a != b:
                    break
                common += 1
            return (len(home) + len(parts) - 2 * common, path)

        return min(same_name, key=distance)
    extension = posixpath.splitext(name)[1]
    siblings = sorted(
        posixpath.basename(p)
        for p in ctx.paths
        if posixpath.dirname(p) == directory and posixpath.splitext(p)[1] == extension
    )
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.8)
    return posixpath.join(directory, close[0]) if close else None


def old_closest_paths(ctx: RepoContext, rel: str) -> list[str]:
    folder, name = posixpath.split(rel)
    ext = posixpath.splitext(name)[1]
    prefix = f"{folder}/" if folder else ""
    beside = (
        p
        for p in ctx.paths
        if p.startswith(prefix) and "/" not in p[len(prefix) :] and (not ext or p.endswith(ext))
    )
    candidates = sorted(
        {*ctx.named(name), *beside},
        key=lambda p: (-len(posixpath.commonprefix([p, rel])), p),
    )
    return difflib.get_close_matches(rel, candidates[:50], n=3, cutoff=0.6)


def old_locks_for(ctx: RepoContext, directory: str, tools: tuple[str, ...]) -> list[LockFile]:
    def is_parent(parent: str, child: str) -> bool:
        return parent == "" or child.startswith(parent + "/")

    found = []
    for lock in lock_files(ctx):
        if lock.tool not in tools:
            continue
        if lock.directory == directory or (
            lock.tool in WORKSPACE_LOCK_TOOLS and is_parent(lock.directory, directory)
        ):
            found.append(lock)
    return found


def old_locked_versions(ctx: RepoContext, path: str) -> dict[str, str] | None:
    text = ctx.read_text(path)
    if text is None:
        return None
    name = posixpath.basename(path)
    if name == "Pipfile.lock":
        return lockfiles._pipfile_lock(text)
    if name not in ("uv.lock", "poetry.lock", "pdm.lock"):
        return None
    data = load_toml(text)  # a fresh parse: the shared document must equal it
    if isinstance(data, str):
        return None
    from packaging.utils import canonicalize_name

    packages = data.get("package")
    if not isinstance(packages, list):
        return {}
    versions: dict[str, str] = {}
    for package in packages:
        if not isinstance(package, dict):
            continue
        name, version = package.get("name"), package.get("version")
        if isinstance(name, str) and isinstance(version, str):
            versions.setdefault(canonicalize_name(name), version)
    return versions


def old_count_lock(
    ctx: RepoContext, path: str, install: InstallCommand | None
) -> tuple[int, bool, str, int | None] | None:
    from cacheaudit.parsing.lockcount import Selection

    text = ctx.read_text(path)
    if text is None:
        return None
    selection = selection_for(install) if install is not None else Selection()
    counted = count_lock_packages(posixpath.basename(path), text, selection)
    if counted is None:
        return None
    source = counted.source if path == posixpath.basename(path) else f"{path}: {counted.source}"
    return counted.packages, counted.exact, source, counted.bytes


def old_link(sites: Sequence[InstallSite], findings: Sequence[Finding]) -> dict[int, set[str]]:
    linked: dict[int, set[str]] = {}
    by_line: dict[tuple[str, int], list[Finding]] = {}
    for finding in findings:
        by_line.setdefault((finding.location.path, finding.location.line), []).append(finding)
    for index, site in enumerate(sites):
        if site.cache_state is CacheState.EFFECTIVE:
            continue
        found = {f.rule_id for f in by_line.get((site.location.path, site.location.line), [])}
        if not found:
            job = installmap._job_of(site.context)
            for finding in findings:
                if installmap._explains(finding, site, job):
                    found.add(finding.rule_id)
        if found:
            linked[index] = found
    return linked


def old_covered_elsewhere(ctx: RepoContext, path: str) -> bool:
    covered: set[str] = set()
    for other in ctx.files_of(FileKind.GITLAB_CI):
        if other.path == path:
            continue
        for root in gitlab_ci._pipeline_roots(ctx, other.path):
            covered.update(p for p in resolve(ctx, root).files if p != other.path)
    return path in covered


def old_scan_source(dc: DockerfileModel, directory: str) -> bool:
    patterns = docker_context._ignore_patterns(dc)
    base = dc.build_context
    prefix = posixpath.join(base, directory) if directory else base
    for path in dc.ctx.paths:
        if prefix and not path.startswith(prefix + "/"):
            continue
        rel = path[len(base) + 1 :] if base else path
        if patterns and not docker_context._dockerignore_keeps(rel, patterns):
            continue
        if not docker_context._dependency_file(rel):
            return True
    return any(
        docker_context._inside(path, directory) and not docker_context._dependency_file(path)
        for path in docker_context._named_elsewhere(dc, patterns)
    )


# --- spies on real audits -------------------------------------------------------------------

SPIES: list[tuple[ModuleType, str, Callable[..., Any]]] = [
    (dependencies, "closest_existing", old_closest_existing),
    (missing_inputs, "closest_existing", old_closest_existing),
    (gitlab_resolve, "closest_paths", old_closest_paths),
    (dependencies, "locks_for", old_locks_for),
    (lock_use, "locks_for", old_locks_for),
    (lock_use, "locked_versions", old_locked_versions),
    (installmap, "_count_lock", old_count_lock),
    (installmap, "_link", old_link),
    (gitlab_ci, "_covered_elsewhere", old_covered_elsewhere),
    (docker_context, "_scan_source", old_scan_source),
]


def _spy(
    monkeypatch: pytest.MonkeyPatch,
    calls: collections.Counter[str],
    module: ModuleType,
    name: str,
    reference: Callable[..., Any],
) -> None:
    real = getattr(module, name)
    label = f"{module.__name__}.{name}"

    def check(*args: Any) -> Any:
        got = real(*args)
        expected = reference(*args)
        assert got == expected, (label, args[1:])
        calls[label] += 1
        return got

    monkeypatch.setattr(module, name, check)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "cacheaudit_bench_generate", REPOSITORY / "benchmarks" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5%-scale benchmark monorepo (about 250 files; the shape the profiles were taken on)."""
    generate = _load_generator()
    root = tmp_path_factory.mktemp("monorepo") / "repo"
    sizes = generate.PRESETS["monorepo"].scaled(0.05)
    sizes = generate.Sizes(**{**vars(sizes), "max_lock_bytes": 128 * 1024})
    generate.generate(root, sizes, seed=3)
    return root


def _audit_with_spies(
    roots: list[Path], monkeypatch: pytest.MonkeyPatch
) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()
    for module, name, reference in SPIES:
        _spy(monkeypatch, calls, module, name, reference)
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 1 << 62)  # serial: spies see all
    for root in roots:
        audit_module.audit(build_config(root))
    return calls


def test_indexed_helpers_agree_with_full_scans_on_a_monorepo_and_dependency_fixtures(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = [monorepo, *(p for p in CORPUS if p.parent.name == "deps")]
    calls = _audit_with_spies(roots, monkeypatch)
    # Every replaced helper was exercised (else this test could not fail).
    assert set(calls) == {f"{m.__name__}.{n}" for m, n, _ in SPIES}, calls


@pytest.mark.slow
def test_indexed_helpers_agree_with_full_scans_on_every_fixture_and_real_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _audit_with_spies(CORPUS, monkeypatch)
    assert sum(calls.values()) > 1000, calls


# --- random trees ---------------------------------------------------------------------------

_DIRS = st.sampled_from(["a", "b", "svc-1", "svc-2", "requirements", "ci", "docker"])
_NAMES = st.sampled_from(
    [
        "requirements.txt",
        "requirements-dev.txt",
        "requirement.txt",
        "test.txt",
        "tests.txt",
        "uv.lock",
        "poetry.lock",
        "package-lock.json",
        "yarn.lock",
        "Pipfile.lock",
        "base.in",
        ".gitlab-ci.yml",
        "ci.yml",
        "Dockerfile",
    ]
)
_PATH = st.tuples(st.lists(_DIRS, max_size=4), _NAMES).map(lambda t: "/".join([*t[0], t[1]]))
_TREES = st.lists(_PATH, min_size=1, max_size=40)


def _context(paths: list[str]) -> RepoContext:
    return RepoContext.from_files(Path("/nonexistent"), dict.fromkeys(paths, ""))


def _queries(paths: list[str], extra: list[str]) -> Iterator[str]:
    yield from extra
    for path in paths:
        yield path
        yield posixpath.join(posixpath.dirname(path), "x" + posixpath.basename(path))


@settings(max_examples=300, deadline=None)
@given(_TREES, st.lists(_PATH, max_size=6))
def test_nearest_paths_equal_the_full_scans(paths: list[str], queries: list[str]) -> None:
    ctx = _context(paths)
    for query in _queries(paths, queries):
        assert dependencies.closest_existing(ctx, query) == old_closest_existing(ctx, query)
        assert gitlab_resolve.closest_paths(ctx, query) == old_closest_paths(ctx, query)


_TOOLS = st.lists(
    st.sampled_from(["uv", "poetry", "pdm", "pipenv", "npm", "yarn", "pnpm"]), min_size=1
).map(tuple)


@settings(max_examples=300, deadline=None)
@given(_TREES, st.lists(st.lists(_DIRS, max_size=5).map("/".join), max_size=6), _TOOLS)
def test_locks_for_equals_the_full_scan(
    paths: list[str], directories: list[str], tools: tuple[str, ...]
) -> None:
    ctx = _context(paths)
    for directory in [*directories, *(posixpath.dirname(p) for p in paths)]:
        assert lockfiles.locks_for(ctx, directory, tools) == old_locks_for(ctx, directory, tools)


@settings(max_examples=300, deadline=None)
@given(_TREES, st.lists(st.lists(_DIRS, max_size=5).map("/".join), max_size=6))
def test_directory_indexes_equal_the_full_scans(paths: list[str], directories: list[str]) -> None:
    ctx = _context(paths)
    every = sorted(set(paths))
    for directory in [*directories, "", *(posixpath.dirname(p) for p in paths)]:
        assert pathindex.children(ctx, directory) == [
            p for p in every if posixpath.dirname(p) == directory
        ]
        assert pathindex.below(ctx, directory) == [
            p for p in every if not directory or p.startswith(directory + "/")
        ]

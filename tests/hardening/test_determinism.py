"""The same repository gives byte-identical reports across processes, hash seeds and on-disk
file order. Uses the benchmark generator (scaled down) for a varied, realistic monorepo, so
parallel scanning, memoisation and set iteration are all exercised."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.hardening.sandbox import Sandbox

GENERATOR = Path(__file__).parents[2] / "benchmarks" / "generate.py"


def _generator() -> ModuleType:
    name = "cacheaudit_bench_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _copy_in_reverse_order(source: Path, target: Path) -> None:
    """Same files, created in the opposite order (directory entry order differs on disk)."""
    files = sorted((p for p in source.rglob("*") if p.is_file()), reverse=True)
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def _report(sandbox: Sandbox, root: Path, seed: str, *formats: str) -> list[Any]:
    outputs = []
    for name in formats:
        run = sandbox.run([str(root), "--format", name], timeout=120, env={"PYTHONHASHSEED": seed})
        assert run.returncode in (0, 1), run.describe()
        outputs.append(run.stdout.replace(str(root), "<root>"))
    return outputs


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generate = _generator()
    root = tmp_path_factory.mktemp("mono") / "repo"
    generate.generate(root, generate.PRESETS["monorepo"].scaled(0.04), seed=7)
    return root


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generate = _generator()
    sizes = generate.PRESETS["monorepo"].scaled(0.01)
    generate.generate(tmp_path / "a", sizes, seed=3)
    generate.generate(tmp_path / "b", sizes, seed=3)
    generate.generate(tmp_path / "c", sizes, seed=4)
    assert generate.fingerprint(tmp_path / "a") == generate.fingerprint(tmp_path / "b")
    assert generate.fingerprint(tmp_path / "a") != generate.fingerprint(tmp_path / "c")


def test_reports_are_identical_across_processes_seeds_and_file_order(
    monorepo: Path, tmp_path: Path
) -> None:
    reversed_copy = tmp_path / "reversed"
    _copy_in_reverse_order(monorepo, reversed_copy)
    sandbox = Sandbox(tmp_path / "sandbox")
    formats = ("json", "sarif")
    first = _report(sandbox, monorepo, "0", *formats)
    second = _report(sandbox, monorepo, "4242", *formats)
    third = _report(sandbox, reversed_copy, "99", *formats)
    assert first == second, "output depends on the hash seed"
    assert first == third, "output depends on the order of files on disk"
    report = json.loads(first[0])
    # The comparison means something only if the run found plenty.
    assert len(report["files_audited"]) > 100
    assert len(report["findings"]) > 50
    assert len(report["installs"]) > 50


def test_cpu_count_does_not_change_the_report(monorepo: Path, tmp_path: Path) -> None:
    """Whatever the pool size the run picks, output is the same: compare one core with all."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs sched_setaffinity")
    sandbox = Sandbox(tmp_path / "sandbox")
    everything = _report(sandbox, monorepo, "1", "json")
    cores = sorted(os.sched_getaffinity(0))
    one = sandbox.run(
        [str(monorepo), "--format", "json"],
        timeout=120,
        preexec=lambda: os.sched_setaffinity(0, {cores[0]}),
    )
    assert one.returncode in (0, 1), one.describe()
    assert one.stdout.replace(str(monorepo), "<root>") == everything[0]

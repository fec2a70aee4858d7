"""Regression guard on the real-world corpus (tests/realworld): a labelled must-fire that stops
firing, or a finding where the labels expect none, fails — unless it is already listed in
`tests/realworld/known.json` (today's known false positives and misses, written by
`python benchmarks/accuracy.py --write-known`). The list may only shrink: when a change fixes a
known item, refresh it. Precision and recall themselves are reported by benchmarks/accuracy.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]


def _accuracy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("accuracy", ROOT / "benchmarks" / "accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["accuracy"] = module
    spec.loader.exec_module(module)
    return module


accuracy = _accuracy()
KNOWN = json.loads(accuracy.KNOWN.read_text(encoding="utf-8"))
REPOS = accuracy.repositories([])


def test_the_corpus_is_large_enough_and_labelled() -> None:
    assert len(REPOS) >= 60
    for repo in REPOS:
        source = (repo / "SOURCE").read_text(encoding="utf-8")
        assert "repository" in source and "licence" in source, repo.name
        labels = accuracy.load_labels(repo)
        for path in labels:
            assert (repo / path).is_file(), f"{repo.name}: label for missing file {path}"


@pytest.mark.parametrize("repo", REPOS, ids=lambda p: p.name)
def test_no_new_false_positive_or_miss(repo: Path) -> None:
    result = accuracy.judge(repo)
    assert not result.crashes, result.crashes
    new_fp = [o for o in result.outcomes if o.kind == "fp" and o.key not in KNOWN["fp"]]
    new_miss = [o for o in result.outcomes if o.kind == "miss" and o.key not in KNOWN["miss"]]
    assert not new_fp, "new false positives:\n" + "\n".join(f"{o.key} {o.text}" for o in new_fp)
    assert not new_miss, "must-fire labels no longer firing:\n" + "\n".join(
        f"{o.key} {o.text}" for o in new_miss
    )

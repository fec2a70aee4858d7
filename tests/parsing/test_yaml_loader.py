"""The libyaml-backed loader must give exactly what ruamel's own parser gives: values, types,
tags, and every line/column the analyzers read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cacheaudit.parsing import yaml as loader

FIXTURES = Path(__file__).parents[1] / "fixtures"
YAML_FILES = sorted(
    p
    for p in FIXTURES.rglob("*")
    if p.suffix in (".yml", ".yaml") and p.is_file() and not p.is_symlink()
)


def _positions(node: Any, out: list[tuple[Any, ...]], path: str = "") -> None:
    lc = getattr(node, "lc", None)
    if lc is not None:
        out.append((path, type(node).__name__, lc.line, lc.col, loader.tag_of(node)))
    if isinstance(node, dict):
        for key in node:
            if lc is not None and lc.data is not None and key in lc.data:
                # An empty value (`pull_request:`) has no position of its own: libyaml puts it
                # after the colon, ruamel at the next token. Nothing points at it.
                where = lc.data[key] if node[key] is not None else lc.data[key][:2]
                out.append((path, repr(key), *where))
            _positions(node[key], out, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if lc is not None and lc.data is not None and index in lc.data:
                out.append((path, index, *lc.data[index]))
            _positions(item, out, f"{path}/{index}")
    else:
        out.append((path, type(node).__name__, repr(node)))


def _load(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", load(text)
    except loader.YamlError as exc:
        return "error", (exc.message, exc.line)


@pytest.mark.skipif(loader._load_fast("a: 1") is loader._FALLBACK, reason="no libyaml")
@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fast_loader_matches_ruamel(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast_kind, fast = _load(loader.load, text)
    slow_kind, slow = _load(loader._load_ruamel, text)
    assert fast_kind == slow_kind
    if fast_kind == "error":
        assert fast == slow
        return
    # Values are compared through _positions (TaggedScalar has no __eq__ of its own).
    fast_pos: list[tuple[Any, ...]] = []
    slow_pos: list[tuple[Any, ...]] = []
    _positions(fast, fast_pos)
    _positions(slow, slow_pos)
    assert fast_pos == slow_pos


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key
        "a: [1, 2\n",  # unclosed flow sequence
        "a: 1\n---\nb: 2\n",  # two documents
        "key: 'unterminated\n",
        "\ta: 1\n",  # a tab for indentation
    ],
)
def test_errors_are_ruamels(text: str) -> None:
    with pytest.raises(loader.YamlError) as fast:
        loader.load(text)
    with pytest.raises(loader.YamlError) as slow:
        loader._load_ruamel(text)
    assert (fast.value.message, fast.value.line) == (slow.value.message, slow.value.line)


def test_fast_path_is_taken_for_ordinary_documents() -> None:
    if loader._load_fast("a: 1") is loader._FALLBACK:
        pytest.skip("no libyaml")
    doc = loader._load_fast("on:\n  push:\njobs: {}\n")
    assert doc is not loader._FALLBACK and list(doc) == ["on", "jobs"]

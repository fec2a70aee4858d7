"""The heart of ``cacheaudit fix``: over every fixture and every real-world repository, apply
every edit (unsafe ones too), re-audit, and check that each fixed finding is gone, no finding
appears, every edited file still parses, and YAML data changed only by the intended keys.

Findings are compared by rule, path and subject with ordinals and line numbers removed: an
edit that inserts a RUN renumbers ``RUN #n`` in later subjects without changing the finding."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import cacheaudit.fix as fix_package
from cacheaudit.analyzers.github_actions import actions as gha_actions
from cacheaudit.config import build_config
from cacheaudit.fix.actions import accepts, newest_major
from cacheaudit.fix.engine import Outcome, run
from cacheaudit.fix.verify import parses
from cacheaudit.model import Finding
from cacheaudit.parsing.yaml import load

TESTS = Path(__file__).resolve().parent.parent
ROOTS = sorted(p for p in (TESTS / "fixtures").glob("*/*") if p.is_dir()) + sorted(
    p for p in (TESTS / "realworld").glob("*") if p.is_dir()
)
ADDED_KEYS = {"cache", "cache-dependency-path", "enable-cache", "with", "variables"}
"""Keys an edit may add to YAML (anything under ``variables`` too); CA109 changes ``uses``."""

TOTALS: Counter[str] = Counter()
"""How much the verification applied and checked (printed by ``conftest.py``)."""


def _key(finding: Finding) -> tuple[str, str, str]:
    subject = re.sub(r"#\d+|\bline \d+|:\d+", "", finding.subject)
    return finding.rule_id, finding.location.path, subject


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _yaml_changes(old: Any, new: Any, where: tuple[str, ...] = ()) -> list[str]:
    """Differences that are not the addition of an intended key."""
    if isinstance(old, dict) and isinstance(new, dict):
        problems = [f"{'/'.join(where)}: {k} removed" for k in old if k not in new]
        for k, v in new.items():
            if k not in old:
                if k not in ADDED_KEYS and (not where or where[-1] != "variables"):
                    problems.append(f"{'/'.join(where)}: unexpected key {k} added")
            else:
                problems += _yaml_changes(old[k], v, (*where, k))
        return problems
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=False))
            for p in _yaml_changes(a, b, (*where, str(i)))
        ]
    if old != new and not (where and where[-1] == "uses"):
        return [f"{'/'.join(where)}: {old!r} → {new!r}"]
    return []


def _check(outcome: Outcome) -> list[str]:
    problems: list[str] = []
    before = Counter(_key(f) for f in outcome.before.findings)
    after = Counter(_key(f) for f in outcome.after.findings)
    applied = Counter(_key(a.finding) for a in outcome.applied)
    for key in set(after) | set(applied):
        if after[key] + applied[key] > before[key]:
            problems.append(
                f"{key}: before {before[key]}, applied {applied[key]}, after {after[key]}"
            )
    for path, (old, new) in outcome.changes.items():
        problem = parses(path, new)
        if problem:
            problems.append(f"{path}: {problem}")
        elif path.endswith((".yml", ".yaml")):
            old_data = _plain(load(old.decode("utf-8-sig").replace("\r\n", "\n")))
            new_data = _plain(load(new.decode("utf-8-sig").replace("\r\n", "\n")))
            problems += [f"{path}: {p}" for p in _yaml_changes(old_data, new_data)]
    return problems


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_edit_fixes_its_finding_and_nothing_else(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fix_package, "STRICT", True)
    outcome = run(build_config(root), unsafe=True)
    TOTALS["edits"] += sum(len(a.finding.fix.edits) for a in outcome.applied if a.finding.fix)
    TOTALS["fixes"] += len(outcome.applied)
    TOTALS["roots"] += 1
    assert not outcome.refused, [r.reason for r in outcome.refused]
    assert _check(outcome) == []
    # Idempotent: nothing left to apply, the second run changes nothing.
    again = run(build_config(root), unsafe=True)
    assert again.changes == outcome.changes


def test_the_corpus_exercises_every_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verification above must have something to verify: each family's edits occur."""
    monkeypatch.setattr(fix_package, "STRICT", True)
    rules: Counter[str] = Counter()
    for root in ROOTS:
        from cacheaudit.audit import audit

        for finding in audit(build_config(root)).findings:
            if finding.fix is not None and finding.fix.edits:
                rules[finding.rule_id] += 1
    for rule in ("CA101", "CA109", "CA201", "CA202", "CA301", "CA303", "CA304", "CA305", "CA306"):
        assert rules[rule] > 0, rule


def test_edits_read_the_analyzer_table_of_action_inputs() -> None:
    """One table of action inputs (the analyzer's); setup-uv names its files with a glob."""
    assert not hasattr(fix_package, "ACTION_INPUTS")
    newest = newest_major("astral-sh/setup-uv")
    assert newest is not None and newest >= 7
    for major in range(1, newest + 1):
        assert accepts("astral-sh/setup-uv", major, {"enable-cache", "cache-dependency-glob"})
        assert not accepts("astral-sh/setup-uv", major, {"cache-dependency-path"})
    assert not accepts("astral-sh/setup-uv", newest + 1, {"enable-cache"})  # not known yet
    assert accepts("actions/setup-node", 6, {"cache", "cache-dependency-path"})
    assert accepts("actions/setup-python", 4, {"cache", "cache-dependency-path"})
    assert not accepts("actions/setup-python", 1, {"cache"})  # caching came in v3
    assert not accepts("actions/setup-python", None, {"cache"})
    assert gha_actions.action_inputs("actions/setup-python", 6) is not None

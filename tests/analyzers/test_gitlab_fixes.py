"""Every CA2xx fix that is an edit, applied by hand to its fixture, makes its finding go away
and brings no new one: the snippet is valid YAML, uses keys GitLab accepts, and fixes the cause.

A fix is applied the way a user would: a one-line snippet replaces the line the finding points
at (its first line for a command written over several lines); a YAML snippet is merged into the
file that defines its top-level key (job, template, ``default``, ``variables``), with ``cache:``
replaced as a whole (GitLab never merges a job's ``cache:`` with another) and ``before_script``
items put first.
"""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from tests.conftest import run_audit

from cacheaudit.model import Finding

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gitlab"

ACCEPTED = {
    "cache": {"key", "paths", "policy", "unprotect", "untracked", "when", "fallback_keys"},
    "key": {"files", "prefix", "files_commits"},
}
"""Keys GitLab accepts inside ``cache:`` and ``cache:key:`` (the keyword reference)."""

JOB_KEYS = {"cache", "variables", "before_script"}
"""Keys a fix may set on a job, template or ``default:``."""


def _cases() -> list[tuple[str, str]]:
    cases = []
    for case in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        report = run_audit(case)
        for finding in report.findings:
            if finding.rule_id.startswith("CA2") and finding.fix and finding.fix.snippet:
                cases.append((case.name, finding.fingerprint))
    return cases


def _psych_merges_constructor() -> Any:
    """ruamel's round-trip constructor, folding repeated ``<<`` keys into one merge sequence
    (later first) as GitLab's Psych applies them; ruamel alone rejects them."""
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    def fold(root: Any) -> None:
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode):
                merges = [
                    i for i, (k, _) in enumerate(node.value) if k.tag == "tag:yaml.org,2002:merge"
                ]
                if len(merges) > 1:
                    sources: list[Any] = []
                    for i in reversed(merges):
                        value = node.value[i][1]
                        sources.extend(value.value if isinstance(value, SequenceNode) else [value])
                    key, first = node.value[merges[0]]
                    folded = SequenceNode(
                        "tag:yaml.org,2002:seq", sources, first.start_mark, first.end_mark,
                        flow_style=True,
                    )  # fmt: skip
                    node.value = [
                        (key, folded) if i == merges[0] else pair
                        for i, pair in enumerate(node.value)
                        if i == merges[0] or i not in merges
                    ]
                stack.extend(v for pair in node.value for v in pair)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)

    class PsychMerges(RoundTripConstructor):  # type: ignore[misc]
        def construct_document(self, node: Any) -> Any:
            fold(node)
            return super().construct_document(node)

    return PsychMerges


def _yaml() -> YAML:
    yaml = YAML()
    yaml.Constructor = _psych_merges_constructor()  # repeated `<<` keys, as GitLab reads them
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _is_line_fix(finding: Finding, source: list[str]) -> bool:
    snippet = finding.fix.snippet if finding.fix else ""
    line = source[finding.location.line - 1] if finding.location.line <= len(source) else ""
    indent = line[: len(line) - len(line.lstrip())]
    return (
        "\n" not in snippet
        and snippet.startswith(indent)
        and not snippet[len(indent) :][:1].isspace()
    )


def _check_keys(tree: Any) -> None:
    assert isinstance(tree, dict), tree
    for owner, body in tree.items():
        if owner == "variables":
            assert all(isinstance(v, str) for v in body.values()), body
            continue
        assert isinstance(body, dict), (owner, body)
        assert set(body) <= JOB_KEYS | {"cache"}, body
        for key, value in body.items():
            if key == "cache":
                for entry in value if isinstance(value, list) else [value]:
                    assert set(entry) <= ACCEPTED["cache"], entry
                    if isinstance(entry.get("key"), dict):
                        assert set(entry["key"]) <= ACCEPTED["key"], entry["key"]
                        assert len(entry["key"].get("files", [])) <= 2, entry["key"]


def _merge(target: Any, patch: Any) -> None:
    for key, value in patch.items():
        if key == "before_script" and key in target:
            target[key] = [*value, *target[key]]
        elif key != "cache" and isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _apply(root: Path, finding: Finding) -> None:
    assert finding.fix is not None
    snippet = finding.fix.snippet
    path = root / finding.location.path
    source = path.read_text().split("\n")
    if _is_line_fix(finding, source):
        source[finding.location.line - 1] = snippet
        path.write_text("\n".join(source))
        return
    patch = _yaml().load(snippet)
    _check_keys(patch)
    owner = next(iter(patch))
    files = sorted(root.rglob("*.yml"))
    defining = [f for f in files if owner in (_yaml().load(f.read_text()) or {})]
    target = defining[0] if defining else root / ".gitlab-ci.yml"
    data = _yaml().load(target.read_text())
    _merge(data, patch)
    out = StringIO()
    _yaml().dump(data, out)
    target.write_text(out.getvalue())


@pytest.mark.parametrize(("case", "fingerprint"), _cases())
def test_fix_removes_the_finding(case: str, fingerprint: str, tmp_path: Path) -> None:
    root = tmp_path / case
    shutil.copytree(FIXTURES / case, root)
    before = run_audit(root)
    finding = next(f for f in before.findings if f.fingerprint == fingerprint)
    _apply(root, finding)
    after = run_audit(root)
    parse_errors = [n for n in after.notices if n.rule_id == "CA001"]
    assert not parse_errors, [n.message for n in parse_errors]
    remaining = {f.fingerprint for f in after.findings}
    assert fingerprint not in remaining, finding.message
    old = {f.fingerprint for f in before.findings}
    new = [
        f
        for f in after.findings
        if f.fingerprint not in old
        and f.rule_id.startswith("CA2")
        # CA204 judges only caches that hold something: a fix that makes an empty cache work
        # (CA201/CA202/CA206) may show that all its jobs push it, a separate, lesser advice
        and not (f.rule_id == "CA204" and finding.rule_id in ("CA201", "CA202", "CA206"))
    ]
    assert not new, [(f.rule_id, f.location, f.message) for f in new]


def test_every_gitlab_fixture_fix_is_covered() -> None:
    """The cases above are not empty: each CA2xx rule with an edit fix has one."""
    rules = {fp for _, fp in _cases()}
    assert len(rules) >= 10

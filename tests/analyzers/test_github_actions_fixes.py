"""Every fix offered on a GitHub Actions fixture is checked two ways.

1. Inputs: a fix that writes a ``with:`` input of an action writes only inputs that action takes
   at the major version it edits (``actions.ACTION_INPUTS``): no ``cache-dependency-path`` on
   setup-uv, no ``package-manager-cache`` on setup-node v4.
2. Re-audit: a fix that is an edit of the workflow (a step rewritten, a step added before the
   install) is applied to a copy of the fixture, which is audited again: the finding is gone and
   no new finding appears in that file, so no fix leads to another finding (a layer cache added
   to a publishing job must not turn into cache poisoning, a ``cache-dependency-path`` must list
   every file the install reads).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import FIXTURES, run_audit

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.model import Finding

CASES = sorted(p.parent for p in (FIXTURES / "github").glob("*/expected.txt"))
_USES = re.compile(r"^\s*-?\s*uses:\s*([^@\s]+)@(\S+)")


def _fixes(case: Path) -> list[Finding]:
    report = run_audit(case)
    return [
        f
        for f in report.findings
        if f.fix is not None and f.fix.snippet and f.location.path.endswith((".yml", ".yaml"))
    ]


def _major(ref: str) -> int | None:
    m = re.match(r"v?(\d+)", ref)
    return int(m.group(1)) if m else None


def _steps_in(snippet: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(_dedent(snippet))
    except yaml.YAMLError:
        return []
    if isinstance(data, dict) and "uses" in data:
        return [data]
    if isinstance(data, list):
        return [s for s in data if isinstance(s, dict)]
    return []


def _dedent(text: str) -> str:
    lines = text.split("\n")
    pad = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(ln[pad:] for ln in lines)


def _step_action_above(text: str, line: int) -> tuple[str, int | None] | None:
    """The action of the nearest step above ``line`` whose inputs a bare ``key: value`` fix
    names (a cache step of the same job)."""
    lines = text.split("\n")
    for number in range(min(line, len(lines)), 0, -1):
        m = _USES.match(lines[number - 1])
        if m and m.group(1).lower() in facts.ACTION_INPUTS:
            return m.group(1).lower(), _major(m.group(2))
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixes_use_only_inputs_the_action_takes(case: Path) -> None:
    for finding in _fixes(case):
        assert finding.fix is not None
        snippet = finding.fix.snippet
        steps = _steps_in(snippet)
        checked = False
        for step in steps:
            uses = step.get("uses")
            if not isinstance(uses, str) or "@" not in uses:
                continue
            action, ref = uses.split("@", 1)
            known = facts.action_inputs(action, _major(ref))
            inputs = step.get("with") or {}
            if known is None or not isinstance(inputs, dict):
                continue
            checked = True
            unknown = sorted(set(inputs) - known)
            assert not unknown, f"{finding.rule_id} fix gives {action}@{ref} {unknown}"
        if steps or checked:
            continue
        # A bare `input: value` entry: it belongs to the cache step above the finding.
        data = yaml.safe_load(_dedent(snippet)) if ":" in snippet else None
        if not isinstance(data, dict):
            continue
        text = (case / finding.location.path).read_text(encoding="utf-8")
        above = _step_action_above(text, finding.location.line)
        if above is None:
            continue
        known = facts.action_inputs(*above)
        assert known is not None
        names = (
            set(data) - {"key", "path", "restore-keys"} if above[0] != "actions/cache" else set()
        )
        assert names <= known, f"{finding.rule_id} fix gives {above[0]} {sorted(names - known)}"


# --- applying fixes --------------------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _blocks(snippet: str) -> list[list[str]]:
    """The snippet's steps: blocks starting at a dash line of the smallest indentation."""
    lines = snippet.split("\n")
    dashes = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("- ")]
    if not dashes:
        return []
    pad = min(_indent(lines[i]) for i in dashes)
    starts = [i for i in dashes if _indent(lines[i]) == pad]
    if starts[0] != 0:
        return []
    return [lines[a:b] for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _span(lines: list[str], start: int) -> int:
    """End (exclusive) of the step starting at 0-based ``start``."""
    dash = _indent(lines[start])
    end = start + 1
    for k in range(start + 1, len(lines)):
        if lines[k].strip() and _indent(lines[k]) <= dash:
            break
        end = k + 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _step_start(lines: list[str], line: int) -> int | None:
    """0-based dash line of the step holding 1-based ``line``."""
    for k in range(line - 1, -1, -1):
        if lines[k].lstrip().startswith("- ") and _indent(lines[k]) < _indent(lines[line - 1]) + (
            1 if k == line - 1 else 0
        ):
            return k
    return None


def _apply(text: str, finding: Finding) -> str | None:
    """The file with the fix applied, when the fix is a step edit; None otherwise."""
    assert finding.fix is not None
    lines = text.split("\n")
    snippet = finding.fix.snippet
    target = lines[finding.location.line - 1] if finding.location.line <= len(lines) else ""
    if "\n" not in snippet and _indent(snippet) == _indent(target) and snippet.strip():
        # A line edit (a new `uses:` ref, an install without --no-cache-dir): replace the line.
        return "\n".join(
            [*lines[: finding.location.line - 1], snippet, *lines[finding.location.line :]]
        )
    blocks = _blocks(snippet)
    if not blocks:
        return None
    out_new: list[list[str]] = []
    replaced: tuple[int, int, list[str]] | None = None
    for block in blocks:
        matches = [i for i, ln in enumerate(lines) if ln == block[0]]
        # The step it rewrites: the same first lines, nearest before the finding.
        same = [i for i in matches if lines[i : i + 2] == block[:2]] or matches
        before = [i for i in same if i < finding.location.line]
        chosen = before[-1] if before else (same[0] if len(same) == 1 else None)
        if chosen is not None and replaced is None:
            start = chosen
            replaced = (start, _span(lines, start), block)
        elif replaced is None:
            out_new.append(block)
        else:
            return None  # steps after the replaced one: not a shape fixes take
    if replaced is None:
        # Only new steps: they go before the step the finding points into.
        start = _step_start(lines, finding.location.line)
        if start is None:
            return None
        return "\n".join(lines[:start] + [ln for b in out_new for ln in b] + lines[start:])
    start, end, block = replaced
    return "\n".join(lines[:start] + [ln for b in out_new for ln in b] + block + lines[end:])


def _keys(findings: tuple[Finding, ...], path: str) -> set[tuple[str, str]]:
    return {(f.rule_id, f.subject) for f in findings if f.location.path == path}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_applied_fixes_remove_the_finding_and_add_none(case: Path, tmp_path: Path) -> None:
    before = run_audit(case)
    applied = 0
    for n, finding in enumerate(f for f in before.findings if f.location.path in _fixable(f)):
        path = finding.location.path
        new_text = _apply((case / path).read_text(encoding="utf-8"), finding)
        if new_text is None:
            continue
        copy = tmp_path / f"{case.name}-{n}"
        shutil.copytree(case, copy)
        (copy / path).write_text(new_text, encoding="utf-8")
        after = run_audit(copy)
        assert not [x for x in after.notices if x.rule_id == "CA001"], new_text
        kept = _keys(after.findings, path)
        assert finding.fix is not None
        # A fix that also asks to delete something the snippet cannot show ("drop the
        # node_modules cache") is only half applied here.
        if not re.search(r"\b(drop|delete)\b", finding.fix.description, re.I):
            assert (finding.rule_id, finding.subject) not in kept, (
                f"{finding.rule_id} still fires after its fix:\n{finding.fix}"
            )
        added = kept - _keys(before.findings, path)
        assert not added, f"the {finding.rule_id} fix leads to {sorted(added)}"
        applied += 1
    if case.name in ("ca101-pip-matrix", "ca111-docker", "ca110-poisoning"):
        assert applied, "fixes of this fixture are step edits and should have been applied"


def _fixable(finding: Finding) -> tuple[str, ...]:
    """Paths whose fixes are step edits (workflows and composite actions)."""
    if finding.fix is None or not finding.fix.snippet:
        return ()
    return (finding.location.path,) if finding.location.path.endswith((".yml", ".yaml")) else ()


def test_ca503_fix_on_setup_uv_names_its_glob_input(make_repo: Any) -> None:
    workflow = (
        "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: true\n"
        "          cache-dependency-glob: uv.lock\n"
        "      - run: uv pip install --system -r requirements.txt\n"
    )
    root = make_repo(
        {
            ".github/workflows/ci.yml": workflow,
            "requirements.txt": "attrs==23.2.0\n",
            "uv.lock": "version = 1\n",
        }
    )
    [finding] = [f for f in run_audit(root).findings if f.rule_id == "CA503"]
    assert finding.fix is not None
    [entry] = yaml.safe_load(_dedent(finding.fix.snippet))
    assert entry in (facts.action_inputs("astral-sh/setup-uv", 6) or set())
    assert entry == facts.DEPENDENCY_PATH_INPUT["astral-sh/setup-uv"]

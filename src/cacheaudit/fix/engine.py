"""The fix loop: audit, pick the edits to apply, apply them, re-audit, repeat.

Work happens in a private copy of the files the audit sees, so a ``--diff`` run and a real run
take the same path; only a real run writes back, each changed file atomically (a temporary file
in the same directory, the original's mode, then a rename). A file that does not parse is never
edited, an edit that would leave a file unparsable is refused, and edits of one file that touch
the same lines are applied one per pass: the re-audit computes the next from the edited text.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cacheaudit.audit import audit
from cacheaudit.config import Config
from cacheaudit.discovery import discover
from cacheaudit.fix.text import EditConflict, apply_text, overlaps
from cacheaudit.fix.verify import parses
from cacheaudit.model import Edit, Finding, Report

MAX_PASSES = 8
"""Bound on audit → apply rounds; each round applies at least one edit or the loop stops."""


@dataclasses.dataclass(frozen=True)
class Applied:
    """One finding whose fix was applied."""

    finding: Finding
    pass_number: int


@dataclasses.dataclass(frozen=True)
class Refused:
    """An edit that was not applied, and why."""

    finding: Finding
    reason: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    before: Report
    """The audit of the tree as it was."""
    after: Report
    """A fresh audit of the fixed tree (of the working copy: the same files, the same config)."""
    changes: dict[str, tuple[bytes, bytes]]
    """Path → (old bytes, new bytes) for every file the fixes change."""
    applied: tuple[Applied, ...]
    refused: tuple[Refused, ...]
    unsafe_left: int
    """Findings with an edit that needs ``--unsafe-fixes`` and was not applied."""


def _selected(finding: Finding, unsafe: bool) -> bool:
    fix = finding.fix
    return fix is not None and bool(fix.edits) and (fix.safe or unsafe)


def _plan(findings: Iterable[Finding], unsafe: bool, broken: set[str]) -> list[Finding]:
    """The findings whose edits go into this pass: in report order, skipping any that touch
    lines an earlier one already edits, or a file that does not parse."""
    chosen: list[Finding] = []
    taken: list[Edit] = []
    seen: set[tuple[Edit, ...]] = set()
    for finding in findings:
        if not _selected(finding, unsafe):
            continue
        assert finding.fix is not None
        edits = finding.fix.edits
        if edits in seen:  # two findings, one edit (e.g. two installs, one setup step)
            continue
        if any(e.path in broken for e in edits):
            continue
        if any(overlaps(e, t) for e in edits for t in taken):
            continue
        chosen.append(finding)
        taken.extend(edits)
        seen.add(edits)
    return chosen


def _unparsable(report: Report) -> set[str]:
    return {n.location.path for n in report.notices if n.rule_id in ("CA001", "CA002")}


def _copy_tree(config: Config, work: Path) -> None:
    found = discover(config.root, exclude=config.exclude, max_bytes=config.max_file_bytes)
    for rel in sorted(found.paths):
        source = config.root / rel
        if source.is_symlink() or not source.is_file():
            continue
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def run(config: Config, *, unsafe: bool = False) -> Outcome:
    """Compute every fix for ``config.root`` in a working copy; nothing is written to the
    repository (see :func:`write`)."""
    with tempfile.TemporaryDirectory(prefix="cacheaudit-fix-") as tmp:
        work = Path(tmp) / "repo"
        work.mkdir()
        _copy_tree(config, work)
        wconfig = dataclasses.replace(config, root=work)
        originals: dict[str, bytes] = {}
        applied: list[Applied] = []
        refused: list[Refused] = []
        report = audit(wconfig)
        before = dataclasses.replace(report, root=str(config.root))
        for number in range(1, MAX_PASSES + 1):
            broken = _unparsable(report)
            chosen = _plan(report.findings, unsafe, broken)
            if not chosen:
                break
            done = _apply_pass(work, chosen, originals, refused)
            applied += [Applied(f, number) for f in done]
            progress = bool(done)
            if not progress:
                break
            report = audit(wconfig)
        after = dataclasses.replace(report, root=str(config.root))
        unsafe_left = sum(
            1 for f in after.findings if f.fix is not None and f.fix.edits and not f.fix.safe
        )
        changes = {}
        for rel, old in sorted(originals.items()):
            new = (work / rel).read_bytes()
            if new != old:
                changes[rel] = (old, new)
        return Outcome(before, after, changes, tuple(applied), tuple(refused), unsafe_left)


def _apply_pass(
    work: Path, chosen: list[Finding], originals: dict[str, bytes], refused: list[Refused]
) -> list[Finding]:
    """Apply the chosen fixes (non-overlapping, computed from the same audit), all edits of a
    file at once so their line numbers hold. A file whose combined result fails gets its
    first fix only; the next pass recomputes the others."""
    by_path: dict[str, list[Finding]] = {}
    for finding in chosen:
        assert finding.fix is not None
        paths = {e.path for e in finding.fix.edits}
        if len(paths) != 1:
            refused.append(Refused(finding, "edits span several files"))
            continue
        by_path.setdefault(paths.pop(), []).append(finding)
    done: list[Finding] = []
    for rel, findings in by_path.items():
        path = work / rel
        try:
            data = path.read_bytes()
        except OSError as exc:
            refused += [Refused(f, f"{rel}: {exc}") for f in findings]
            continue
        for group in (findings, findings[:1]):
            edits = [e for f in group for e in (f.fix.edits if f.fix else ())]
            try:
                new = apply_text(data, edits)
            except EditConflict as exc:
                problem: str | None = str(exc)
            else:
                problem = parses(rel, new)
                if problem is not None:
                    problem = f"the edit would break the file ({problem})"
            if problem is None:
                originals.setdefault(rel, data)
                path.write_bytes(new)
                done += group
                break
            if len(group) == 1:
                refused.append(Refused(group[0], f"{rel}: {problem}"))
    return done


def write(root: Path, changes: dict[str, tuple[bytes, bytes]]) -> list[str]:
    """Write the changed files into ``root`` atomically, keeping each file's mode. A file that
    changed since the fixes were computed is left alone; returns the paths written."""
    written = []
    for rel, (old, new) in changes.items():
        path = root / rel
        try:
            if path.is_symlink() or path.read_bytes() != old:
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".cacheaudit", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(rel)
    return written


def unified_diff(changes: dict[str, tuple[bytes, bytes]]) -> str:
    """A ``git apply``-able unified diff of the changes."""
    out: list[str] = []
    for rel, (old, new) in changes.items():
        a = old.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        b = new.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        for line in difflib.unified_diff(a, b, f"a/{rel}", f"b/{rel}"):
            out.append(
                line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
            )
    return "".join(out)

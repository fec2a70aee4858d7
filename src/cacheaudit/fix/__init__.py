"""``cacheaudit fix``: the edits behind findings, applied in place, byte-preserving, verified by
re-auditing.

- :func:`attach_edits` turns each finding's fix into an edit where a generator can compute one
  from the parsed file (``generators/``); the rest stay advice.
- :mod:`cacheaudit.fix.text` applies edits to raw bytes, touching only the replaced lines.
- :mod:`cacheaudit.fix.engine` runs the loop: audit, apply the non-overlapping edits, re-audit,
  repeat (bounded), then writes each changed file atomically, or prints a diff.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from cacheaudit.model import Finding, Fix
from cacheaudit.repo import RepoContext

STRICT = False
"""Re-raise generator errors instead of leaving the fix as advice (set by the tests)."""


def attach_edits(ctx: RepoContext, findings: Iterable[Finding]) -> list[Finding]:
    """The findings with edits attached to every fix a generator can compute."""
    from cacheaudit.fix.generators import all_generators

    generators = all_generators()
    out: list[Finding] = []
    for finding in findings:
        generator = generators.get(finding.rule_id)
        fix = None
        if finding.fix is not None and finding.fix.line_edits:
            fix = _from_line_edits(ctx, finding)
        elif generator is not None:
            try:
                fix = generator(ctx, finding)
            except Exception:
                if STRICT:
                    raise
                fix = None
        out.append(dataclasses.replace(finding, fix=fix) if fix is not None else finding)
    return out


UNSAFE_RULES = frozenset({"CA303", "CA110"})
"""Rules whose edits need judgement (``--unsafe-fixes``): reordering a Dockerfile's copies,
dropping a cache from a publishing job."""


def _from_line_edits(ctx: RepoContext, finding: Finding) -> Fix | None:
    """The analyzer's own line edits of the finding's file, as Edits on the audited text."""
    from cacheaudit.fix.text import make_edit

    fix = finding.fix
    text = ctx.read_text(finding.location.path)
    if fix is None or text is None:
        return None
    try:
        edits = tuple(
            make_edit(
                finding.location.path,
                text,
                e.start_line,
                e.end_line,
                e.text + "\n" if e.text else "",
            )
            for e in fix.line_edits
        )
    except ValueError:  # lines the file does not have (an unterminated heredoc): advice only
        return dataclasses.replace(fix, line_edits=())
    return dataclasses.replace(fix, edits=edits, safe=finding.rule_id not in UNSAFE_RULES)

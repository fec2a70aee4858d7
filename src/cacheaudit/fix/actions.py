"""Which inputs an edit may write to an action: only inputs the action has at the major version
it edits, read from the analyzer's table (``analyzers.github_actions.actions.ACTION_INPUTS``,
from each action's ``action.yml``). An action not in the table, or a major newer than the newest
one it records, gets no edit (advice only)."""

from __future__ import annotations

from cacheaudit.analyzers.github_actions.actions import ACTION_INPUTS, action_inputs


def newest_major(action: str) -> int | None:
    """The newest major version of ``action`` the table knows, or None when it is not listed."""
    table = ACTION_INPUTS.get(action.lower())
    return max(since for since, _ in table) if table else None


def accepts(action: str, major: int | None, inputs: set[str] | frozenset[str]) -> bool:
    """True when ``action`` at ``major`` has every one of ``inputs``."""
    newest = newest_major(action)
    if major is None or newest is None or major > newest:
        return False
    known = action_inputs(action, major)
    return known is not None and set(inputs) <= known

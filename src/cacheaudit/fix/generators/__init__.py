"""Edit generators, one module per file family, each a table ``rule id → generator``.

A generator reads the finding (rule id, location, subject, and the fix text the rule wrote)
and the parsed file, and returns the Fix with its edits, or None when the fix needs a person
(then the rule's advice stays as it is). Generators never raise on odd input: the caller treats
an exception as "no edit". They live here until each moves beside the rule it fixes.
"""

from __future__ import annotations

from collections.abc import Callable

from cacheaudit.model import Finding, Fix
from cacheaudit.repo import RepoContext

Generator = Callable[[RepoContext, Finding], Fix | None]


def all_generators() -> dict[str, Generator]:
    # Dockerfile rules compute their edits beside their checks (Fix.line_edits); the analyzer
    # decides what is an edit and what stays advice, so no generator second-guesses it here.
    from cacheaudit.fix.generators import github_actions, gitlab_ci

    return {**github_actions.GENERATORS, **gitlab_ci.GENERATORS}

"""Tool notices (CA0xx): a file that could not be parsed or was skipped. Never scored."""

from __future__ import annotations

from cacheaudit.model import Finding, Location


def parse_error(path: str, message: str, line: int = 0, column: int = 0) -> Finding:
    """CA001 for ``path``: the parser's message, at its line when known."""
    from cacheaudit.rules import RULES

    where = f" (line {line})" if line else ""
    return RULES["CA001"].finding(
        Location(path, max(line, 1), column or None),
        f"cannot parse {path}{where}: {message}",
        subject="parse-error",
    )


def skipped(path: str, reason: str) -> Finding:
    """CA002 for ``path`` with the reason it was not read."""
    from cacheaudit.rules import RULES

    return RULES["CA002"].finding(Location(path, 1), f"skipped {path}: {reason}", subject="skipped")

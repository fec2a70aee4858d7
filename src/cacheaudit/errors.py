"""The one error type the CLI maps to an exit code."""

from __future__ import annotations


class UsageError(Exception):
    """Bad command line, config or rule name: reported in one line, exit code 2."""

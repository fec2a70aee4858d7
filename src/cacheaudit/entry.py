"""The ``cacheaudit`` console script: the audit command without importing the option parser.

pre-commit and CI run ``cacheaudit`` on every commit, and most runs change nothing the audit
reads. Importing typer (and click) costs more than serving the stored result, so this module
recognises the plain audit invocation (paths and the common options, spelled the way
``cacheaudit --help`` shows them, each value converted only where it is sure typer converts it
the same way) and runs :func:`cacheaudit.command.run` itself. Everything else — another command,
``--help``, ``--version``, an option it does not know, a value it is not sure of — goes to the
typer CLI (:func:`cacheaudit.cli.main`), which parses the arguments itself. Tests prove that
whatever this parser accepts, typer reads the same way, and that both entries write the same
bytes, files, messages and exit codes.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

SUBCOMMANDS = ("audit", "rules", "explain", "fix")

_VALUES = {
    "--format": "format",
    "-f": "format",
    "--output": "output",
    "-o": "output",
    "--badge": "badge",
    "--fail-under": "fail_under",
    "--fail-under-coverage": "fail_under_coverage",
    "--fail-on": "fail_on",
    "--config": "config",
    "--baseline": "baseline",
    "--color": "color",
}
"""Options that take one value (given twice, the last one wins, as in click)."""
_LISTS = {
    "--output-format": "output_format",
    "--select": "select",
    "--ignore": "ignore",
    "--exclude": "exclude",
}
"""Repeatable options."""
_FLAGS = {
    "--statistics": ("statistics", True),
    "--no-statistics": ("statistics", False),
    "--strict": ("strict", True),
    "--no-strict": ("strict", False),
    "--respect-gitignore": ("respect_gitignore", True),
    "--no-respect-gitignore": ("respect_gitignore", False),
    "--no-color": ("no_color", True),
    "--quiet": ("quiet", True),
    "-q": ("quiet", True),
}
_PATHS = ("output", "badge", "config", "baseline")
_CHOICES = {"fail_on": ("error", "warning", "info"), "color": ("auto", "always", "never")}
_NUMBER = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?")


def parse(args: list[str]) -> dict[str, Any] | None:
    """The audit command's options (:class:`cacheaudit.command.AuditOptions` fields) when
    ``args`` is a plain audit invocation this parser is sure of; None for anything else."""
    if args and args[0] in SUBCOMMANDS:
        if args[0] != "audit":
            return None
        args = args[1:]
    values: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    paths: list[Path] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg:
            return None
        if not arg.startswith("-"):
            paths.append(Path(arg))
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _FLAGS and not equals:
            field, flag = _FLAGS[name]
            values[field] = flag
            continue
        if name not in _VALUES and name not in _LISTS:
            return None  # --help, --version, --no-cache, -qf, -fjson, --, anything unknown
        if not equals:
            if index >= len(args):
                return None
            value = args[index]
            index += 1
        if not value or value.startswith("-"):
            return None
        if name in _LISTS:
            lists.setdefault(_LISTS[name], []).append(value)
            continue
        field = _VALUES[name]
        converted = _convert(field, value)
        if converted is None:
            return None
        values[field] = converted
    return {**values, **{k: tuple(v) for k, v in lists.items()}, "paths": tuple(paths)}


def _convert(field: str, value: str) -> Any:
    """The value as typer converts it, or None when this parser is not sure it would."""
    if field in _PATHS:
        return Path(value)
    if field in _CHOICES:
        lowered = value.lower()
        return lowered if value.isascii() and lowered in _CHOICES[field] else None
    if field in ("fail_under", "fail_under_coverage"):
        if not _NUMBER.fullmatch(value) or not 0 <= float(value) <= 100:
            return None
        return float(value)
    return value


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: a plain audit invocation runs here, everything else in the typer
    CLI."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Left to typer too: shell completion (click answers when this variable is set) and Windows,
    # where click expands wildcards in the arguments itself.
    typer_only = "_CACHEAUDIT_COMPLETE" in os.environ or os.name == "nt"
    options = None if typer_only else parse(args)
    if options is None:
        from cacheaudit.cli import main as cli_main

        cli_main(argv)
        return
    from cacheaudit.command import AuditOptions, exit_with, run_as_typer

    exit_with(lambda: run_as_typer(AuditOptions(**options)), str)


def console() -> None:
    """The ``cacheaudit`` console script and ``python -m cacheaudit``: :func:`main`, then an
    exit that skips the interpreter's teardown, which frees every parsed document one object at
    a time (6 % of the CPU of the benchmark monorepo's run). By then every file is written and
    closed and every worker joined; the streams are flushed here, and when that fails (a closed
    pipe) the usual exit reports it as it always has."""
    try:
        main()
    except SystemExit as stop:
        if stop.code is not None and not isinstance(stop.code, int):
            raise  # a message for the interpreter to print
        code = stop.code or 0
    else:
        code = 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        sys.exit(code)
    os._exit(code)

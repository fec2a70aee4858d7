"""Where a report goes and how it looks there: colour, terminal width, encoding, writing.

Kept apart from the option parser (typer) so that a result-cache hit can write its stored output
without importing it: :mod:`cacheaudit.cli` and :mod:`cacheaudit.entry` both use these."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TextIO

from cacheaudit.errors import UsageError
from cacheaudit.report import FORMATS

HUMAN_FORMATS = ("console", "concise")
"""Formats written for a person: coloured, wrapped to the terminal, paths relative to the
current directory."""
FALLBACK_WIDTH = 100
_UNICODE_PROBE = "█░╭─│·…"


def split(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values, as one list."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def use_color(when: str, stream: TextIO, to_file: bool) -> bool:
    """``--color always|never`` decides; ``auto``: never into a file or with ``NO_COLOR``,
    always with ``FORCE_COLOR`` (CI logs such as GitHub's render ANSI), else on a terminal."""
    if when != "auto":
        return when == "always"
    if to_file or os.environ.get("NO_COLOR"):
        return False
    if _truthy("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_width(stream: TextIO) -> int:
    """``COLUMNS`` when set, else the terminal's width, else 100 (piped, redirected)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or FALLBACK_WIDTH
    except (AttributeError, OSError, ValueError):
        return FALLBACK_WIDTH


def encoding(stream: TextIO) -> str:
    return getattr(stream, "encoding", None) or "utf-8"


def unicode_ok(stream: TextIO) -> bool:
    """Whether the stream's encoding has the box and bar characters of the console report."""
    try:
        _UNICODE_PROBE.encode(encoding(stream))
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def say(message: str) -> None:
    """One line on stderr that cannot fail on the terminal's encoding."""
    write(sys.stderr, message + "\n")


def outputs(fmt: str, specs: list[str]) -> tuple[str, list[tuple[str, Path | None]]]:
    """The main format and the extra ``FORMAT=FILE`` outputs (``-`` as FILE, None here, means
    standard output). ``--output-format FORMAT`` alone names the main format, as in ruff."""
    primary = fmt
    named: list[str] = []
    extra: list[tuple[str, Path | None]] = []
    for spec in specs:
        name, sep, target = spec.partition("=")
        name = name.strip()
        if name not in FORMATS:
            raise UsageError(
                f"unknown format {name!r} in --output-format; choose from {', '.join(FORMATS)}"
            )
        if not sep:
            named.append(name)
            continue
        if not target.strip():
            raise UsageError(f"--output-format wants FORMAT or FORMAT=FILE, not {spec!r}")
        extra.append((name, None if target.strip() == "-" else Path(target)))
    if len(set(named)) > 1 or (named and fmt != "console" and named[0] != fmt):
        raise UsageError("give one output format (--format or --output-format FORMAT)")
    if named:
        primary = named[0]
    return primary, extra


_SURROGATE = re.compile("[\ud800-\udfff]")


def write(stream: TextIO, text: str) -> None:
    """Write to a terminal or pipe whatever its encoding: characters it cannot show are
    replaced, never an exception (``PYTHONIOENCODING=cp1252`` must not crash a report)."""
    name = encoding(stream)
    try:
        text.encode(name)
    except UnicodeEncodeError:
        text = text.encode(name, errors="replace").decode(name)
    except LookupError:
        pass
    stream.write(text)
    stream.flush()


def clean(text: str) -> str:
    """``text`` as it is written: a file name that is not UTF-8 reaches the report as lone
    surrogates (os.fsdecode); the output must stay valid UTF-8, so they become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def emit(text: str, target: Path | None, *, cleaned: bool = False) -> None:
    """``text`` to standard output (``target`` None) or to the file ``target``; ``cleaned``:
    it went through :func:`clean` already (a stored output)."""
    if not cleaned:
        text = clean(text)
    if target is None:
        write(sys.stdout, text)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None

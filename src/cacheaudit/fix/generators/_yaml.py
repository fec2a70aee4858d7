"""Line-level YAML editing helpers: find where a mapping's entries sit in the text and insert
keys beside their siblings, with their indentation. The document is never re-serialised."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from cacheaudit.parsing.yaml import item_line, key_column, key_line

_PLAIN = re.compile(r"[A-Za-z0-9_.$/{}()*-][A-Za-z0-9_.$/{}()*@ +=,-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"})
_BREAKS = ("\x85", "\u2028", "\u2029")


def safe_text(text: str) -> bool:
    """False when the YAML loader might count lines differently from ``\\n`` splitting (NEL,
    LS, PS), or the text has tabs in indentation: then no edit is computed."""
    return not any(b in text for b in _BREAKS)


def scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when it reads back as the same string, else quoted."""
    if (
        _PLAIN.fullmatch(value)
        and value.lower() not in _RESERVED
        and not value.endswith(" ")
        and not re.fullmatch(r"[-+.0-9eE_:]+", value)
        and not value.startswith(("-", "*", "{"))
    ):
        return value
    return "'" + value.replace("'", "''") + "'"


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def block_end(lines: Sequence[str], first: int, parent_indent: int) -> int:
    """Last line (1-based) of the block that starts at line ``first`` and continues while lines
    are indented deeper than ``parent_indent``; trailing blank and comment lines excluded."""
    end = first
    for number in range(first + 1, len(lines) + 1):
        line = lines[number - 1]
        if is_blank_or_comment(line):
            continue
        if indent_of(line) <= parent_indent:
            break
        end = number
    return end


def mapping_indent(node: Any) -> int | None:
    """Column (0-based) of the keys of a block mapping, or None when unknown."""
    for key in node:
        column = key_column(node, key)
        if column is not None:
            return column - 1
    return None


def is_flow(lines: Sequence[str], node: Any) -> bool:
    """True when ``node`` (a mapping or sequence) is written in flow style (``{...}``/``[...]``)."""
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


def entry_end(lines: Sequence[str], mapping: Any, key: Any) -> int:
    """Last line of the entry ``key`` of a block mapping (its value included)."""
    start = key_line(mapping, key)
    indent = (key_column(mapping, key) or 1) - 1
    return block_end(lines, start, indent)


def mapping_end(lines: Sequence[str], mapping: Any) -> int:
    """Last line of a block mapping (last entry's value included)."""
    last = max(mapping, key=lambda k: key_line(mapping, k))
    return entry_end(lines, mapping, last)


def seq_item_start(seq: Any, index: int) -> int:
    return item_line(seq, index)

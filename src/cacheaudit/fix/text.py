"""Line-exact text edits: make an :class:`Edit` from the audited text, apply edits to the raw
bytes of a file so that every byte outside the replaced lines stays as it was.

The analyzers read text with line endings folded to ``\\n`` and a UTF-8 BOM removed
(:func:`cacheaudit.discovery.read_source`); edits are computed on that text. Applying them
splits the raw bytes the same way (``\\r\\n``, ``\\r`` or ``\\n`` end a line), checks that the
lines still read as the edit's ``original``, and writes the replacement with the line ending of
the lines it replaces (else of the line before, else the file's most common one).
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections import Counter
from collections.abc import Sequence

from cacheaudit.model import Edit

_RAW_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class EditConflict(Exception):
    """An edit no longer matches the file, or overlaps another edit."""


def split_lines(text: str) -> list[str]:
    """Lines of ``\\n``-normalised text, each with its ``\\n`` (the last may lack one). Unlike
    ``str.splitlines`` nothing but ``\\n`` ends a line, as for the analyzers' line numbers."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def make_edit(path: str, text: str, start: int, end: int, replacement: str) -> Edit:
    """An edit of ``text`` (the audited file): replace lines ``start..end`` (1-based,
    inclusive; ``end = start - 1`` inserts before ``start``) with ``replacement``."""
    lines = split_lines(text)
    if not (1 <= start <= len(lines) + 1 and start - 1 <= end <= len(lines)):
        raise ValueError(f"{path}: lines {start}-{end} outside 1-{len(lines)}")
    if replacement and not replacement.endswith("\n"):
        replacement += "\n"
    return Edit(path, start, end, replacement, "".join(lines[start - 1 : end]))


def overlaps(a: Edit, b: Edit) -> bool:
    """True when two edits of one file touch the same lines (or insert at the same place, or
    one inserts inside the other's lines): they cannot both be applied from the same text."""
    if a.path != b.path:
        return False
    s1, t1, s2, t2 = a.start_line - 1, a.end_line, b.start_line - 1, b.end_line
    if s1 == t1 and s2 == t2:
        return s1 == s2
    if s1 == t1:
        return s2 < s1 < t2
    if s2 == t2:
        return s1 < s2 < t1
    return s1 < t2 and s2 < t1


def _ending(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return b"\r\n"
    if line.endswith((b"\r", b"\n")):
        return line[-1:]
    return b""


def _normalise(lines: Sequence[bytes]) -> str:
    text = b"".join(lines).decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def apply_text(data: bytes, edits: Sequence[Edit]) -> bytes:
    """``data`` with ``edits`` applied (they must not overlap). Raises EditConflict when an
    edit's lines no longer read as its ``original``."""
    ordered = sorted(edits, key=lambda e: (e.start_line, e.end_line))
    for first, second in itertools.pairwise(ordered):
        if overlaps(first, second):
            raise EditConflict(f"overlapping edits at line {second.start_line}")
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    raw = _RAW_LINE.findall(data[len(bom) :])
    endings = Counter(e for e in map(_ending, raw) if e)
    common = endings.most_common(1)[0][0] if endings else b"\n"
    for edit in reversed(ordered):
        start, end = edit.start_line, edit.end_line
        if not (1 <= start <= len(raw) + 1 and start - 1 <= end <= len(raw)):
            raise EditConflict(f"lines {start}-{end} are outside the file")
        segment = raw[start - 1 : end]
        try:
            current = _normalise(segment)
        except UnicodeDecodeError:
            raise EditConflict("the file is not UTF-8") from None
        if current != edit.original:
            raise EditConflict(f"lines {start}-{end} changed since the audit")
        if segment and _ending(segment[0]):
            newline = _ending(segment[0])
        elif start >= 2 and _ending(raw[start - 2]):
            newline = _ending(raw[start - 2])
        else:
            newline = common
        text = edit.replacement
        last_open = bool(raw) and not _ending(raw[-1])
        if last_open and end == len(raw) and end >= start:
            # The region holds the last line, which has no line ending: neither has the result.
            text = text[:-1] if text.endswith("\n") else text
        elif last_open and start == len(raw) + 1 and text:
            # Appending after a last line without an ending: end that line, not the file.
            text = "\n" + text[:-1]
        before = raw[start - 2] if start >= 2 else b""
        after = raw[end] if end < len(raw) else b""
        if (newline == b"\r" and after.startswith(b"\n")) or (
            newline == b"\n" and before.endswith(b"\r") and text.startswith("\n")
        ):
            newline = b"\r\n"  # a lone CR next to an LF would read as one CRLF line ending
        new = text.replace("\n", newline.decode()).encode("utf-8")
        following = new or after
        if (before.endswith(b"\r") and following.startswith(b"\n")) or (
            new.endswith(b"\r") and after.startswith(b"\n")
        ):
            # A lone CR meeting an LF would read as one CRLF: two lines would become one.
            raise EditConflict(f"lines {start}-{end}: the edit would join a lone CR to an LF")
        raw[start - 1 : end] = [new]
    return bom + b"".join(raw)

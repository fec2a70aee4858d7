"""Byte preservation and idempotence of edits, by property: arbitrary files (CRLF, CR, LF,
BOM, no final newline) and arbitrary non-overlapping line edits."""

from __future__ import annotations

import codecs

from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.fix.text import _RAW_LINE, EditConflict, apply_text, make_edit, split_lines

_LINE = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12
)
_END = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, _END), min_size=0, max_size=12))
    text = "".join(a + b for a, b in lines)
    if draw(st.booleans()):
        text += draw(_LINE)
    bom = codecs.BOM_UTF8 if draw(st.booleans()) else b""
    return bom + text.encode("utf-8")


def _normal(data: bytes) -> str:
    return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(files(), st.data())
def test_bytes_outside_the_edit_are_unchanged(data: bytes, draw: st.DataObject) -> None:
    text = _normal(data)
    count = len(split_lines(text))
    start = draw.draw(st.integers(1, count + 1))
    end = draw.draw(st.integers(start - 1, count))
    replacement = "".join(ln + "\n" for ln in draw.draw(st.lists(_LINE, max_size=3)))
    edit = make_edit("f", text, start, end, replacement)
    try:
        new = apply_text(data, [edit])
    except EditConflict:
        # Only refused where a lone CR would meet an LF (mixed old-Mac and Unix endings):
        # applying it would merge two lines, so the file is left untouched.
        assert b"\r" in data.replace(b"\r\n", b"")
        return
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    old_raw = _RAW_LINE.findall(data[len(bom) :])
    new_raw = _RAW_LINE.findall(new[len(bom) :])
    assert new.startswith(bom)
    # Lines before the edit are byte-identical; so are the lines after it (the line ending
    # of the line just before an append to an open last line aside).
    assert new_raw[: start - 1][:-1] == old_raw[: start - 1][:-1]
    tail = old_raw[end:]
    if tail:
        assert new_raw[len(new_raw) - len(tail) :] == tail
    # The new text reads as the intended result.
    lines = split_lines(text)
    parts = [ln.rstrip("\n") for ln in lines[: start - 1]]
    parts += list(replacement.split("\n")[:-1])
    parts += [ln.rstrip("\n") for ln in lines[end:]]
    assert _normal(new).rstrip("\n") == "\n".join(parts).rstrip("\n")
    # The final newline (or its absence) is kept whenever the last line stays.
    if tail:
        assert new.endswith(tail[-1])


@settings(max_examples=200, deadline=None)
@given(files())
def test_an_empty_edit_list_changes_nothing(data: bytes) -> None:
    assert apply_text(data, []) == data


def test_crlf_file_gets_crlf_lines_and_keeps_a_missing_final_newline() -> None:
    data = b"a: 1\r\nb: 2"
    text = _normal(data)
    edit = make_edit("f", text, 2, 2, "b: 2\nc: 3\n")
    assert apply_text(data, [edit]) == b"a: 1\r\nb: 2\r\nc: 3"

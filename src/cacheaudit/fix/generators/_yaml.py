"""Line-level YAML editing: find where a block mapping's content ends in the text, insert new
entries after it at its keys' column, and check that the edited document differs from the old
one only by those entries. The document is never re-serialised.

Where a mapping's content ends is read from the parser's events, not from indentation: an
indentless sequence (``script:`` followed by ``- cmd`` at the key's column), a flow collection
spread over lines, a block scalar or a multi-line quoted scalar all end where the parser says.
A mapping that is written in flow style, carries a tag, takes keys from a merge (``<<:``), or
is anchored and used through an alias elsewhere gets no edit: inserting there would change
other nodes too, or could be shadowed; the finding's advice stays.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cacheaudit.fix.text import EditConflict, apply_text, make_edit, split_lines
from cacheaudit.model import Edit
from cacheaudit.parsing.yaml import YamlError, load

_PLAIN = re.compile(r"[A-Za-z0-9_.$/{}()*-][A-Za-z0-9_.$/{}()*@ +=,-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"})
_BREAKS = ("\x85", "\u2028", "\u2029")

PathPart = str | int
"""A mapping key or a sequence index, from the document's root."""


def safe_text(text: str) -> bool:
    """False when the YAML parser might count lines differently from ``\\n`` splitting (NEL,
    LS, PS): then no edit is computed. (Tabs are fine: YAML forbids them in indentation, and
    columns come from the parser.)"""
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


@dataclasses.dataclass(frozen=True)
class BlockMapping:
    """Where a block mapping sits in the text."""

    column: int
    """0-based column of its keys."""
    first_line: int
    """1-based line of its first key."""
    last_line: int
    """1-based last line of its content (its last value included; trailing blank lines not,
    trailing comments indented deeper than its keys yes)."""
    keys: tuple[str, ...]
    """Its scalar keys, in order."""
    editable: bool
    """False for a mapping with a tag, a merge key, or an anchor some alias uses."""


def parse_events(text: str) -> list[Any]:
    """The parser events of ``text`` (PyYAML's, with line and column marks): libyaml's parser
    when it is there, else PyYAML's own. Raises YamlError."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return list(yaml.parse(text, Loader=loader))
    except (yaml.YAMLError, RecursionError, ValueError, UnicodeError) as exc:
        raise YamlError(f"cannot parse: {exc}") from None


def _after(events: Sequence[Any], index: int) -> int:
    """Index of the event after the node that starts at ``index``."""
    from yaml import events as ev

    depth = 0
    for position in range(index, len(events)):
        event = events[position]
        if isinstance(event, ev.MappingStartEvent | ev.SequenceStartEvent):
            depth += 1
        elif isinstance(event, ev.MappingEndEvent | ev.SequenceEndEvent):
            depth -= 1
        if depth == 0:
            return position + 1
    raise YamlError("unbalanced events")


def _find(events: Sequence[Any], path: Sequence[PathPart]) -> int | None:
    """Index of the start event of the node at ``path``; None when it is not written there
    (absent, or reached only through an alias)."""
    from yaml import events as ev

    index = next(
        (i + 1 for i, e in enumerate(events) if isinstance(e, ev.DocumentStartEvent)), None
    )
    if index is None:
        return None
    for part in path:
        event = events[index]
        if isinstance(part, str) and isinstance(event, ev.MappingStartEvent):
            child = index + 1
            while not isinstance(events[child], ev.MappingEndEvent):
                key = events[child]
                value = _after(events, child)
                if isinstance(key, ev.ScalarEvent) and key.value == part and key.tag is None:
                    index = value
                    break
                child = _after(events, value)
            else:
                return None
        elif isinstance(part, int) and isinstance(event, ev.SequenceStartEvent):
            child = index + 1
            for _ in range(part):
                if isinstance(events[child], ev.SequenceEndEvent):
                    return None
                child = _after(events, child)
            if isinstance(events[child], ev.SequenceEndEvent):
                return None
            index = child
        else:
            return None
    return index


def _last_line(events: Sequence[Any], start: int, stop: int, lines: Sequence[str]) -> int:
    """1-based last line holding content of the events ``start..stop``: scalars and aliases
    end at their end mark, flow collections at their closing bracket; block collections'
    end events carry the position of the next token and are ignored."""
    from yaml import events as ev

    last = 0
    flows: list[bool] = []
    for event in events[start:stop]:
        end = None
        if isinstance(event, ev.MappingStartEvent | ev.SequenceStartEvent):
            flows.append(bool(event.flow_style))
            end = event.start_mark
        elif isinstance(event, ev.MappingEndEvent | ev.SequenceEndEvent):
            if flows.pop():
                end = event.end_mark
        elif isinstance(event, ev.ScalarEvent | ev.AliasEvent):
            end = event.end_mark
            if end.column == 0 and end.line > event.start_mark.line:
                # a block scalar ends at the start of the line after it (after any blank
                # lines it took in): its content ends on the last non-blank line before
                line = end.line
                while line > event.start_mark.line + 1 and not lines[line - 1].strip():
                    line -= 1
                last = max(last, line)
                continue
        if end is not None:
            last = max(last, end.line + 1)
    return last


def _aliases(events: Sequence[Any]) -> set[str]:
    from yaml import events as ev

    return {e.anchor for e in events if isinstance(e, ev.AliasEvent) and e.anchor}


def block_mapping(
    text: str, path: Sequence[PathPart], events: Sequence[Any] | None = None
) -> BlockMapping | None:
    """The block mapping written at ``path`` of the (single) document in ``text``; None when
    there is none there, it is empty or in flow style, or the text does not parse. ``events``:
    the text's parser events, when the caller has them already."""
    from yaml import events as ev

    if events is None:
        try:
            events = parse_events(text)
        except YamlError:
            return None
    start = _find(events, path)
    if start is None:
        return None
    event = events[start]
    if not isinstance(event, ev.MappingStartEvent) or event.flow_style:
        return None
    stop = _after(events, start)
    keys: list[str] = []
    columns: set[int] = set()
    odd = False
    child = start + 1
    while not isinstance(events[child], ev.MappingEndEvent):
        key = events[child]
        if not isinstance(key, ev.ScalarEvent) or key.tag is not None or key.anchor:
            odd = True  # a complex, tagged or anchored key: leave this mapping alone
        else:
            odd = odd or (key.value == "<<" and not key.style)
            keys.append(key.value)
            columns.add(key.start_mark.column)
        child = _after(events, _after(events, child))
    if not keys or len(columns) != 1:
        return None
    lines = [line.rstrip("\n") for line in split_lines(text)]
    column = columns.pop()
    last = _last_line(events, start, stop, lines)
    while last < len(lines):  # comments that belong to the last value stay above new keys
        following = lines[last]
        if not following.lstrip().startswith("#") or indent_of(following) <= column:
            break
        last += 1
    anchored = bool(event.anchor) and event.anchor in _aliases(events)
    return BlockMapping(
        column=column,
        first_line=events[start + 1].start_mark.line + 1,
        last_line=last,
        keys=tuple(keys),
        editable=not (odd or anchored or event.tag is not None),
    )


def shift(block: str, by: int) -> str:
    """Every non-blank line of ``block`` indented ``by`` more columns; ends with a newline."""
    out = [(" " * by + line if line.strip() else "") for line in block.strip("\n").split("\n")]
    return "\n".join(out) + "\n"


def append_entries(path: str, text: str, mapping: BlockMapping, entries: str) -> Edit:
    """An edit inserting ``entries`` (mapping entries written at column 0) at the end of
    ``mapping``, at its keys' column."""
    return make_edit(
        path, text, mapping.last_line + 1, mapping.last_line, shift(entries, mapping.column)
    )


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def only_adds(
    text: str, edits: Sequence[Edit], additions: Mapping[tuple[PathPart, ...], Mapping[str, Any]]
) -> bool:
    """True when ``text`` with ``edits`` applied parses and reads as the old document plus
    exactly ``additions`` (path of a mapping → the new entries it gets, as plain data)."""
    try:
        new_text = apply_text(text.encode("utf-8"), edits).decode("utf-8")
        return adds_only(load(text), load(new_text), additions)
    except (EditConflict, YamlError, UnicodeError):
        return False


def adds_only(
    old_doc: Any, new_doc: Any, additions: Mapping[tuple[PathPart, ...], Mapping[str, Any]]
) -> bool:
    """True when ``new_doc`` is ``old_doc`` plus exactly ``additions`` (parsed documents)."""
    old, new = _plain(old_doc), _plain(new_doc)
    for where, entries in additions.items():
        node = new
        for part in where:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return False
        if not isinstance(node, dict):
            return False
        for key, value in entries.items():
            if key not in node or node[key] != _plain(value):
                return False
            del node[key]
    return bool(old == new)

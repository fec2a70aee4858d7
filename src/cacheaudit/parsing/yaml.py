"""Safe YAML loading that keeps line numbers (ruamel.yaml round-trip nodes), with bounds.

Round-trip mode never executes tags, keeps GitLab's ``!reference`` as a tagged sequence, reads
``on:`` as a string (YAML 1.2), and shares aliased nodes instead of copying them; a visit budget
still rejects alias bombs before an analyzer walks one, and deep nesting is rejected too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cacheaudit.repo import RepoContext

MAX_DEPTH = 100
MAX_NODE_VISITS = 250_000


@dataclass(frozen=True)
class YamlError(Exception):
    """A document that cannot be loaded; ``line``/``column`` are 1-based (0 when unknown)."""

    message: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return self.message


def load(text: str) -> Any:
    """Parse one YAML document into ruamel round-trip nodes (CommentedMap/CommentedSeq/scalars).

    Raises YamlError on syntax errors, duplicate keys, multiple documents, excessive nesting or
    alias expansion.
    """
    doc = _load_fast(text)
    if doc is _FALLBACK:
        doc = _load_ruamel(text)
    _check_bounds(doc)
    return doc


_FALLBACK = object()


def _new_yaml() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="rt", pure=True)


def _load_ruamel(text: str) -> Any:
    """The reference path: ruamel's own (pure Python) scanner, parser and composer."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return _new_yaml().load(text)
    except MarkedYAMLError as exc:
        raise _marked(exc) from None
    except YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except RecursionError:
        raise YamlError("document is nested too deeply") from None
    except Exception as exc:  # ruamel raises assorted errors on hostile input
        raise YamlError(f"cannot parse: {type(exc).__name__}: {exc}") from None


def _marked(exc: Any) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return YamlError(problem)
    return YamlError(problem, mark.line + 1, mark.column + 1)


def _load_fast(text: str) -> Any:
    """libyaml's C parser (PyYAML) produces the events, ruamel composes and constructs them:
    the same round-trip nodes, line numbers, tags, merges and duplicate-key checks as
    ``_load_ruamel``, about ten times faster on large workflows. Any parse error goes back to
    the ruamel path, so messages and positions are ruamel's; without libyaml, so does all."""
    try:
        from yaml import YAMLError as LibYamlError
        from yaml._yaml import CParser
    except ImportError:
        return _FALLBACK
    from ruamel.yaml.error import MarkedYAMLError

    try:
        events = _ruamel_events(CParser(text))
    except (LibYamlError, RecursionError, ValueError, UnicodeError):
        return _FALLBACK
    loader = _new_yaml()
    loader._parser = _ReplayParser(events)  # the composer asks `loader.parser` for events
    try:
        return loader.constructor.get_single_data()
    except MarkedYAMLError as exc:
        raise _marked(exc) from None
    except RecursionError:
        raise YamlError("document is nested too deeply") from None
    except Exception:  # anything unexpected: let the reference path decide
        return _FALLBACK


def _ruamel_events(parser: Any) -> list[Any]:
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import StreamMark
    from ruamel.yaml.tag import Tag

    def mark(m: Any) -> Any:
        return StreamMark(None, m.index, m.line, m.column)

    def tag(value: str | None) -> Any:
        return None if value is None else Tag(suffix=value)

    out: list[Any] = []
    try:
        while parser.check_event():
            e = parser.get_event()
            name = type(e).__name__
            start, end = mark(e.start_mark), mark(e.end_mark)
            if name == "ScalarEvent":
                out.append(
                    ev.ScalarEvent(
                        e.anchor, tag(e.tag), e.implicit, e.value, start, end, e.style or None
                    )
                )
            elif name in ("MappingStartEvent", "SequenceStartEvent"):
                cls = ev.MappingStartEvent if name == "MappingStartEvent" else ev.SequenceStartEvent
                out.append(cls(e.anchor, tag(e.tag), e.implicit, start, end, e.flow_style))
            elif name == "AliasEvent":
                out.append(ev.AliasEvent(e.anchor, start, end))
            elif name == "DocumentStartEvent":
                out.append(ev.DocumentStartEvent(start, end, e.explicit, e.version, e.tags))
            elif name == "DocumentEndEvent":
                out.append(ev.DocumentEndEvent(start, end, e.explicit))
            else:  # stream start/end, collection ends
                out.append(getattr(ev, name)(start, end))
    finally:
        parser.dispose()
    return out


class _ReplayParser:
    """The three calls ruamel's composer makes of a parser, over a list of events."""

    def __init__(self, events: list[Any]) -> None:
        self._events = events
        self._next = 0

    def check_event(self, *choices: Any) -> bool:
        if self._next >= len(self._events):
            return False
        return not choices or isinstance(self._events[self._next], choices)

    def peek_event(self) -> Any:
        return self._events[self._next]

    def get_event(self) -> Any:
        event = self._events[self._next]
        self._next += 1
        return event

    def dispose(self) -> None:
        self._events = []


def load_path(ctx: RepoContext, path: str) -> Any:
    """The parsed YAML of a repository file, once per run whoever asks (None when the file
    cannot be read); raises the same YamlError again for a file that does not parse."""

    def compute() -> Any:
        text = ctx.read_text(path)
        if text is None:
            return None
        try:
            return load(text)
        except YamlError as exc:
            return exc

    result = ctx.memo("yaml", path, compute)
    if isinstance(result, YamlError):
        raise result
    return result


def _check_bounds(doc: Any) -> None:
    visits = 0
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        visits += 1
        if visits > MAX_NODE_VISITS:
            raise YamlError("document expands to too many nodes (alias bomb?)")
        if depth > MAX_DEPTH:
            raise YamlError(f"document is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def node_line(node: Any, default: int = 1) -> int:
    """1-based line where a mapping or sequence starts."""
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return default
    return int(lc.line) + 1


def key_line(mapping: Any, key: Any, default: int | None = None) -> int:
    """1-based line of ``key`` in ``mapping`` (falls back to the mapping's own line)."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return default if default is not None else node_line(mapping)


def key_column(mapping: Any, key: Any) -> int | None:
    try:
        return int(mapping.lc.key(key)[1]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def value_line(mapping: Any, key: Any) -> int:
    """1-based line where the value of ``key`` starts; for a block scalar (``run: |``) the line
    of its first content line, so shell line offsets line up with the file."""
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    try:
        line = int(mapping.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return key_line(mapping, key)
    if isinstance(mapping.get(key), LiteralScalarString | FoldedScalarString):
        return line + 1
    return line


def item_line(seq: Any, index: int) -> int:
    """1-based line of item ``index`` of a sequence."""
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return node_line(seq)


def tag_of(node: Any) -> str | None:
    """The explicit tag of a node (``!reference``), or None."""
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", None)
    if isinstance(value, str):
        return value
    return None


def mappings(node: Any) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` pairs of a mapping with string keys; nothing for other nodes."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield key, value

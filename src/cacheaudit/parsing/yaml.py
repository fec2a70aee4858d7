"""Safe YAML loading that keeps line numbers, with bounds.

libyaml (PyYAML's C parser *and* composer) builds the node tree; :func:`_construct` turns it into
the objects the analyzers read, the same ones ruamel's round-trip loader gives, without ruamel's
pure-Python composer and constructor:

- mappings are :class:`YamlMap` (a ``dict``), sequences :class:`YamlSeq` (a ``list``), each with
  ruamel's ``lc`` (``line``, ``col``, ``key(k)``, ``value(k)``, ``item(i)``, 0-based) and ``tag``;
- scalars resolve as YAML 1.2 the way ruamel does: ``on``/``yes``/``no`` stay strings, ints and
  floats (``0x``, ``0o``, ``1_000``, ``.inf``), ``true``/``false``, ``null``/``~``/empty, dates;
  ``|`` and ``>`` blocks are :class:`LiteralStr`/:class:`FoldedStr`; a scalar with a tag that is
  not a core type (``!custom x``, like ruamel also ``!!str x``) is a :class:`TaggedScalar`;
- ``<<`` merge keys merge as in ruamel (the mapping's own keys win, ``_ok`` holds them, ``merge``
  the merged mappings in precedence order). A mapping may repeat ``<<`` (GitLab accepts it): each
  merges, a later ``<<`` winning over an earlier one, as Ruby's Psych does;
- aliases share one object (never copied), duplicate keys are rejected as ruamel rejects them,
  ``!reference`` and other tags are kept on the node.

A visit budget rejects alias bombs before an analyzer walks one, and deep nesting is rejected.
An invalid document is reported at libyaml's problem mark. Jinja/cookiecutter templates
(``{% if %}`` lines, ``{{ var }}`` values) are read around the template syntax: template-only
lines are dropped and each ``{{ … }}``/``{% … %}`` is kept as opaque text, at the same columns.

Not supported, and read as ruamel would not: a ``%YAML 1.1`` directive (scalars stay YAML 1.2)
the non-specific tag ``! 12`` (a string here, an int in ruamel), and NEL/LS/PS characters,
which libyaml counts as line breaks (YAML 1.1) when it numbers lines.
"""

from __future__ import annotations

import re
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


# --- the loaded objects ----------------------------------------------------------------------


class LineCol:
    """ruamel's ``lc``: where a collection starts and where its keys/values/items are."""

    __slots__ = ("col", "data", "line")

    def __init__(self, line: int, col: int) -> None:
        self.line = line
        self.col = col
        self.data: Any = None
        """mapping: ``{key: (key_line, key_col, value_line, value_col)}``; sequence: a list of
        ``(line, col)`` per item."""

    def key(self, k: Any) -> tuple[int, int]:
        entry = self.data[k]
        return entry[0], entry[1]

    def value(self, k: Any) -> tuple[int, int]:
        entry = self.data[k]
        return entry[2], entry[3]

    def item(self, index: int) -> tuple[int, int]:
        if index < 0:
            raise KeyError(index)
        entry = self.data[index]
        return entry[0], entry[1]


class YamlMap(dict[Any, Any]):
    """A YAML mapping (a plain ``dict`` with ruamel's ``lc``, ``tag``, ``_ok`` and ``merge``)."""

    __slots__ = ("_ok", "lc", "merge", "tag")

    def __init__(self) -> None:
        self._ok: set[Any] | None = None
        """The keys written in this mapping, when ``<<`` merged others in (else all of them)."""
        self.merge: list[YamlMap] | None = None
        """The mappings merged in by ``<<``, first one winning."""
        self.tag: str | None = None
        self.lc = LineCol(0, 0)


class YamlSeq(list[Any]):
    """A YAML sequence (a plain ``list`` with ruamel's ``lc`` and ``tag``)."""

    __slots__ = ("lc", "tag")

    def __init__(self) -> None:
        self.tag: str | None = None
        self.lc = LineCol(0, 0)


class LiteralStr(str):
    """A ``|`` block scalar."""

    __slots__ = ()


class FoldedStr(str):
    """A ``>`` block scalar."""

    __slots__ = ()


class TaggedScalar:
    """A scalar with a tag that is not a core type (``!custom text``): its text and its tag."""

    __slots__ = ("style", "tag", "value")

    def __init__(self, value: str, style: str | None, tag: str) -> None:
        self.value = value
        self.style = style
        self.tag = tag

    def __repr__(self) -> str:
        return f"TaggedScalar(value={self.value!r}, style={self.style!r}, tag={self.tag!r})"


def is_block_scalar(node: Any) -> bool:
    """A ``|`` or ``>`` block scalar (its content starts on the line after the key)."""
    return isinstance(node, LiteralStr | FoldedStr) or type(node).__name__ in (
        "LiteralScalarString",
        "FoldedScalarString",
    )


# --- loading ---------------------------------------------------------------------------------


def load(text: str) -> Any:
    """Parse one YAML document into :class:`YamlMap`/:class:`YamlSeq`/scalars.

    Raises YamlError on syntax errors, duplicate keys, multiple documents, excessive nesting or
    alias expansion.
    """
    if _TEMPLATE_MARK.search(text):
        doc = _load_template(text)
    else:
        doc = _construct_document(_compose(text))
    _check_bounds(doc)
    return doc


_PLAIN = "\x00plain"
_QUOTED = "\x00quoted"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_Y = "tag:yaml.org,2002:"


def _loader_classes() -> tuple[Any, Any]:
    from yaml._yaml import CParser
    from yaml.composer import Composer
    from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent
    from yaml.nodes import ScalarNode, SequenceNode

    class Loader(CParser):  # type: ignore[misc]
        """libyaml's composer without implicit typing: plain and quoted untagged scalars get
        marker tags, resolved here the YAML 1.2 way."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                return _PLAIN if implicit[0] else _QUOTED
            return _SEQ if kind is SequenceNode else _MAP

        def descend_resolver(self, parent: Any, index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

    class RedefiningLoader(Composer, Loader):  # type: ignore[misc]
        """libyaml's events composed in Python, for the rare document that defines one anchor
        twice (YAML allows it, as ruamel and GitLab do: an alias means the latest one), which
        libyaml's composer refuses."""

        def __init__(self, text: str) -> None:
            Loader.__init__(self, text)  # type: ignore[call-arg]
            Composer.__init__(self)

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                return Composer.compose_node(self, parent, index)
            anchor = self.peek_event().anchor
            if self.check_event(ScalarEvent):
                return self.compose_scalar_node(anchor)
            if self.check_event(MappingStartEvent):
                return self.compose_mapping_node(anchor)
            return self.compose_sequence_node(anchor)

    return Loader, RedefiningLoader


_LOADERS: Any = None


def _compose(text: str) -> Any:
    global _LOADERS
    from yaml import MarkedYAMLError, YAMLError

    if _LOADERS is None:
        _LOADERS = _loader_classes()
    try:
        return _compose_with(_LOADERS[0], text)
    except MarkedYAMLError as exc:
        if not str(exc.context or "").startswith("found duplicate anchor"):
            raise _marked(exc, text) from None
    try:
        return _compose_with(_LOADERS[1], text)
    except MarkedYAMLError as exc:
        raise _marked(exc, text) from None
    except YAMLError as exc:  # ReaderError: a character YAML does not allow
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None


def _compose_with(loader_class: Any, text: str) -> Any:
    from yaml import MarkedYAMLError, YAMLError

    try:
        loader = loader_class(text)
    except (UnicodeError, ValueError) as exc:
        raise YamlError(f"cannot read: {exc}") from None
    try:
        return loader.get_single_node()
    except MarkedYAMLError:
        raise
    except YAMLError as exc:  # ReaderError: a character YAML does not allow
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise YamlError(f"cannot parse: {type(exc).__name__}: {exc}") from None
    finally:
        loader.dispose()


def _marked(exc: Any, text: str) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return YamlError(problem)
    line, column = mark.line + 1, mark.column + 1
    last = text.count("\n") + 1
    if line > last:  # the end of a stream without a final newline: its last line
        line, column = last, len(text) - text.rfind("\n")
    return YamlError(problem, line, column)


def _construct_document(node: Any) -> Any:
    if node is None:
        return None
    try:
        return _Constructor().construct(node, 0)
    except RecursionError:
        raise YamlError("document is nested too deeply") from None


def _error(problem: str, mark: Any) -> YamlError:
    return YamlError(problem, mark.line + 1, mark.column + 1)


# YAML 1.2 implicit resolution, as ruamel's VersionedResolver does it (first character, then
# the same regular expressions in the same order).
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT = re.compile(
    r"""^(?:
     [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?[0-9_]+
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TIMESTAMP = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
    (?:[Tt]|[ \t]+)[0-9][0-9]?
    :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_NUMBER_START = frozenset("-+0123456789.")
_INT_START = frozenset("-+0123456789")
_DIGITS = frozenset("0123456789")


def _resolve_plain(value: str) -> str:
    first = value[:1]
    if first in "tTfF" and first and _BOOL.match(value):
        return _Y + "bool"
    if first in _NUMBER_START and _FLOAT.match(value):
        return _Y + "float"
    if first in _INT_START and _INT.match(value):
        return _Y + "int"
    if value == "<<":
        return _Y + "merge"
    if (first in ("~", "n", "N", "")) and _NULL.match(value):
        return _Y + "null"
    if first in _DIGITS and _TIMESTAMP.match(value):
        return _Y + "timestamp"
    if value == "=":
        return _Y + "value"
    return _Y + "str"


def _to_int(text: str) -> int:
    digits = text.replace("_", "")
    sign = 1
    if digits[:1] in ("+", "-"):
        sign = -1 if digits[0] == "-" else 1
        digits = digits[1:]
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    return sign * int(digits)


def _to_float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[:1] == "-" else 1.0
    if digits[:1] in ("+", "-"):
        digits = digits[1:]
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


def _to_timestamp(node: Any) -> Any:
    from yaml.constructor import SafeConstructor

    try:
        return SafeConstructor.construct_yaml_timestamp(SafeConstructor(), node)
    except (ValueError, AttributeError, TypeError):
        return node.value


class _Constructor:
    """libyaml nodes → loaded objects; one per document (aliases resolve through ``done``)."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done: dict[int, Any] = {}

    def construct(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise YamlError(f"document is nested more than {MAX_DEPTH} levels deep")
        tag = node.tag
        if tag is _PLAIN or tag is _QUOTED or tag in (_PLAIN, _QUOTED):
            value = node.value
            if tag == _QUOTED:
                style = node.style
                if style == "|":
                    return LiteralStr(value)
                if style == ">":
                    return FoldedStr(value)
                return value
            if not value or value[0] in _PLAIN_SPECIAL:
                return self.scalar(node, _resolve_plain(value), implicit=True)
            return value
        done = self.done.get(id(node))
        if done is not None:
            return done
        if tag == _MAP or type(node).__name__ == "MappingNode":
            return self.mapping(node, depth)
        if tag == _SEQ or type(node).__name__ == "SequenceNode":
            return self.sequence(node, depth)
        return self.scalar(node, tag, implicit=False)

    def scalar(self, node: Any, tag: str, implicit: bool) -> Any:
        value: str = node.value
        try:
            if tag == _Y + "str":
                if implicit:
                    return value
                return TaggedScalar(value, node.style, tag)  # ruamel: `!!str x` stays tagged
            if tag == _Y + "int":
                return _to_int(value)
            if tag == _Y + "float":
                return _to_float(value)
            if tag == _Y + "bool":
                return {"true": True, "false": False}[value.lower()]
            if tag == _Y + "null":
                return None
            if tag == _Y + "timestamp":
                return _to_timestamp(node)
            if tag == _Y + "binary":
                import base64

                return base64.decodebytes(value.encode("ascii"))
        except (ValueError, KeyError, IndexError, UnicodeError) as exc:
            raise YamlError(f"cannot parse: {type(exc).__name__}: {exc}") from None
        if tag == _Y + "merge" and implicit:
            return TaggedScalar(value, node.style, tag)
        return TaggedScalar(value, node.style, tag)

    def key(self, node: Any, depth: int) -> Any:
        key = self.construct(node, depth)
        if isinstance(key, list):
            return tuple(key)
        if isinstance(key, dict):
            return tuple(key.items())
        return key

    def sequence(self, node: Any, depth: int) -> YamlSeq:
        seq = YamlSeq()
        mark = node.start_mark
        seq.lc.line, seq.lc.col = mark.line, mark.column
        self.done[id(node)] = seq
        if node.tag != _SEQ:  # like ruamel, a tagged sequence keeps no item positions
            seq.tag = node.tag
            seq.extend(self.construct(child, depth + 1) for child in node.value)
            return seq
        positions = []
        child_depth = depth + 1
        for child in node.value:
            seq.append(self.construct(child, child_depth))
            m = child.start_mark
            positions.append((m.line, m.column))
        seq.lc.data = positions
        return seq

    def mapping(self, node: Any, depth: int) -> Any:
        tag = node.tag
        if tag == _Y + "set":
            return {self.key(k, depth + 1) for k, _ in node.value}
        mapping = YamlMap()
        mark = node.start_mark
        mapping.lc.line, mapping.lc.col = mark.line, mark.column
        if tag != _MAP and tag != _Y + "omap":
            mapping.tag = tag
        self.done[id(node)] = mapping
        positions: dict[Any, tuple[int, int, int, int]] = {}
        merges: list[list[YamlMap]] = []
        child_depth = depth + 1
        for key_node, value_node in node.value:
            if key_node.tag == _PLAIN and key_node.value == "<<":
                merges.append(self.merge_sources(node, value_node, child_depth))
                continue
            key = self.key(key_node, child_depth)
            value = self.construct(value_node, child_depth)
            try:
                duplicate = key in mapping
            except TypeError:  # an unhashable key (a tagged collection)
                raise _error("found unhashable key", key_node.start_mark) from None
            if duplicate:
                raise _error(
                    f'found duplicate key "{key}" with value "{value}" '
                    f'(original value: "{mapping.get(key)}")',
                    key_node.start_mark,
                )
            mapping[key] = value
            k, v = key_node.start_mark, value_node.start_mark
            positions[key] = (k.line, k.column, v.line, v.column)
        mapping.lc.data = positions
        if merges:
            mapping._ok = set(mapping)
            order = [source for sources in reversed(merges) for source in sources]
            mapping.merge = order
            for source in order:
                for key, value in source.items():
                    if key not in mapping:
                        mapping[key] = value
        return mapping

    def merge_sources(self, node: Any, value_node: Any, depth: int) -> list[YamlMap]:
        kind = type(value_node).__name__
        if kind == "MappingNode":
            source = self.construct(value_node, depth)
            return [source] if isinstance(source, YamlMap) else []
        if kind == "SequenceNode":
            sources = []
            for item in value_node.value:
                if type(item).__name__ != "MappingNode":
                    raise _error(
                        f"expected a mapping for merging, but found {_node_id(item)}",
                        item.start_mark,
                    )
                source = self.construct(item, depth + 1)
                if isinstance(source, YamlMap):
                    sources.append(source)
            return sources
        raise _error(
            f"expected a mapping or list of mappings for merging, but found {_node_id(value_node)}",
            value_node.start_mark,
        )


_PLAIN_SPECIAL = frozenset("-+0123456789.tTfF~nN<=")
"""First characters after which a plain scalar may be something other than a string."""


def _node_id(node: Any) -> str:
    return {"ScalarNode": "scalar", "SequenceNode": "sequence", "MappingNode": "mapping"}.get(
        type(node).__name__, "node"
    )


# --- templated YAML (Jinja, cookiecutter) ------------------------------------------------------

_TEMPLATE_MARK = re.compile(r"\{%|(?<!\$)\{#|(?<!\$)\{\{")
_TEMPLATE_LINE = re.compile(r"^[ \t]*(?:\{%.*?%\}|\{#.*?#\})[ \t]*$")
_TEMPLATE_SPAN = re.compile(r"\$\{\{.*?\}\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_PLACEHOLDER = re.compile(r"_t[0-9a-f]+_*")


def _load_template(text: str) -> Any:
    """A Jinja-templated document read around its template syntax: template-only lines become
    empty lines, each other ``{{ … }}``/``{% … %}`` a same-length placeholder that is turned back
    into its text wherever it lands (so every line and column stays where it was)."""
    spans: dict[str, str] = {}

    def hide(match: re.Match[str]) -> str:
        original = match.group(0)
        if original.startswith("$"):  # a GitHub expression: not a template
            return original
        placeholder = f"_t{len(spans):x}_"
        if len(placeholder) > len(original):
            return original
        placeholder = placeholder.ljust(len(original), "_")
        spans[placeholder] = original
        return placeholder

    lines = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if _TEMPLATE_LINE.match(body):
            lines.append(line[len(body) :])
        else:
            lines.append(_TEMPLATE_SPAN.sub(hide, line))
    doc = _construct_document(_compose("".join(lines)))
    if not spans:
        return doc
    return _restore(doc, spans, {})


def _restore(node: Any, spans: dict[str, str], seen: dict[int, Any]) -> Any:
    def text(value: str) -> str:
        return _PLACEHOLDER.sub(lambda m: spans.get(m.group(0), m.group(0)), value)

    if isinstance(node, str):
        restored = text(node)
        return node if restored == node else type(node)(restored)
    if isinstance(node, TaggedScalar):
        node.value = text(node.value)
        return node
    if id(node) in seen:
        return node
    seen[id(node)] = node
    if isinstance(node, YamlSeq):
        node[:] = [_restore(item, spans, seen) for item in node]
    elif isinstance(node, YamlMap):
        items = [(_restore(k, spans, seen), _restore(v, spans, seen)) for k, v in node.items()]
        old_keys = list(node)
        positions = node.lc.data or {}
        node.clear()
        node.update(items)
        node.lc.data = {
            new: positions[old]
            for old, (new, _) in zip(old_keys, items, strict=True)
            if old in positions
        }
        if node._ok is not None:
            node._ok = {_restore(k, spans, seen) for k in node._ok}
    return node


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
    try:
        line = int(mapping.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return key_line(mapping, key)
    if is_block_scalar(mapping.get(key)):
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
    if isinstance(tag, str) or tag is None:
        return tag
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

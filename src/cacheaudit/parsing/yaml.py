"""Safe YAML loading that keeps line numbers (ruamel.yaml round-trip nodes), with bounds.

Round-trip mode never executes tags, keeps GitLab's ``!reference`` as a tagged sequence, reads
``on:`` as a string (YAML 1.2), and shares aliased nodes instead of copying them; a visit budget
still rejects alias bombs before an analyzer walks one, and deep nesting is rejected too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise YamlError(problem) from None
        raise YamlError(problem, mark.line + 1, mark.column + 1) from None
    except YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except RecursionError:
        raise YamlError("document is nested too deeply") from None
    except Exception as exc:  # ruamel raises assorted errors on hostile input
        raise YamlError(f"cannot parse: {type(exc).__name__}: {exc}") from None
    _check_bounds(doc)
    return doc


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

"""Loading GitLab CI files: YAML into :class:`Value` trees with origins, deep merging, and
the entries of ``include:``."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cacheaudit.analyzers.gitlab_ci.model import Origin, Ref, Scalar, Value
from cacheaudit.model import Finding
from cacheaudit.notices import parse_error
from cacheaudit.parsing import yaml as cy
from cacheaudit.repo import RepoContext

# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedFile:
    path: str
    top: dict[str, Value] | None
    """None when the file is missing, unreadable or invalid."""
    error: Finding | None = None


_SPEC_END = re.compile(r"^---\s*(#.*)?$")


def _strip_header(text: str) -> str:
    """Blank out a ``spec:`` header document (``spec: ... ---``) so the rest loads as one
    document with its line numbers intact."""
    lines = text.split("\n")
    first = next(
        (i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None
    )
    if first is None or not lines[first].startswith("spec:"):
        return text
    for i in range(first + 1, len(lines)):
        if _SPEC_END.match(lines[i]):
            return "\n" * (i + 1) + "\n".join(lines[i + 1 :])
    return text


def load_file(ctx: RepoContext, path: str) -> LoadedFile:
    """Parse one CI file (once per run)."""
    return ctx.memo("gitlab-ci:file", path, lambda: _load(ctx, path))


def _load(ctx: RepoContext, path: str) -> LoadedFile:
    text = ctx.read_text(path)
    if text is None:
        return LoadedFile(path, None)
    try:
        doc = cy.load(_strip_header(text), repeated_merge_keys=True)
    except cy.YamlError as exc:
        return LoadedFile(path, None, parse_error(path, exc.message, exc.line, exc.column))
    if doc is None:
        return LoadedFile(path, {})
    if not isinstance(doc, dict):
        return LoadedFile(
            path, None, parse_error(path, "the top level of a GitLab CI file must be a mapping", 1)
        )
    owners = sorted((cy.key_line(doc, k), str(k)) for k in _own_keys(doc))
    converter = _Converter(path, [line for line, _ in owners], [name for _, name in owners])
    top = converter.mapping(doc)
    return LoadedFile(path, top)


def _own_keys(node: Any) -> list[Any]:
    own = getattr(node, "_ok", None)
    return [k for k in node if own is None or k in own]


def _holder(node: Any, key: Any, depth: int = 0) -> Any:
    """The mapping where ``key`` is literally written: ``node`` itself, or for a key brought in
    by a ``<<`` merge key, the merged mapping (recursively)."""
    own = getattr(node, "_ok", None)
    if own is None or key in own or depth > 20:
        return node
    for source in getattr(node, "merge", None) or ():
        if isinstance(source, dict) and key in source:
            return _holder(source, key, depth + 1)
    return node


def _is_block(node: Any) -> bool:
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    return isinstance(node, (LiteralScalarString, FoldedScalarString))


def _item_column(seq: Any, index: int) -> int | None:
    try:
        return int(seq.lc.item(index)[1]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


@dataclass(frozen=True)
class _Converter:
    """ruamel nodes → :class:`Value` trees with origins."""

    path: str
    owner_lines: list[int]
    owner_names: list[str]

    def owner(self, line: int) -> str:
        index = bisect.bisect_right(self.owner_lines, line) - 1
        return self.owner_names[index] if index >= 0 else ""

    def origin(self, line: int, column: int | None, value_line: int = 0) -> Origin:
        return Origin(self.path, line, column, value_line, self.owner(line))

    def mapping(self, node: Any) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for key in node:
            if isinstance(key, (dict, list)) or key is None:
                continue
            name = _key_text(key)
            holder = _holder(node, key)
            line = cy.key_line(holder, key)
            origin = self.origin(line, cy.key_column(holder, key), cy.value_line(holder, key))
            out[name] = self.convert(node[key], origin)
        return out

    def convert(self, node: Any, origin: Origin) -> Value:
        if isinstance(node, list):
            if cy.tag_of(node) == "!reference":
                return Value(
                    Ref(tuple(_key_text(x) for x in node if not isinstance(x, (dict, list)))),
                    origin,
                )
            items = []
            for index, item in enumerate(node):
                line = cy.item_line(node, index)
                item_origin = self.origin(
                    line, _item_column(node, index), line + 1 if _is_block(item) else line
                )
                items.append(self.convert(item, item_origin))
            return Value(items, origin)
        if isinstance(node, dict):
            return Value(self.mapping(node), origin)
        return Value(_scalar(node), origin)


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _scalar(node: Any) -> Scalar:
    """A plain Python scalar from a ruamel scalar; unknown tags keep their text."""
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    value = getattr(node, "value", None)  # TaggedScalar of an unknown tag
    if isinstance(value, str):
        return value
    return str(node)


# --- merging --------------------------------------------------------------------------------


def deep_merge(base: Value, over: Value) -> Value:
    """Ruby's ``Hash#deep_merge``: mappings merge key by key, ``over`` wins everywhere else."""
    base_map, over_map = base.map, over.map
    if base_map is None or over_map is None:
        return over
    return Value(merge_maps(base_map, over_map), over.origin)


def merge_maps(base: dict[str, Value], over: dict[str, Value]) -> dict[str, Value]:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else value
    return merged


# --- includes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Include:
    kind: str
    """``local``, ``remote``, ``project``, ``template``, ``component``, or ``unknown``."""
    target: str
    origin: Origin
    conditional: bool = False
    """Has ``rules:``: it may not be included at all."""


def include_entries(value: Value) -> Iterator[Include]:
    """The entries of an ``include:`` value, in order."""
    for item in value.items():
        text = item.text
        if text is not None:
            kind = "remote" if re.match(r"https?://", text) else "local"
            yield Include(kind, text, item.origin)
            continue
        mapping = item.map
        if mapping is None:
            continue
        conditional = "rules" in mapping
        for kind in ("local", "remote", "template", "component", "project"):
            entry = mapping.get(kind)
            if entry is None:
                continue
            target = entry.text or ""
            if kind == "project":
                files = mapping.get("file")
                names = [f.text for f in files.items()] if files is not None else []
                target = f"{target}:{','.join(n for n in names if n)}"
            yield Include(kind, target, item.origin, conditional)
            break
        else:
            yield Include("unknown", "", item.origin, conditional)

"""Message wording and the YAML snippets fixes offer, in the style of the file they go into."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cacheaudit.analyzers.gitlab_ci.model import Step
from cacheaudit.repo import RepoContext

# --- text helpers ---------------------------------------------------------------------------


def jobs_phrase(jobs: list[str], parallel: dict[str, int]) -> str:
    def show(name: str) -> str:
        count = parallel.get(name, 1)
        return f"`{name}`" + (f" (parallel: {count})" if count > 1 else "")

    shown = [show(j) for j in jobs]
    if len(shown) == 1:
        return f"job {shown[0]}"
    if len(shown) > 4:
        return f"jobs {', '.join(shown[:3])} and {len(shown) - 3} more"
    return f"jobs {and_list(shown)}"


def and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def verb(jobs: str, singular: str, plural: str) -> str:
    return singular if jobs.startswith("job ") else plural


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def short(text: str, limit: int = 80) -> str:
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def source_line(ctx: RepoContext, path: str, line: int) -> str | None:
    def split() -> list[str]:
        text = ctx.read_text(path)
        return text.split("\n") if text is not None else []

    lines = ctx.memo("gitlab-ci:lines", path, split)
    return lines[line - 1] if 0 < line <= len(lines) else None


def column_of(ctx: RepoContext, step: Step) -> int | None:
    """Column of the command's first word on its line, when it is there."""
    line = source_line(ctx, step.path, step.command.line)
    if line is None or not step.command.text:
        return None
    first = step.command.text.split()[0]
    index = line.find(first)
    return index + 1 if index >= 0 else None


@dataclass(frozen=True)
class Style:
    unit: int
    compact: bool
    """Sequence items at their key's indentation (``paths:\\n- a``)."""


def style_of(ctx: RepoContext, path: str) -> Style:
    def compute() -> Style:
        lines = [
            ln
            for ln in (ctx.read_text(path) or "").split("\n")
            if ln.strip() and not ln.lstrip().startswith("#")
        ]
        indents = [len(ln) - len(ln.lstrip(" ")) for ln in lines]
        positive = [i for i in indents if i > 0]
        unit = min(positive) if positive else 2
        compact = False
        for index in range(len(lines) - 1):
            line, following = lines[index], lines[index + 1]
            if line.rstrip().endswith(":") and following.lstrip().startswith("- "):
                compact = indents[index] == indents[index + 1]
                break
        return Style(max(2, min(unit, 8)), compact)

    return ctx.memo("gitlab-ci:style", path, compute)


Tree = list[tuple[str, object]]
"""A YAML mapping to emit: values are scalars (already formatted), lists of scalars, nested
trees, or tuples of trees (a sequence of mappings)."""


def emit(tree: Tree, style: Style, level: int = 0) -> str:
    return "\n".join(_emit_lines(tree, style, level))


def _emit_lines(tree: Tree, style: Style, level: int) -> Iterator[str]:
    pad = " " * (style.unit * level)
    for key, value in tree:
        if isinstance(value, str):
            yield f"{pad}{key}: {value}"
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            yield f"{pad}{key}:"
            item_pad = pad if style.compact else pad + " " * style.unit
            for item in value:
                yield f"{item_pad}- {plain(str(item))}"
        elif isinstance(value, list):
            yield f"{pad}{key}:"
            yield from _emit_lines(_as_tree(value), style, level + 1)
        elif isinstance(value, tuple):  # a sequence of mappings
            yield f"{pad}{key}:"
            item_pad = pad if style.compact else pad + " " * style.unit
            for item in value:
                if not isinstance(item, list):
                    continue
                for index, line in enumerate(_emit_lines(_as_tree(item), style, 0)):
                    yield item_pad + ("- " if index == 0 else "  ") + line


def _as_tree(value: Iterable[object]) -> Tree:
    out: Tree = []
    for item in value:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            out.append((item[0], item[1]))
    return out


def plain(text: str) -> str:
    if (
        "$" in text
        or ": " in text
        or text.startswith(("*", "&", "!", "{", "[", "'", '"', "@", "`"))
    ):
        return quoted(text)
    return text


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cache_body(files: list[str], prefix: str, paths: list[str]) -> Tree:
    if files:
        key: object = [("files", list(files)), ("prefix", prefix)]
    else:
        key = quoted(f"{prefix}-$CI_JOB_NAME")
    return [("key", key), ("paths", paths)]

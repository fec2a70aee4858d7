"""Stages that CI builds with ``--target``: they are shipped like the final stage (an image is
built from them and, usually, pushed), so CA305 judges them.

The Dockerfile analyzer runs beside the CI analyzers, not after them, so it cannot read their
``ImageBuild`` records; it reads the CI files itself, once per audit (memoised on the
repository context): every ``run:``/``script:`` text of GitHub workflows, composite actions and
GitLab CI files, following the repository scripts, Makefile targets and package.json scripts
they call (:mod:`cacheaudit.analyzers.scripts`), for ``docker build --target`` (and buildx,
podman, buildah, kaniko), plus ``docker/build-push-action`` steps with a ``target`` input. Paths
and targets written with variables or expressions are skipped: they cannot be told offline."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from cacheaudit.analyzers.reach import peeked, reaching
from cacheaudit.analyzers.scripts import MAX_DEPTH, follow
from cacheaudit.discovery import FileKind
from cacheaudit.parsing.shell import Command, find_image_builds, parse_script
from cacheaudit.parsing.yaml import YamlError, load_path
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

_SHELL_KEYS = frozenset({"run", "script", "before_script", "after_script"})
"""Keys whose values are shell text: GitHub ``run``, GitLab ``script`` and its hooks."""


def ci_targets(ctx: RepoContext) -> dict[str, dict[str, str]]:
    """Dockerfile path → lower-cased stage name → where CI builds it with ``--target``."""
    return ctx.memo("dockerfile:ci-targets", "", lambda: _scan(ctx))


_ESCAPES = re.compile(r"\\[0-7xuU]|\$'")
"""Escapes that can spell a letter of ``target`` without writing it: YAML double-quoted
``\x74``/``\u0074``, shell ``$'\164'``."""
_QUOTING = str.maketrans("", "", "\"'\\ \t\r\n")


def may_name_target(text: str) -> bool:
    """False only when ``text`` (a CI file, or a script, Makefile or package.json it runs) can
    give no stage to :func:`ci_targets`: a stage comes from ``--target`` or a ``target`` input,
    and quotes, backslashes and line folding (removed here) or escapes are the only ways the
    shell or YAML can spell that word without writing it."""
    return "target" in text.translate(_QUOTING) or _ESCAPES.search(text) is not None


def _scan(ctx: RepoContext) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}

    def add(dockerfile: str | None, target: str | None, where: str) -> None:
        if not dockerfile or not target or _dynamic(target):
            return
        found.setdefault(dockerfile, {}).setdefault(target.lower(), where)

    kinds = (FileKind.WORKFLOW, FileKind.COMPOSITE_ACTION, FileKind.GITLAB_CI)
    files = ctx.files_of(*kinds)
    # Parse only the files that can add an entry: those from which a text that may write a
    # stage is reachable (the file itself, or a script, Makefile or package.json it may run).
    staged = reaching(ctx, [f.path for f in files], lambda path: may_name_target(peeked(ctx, path)))
    for file in files:
        if file.path not in staged:
            continue
        try:
            doc = load_path(ctx, file.path)
        except YamlError:
            continue
        for node in _mappings(doc):
            uses = node.get("uses")
            inputs = node.get("with")
            if isinstance(uses, str) and "build-push-action" in uses and isinstance(inputs, dict):
                add(_action_dockerfile(inputs), _text(inputs.get("target")), file.path)
            workdir = _workdir(node.get("working-directory"))
            for key in _SHELL_KEYS & set(node):
                for text in _texts(node[key]):
                    for command in parse_script(text):
                        for dockerfile, target in _builds(ctx, command, workdir, MAX_DEPTH):
                            add(dockerfile, target, file.path)
    return found


def _builds(
    ctx: RepoContext, command: Command, workdir: str | None, depth: int
) -> Iterator[tuple[str | None, str | None]]:
    for build in find_image_builds([command]):
        if build.kind in ("build", "kaniko") and build.target and workdir is not None:
            yield _dockerfile(build.dockerfile, build.context, workdir), build.target
    if depth <= 0:
        return
    for followed in follow(ctx, command, workdir):
        for inner in followed.commands:
            yield from _builds(ctx, inner, followed.workdir, depth - 1)


def _dockerfile(file: str | None, context: str | None, workdir: str) -> str | None:
    """The Dockerfile a build reads, relative to the root: ``-f`` from the working directory,
    else ``Dockerfile`` in the context."""
    if file is not None:
        return None if _dynamic(file) else normalize(file, workdir)
    if context is None or _dynamic(context):
        return None
    base = normalize(context, workdir)
    return None if base is None else posixpath.join(base, "Dockerfile") if base else "Dockerfile"


def _action_dockerfile(inputs: dict[Any, Any]) -> str | None:
    """build-push-action: ``file`` (from the workspace), else ``<context>/Dockerfile`` (the
    repository root without ``context``)."""
    file = _text(inputs.get("file"))
    context = _text(inputs.get("context")) or "."
    return _dockerfile(file, context, "")


def _mappings(node: Any) -> Iterator[dict[Any, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _workdir(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return ""
    return None if _dynamic(text) else normalize(text)


def _dynamic(text: str) -> bool:
    return "$" in text or "{{" in text

"""The build context: which directory it is (the Dockerfile's or a parent, judged by where the
COPY sources exist), and which of its files reach the builder through ``.dockerignore``."""

from __future__ import annotations

import posixpath

from cacheaudit.analyzers.dockerfile.facts import DEPENDENCY_KINDS, LEAN_FILES
from cacheaudit.analyzers.dockerfile.model import DockerfileModel, _is_dir, _is_glob
from cacheaudit.discovery import classify
from cacheaudit.parsing.dockerfile import ParsedDockerfile, split_words
from cacheaudit.pathindex import below
from cacheaudit.paths import glob_regex, normalize
from cacheaudit.repo import RepoContext


def _candidate_contexts(path: str) -> tuple[str, ...]:
    found = []
    directory = posixpath.dirname(path)
    while True:
        found.append(directory)
        if not directory:
            return tuple(found)
        directory = posixpath.dirname(directory)


def _choose_context(ctx: RepoContext, parsed: ParsedDockerfile, candidates: tuple[str, ...]) -> str:
    """The candidate directory where most literal COPY/ADD/bind sources exist (nearest wins a
    tie): `docker build -f docker/Dockerfile .` is as common as a context beside the file."""
    sources: list[str] = []
    for instruction in parsed.instructions:
        if instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None:
            words = list(instruction.exec_form or split_words(instruction.args))[:-1]
            sources.extend(w.strip("\"'") for w in words)
        for mount in instruction.mounts:
            if mount.type == "bind" and mount.from_ is None and mount.source:
                sources.append(mount.source)
    literal = [
        rel
        for s in sources
        if "$" not in s and not _is_glob(s) and not s.startswith("<<")
        if (rel := normalize(s.lstrip("/") or "."))
    ]

    def score(base: str) -> int:
        return sum(ctx.exists(s, base) or _is_dir(ctx, s, base) for s in literal)

    best = max(candidates, key=lambda c: (score(c), -candidates.index(c)))
    return best


# --- .dockerignore -----------------------------------------------------------------------------


def _ignore_patterns(dc: DockerfileModel) -> list[tuple[bool, str]]:
    """``(re-include, pattern)`` of the ignore file that applies (``<Dockerfile>.dockerignore``
    first, then the context's ``.dockerignore``), relative to the build context."""
    names = [f"{dc.path}.dockerignore", posixpath.join(dc.build_context, ".dockerignore")]
    text = next((t for n in names if (t := dc.ctx.read_text(n)) is not None), None)
    if text is None:
        return []
    patterns = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            body = line[1:].strip() if negate else line
            patterns.append((negate, body.lstrip("/").removeprefix("./")))
    return patterns


def _dockerignore_keeps(rel: str, patterns: list[tuple[bool, str]]) -> bool:
    keep = True
    for negate, pattern in patterns:
        regex = glob_regex("./" + pattern)
        probe = rel
        while probe:
            if regex.match(probe):
                keep = negate
                break
            probe = posixpath.dirname(probe)
    return keep


def _has_source(dc: DockerfileModel, directory: str) -> bool:
    """Whether copying the build-context directory ``directory`` (context-relative, ``""`` for
    the whole context) brings more than dependency manifests and lock files: a
    ``.dockerignore`` allowlist can leave only those."""
    key = f"{dc.path}\0{directory}"
    return dc.ctx.memo("dockerfile:has-source", key, lambda: _scan_source(dc, directory))


def _scan_source(dc: DockerfileModel, directory: str) -> bool:
    patterns = _ignore_patterns(dc)
    base = dc.build_context
    prefix = posixpath.join(base, directory) if directory else base
    for path in below(dc.ctx, prefix):  # the paths that start with `prefix/` (all for "")
        rel = path[len(base) + 1 :] if base else path
        if patterns and not _dockerignore_keeps(rel, patterns):
            continue
        if not _dependency_file(rel):
            return True
    return any(
        _inside(path, directory) and not _dependency_file(path)
        for path in _named_elsewhere(dc, patterns)
    )


def _named_elsewhere(dc: DockerfileModel, patterns: list[tuple[bool, str]]) -> list[str]:
    """Context paths the Dockerfile copies or bind-mounts, and the ``.dockerignore`` lets back
    in, that the scanned tree lacks (generated before the build, or a partial checkout): the
    real build context has them, so they count as what a copy brings. Globs are left out."""
    sources: list[str] = []
    for instruction in dc.parsed.instructions:
        copies = instruction.keyword in ("COPY", "ADD") and not instruction.heredocs
        if copies and instruction.flag("from") is None:
            words = list(instruction.exec_form or split_words(instruction.args))[:-1]
            sources.extend(w.strip("\"'") for w in words)
        for mount in instruction.mounts:
            if mount.type == "bind" and mount.from_ is None and mount.source:
                sources.append(mount.source)
    sources.extend(p for negate, p in patterns if negate)
    named = []
    for source in sources:
        if "$" in source or _is_glob(source) or "://" in source:
            continue
        rel = normalize(source.lstrip("/") or ".")
        if not rel or (patterns and not _dockerignore_keeps(rel, patterns)):
            continue
        if not dc.ctx.exists(rel, dc.build_context) and not _is_dir(dc.ctx, rel, dc.build_context):
            named.append(rel)
    return named


def _inside(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory.rstrip("/") + "/")


def _brings_source_tree(dc: DockerfileModel, source: str) -> bool:
    """Whether a copy of the context path ``source`` brings source code wholesale: a directory
    (or glob) holding more than manifests and lock files, or a directory-like path the scanned
    tree lacks. A single file named on its own (``COPY src/pkg/__about__.py src/pkg/``) is a
    deliberate pick of what the build needs, not a source copy."""
    if source == "" or _is_dir(dc.ctx, source, dc.build_context):
        return _has_source(dc, source)
    base = dc.build_context
    if _is_glob(source):
        return any(
            not _dependency_file(rel)
            for path in dc.ctx.glob(posixpath.join(base, source) if base else source)
            if (rel := path[len(base) + 1 :] if base else path)
        )
    if dc.ctx.exists(source, base):
        return False
    return "." not in posixpath.basename(source) and not _dependency_file(source)


_METADATA_FILES = (
    "README",
    "LICENSE",
    "LICENCE",
    "CHANGELOG",
    "CHANGES",
    "NOTICE",
    "AUTHORS",
    "COPYING",
)
"""Project metadata a build reads beside its manifest (``readme``, ``license-files``)."""


def _dependency_file(rel: str) -> bool:
    """Manifests, lock files and requirements (also ``requirements/extras/*.txt``), and the
    few files that ride along with them."""
    name = posixpath.basename(rel)
    if classify(rel) in DEPENDENCY_KINDS or name in LEAN_FILES or name == ".dockerignore":
        return True
    if name.upper().startswith(_METADATA_FILES):
        return True
    in_requirements_dir = any(p.startswith("requirements") for p in rel.split("/")[:-1])
    return in_requirements_dir and name.endswith((".txt", ".in", ".pip", ".lock"))

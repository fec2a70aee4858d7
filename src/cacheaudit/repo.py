"""RepoContext: everything one run knows about the repository, shared by all analyzers.

Analyzers ask it "does this file exist?", "what does this glob match?", and read files that
discovery did not classify (GitLab includes, shell scripts) through it, so every read goes
through the same safety checks and happens once.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cacheaudit.discovery import (
    DEFAULT_MAX_FILE_BYTES,
    Discovery,
    FileKind,
    SourceFile,
    read_source,
)
from cacheaudit.model import Finding
from cacheaudit.paths import glob_regex, normalize

T = TypeVar("T")

_WILDCARD = re.compile(r"[*?\[]")


@dataclass
class RepoContext:
    """One run's view of the repository. Per-run caches live here, never in module globals."""

    root: Path
    files: tuple[SourceFile, ...]
    paths: frozenset[str]
    """Every regular file below the root (relative, ``/``-separated), skipped dirs excepted."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    notices: list[Finding] = field(default_factory=list)
    """Notices raised while reading extra files (included YAML, scripts)."""
    workflow_scope: frozenset[str] | None = None
    """The workflows the GitHub analyzer indexes; None: all of them. A run on named files
    narrows it to the workflows that can change what is reported on those files."""
    _by_path: dict[str, SourceFile] = field(default_factory=dict, repr=False)
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)
    _unpeekable: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._by_path = {f.path: f for f in self.files}

    @classmethod
    def from_discovery(cls, root: Path, found: Discovery, max_file_bytes: int) -> RepoContext:
        return cls(
            root=root.resolve(),
            files=tuple(found.files),
            paths=frozenset(found.paths),
            max_file_bytes=max_file_bytes,
        )

    @classmethod
    def from_files(cls, root: Path, files: dict[str, str]) -> RepoContext:
        """A context over in-memory files (tests, property-based fuzzing)."""
        from cacheaudit.discovery import classify

        sources = []
        for path, text in sorted(files.items()):
            kind = classify(path)
            if kind is not None:
                sources.append(SourceFile(kind, path, text))
        return cls(root=root, files=tuple(sources), paths=frozenset(files))

    def with_text(self, path: str, text: str) -> RepoContext:
        """A fresh context (nothing memoised) in which ``path`` reads as ``text``: to audit an
        edit before it is made (``cacheaudit fix``)."""
        files = tuple(SourceFile(f.kind, f.path, text) if f.path == path else f for f in self.files)
        other = RepoContext(self.root, files, self.paths | {path}, self.max_file_bytes)
        other._texts = {**self._texts, path: text}
        return other

    def files_of(self, *kinds: FileKind) -> list[SourceFile]:
        return [f for f in self.files if f.kind in kinds]

    def kind_of(self, path: str) -> FileKind | None:
        """The kind of an audited file (None: not audited)."""
        known = self._by_path.get(path)
        return known.kind if known is not None else None

    def file(self, path: str) -> SourceFile | None:
        return self._by_path.get(path)

    def indexed_workflows(self) -> list[SourceFile]:
        """The workflows the GitHub analyzer indexes (see ``workflow_scope``)."""
        if self.workflow_scope is None:
            return self.files_of(FileKind.WORKFLOW)
        scope = self.workflow_scope
        return [f for f in self.files_of(FileKind.WORKFLOW) if f.path in scope]

    def exists(self, path: str, base: str = "") -> bool:
        """A file (not a directory) at ``path``, relative to directory ``base``."""
        rel = normalize(path, base)
        return rel is not None and rel in self.paths

    def is_dir(self, path: str, base: str = "") -> bool:
        rel = normalize(path, base)
        if rel is None:
            return False
        return rel == "" or rel in self._directories()

    def _directories(self) -> frozenset[str]:
        def compute() -> frozenset[str]:
            dirs: set[str] = set()
            for path in self.paths:
                parent = posixpath.dirname(path)
                while parent and parent not in dirs:
                    dirs.add(parent)
                    parent = posixpath.dirname(parent)
            return frozenset(dirs)

        return self.memo("index", "directories", compute)

    def named(self, name: str) -> list[str]:
        """Sorted paths whose file name is ``name``, anywhere in the tree (indexed once)."""
        return self._names().get(name, [])

    def _names(self) -> dict[str, list[str]]:
        def compute() -> dict[str, list[str]]:
            index: dict[str, list[str]] = {}
            for path in sorted(self.paths):
                index.setdefault(path.rpartition("/")[2], []).append(path)
            return index

        return self.memo("index", "names", compute)

    def _under(self, directory: str) -> list[str]:
        """Paths below ``directory`` (at any depth), from an index built once."""

        def compute() -> dict[str, list[str]]:
            index: dict[str, list[str]] = {}
            for path in self.paths:
                parent = posixpath.dirname(path)
                while parent:
                    index.setdefault(parent, []).append(path)
                    parent = posixpath.dirname(parent)
            return index

        return self.memo("index", "under", compute).get(directory, [])

    def glob(self, pattern: str) -> list[str]:
        """Sorted paths matching a ``**``-aware glob relative to the root (memoised: the same
        patterns recur across thousands of workflows). Only the candidates an index gives are
        matched: the paths below the pattern's literal directory, or with its literal name."""

        def compute() -> list[str]:
            regex = glob_regex(pattern)
            return sorted(p for p in self._glob_candidates(pattern) if regex.match(p))

        return list(self.memo("glob", pattern, compute))

    def _glob_candidates(self, pattern: str) -> Iterable[str]:
        """A superset of the paths ``pattern`` matches (see :func:`glob_regex`)."""
        pat = pattern.strip()
        anchored = pat.startswith(("/", "./"))
        pat = pat.lstrip("/") if pat.startswith("/") else pat.removeprefix("./")
        pat = pat.rstrip("/")
        if "/" not in pat and not anchored:  # a file name at any depth
            if not _WILDCARD.search(pat):
                return self.named(pat)
            name = glob_regex("/" + pat)
            return [p for n, paths in self._names().items() if name.match(n) for p in paths]
        segments = pat.split("/")
        literal = []
        for segment in segments:
            if _WILDCARD.search(segment):
                break
            literal.append(segment)
        if len(literal) == len(segments):  # no wildcard at all
            return [pat] if pat in self.paths else []
        if literal:
            return self._under("/".join(literal))
        if len(segments) == 2 and segments[0] == "**" and not _WILDCARD.search(segments[1]):
            return self.named(segments[1])
        return self.paths

    def matching(self, patterns: Iterable[str]) -> list[str]:
        """Sorted paths matched by one of ``patterns`` and by none of its ``!pattern`` ones
        (a cache key's ``files:`` list, ``hashFiles`` arguments)."""
        positive: set[str] = set()
        negative: set[str] = set()
        for pattern in patterns:
            pat = pattern.strip()
            if pat.startswith("!"):
                negative.update(self.glob(pat[1:]))
            elif pat:
                positive.update(self.glob(pattern))
        return sorted(positive - negative)

    def read_text(self, path: str) -> str | None:
        """Text of any file below the root (classified or not), read at most once; None with a
        CA002 notice when it cannot be read safely, None silently when it does not exist."""
        rel = normalize(path)
        if rel is None:
            return None
        known = self._by_path.get(rel)
        if known is not None:
            return known.text
        if rel in self._texts:
            return self._texts[rel]
        text: str | None = None
        if rel in self.paths:
            result = read_source(self.root, rel, self.max_file_bytes)
            if isinstance(result, Finding):
                self.notices.append(result)
            else:
                text = result
        self._texts[rel] = text
        return text

    def peek_text(self, path: str) -> str | None:
        """:meth:`read_text` for a test that only narrows what is analysed: a file that cannot
        be read gives None without a notice, and stays unread, so the analyzer that reads it
        reports it (CA002) exactly as when nothing peeked."""
        rel = normalize(path)
        if rel is None or rel not in self.paths:
            return None
        known = self._by_path.get(rel)
        if known is not None:
            return known.text
        if rel in self._texts:
            return self._texts[rel]
        result = read_source(self.root, rel, self.max_file_bytes)
        if isinstance(result, Finding):
            self._unpeekable.add(rel)
            return None
        self._texts[rel] = result
        return result

    def read_digests(self) -> dict[str, str]:
        """A content hash of every file read beyond discovery's (scripts, includes, manifests),
        peeked at or not, for the result cache: a file that could not be read hashes as ``-``."""
        from cacheaudit.cache import digest

        failed = {path: digest(None) for path in self._unpeekable}
        return {**failed, **{path: digest(text) for path, text in self._texts.items()}}

    def memo(self, namespace: str, key: str, compute: Callable[[], T]) -> T:
        """Compute once per run: parsed documents, resolved configurations."""
        slot = (namespace, key)
        if slot not in self._memo:
            self._memo[slot] = compute()
        value: T = self._memo[slot]
        return value

    def remember(self, namespace: str, key: str, value: Any) -> None:
        """What :meth:`memo` would compute, computed elsewhere (a pool worker); a value already
        computed here is kept."""
        self._memo.setdefault((namespace, key), value)

    def lock_files(self) -> list[str]:
        return [f.path for f in self.files if f.kind is FileKind.LOCKFILE]

    def any_exists(self, paths: Iterable[str]) -> bool:
        return any(p in self.paths for p in paths)


class LazyRepoContext(RepoContext):
    """A RepoContext over a walk that listed the audited files without reading them (a run on
    named files): each file is read, with discovery's checks, the first time something asks
    for it. ``files`` and ``files_of`` read what they return, so every answer is the one the
    eager context gives; only the cost moves to where it is needed.

    ``read_notices`` receives discovery's CA002 notice for an audited file that cannot be read,
    as the eager walk would have recorded it."""

    def __init__(
        self,
        root: Path,
        paths: frozenset[str],
        unread: dict[str, FileKind],
        max_file_bytes: int,
    ) -> None:
        super().__init__(root.resolve(), (), paths, max_file_bytes)
        self._kinds = dict(sorted(unread.items()))
        self._loaded: dict[str, SourceFile | None] = {}
        self._all: tuple[SourceFile, ...] | None = None
        self._only: frozenset[str] | None = None
        self.read_notices: list[Finding] = []

    def __post_init__(self) -> None:
        pass  # nothing read yet: see file()

    @property
    def files(self) -> tuple[SourceFile, ...]:
        if self._all is None:
            self._all = tuple(f for p in self._kinds if (f := self.file(p)) is not None)
        return self._all

    @files.setter
    def files(self, value: tuple[SourceFile, ...]) -> None:
        pass  # the files are the walk's, read on demand

    def kind_of(self, path: str) -> FileKind | None:
        """The kind of an audited file, without reading it."""
        return self._kinds.get(path)

    def paths_of(self, *kinds: FileKind) -> list[str]:
        """Audited paths of ``kinds``, sorted, without reading them."""
        only = self._only
        return [p for p, k in self._kinds.items() if k in kinds and (only is None or p in only)]

    def restricted(self, paths: Iterable[str]) -> LazyRepoContext:
        """A view of this context (same memo, reads and notices) whose ``files_of`` lists only
        ``paths``: to fill a memo entry from the files that can change it."""
        view = copy.copy(self)
        view._only = frozenset(paths)
        view._all = None
        return view

    def files_of(self, *kinds: FileKind) -> list[SourceFile]:
        return [f for p in self.paths_of(*kinds) if (f := self.file(p)) is not None]

    def indexing(self, workflows: Iterable[str]) -> LazyRepoContext:
        """A view of this context whose GitHub analyzer indexes only ``workflows``: the same
        reads, with its own ``gha`` memo (the index and the facts computed from it)."""
        view = copy.copy(self)
        view.workflow_scope = frozenset(workflows)
        view._memo = {k: v for k, v in self._memo.items() if k[0] != "gha"}
        return view

    def adopt(self, view: LazyRepoContext) -> None:
        """Keep what ``view`` parsed (documents: the same for every scope), not its index."""
        for key, value in view._memo.items():
            if key[0] != "gha":
                self._memo.setdefault(key, value)

    def file(self, path: str) -> SourceFile | None:
        if path in self._loaded:
            return self._loaded[path]
        kind = self._kinds.get(path)
        source: SourceFile | None = None
        if kind is not None:
            result = read_source(self.root, path, self.max_file_bytes)
            if isinstance(result, Finding):
                self.read_notices.append(result)
            else:
                source = SourceFile(kind, path, result)
        self._loaded[path] = source
        return source

    def read_text(self, path: str) -> str | None:
        rel = normalize(path)
        if rel is not None and rel in self._kinds:
            known = self.file(rel)
            if known is not None:
                return known.text
        return super().read_text(path)

    def peek_text(self, path: str) -> str | None:
        rel = normalize(path)
        if rel is not None and rel in self._kinds:
            known = self.file(rel)  # an audited file: read as the eager walk reads it
            return known.text if known is not None else None
        return super().peek_text(path)

    def with_text(self, path: str, text: str) -> RepoContext:
        eager = RepoContext(self.root, self.files, self.paths, self.max_file_bytes)
        eager._texts = dict(self._texts)
        return eager.with_text(path, text)

    def lock_files(self) -> list[str]:
        return self.paths_of_readable(FileKind.LOCKFILE)

    def paths_of_readable(self, *kinds: FileKind) -> list[str]:
        return [f.path for f in self.files_of(*kinds)]

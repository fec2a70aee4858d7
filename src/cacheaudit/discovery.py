"""One walk of the tree: classify the files cacheaudit audits and read them safely.

Symlinks are never followed out of the root; directory symlinks are never followed at all (their
targets inside the root are walked anyway, so loops cannot occur). Oversized, binary, unreadable
and undecodable files become CA002 notices.

``.gitignore`` files (the root's, nested ones, those of parent directories up to the repository
root, and ``.git/info/exclude``) are honoured like git does: ignored paths are not in the
repository a CI job checks out, so they are neither audited nor counted as existing. Paths the
user excludes are different: they exist (a workflow may install from them), they are only not
audited or reported.
"""

from __future__ import annotations

import enum
import fnmatch
import os
import posixpath
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cacheaudit.model import Finding
from cacheaudit.notices import skipped
from cacheaudit.paths import glob_regex, matches_or_under

if TYPE_CHECKING:
    from cacheaudit.config import Config

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_PATHS = 500_000
"""Bound on the number of paths a walk records, so a pathological tree cannot exhaust memory."""

SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox", ".venv", "venv",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "site-packages", ".direnv",
        "dist", ".terraform", "bower_components", ".yarn", ".cache",
    }
)  # fmt: skip


class FileKind(str, enum.Enum):
    WORKFLOW = "workflow"
    COMPOSITE_ACTION = "action"
    GITLAB_CI = "gitlab-ci"
    DOCKERFILE = "dockerfile"
    REQUIREMENTS = "requirements"
    PYPROJECT = "pyproject"
    SETUP_CFG = "setup-cfg"
    SETUP_PY = "setup-py"
    PIPFILE = "pipfile"
    LOCKFILE = "lockfile"
    PACKAGE_JSON = "package-json"


LOCKFILE_NAMES = frozenset(
    {
        "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "package-lock.json",
        "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock",
    }
)  # fmt: skip

_DOCKERFILE_NOT = (
    ".dockerignore", ".md", ".txt", ".json", ".yml", ".yaml", ".sh", ".py", ".go", ".rs", ".js",
    ".ts", ".rb", ".java", ".toml", ".lock", ".orig", ".bak", ".swp",
)  # fmt: skip


def classify(path: str) -> FileKind | None:
    """The kind of a repository-relative path, or None when cacheaudit does not read it."""
    name = posixpath.basename(path)
    parent = posixpath.dirname(path)
    lower = name.lower()
    if parent == ".github/workflows" and lower.endswith((".yml", ".yaml")):
        return FileKind.WORKFLOW
    if name in ("action.yml", "action.yaml"):
        return FileKind.COMPOSITE_ACTION
    if name == ".gitlab-ci.yml":
        return FileKind.GITLAB_CI
    if _is_dockerfile(name):
        return FileKind.DOCKERFILE
    if name in LOCKFILE_NAMES:
        return FileKind.LOCKFILE
    simple = {
        "pyproject.toml": FileKind.PYPROJECT,
        "setup.cfg": FileKind.SETUP_CFG,
        "setup.py": FileKind.SETUP_PY,
        "Pipfile": FileKind.PIPFILE,
        "package.json": FileKind.PACKAGE_JSON,
    }
    if name in simple:
        return simple[name]
    if _is_requirements(name, parent):
        return FileKind.REQUIREMENTS
    return None


def _is_dockerfile(name: str) -> bool:
    lower = name.lower()
    if lower.endswith(_DOCKERFILE_NOT):
        return False
    if lower in ("dockerfile", "containerfile"):
        return True
    # `Dockerfile.prod`, `Dockerfile-alpine`, `DockerfileDebian` by convention, capitalised:
    # `dockerfile.py` is a module, not a build file, and `Dockerfiles` a directory name.
    if re.match(r"(?:Dockerfile|Containerfile)(?:[._-]\w|[A-Z])", name):
        return True
    return lower.endswith((".dockerfile", ".containerfile"))


def _is_requirements(name: str, parent: str) -> bool:
    lower = name.lower()
    if lower.endswith(".txt"):
        if fnmatch.fnmatchcase(lower, "*requirements*.txt"):
            return True
        if fnmatch.fnmatchcase(lower, "*constraints*.txt"):
            return True
        return posixpath.basename(parent) in ("requirements", "reqs")
    # pip-tools inputs (requirements.in, dev.in); MANIFEST.in and templates are not requirements.
    return (
        lower.endswith(".in")
        and lower != "manifest.in"
        and lower.count(".") == 1
        and (
            "requirements" in lower
            or "constraints" in lower
            or posixpath.basename(parent) in ("requirements", "reqs")
        )
    )


@dataclass(frozen=True)
class SourceFile:
    """A file cacheaudit audits, read and decoded once."""

    kind: FileKind
    path: str
    """Relative to the root, ``/``-separated."""
    text: str
    """Decoded text; a UTF-8 BOM removed and line endings normalised to ``\\n``."""


@dataclass
class Discovery:
    """What one walk found."""

    files: list[SourceFile] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    """Every regular file in the tree (not only audited ones, and excluded ones too), for globs
    and existence checks; git-ignored files are not in it."""
    excluded: set[str] = field(default_factory=set)
    """Files that exist but match an ``exclude`` pattern: never audited or reported."""
    notices: list[Finding] = field(default_factory=list)
    truncated: bool = False
    unread: dict[str, FileKind] = field(default_factory=dict)
    """Audited files a walk with ``read=False`` listed but did not read (a named-file run reads
    them on demand through :class:`cacheaudit.repo.LazyRepoContext`), in walk order."""


@dataclass(frozen=True)
class _IgnoreRule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


@dataclass
class GitIgnore:
    """The ``.gitignore`` rules that apply below one directory, git's semantics: a pattern
    without a slash (other than a trailing one) matches a name at any depth below its file's
    directory, otherwise it is anchored there; ``!`` re-includes; a trailing ``/`` matches
    directories only; the last matching rule wins, deeper files after shallower ones. A path
    inside an ignored directory is never re-included (the walk never enters it)."""

    layers: list[tuple[str, list[_IgnoreRule]]] = field(default_factory=list)
    """(directory relative to the walk's root, its rules), shallowest first."""

    def with_file(self, directory: str, text: str) -> GitIgnore:
        rules = [rule for line in text.splitlines() if (rule := _ignore_rule(line)) is not None]
        if not rules:
            return self
        return GitIgnore([*self.layers, (directory, rules)])

    def ignored(self, path: str, is_dir: bool) -> bool:
        verdict = False
        for directory, rules in self.layers:
            if directory:
                if not path.startswith(directory + "/"):
                    continue
                relative = path[len(directory) + 1 :]
            else:
                relative = path
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(relative):
                    verdict = not rule.negated
        return verdict


def _ignore_rule(line: str) -> _IgnoreRule | None:
    line = line.rstrip("\n\r")
    if not line.strip() or line.startswith("#"):
        return None
    # Trailing spaces are ignored unless escaped with a backslash.
    while line.endswith(" ") and not line.endswith("\\ "):
        line = line[:-1]
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    if line.startswith(("\\#", "\\!")):
        line = line[1:]
    dir_only = line.endswith("/")
    body = line.rstrip("/")
    if not body:
        return None
    anchored = "/" in body
    pattern = "/" + body.lstrip("/") if anchored else body
    return _IgnoreRule(glob_regex(pattern), negated, dir_only)


def _read_small(path: Path) -> str:
    """A .gitignore-like file's text; empty when it cannot be read safely (never an error: a
    missing ignore file ignores nothing)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1024 * 1024:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parent_ignores(root: Path, repository: Path | None) -> GitIgnore:
    """Rules of ``.git/info/exclude`` and of the ``.gitignore`` files between the repository
    root and ``root`` (``root``'s own is read by the walk), as they apply below ``root``."""
    ignore = GitIgnore()
    if repository is None:
        return ignore
    root, repository = root.resolve(), repository.resolve()
    if not root.is_relative_to(repository):
        return ignore
    prefix = root.relative_to(repository).as_posix()
    prefix = "" if prefix == "." else prefix
    texts = [("", _read_small(repository / ".git" / "info" / "exclude"))]
    parts = prefix.split("/") if prefix else []
    texts += [("/".join(parts[:i]), _read_small(repository.joinpath(*parts[:i], ".gitignore")))
              for i in range(len(parts))]  # fmt: skip
    # Rules written above the root see paths as `prefix/path`: a wrapper rewrites them.
    for directory, text in texts:
        rules = [rule for line in text.splitlines() if (rule := _ignore_rule(line)) is not None]
        if rules:
            ignore.layers.append((directory, rules))
    return _Rebased(ignore.layers, prefix) if prefix else ignore


@dataclass
class _Rebased(GitIgnore):
    """Rules from above the walk's root: paths are seen from the repository root."""

    prefix: str = ""

    def with_file(self, directory: str, text: str) -> GitIgnore:
        rules = [rule for line in text.splitlines() if (rule := _ignore_rule(line)) is not None]
        if not rules:
            return self
        return _Rebased([*self.layers, (self._full(directory), rules)], self.prefix)

    def ignored(self, path: str, is_dir: bool) -> bool:
        return super().ignored(self._full(path), is_dir)

    def _full(self, path: str) -> str:
        return f"{self.prefix}/{path}" if path else self.prefix


def read_source(
    root: Path, path: str, max_bytes: int, *, real: str | None = None
) -> str | Finding:
    """Read ``root/path`` safely: decoded text, or a CA002 notice saying why not. ``real``: the
    file's resolved path when the caller knows it (the walk below a resolved root never enters a
    directory symlink, so a file that is not a symlink is at its real path)."""
    if real is None:
        try:
            resolved = (root / path).resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # loops raise RuntimeError on 3.10, OSError later
            return skipped(path, f"cannot resolve ({type(exc).__name__}: symlink loop?)")
        # ``resolved`` is fully resolved, so when it lies under ``root`` as given, ``root`` is
        # resolved already: resolve it (one more realpath per file) only when it does not.
        if not (resolved.is_relative_to(root) or resolved.is_relative_to(root.resolve())):
            return skipped(path, "symlink leading outside the scanned root")
        real = str(resolved)
    try:  # plain os calls on a string: pathlib's objects were a third of the walk's time
        info = os.stat(real)
        if not stat.S_ISREG(info.st_mode):
            return skipped(path, "not a regular file")
        if info.st_size > max_bytes:
            return skipped(path, f"too large ({info.st_size:,} bytes; the limit is {max_bytes:,})")
        with open(real, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return skipped(path, f"unreadable ({exc.strerror or exc})")
    if len(data) > max_bytes:
        return skipped(path, f"too large (over {max_bytes:,} bytes)")
    if b"\0" in data[:8192]:
        return skipped(path, "binary content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return skipped(path, f"not valid UTF-8 (byte {exc.start})")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def discover(
    root: Path,
    *,
    exclude: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    respect_gitignore: bool = True,
    repository: Path | None = None,
    read: bool = True,
) -> Discovery:
    """Walk ``root`` once; never follow directory symlinks, never leave the root. ``repository``
    (the enclosing git repository's root) supplies the ``.gitignore`` files above ``root``.
    ``read=False`` lists the audited files in ``unread`` instead of reading them."""
    found = Discovery()
    patterns = tuple(exclude)
    root = root.resolve()
    base = parent_ignores(root, repository) if respect_gitignore else GitIgnore()
    # (directory, whether it is excluded, the ignore rules that apply in it)
    stack: list[tuple[str, bool, GitIgnore]] = [("", False, base)]
    while stack:
        rel_dir, dir_excluded, ignore = stack.pop()
        try:
            entries = sorted(os.scandir(root / rel_dir), key=lambda e: e.name)
        except OSError as exc:
            found.notices.append(skipped(rel_dir or ".", f"unreadable directory ({exc})"))
            continue
        if respect_gitignore and any(e.name == ".gitignore" for e in entries):
            ignore = ignore.with_file(rel_dir, _read_small(root / rel_dir / ".gitignore"))
        subdirs: list[tuple[str, bool, GitIgnore]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if respect_gitignore and ignore.ignored(rel, is_dir):
                continue
            excluded = dir_excluded or any(matches_or_under(p, rel) for p in patterns)
            if is_dir:
                if _walkable(entry.name, entry.path):
                    subdirs.append((rel, excluded, ignore))
                continue
            kind = classify(rel)
            problem = _link_problem(root, entry.path) if is_link else None
            if problem is not None:
                if kind is not None and not excluded:
                    found.notices.append(skipped(rel, problem))
                continue
            if len(found.paths) >= MAX_PATHS:
                found.truncated = True
                continue
            found.paths.add(rel)
            if excluded:
                found.excluded.add(rel)
                continue
            if kind is None:
                continue
            if not read:
                found.unread[rel] = kind
                continue
            text = read_source(root, rel, max_bytes, real=None if is_link else entry.path)
            if isinstance(text, Finding):
                found.notices.append(text)
            else:
                found.files.append(SourceFile(kind, rel, text))
        stack.extend(reversed(subdirs))
    found.files.sort(key=lambda f: f.path)
    return found


def _walkable(name: str, full: str) -> bool:
    # Virtualenvs go by any name; their pyvenv.cfg gives them away.
    if name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return False
    return not os.path.exists(os.path.join(full, "pyvenv.cfg"))


def _link_problem(root: Path, link: str) -> str | None:
    """Why a file symlink is not read, or None when it points at a file inside the root."""
    try:
        target = Path(link).resolve(strict=True)
    except (OSError, RuntimeError):  # loops raise RuntimeError on 3.10, OSError later
        return "broken symlink or symlink loop"
    if not target.is_relative_to(root):
        return "symlink leading outside the scanned root"
    if not target.is_file():
        return "symlink to something that is not a regular file"
    return None


def discover_for(config: Config, *, read: bool = True) -> Discovery:
    """The walk of ``config.root`` with the run's exclusions, bounds and .gitignore setting
    (``read=False``: listed, not read, as a named-file run wants it)."""
    return discover(
        config.root,
        exclude=config.exclude,
        max_bytes=config.max_file_bytes,
        respect_gitignore=config.respect_gitignore,
        repository=config.repository,
        read=read,
    )

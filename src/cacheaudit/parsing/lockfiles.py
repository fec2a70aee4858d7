"""Lock files: which exist, which package manager owns each, what versions they pin, and how
many packages (and bytes, where recorded) an install of one downloads (:func:`count_lock_packages`).

Compiled requirements files (pip-compile, ``uv pip compile``, ``uv export``, ``pdm export``)
are locks too; they are recognised by their header in :mod:`cacheaudit.parsing.requirements`.
"""

from __future__ import annotations

import functools
import json
import pickle
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from cacheaudit.installs import LOCKFILES_BY_TOOL

if TYPE_CHECKING:
    from cacheaudit.repo import RepoContext

TOOL_BY_LOCKFILE: dict[str, str] = {
    name: tool for tool, names in LOCKFILES_BY_TOOL.items() for name in names
}
"""``uv.lock`` → ``uv``, ``package-lock.json`` → ``npm``..."""

PYTHON_LOCK_TOOLS = ("uv", "poetry", "pdm", "pipenv")
NODE_LOCK_TOOLS = ("npm", "yarn", "pnpm")

WORKSPACE_LOCK_TOOLS = frozenset({"uv", "npm", "yarn", "pnpm"})
"""Tools whose one lock at a workspace root serves member projects in subdirectories."""


@dataclass(frozen=True)
class LockFile:
    path: str
    tool: str
    """The package manager that reads it (``uv``, ``poetry``, ``npm``...)."""

    @functools.cached_property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @functools.cached_property
    def directory(self) -> str:
        return posixpath.dirname(self.path)


def lock_files(ctx: RepoContext) -> tuple[LockFile, ...]:
    """Every lock file in the repository, sorted by path."""

    def compute() -> tuple[LockFile, ...]:
        found = [
            LockFile(path, TOOL_BY_LOCKFILE[posixpath.basename(path)])
            for path in sorted(ctx.paths)
            if posixpath.basename(path) in TOOL_BY_LOCKFILE
        ]
        return tuple(found)

    return ctx.memo("lockfiles", "", compute)


def locks_for(ctx: RepoContext, directory: str, tools: tuple[str, ...]) -> list[LockFile]:
    """Lock files of ``tools`` that serve a project in ``directory``: in it, or (for workspace
    tools) in one of its parents."""
    by_directory = _locks_by_directory(ctx)
    found = [lock for lock in by_directory.get(directory, ()) if lock.tool in tools]
    # The parents `_is_parent` accepts: every prefix of `directory` that ends before a "/",
    # and the root.
    parents = {directory[:i] for i, char in enumerate(directory) if char == "/"}
    parents.add("")
    parents.discard(directory)
    for parent in parents:
        found.extend(
            lock
            for lock in by_directory.get(parent, ())
            if lock.tool in tools and lock.tool in WORKSPACE_LOCK_TOOLS
        )
    found.sort(key=lambda lock: lock.path)  # the order of lock_files()
    return found


def _locks_by_directory(ctx: RepoContext) -> dict[str, list[LockFile]]:
    def compute() -> dict[str, list[LockFile]]:
        index: dict[str, list[LockFile]] = {}
        for lock in lock_files(ctx):
            index.setdefault(lock.directory, []).append(lock)
        return index

    return ctx.memo("lockfiles", "by-directory", compute)


def locked_versions(ctx: RepoContext, path: str) -> dict[str, str] | None:
    """Canonical name → version pinned by a Python lock file (uv.lock, poetry.lock, pdm.lock,
    Pipfile.lock); None when the file cannot be read or parsed (the versions are then unknown,
    never guessed)."""

    def compute() -> dict[str, str] | None:
        name = posixpath.basename(path)
        if name == "Pipfile.lock":
            text = ctx.read_text(path)
            return None if text is None else _pipfile_lock(text)
        if name in ("uv.lock", "poetry.lock", "pdm.lock"):
            data = toml_document(ctx, path)
            return None if data is None else _toml_packages(data)
        return None

    return ctx.memo("locked-versions", path, compute)


def toml_document(ctx: RepoContext, path: str) -> dict[str, Any] | str | None:
    """The TOML file at ``path`` as :func:`load_toml` gives it, parsed once per run and shared
    by every reader (a uv.lock can be a megabyte: version lookups and package counts read the
    same parse); None when the file cannot be read. Each reader gets its own copy.

    Between readers the parse is kept pickled: the monorepo benchmark's TOML locks are 26 MB
    as objects and 5 MB pickled, and they were the largest part of the run's peak memory;
    unpickling costs a tenth of parsing."""

    stored = stored_toml(ctx, path)
    document: dict[str, Any] | str | None = None if stored is None else pickle.loads(stored)
    return document


TOML_LOCKS = frozenset({"uv.lock", "poetry.lock", "pdm.lock"})
"""Lock files in TOML, whose parse :func:`toml_document` shares."""


def stored_toml(ctx: RepoContext, path: str) -> bytes | None:
    """:func:`toml_document`'s parse as it is kept (pickled), parsed once per run."""
    return ctx.memo("toml", path, lambda: parse_toml_ahead(ctx, path))


def parse_toml_ahead(ctx: RepoContext, path: str) -> bytes | None:
    """:func:`stored_toml`'s value, computed without keeping it: what a pool worker that parses
    the lock files ahead sends back, for :func:`seed_toml`."""
    text = ctx.read_text(path)
    return None if text is None else pickle.dumps(load_toml(text), pickle.HIGHEST_PROTOCOL)


def seed_toml(ctx: RepoContext, stored: dict[str, bytes | None]) -> None:
    """Keep parses made elsewhere (:func:`parse_toml_ahead`, in a pool worker) as this run's."""
    for path, value in stored.items():
        ctx.remember("toml", path, value)


def yarn_flavour(ctx: RepoContext, directory: str) -> str:
    """``berry`` (Yarn 2+) or ``classic`` for the project in ``directory``, from evidence: a
    ``.yarnrc.yml``, the ``packageManager`` field, or the lock file's format."""
    for parent in _self_and_parents(directory):
        manifest = _json(ctx.read_text(posixpath.join(parent, "package.json")))
        manager = manifest.get("packageManager") if isinstance(manifest, dict) else None
        if isinstance(manager, str) and manager.startswith("yarn@"):
            return "classic" if manager.startswith("yarn@1.") else "berry"
        if posixpath.join(parent, ".yarnrc.yml") in ctx.paths:
            return "berry"
        lock = ctx.read_text(posixpath.join(parent, "yarn.lock"))
        if lock is not None:
            return "berry" if "__metadata:" in lock else "classic"
    return "classic"


def load_toml(text: str) -> dict[str, Any] | str:
    """A TOML document, or the parser's message when it is invalid."""
    import tomli

    try:
        data: dict[str, Any] = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        return str(exc)
    except RecursionError:
        return "document is nested too deeply"
    return data


def _toml_packages(data: dict[str, Any] | str) -> dict[str, str] | None:
    if isinstance(data, str):
        return None
    packages = data.get("package")
    if not isinstance(packages, list):
        return {}
    versions: dict[str, str] = {}
    for package in packages:
        if not isinstance(package, dict):
            continue
        name, version = package.get("name"), package.get("version")
        if isinstance(name, str) and isinstance(version, str):
            versions.setdefault(canonicalize_name(name), version)
    return versions


def _pipfile_lock(text: str) -> dict[str, str] | None:
    data = _json(text)
    if not isinstance(data, dict):
        return None
    versions: dict[str, str] = {}
    for section in ("default", "develop"):
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str):
                versions.setdefault(canonicalize_name(name), version.lstrip("="))
    return versions


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _self_and_parents(directory: str) -> list[str]:
    out = [directory]
    while directory:
        directory = posixpath.dirname(directory)
        out.append(directory)
    return out

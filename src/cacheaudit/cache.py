"""Content-hash result cache (on by default; ``--no-cache`` turns it off).

A run's report is stored under a key made of everything the report depends on: cacheaudit's
version, the effective configuration (which includes the command line's options and the targets),
the sorted list of walked paths, the content of every file discovery read and of the baseline.
The entry also records a hash of every other file the run read through :class:`RepoContext`
(shell scripts, GitLab includes, lock files, manifests...); a lookup re-reads and re-hashes those,
so editing any of them misses. A hit renders the stored report without importing an analyzer or
a parser.

Location: ``$CACHEAUDIT_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/cacheaudit``, else
``~/.cache/cacheaudit``: never inside the audited repository unless that variable points there.
Entries are written to a temporary file and renamed into place, so concurrent runs never see a
half-written entry; an entry that cannot be read, was written by another version, or holds
anything but cacheaudit's own types is ignored (and overwritten by the next miss).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from cacheaudit import __version__
from cacheaudit.config import Config
from cacheaudit.discovery import Discovery, discover, read_source
from cacheaudit.model import Finding, Report

FORMAT = 1
"""Bumped when the entry layout changes."""
MAX_ENTRIES = 256
"""Oldest entries beyond this many are removed after a store."""


def directory() -> Path:
    explicit = os.environ.get("CACHEAUDIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "cacheaudit"


@dataclass
class Lookup:
    """The outcome of a lookup: the discovery it made (reused on a miss), the key, and the
    stored report on a hit."""

    key: str
    found: Discovery
    report: Report | None = None


def digest(text: str | None) -> str:
    if text is None:
        return "-"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def lookup(config: Config) -> Lookup:
    found = discover(
        config.root,
        exclude=config.exclude,
        max_bytes=config.max_file_bytes,
        respect_gitignore=config.respect_gitignore,
        repository=config.repository,
    )
    key = key_for(config, found)
    return Lookup(key, found, _load(config, key))


def key_for(config: Config, found: Discovery) -> str:
    head = {
        "format": FORMAT,
        "version": __version__,
        "python": list(sys.version_info[:2]),
        "config": _canonical(config),
        "paths": sorted(found.paths),
        "truncated": found.truncated,
        "notices": [_canonical(n) for n in found.notices],
    }
    h = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
    for source in found.files:
        h.update(f"\0{source.kind.value}\0{source.path}\0".encode("utf-8", "surrogatepass"))
        h.update(digest(source.text).encode())
    if config.baseline is not None:
        try:
            h.update(b"\0baseline\0" + config.baseline.read_bytes())
        except OSError:
            h.update(b"\0baseline\0-")
    return h.hexdigest()


def store(config: Config, key: str, report: Report, reads: Mapping[str, str]) -> None:
    """Write the entry atomically; a cache that cannot be written is silently skipped."""
    entry = {"format": FORMAT, "version": __version__, "key": key, "reads": dict(reads)}
    where = directory()
    try:
        where.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump((entry, report), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, where / f"{key}.pickle")
        except BaseException:
            with _suppress_os_error():
                os.unlink(temporary)
            raise
        _prune(where)
    except (OSError, pickle.PicklingError, RecursionError):
        return


def _load(config: Config, key: str) -> Report | None:
    try:
        data = (directory() / f"{key}.pickle").read_bytes()
        entry, report = _Unpickler(io.BytesIO(data)).load()
    except Exception:  # missing, truncated, foreign: a miss
        return None
    if not (
        isinstance(entry, dict)
        and entry.get("format") == FORMAT
        and entry.get("version") == __version__
        and entry.get("key") == key
        and isinstance(entry.get("reads"), dict)
        and isinstance(report, Report)
    ):
        return None
    for path, expected in entry["reads"].items():
        text = read_source(config.root.resolve(), path, config.max_file_bytes)
        if digest(None if isinstance(text, Finding) else text) != expected:
            return None
    return report


class _Unpickler(pickle.Unpickler):
    """Only cacheaudit's own types and plain containers: a foreign file cannot run code."""

    SAFE_BUILTINS = frozenset({"set", "frozenset", "tuple", "list", "dict", "str", "int"})

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("cacheaudit.") or (
            module == "builtins" and name in self.SAFE_BUILTINS
        ):
            return super().find_class(module, name)
        if module == "pathlib" and name in ("PosixPath", "WindowsPath", "Path"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")


def _prune(where: Path) -> None:
    entries = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        with _suppress_os_error():
            old.unlink()


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return kind is not None and issubclass(kind, OSError)


def _canonical(value: Any) -> Any:
    """A JSON-able, order-independent picture of a configuration value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return sorted([str(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(json.dumps(_canonical(v), sort_keys=True) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value

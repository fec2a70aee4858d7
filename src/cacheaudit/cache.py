"""Content-hash result cache (on by default; ``--no-cache`` turns it off).

A run's report is stored under a key made of everything the report depends on: cacheaudit's
version, the effective configuration (which includes the command line's options and the targets),
the sorted list of walked paths, the content of every file discovery read and of the baseline.
The entry also records a hash of every other file the run read through :class:`RepoContext`
(shell scripts, GitLab includes, lock files, manifests...); a lookup re-reads and re-hashes those,
so editing any of them misses. A hit imports no analyzer and no parser.

Beside an entry, each output rendered from it is stored as text, one file per format and the
options that change its rendering (colour, width, ASCII, the directory paths are shown from): a
hit writes those bytes without unpickling the report or importing a renderer. The entry also keeps
the run's exit reasons (the thresholds are part of the key), so a hit needs nothing else.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from cacheaudit import __version__
from cacheaudit.config import Config
from cacheaudit.discovery import Discovery, discover_for, read_source
from cacheaudit.model import Finding, Report

FORMAT = 2
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
    """The outcome of a lookup: the discovery it made (reused on a miss), the key, and on a hit
    the stored exit reasons and the pickled report (unpickled only when something must be
    rendered from it)."""

    key: str
    found: Discovery
    reasons: list[str] | None = None
    """The exit reasons of the run that stored the entry; None on a miss."""
    payload: bytes | None = None

    @property
    def hit(self) -> bool:
        return self.reasons is not None

    def report(self) -> Report | None:
        """The stored report (None on a miss or when it cannot be read back)."""
        if self.payload is None:
            return None
        try:
            report = _Unpickler(io.BytesIO(self.payload)).load()
        except Exception:  # truncated or foreign: a miss
            return None
        return report if isinstance(report, Report) else None


def digest(text: str | None) -> str:
    if text is None:
        return "-"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def lookup(config: Config) -> Lookup:
    found = discover_for(config)
    key = key_for(config, found)
    loaded = _load(config, key)
    if loaded is None:
        return Lookup(key, found)
    return Lookup(key, found, reasons=loaded[0], payload=loaded[1])


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


def store(
    config: Config, key: str, report: Report, reads: Mapping[str, str], reasons: Sequence[str]
) -> None:
    """Write the entry atomically; a cache that cannot be written is silently skipped."""
    entry = {
        "format": FORMAT,
        "version": __version__,
        "key": key,
        "reads": dict(reads),
        "reasons": list(reasons),
    }
    try:
        payload = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
        data = pickle.dumps((entry, payload), protocol=pickle.HIGHEST_PROTOCOL)
        where = directory()
        _write_atomic(where, f"{key}.pickle", data)
        _prune(where)
    except (OSError, pickle.PicklingError, RecursionError):
        return


def output_key(key: str, *parts: object) -> str:
    """The name of one rendered output of the entry ``key``: the format and every option that
    changes its text."""
    described = json.dumps([FORMAT, __version__, key, *parts], default=str)
    return hashlib.sha256(described.encode("utf-8", "surrogatepass")).hexdigest()


def load_output(key: str, name: str) -> str | None:
    """A rendered output stored beside the entry ``key``; None when absent or not ours."""
    try:
        data = (directory() / f"{key}.{name}.out").read_bytes()
    except OSError:
        return None
    head, newline, body = data.partition(b"\n")
    if head != _output_header(name, len(body)) or not newline:
        return None
    try:
        return body.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def store_output(key: str, name: str, text: str) -> None:
    """Store one rendered output atomically (silently skipped when the cache is not writable)."""
    body = text.encode("utf-8", "surrogatepass")
    data = _output_header(name, len(body)) + b"\n" + body
    try:
        _write_atomic(directory(), f"{key}.{name}.out", data)
    except OSError:
        return


def _output_header(name: str, size: int) -> bytes:
    return f"cacheaudit-output {FORMAT} {__version__} {name} {size}".encode()


def _write_atomic(where: Path, filename: str, data: bytes) -> None:
    """Write to a temporary file and rename it into place: readers never see half a file."""
    import tempfile  # only when writing: a hit does not need it

    where.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=where, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, where / filename)
    except BaseException:
        with _suppress_os_error():
            os.unlink(temporary)
        raise


def _load(config: Config, key: str) -> tuple[list[str], bytes] | None:
    """The stored exit reasons and pickled report of ``key``, when the entry is ours and every
    file the run read beyond discovery is unchanged."""
    try:
        data = (directory() / f"{key}.pickle").read_bytes()
        entry, payload = _Unpickler(io.BytesIO(data)).load()
    except Exception:  # missing, truncated, foreign: a miss
        return None
    if not (
        isinstance(entry, dict)
        and entry.get("format") == FORMAT
        and entry.get("version") == __version__
        and entry.get("key") == key
        and isinstance(entry.get("reads"), dict)
        and isinstance(entry.get("reasons"), list)
        and all(isinstance(r, str) for r in entry["reasons"])
        and isinstance(payload, bytes)
    ):
        return None
    root = config.root.resolve()
    missing = digest(None)
    for path, expected in entry["reads"].items():
        # Most reads beyond discovery probe for files that do not exist (a .dockerignore beside
        # each Dockerfile): still absent is still a match, without building a notice.
        if expected == missing and not os.path.lexists(os.path.join(root, path)):
            continue
        text = read_source(root, path, config.max_file_bytes)
        if digest(None if isinstance(text, Finding) else text) != expected:
            return None
    return entry["reasons"], payload


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
    """Keep the newest ``MAX_ENTRIES`` entries, and only the outputs of entries that remain."""
    entries = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        with _suppress_os_error():
            old.unlink()
    kept = {p.name.removesuffix(".pickle") for p in entries[:MAX_ENTRIES]}
    for output in where.glob("*.out"):
        if output.name.partition(".")[0] not in kept:
            with _suppress_os_error():
                output.unlink()


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

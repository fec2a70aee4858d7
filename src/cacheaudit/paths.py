"""Glob matching on repository-relative POSIX paths (``**`` aware), shared by excludes, config
per-path ignores, GitHub ``hashFiles``/``cache-dependency-path`` and GitLab ``key: files``."""

from __future__ import annotations

import functools
import posixpath
import re


@functools.lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob: ``**`` crosses directories, ``*`` and ``?`` do not, ``[...]`` classes.

    A pattern without ``/`` matches a name at any depth (as in ``.gitignore``), so
    ``*.lock`` matches ``a/b/poetry.lock``. A leading ``./`` or ``/`` anchors at the root.
    """
    pat = pattern.strip()
    anchored = pat.startswith(("/", "./"))
    pat = pat.lstrip("/") if pat.startswith("/") else pat.removeprefix("./")
    pat = pat.rstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pat):
        char = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pat.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                body = pat[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    body = "".join(out)
    if "/" not in pat and not anchored:
        body = "(?:.*/)?" + body
    try:
        return re.compile(body + r"\Z")
    except re.error:  # a malformed class such as [z-a]: match the pattern literally
        return re.compile(re.escape(pat) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """True when ``path`` (relative, ``/``-separated) matches ``pattern``."""
    return glob_regex(pattern).match(path) is not None


def matches_or_under(pattern: str, path: str) -> bool:
    """True when ``path`` or one of its parent directories matches ``pattern``: excluding a
    directory excludes what is in it."""
    regex = glob_regex(pattern)
    while path:
        if regex.match(path):
            return True
        path = posixpath.dirname(path)
    return False


def normalize(path: str, base: str = "") -> str | None:
    """``path`` relative to directory ``base``, normalised; None when it climbs out of the root
    or is absolute."""
    path = path.strip()
    if not path or path.startswith("/") or base.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined

"""Does a file still parse after an edit? YAML loads, a Dockerfile reads without problems, TOML
loads. Used before any edited text is kept."""

from __future__ import annotations

from cacheaudit.discovery import FileKind, classify


def parses(path: str, data: bytes) -> str | None:
    """None when ``data`` (the new bytes of ``path``) parses as its kind; else the problem."""
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        return f"not UTF-8: {exc}"
    kind = classify(path)
    name = path.rpartition("/")[2]
    if path.endswith((".yml", ".yaml")) or kind in (
        FileKind.WORKFLOW,
        FileKind.COMPOSITE_ACTION,
        FileKind.GITLAB_CI,
    ):
        from cacheaudit.parsing.yaml import YamlError, load

        try:
            load(text)
        except YamlError as exc:
            return f"YAML: {exc}"
        return None
    if kind is FileKind.DOCKERFILE:
        from cacheaudit.parsing.dockerfile import parse

        parsed = parse(text)
        return f"Dockerfile: {parsed.problems[0].message}" if parsed.problems else None
    if name.endswith(".toml"):
        import tomli

        try:
            tomli.loads(text)
        except tomli.TOMLDecodeError as exc:
            return f"TOML: {exc}"
    return None

"""Image builds in ``run:`` that name no Dockerfile: ``docker compose build``, ``docker-compose
build``, ``docker compose up --build`` and ``docker buildx bake``. The files they read (compose
files from ``-f``, ``COMPOSE_FILE`` or the default names; bake files) say which Dockerfiles are
built and whether a layer cache source (``cache_from`` / ``cache-from``) is configured.

Compose files are parsed with the project's YAML loader; bake's HCL files have no parser here,
so only whether they mention ``cache-from`` at all is read from them.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cacheaudit.analyzers.github_actions.model import _is_expr, _map
from cacheaudit.parsing.shell import ImageBuildCommand
from cacheaudit.parsing.yaml import YamlError, load_path
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

COMPOSE_DEFAULTS = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
"""The compose file docker compose reads when neither ``-f`` nor ``COMPOSE_FILE`` names one
(the first found), with its ``*.override.*`` file beside it."""
BAKE_DEFAULTS = (
    "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
    "docker-bake.json", "docker-bake.override.json", "docker-bake.hcl",
    "docker-bake.override.hcl",
)  # fmt: skip
"""Files ``docker buildx bake`` reads by default (every one found)."""


@dataclass(frozen=True)
class Service:
    """One service (compose) that the command builds."""

    name: str
    dockerfile: str | None
    """The Dockerfile, relative to the root; None when an expression or URL decides it."""
    cached: bool
    """Its ``build:`` sets ``cache_from``."""


@dataclass(frozen=True)
class BuildFiles:
    """What the files a compose/bake command reads say."""

    files: tuple[str, ...]
    """The files read, relative to the root."""
    known: bool
    """Every file the command reads was found and parsed: ``services`` is the whole truth."""
    services: tuple[Service, ...] = ()
    cached: bool = False
    """A bake file configures ``cache-from`` (HCL/JSON), whatever the services."""


def build_files(
    ctx: RepoContext, build: ImageBuildCommand, env: Mapping[str, str | None], workdir: str | None
) -> BuildFiles:
    """The compose/bake files ``build`` reads and what they build."""
    if workdir is None:
        return BuildFiles((), False)
    named = list(build.files)
    if not named and build.kind == "compose":
        value = env.get("COMPOSE_FILE")
        if value:
            named = value.split(env.get("COMPOSE_PATH_SEPARATOR") or ":")
    if any(_is_expr(n) or "$" in n for n in named):
        return BuildFiles((), False)
    if named:
        paths = [normalize(n, workdir) for n in named]
        if any(p is None or not ctx.exists(p) for p in paths):
            return BuildFiles(tuple(p for p in paths if p), False)
        files = [p for p in paths if p]
    elif build.kind == "compose":
        first = next(
            (p for n in COMPOSE_DEFAULTS if ctx.exists(p := normalize(n, workdir) or n)), None
        )
        if first is None:
            return BuildFiles((), False)
        base, ext = posixpath.splitext(first)
        override = f"{base}.override{ext}"
        files = [first, *([override] if ctx.exists(override) else [])]
    else:
        files = [p for n in BAKE_DEFAULTS if ctx.exists(p := normalize(n, workdir) or n)]
        if not files:
            return BuildFiles((), False)
    merged: dict[str, dict[str, Any]] = {}
    cached = False
    known = True
    for path in files:
        if path.endswith(".hcl"):
            text = ctx.read_text(path) or ""
            cached = cached or "cache-from" in text or "cache_from" in text
            known = False  # targets and their Dockerfiles are not read from HCL
            continue
        if path.endswith(".json"):
            cached = cached or _json_bake_cached(ctx, path)
            known = False
            continue
        try:
            root = load_path(ctx, path)
        except YamlError:
            known = False
            continue
        if not isinstance(root, dict):
            known = False
            continue
        # relative paths in every compose file resolve against the project directory: the
        # first file's directory
        base_dir = posixpath.dirname(files[0])
        for name, service in _map(root.get("services")).items():
            if not isinstance(name, str) or not isinstance(service, dict):
                continue
            entry = merged.setdefault(name, {})
            spec = service.get("build")
            # an override file's `build:` is merged into the base file's, key by key
            if isinstance(spec, str):
                entry.update(context=spec, dir=base_dir, build=True)
            elif isinstance(spec, dict):
                entry.update(
                    {k: spec[k] for k in ("context", "dockerfile", "cache_from") if k in spec}
                )
                if "context" in spec or "dir" not in entry:
                    entry["dir"] = base_dir
                entry["build"] = True
    services = []
    wanted = set(build.services)
    for name, entry in merged.items():
        if not entry.get("build") or (wanted and name not in wanted):
            continue
        services.append(Service(name, _dockerfile(entry), bool(entry.get("cache_from"))))
    return BuildFiles(tuple(files), known, tuple(services), cached)


def _dockerfile(entry: Mapping[str, Any]) -> str | None:
    context = str(entry.get("context") or ".")
    dockerfile = str(entry.get("dockerfile") or "Dockerfile")
    if "$" in context + dockerfile or "://" in context or context.startswith("git@"):
        return None
    base = normalize(context, str(entry.get("dir") or ""))
    if base is None:
        return None
    return normalize(dockerfile, base)


def _json_bake_cached(ctx: RepoContext, path: str) -> bool:
    try:
        data = json.loads(ctx.read_text(path) or "")
    except ValueError:
        return False
    targets = data.get("target") if isinstance(data, dict) else None
    return isinstance(targets, dict) and any(
        isinstance(t, dict) and t.get("cache-from") for t in targets.values()
    )


def repo_sets_cache_from(ctx: RepoContext) -> bool:
    """Whether any compose file (``cache_from``) or bake file (``cache-from``) of the
    repository configures a layer cache source: then a build whose own files cannot be read is
    given the benefit of the doubt."""

    def compute() -> bool:
        for path in sorted(ctx.paths):
            name = posixpath.basename(path)
            if name.endswith((".yml", ".yaml")) and "compose" in name:
                try:
                    root = load_path(ctx, path)
                except YamlError:
                    continue
                for service in _map(_map(root).get("services")).values():
                    if _map(_map(service).get("build")).get("cache_from"):
                        return True
            elif name.startswith("docker-bake") and name.endswith(".hcl"):
                if "cache-from" in (ctx.read_text(path) or ""):
                    return True
            elif (
                name.startswith("docker-bake")
                and name.endswith(".json")
                and _json_bake_cached(ctx, path)
            ):
                return True
        return False

    return ctx.memo("gha", "compose-cache-from", compute)

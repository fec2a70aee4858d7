"""CA202: cached paths that never hold anything (outside the project, or a tool's cache directory
the tool never writes to), with the fix that points the tool at the cached path."""

from __future__ import annotations

from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.model import CachePath, Facts, Pipeline, Place, path_covers
from cacheaudit.analyzers.gitlab_ci.places import meant_for, tool_of
from cacheaudit.analyzers.gitlab_ci.text import cache_body, cap, emit, quoted, style_of, verb
from cacheaudit.analyzers.gitlab_ci.tools import TOOLS, XDG_PARENT, ToolCache
from cacheaudit.model import Fix


def judge_paths(audit: Audit, fact: Facts) -> None:
    for cache in fact.caches:
        for path in cache.paths:
            if path.place.kind != "outside":
                continue
            spec = _guess_tool(path, fact)
            origin = path.value.origin
            raw = path.raw

            def message(jobs: str, raw: str = raw) -> str:
                return (
                    f"{cap(jobs)} {verb(jobs, 'caches', 'cache')} `{raw}`, "
                    "which is outside `$CI_PROJECT_DIR`: GitLab only archives paths inside the "
                    "project directory, so nothing is saved and every run starts cold."
                )

            fix = (
                variable_fix(audit, fact, spec, spec.project_dir, origin.owner, replace_path=raw)
                if spec is not None
                else Fix(
                    f"Move `{raw}` under the project directory (point the tool's cache "
                    "variable at `$CI_PROJECT_DIR/...`) and cache the relative path.",
                    "",
                )
            )
            audit.hit(
                "CA202",
                origin.location,
                f"{origin.owner} / cache path {raw}",
                fact.job.name,
                message,
                fix,
            )


def empty_cache(audit: Audit, fact: Facts, spec: ToolCache, place: Place, path: CachePath) -> None:
    if place.kind not in ("project", "outside"):
        return
    if place.kind == "outside" and (audit.pipeline.open_globals or fact.job.problems):
        return  # the variable that moves the cache may be set where we cannot look
    if place.kind == "project" and path_covers(path.place.rel, place.rel):
        return
    target = path.place.rel if path.place.kind == "project" else ""
    if target == XDG_PARENT:
        target = f"{XDG_PARENT}/{spec.xdg}"
    writes = place.shown or "elsewhere"
    how = place.how
    top_vars = audit.pipeline.top.get("variables")
    name = spec.env[0]
    if (
        top_vars is not None
        and top_vars.get(name) is not None
        and not fact.job.inherits_variable(name)
    ):
        how += f": its `inherit: variables` keeps out the top-level {name}"

    def message(jobs: str) -> str:
        return (
            f"{cap(jobs)} {verb(jobs, 'caches', 'cache')} `{path.raw}`, but "
            f"{spec.tool} writes its download cache to {writes} ({how}), so the saved "
            f"cache is empty and every run downloads every package again."
        )

    origin = path.value.origin
    audit.hit(
        "CA202",
        origin.location,
        f"{origin.owner} / cache path {path.raw} / {spec.tool}",
        fact.job.name,
        message,
        variable_fix(audit, fact, spec, target or spec.project_dir, origin.owner),
    )


def variable_fix(
    audit: Audit,
    fact: Facts,
    spec: ToolCache | None,
    target: str,
    owner: str,
    replace_path: str | None = None,
) -> Fix:
    if spec is None:
        return Fix("Cache a directory inside the project.", "")
    style = style_of(audit.ctx, _owner_path(audit.pipeline, fact, owner))
    value = quoted(f"$CI_PROJECT_DIR/{target}")
    tree: list[tuple[str, object]] = []
    if spec.fix_command:
        setter: tuple[str, object] = (
            "before_script",
            [spec.fix_command.replace(spec.project_dir, target)],
        )
    else:
        setter = ("variables", [(spec.env[0], value)])
    if replace_path is not None:
        files = audit.key_files(fact, spec.tool) or [
            next((s.path for s, i, _ in fact.installs if tool_of(i) is spec), audit.pipeline.root)
        ]
        cache = ("cache", cache_body(files, spec.tool, [target + "/"]))
        if owner in ("default", "cache", ""):
            if setter[0] == "variables":
                tree = [setter, ("default", [cache])]
            else:
                tree = [("default", [setter, cache])]
        else:
            tree = [(owner, [setter, cache])]
        what = f"Cache `{target}/` instead and point {spec.tool} at it"
    else:
        top_level = setter[0] == "variables" and fact.job.inherits_variable(spec.env[0])
        if owner in ("default", "cache", "") and top_level:
            tree = [setter]
        elif owner in ("default", "cache", ""):
            tree = [(fact.job.name, [setter])]  # the job does not take top-level variables
        else:
            tree = [(owner, [setter])]
        if spec.fix_command:
            what = f"Point {spec.tool}'s store at the cached `{target}`"
        else:
            what = f"Set `{spec.env[0]}` so {spec.tool} writes into the cached `{target}`"
            if spec.tool == "npm":
                what += f" (or run `npm ci --cache {target} --prefer-offline`)"
    return Fix(what + ".", emit(tree, style))


def _guess_tool(path: CachePath, fact: Facts) -> ToolCache | None:
    for spec in TOOLS.values():
        if meant_for(path, spec):
            return spec
    for _, install, _ in fact.installs:
        guess = tool_of(install)
        if guess is not None:
            return guess
    return None


def _owner_path(pipeline: Pipeline, fact: Facts, owner: str) -> str:
    for cache in fact.caches:
        if cache.spec.origin.owner == owner:
            return cache.spec.origin.path
    return pipeline.root

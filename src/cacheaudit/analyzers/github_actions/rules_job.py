"""Rules on whole jobs and workflows: CA110 (cache poisoning in release workflows), CA111
(Docker builds without a layer cache) and CA112 (caches written only by pull requests)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.collector import PLATFORM, _Collector, _loc
from cacheaudit.analyzers.github_actions.compose import build_files, repo_sets_cache_from
from cacheaudit.analyzers.github_actions.fixes import (
    _bake_snippet,
    _build_push_snippet,
    _fix_ca110,
    _layer_cache_inputs,
    _on_snippet,
    _prepend_step,
    _render_step,
    _step_text,
)
from cacheaudit.analyzers.github_actions.installs import _column
from cacheaudit.analyzers.github_actions.model import (
    EffStep,
    Index,
    Step,
    Unit,
    _fold,
    _is_expr,
    _lines_of,
    _map,
    _own,
    _publishing,
    _release_job,
    _release_reasons,
    _slug,
)
from cacheaudit.analyzers.github_actions.parse import _triggers
from cacheaudit.discovery import FileKind
from cacheaudit.model import Fix, ImageBuild, Location
from cacheaudit.parsing.shell import Command, find_image_builds
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

_PR_EVENTS = frozenset(
    {"pull_request", "pull_request_review", "pull_request_review_comment", "merge_group"}
)
_SHARED_CACHE_EVENTS = frozenset({"push", "schedule", "workflow_dispatch"})


def _rule_ca110(out: _Collector, unit: Unit) -> None:
    if unit.job is None:
        return
    triggers = unit.triggers
    reasons = _release_reasons(unit)
    # A job only named as a release is no evidence of what it restores caches for, except in a
    # workflow that runs only by hand (RULES CA110; deploy jobs on pushes read no PR caches).
    # Preview publishes (pkg.pr.new) run for pull requests anyway: no privileged release.
    publishing = _publishing(unit, job_names=False, previews=False)
    if not reasons and publishing is None:
        return
    called = triggers is not None and "workflow_call" in _triggers(unit.doc).events
    if reasons and reasons[0].startswith("a job condition"):
        why = "runs only for tags or releases (its `if:`)"
    elif reasons:
        why = (
            f"{'runs from a workflow' if called else 'is'} triggered only by "
            f"{' and '.join(reasons)}"
        )
    else:
        why = publishing[1] if publishing else "publishes"
    reported: set[int] = set()
    for cache in unit.caches:
        # BuildKit's `type=gha` layer cache is not among zizmor's cache-aware actions (its
        # scopes are written only by the builds that name them): not CA110's business.
        if cache.restores is not True or cache.kind == "docker-build":
            continue
        step = cache.step
        anchor = step if _own(unit, step) else cache.eff.via
        if anchor is None or anchor.doc.path != unit.doc.path or id(anchor) in reported:
            continue
        reported.add(id(anchor))
        inside = "" if anchor is step else f" (inside action {step.doc.path})"
        message = (
            f"{unit.where} {why}, and {anchor.label} restores {cache.what}{inside}: "
            "caches are shared with branch and pull-request runs, so a poisoned cache "
            "can end up in what this job builds and releases."
        )
        line = cache.line if anchor is step else anchor.line
        out.add(
            RULES["CA110"].finding(
                _loc(anchor, line),
                message,
                subject=unit.subject(anchor, "cache-poisoning"),
                fix=_fix_ca110(unit, cache, anchor),
            )
        )


def _rule_ca111(out: _Collector, unit: Unit) -> None:
    if unit.runner not in ("github", "ephemeral"):
        return
    if any(
        eff.step.spec is not None and eff.step.spec.kind == "remote-builder" for eff in unit.steps
    ):
        return
    layer_cache = False
    buildx_seen = False
    for eff in unit.steps:
        step = eff.step
        spec = step.spec
        if step.uses is not None and step.uses.name in facts.DOCKER_LAYER_CACHE_ACTIONS:
            layer_cache = True
            continue
        if spec is not None and spec.kind == "buildx":
            if step.inputs.get("driver", "").strip().lower() in ("cloud", "remote", "kubernetes"):
                return
            buildx_seen = True
            continue
        if spec is not None and spec.kind == "docker-build":
            _ca111_action(out, unit, step, buildx_seen)
        elif step.run is not None and not layer_cache:
            _ca111_run(out, unit, eff)


def _ca111_action(out: _Collector, unit: Unit, step: Step, buildx_seen: bool) -> None:
    cache_from = _lines_of(step.inputs.get("cache-from", ""))
    cache_to = _lines_of(step.inputs.get("cache-to", ""))
    if any(_is_expr(v) for v in (*cache_from, *cache_to)) or _is_expr(step.inputs.get("builder")):
        return
    if step.inputs.get("no-cache", "").strip().lower() == "true":
        return
    if not cache_from and not cache_to:
        message = (
            f"{unit.at(step)} builds an image with docker/build-push-action without "
            "`cache-from`/`cache-to`: every run rebuilds every layer."
        )
        scope = (
            _slug(
                step.inputs.get("tags", "")
                .split(",")[0]
                .split("\n")[0]
                .split(":")[0]
                .rsplit("/", 1)[-1]
            )
            if step.inputs.get("tags")
            else _slug(step.ident)
        )
        tags = _lines_of(step.inputs.get("tags", "").replace(",", "\n"))
        snippet = _render_step(unit, step, dict(_layer_cache_inputs(unit, tags, scope)))
        registry = _release_job(unit)
        if not buildx_seen:
            snippet = _prepend_step(unit, step, ["uses: docker/setup-buildx-action@v3"], snippet)
        description = (
            "Add a registry cache (`cache-from`/`cache-to` `type=registry`, after "
            "docker/setup-buildx-action): this job publishes, and only runs that may push the "
            "image can write a registry cache, so pull requests cannot poison it."
            if registry
            else "Add `cache-from`/`cache-to` with the GitHub Actions cache backend (after "
            "docker/setup-buildx-action), one `scope` per image."
        )
        out.add(
            RULES["CA111"].finding(
                _loc(step, step.line),
                message,
                subject=unit.subject(step, "layer-cache"),
                fix=Fix(description, snippet),
            )
        )
        return
    if (
        any("type=gha" in v for v in (*cache_from, *cache_to))
        and not buildx_seen
        and not step.inputs.get("builder")
    ):
        line = step.input_line("cache-to" if cache_to else "cache-from")
        message = (
            f"{unit.at(step)} uses the `type=gha` cache without "
            "docker/setup-buildx-action before it: the default docker driver rejects "
            "cache export, so the build fails or caches nothing."
        )
        out.add(
            RULES["CA111"].finding(
                _loc(step, line),
                message,
                subject=unit.subject(step, "gha-needs-buildx"),
                fix=Fix(
                    "Add docker/setup-buildx-action before this step.",
                    _prepend_step(
                        unit, step, ["uses: docker/setup-buildx-action@v3"], _step_text(unit, step)
                    ),
                ),
            )
        )


_DOCKER_VALUE_OPTIONS = frozenset({
    "-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform", "--label",
    "--secret", "--ssh", "--cache-from", "--cache-to", "--network", "--progress", "-o",
    "--output", "--iidfile", "--add-host", "--shm-size", "--ulimit", "--builder",
    "--metadata-file", "--build-context", "--attest", "--provenance", "--sbom", "--annotation",
})  # fmt: skip


def _docker_build(argv: Sequence[str]) -> dict[str, list[str]] | None:
    """Options and context of ``docker [buildx|image] build ...``; None for other commands."""
    args = list(argv[1:])
    if args[:2] in (["buildx", "build"], ["image", "build"]):
        args = args[2:]
    elif args[:1] == ["build"]:
        args = args[1:]
    else:
        return None
    opts: dict[str, list[str]] = {"context": []}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("-"):
            name, _, value = arg.partition("=")
            if name in _DOCKER_VALUE_OPTIONS and not value:
                value = args[i] if i < len(args) else ""
                i += 1
            opts.setdefault(name, []).append(value)
        else:
            opts["context"].append(arg)
    return opts


def _ca111_run(out: _Collector, unit: Unit, eff: EffStep) -> None:
    step = eff.step
    if step.run is None:
        return
    for command in step.commands():
        if command.program in ("docker", "docker-compose"):
            _ca111_compose(out, unit, eff, command)
        if command.program != "docker":
            continue
        opts = _docker_build(command.argv)
        if opts is None or "--no-cache" in opts:
            continue
        env = {**eff.env, **dict(command.env)}
        sources = opts.get("--cache-from", [])
        column = _column(step.doc, command)
        if not sources:
            message = (
                f"{unit.at(step)} runs `{_fold(command.text)}` without `--cache-from`: "
                "every run rebuilds every layer."
            )
            out.add(
                RULES["CA111"].finding(
                    _loc(step, command.line, column),
                    message,
                    subject=unit.subject(step, f"docker-build:{command.line - step.line}"),
                    fix=Fix(
                        "Build with docker/build-push-action and a registry cache "
                        "(`cache-from`/`cache-to` `type=registry,ref=...`): this job publishes, "
                        "and pull requests cannot write a registry cache."
                        if _release_job(unit)
                        else "Build with docker/build-push-action and the GitHub Actions cache "
                        "(`cache-from: type=gha`, `cache-to: type=gha,mode=max`), or add a "
                        "registry cache (`--cache-from`/`--cache-to type=registry,ref=...`).",
                        _build_push_snippet(unit, step, opts),
                    ),
                )
            )
            continue
        plain = [s for s in sources if "type=" not in s]
        legacy = (env.get("DOCKER_BUILDKIT") or "").strip() == "0"
        inline = any("BUILDKIT_INLINE_CACHE" in a for a in opts.get("--build-arg", [])) or opts.get(
            "--cache-to"
        )
        if plain and not legacy and not inline and not _repo_mentions_inline_cache(out.ctx):
            message = (
                f"{unit.at(step)} runs `{_fold(command.text)}` with `--cache-from "
                f"{plain[0]}`: under BuildKit a plain image only serves as a cache source "
                "if it was pushed with inline cache metadata, and nothing in this "
                "repository pushes it that way, so the option does nothing."
            )
            out.add(
                RULES["CA111"].finding(
                    _loc(step, command.line, column),
                    message,
                    subject=unit.subject(step, f"dead-cache-from:{command.line - step.line}"),
                    fix=Fix(
                        "Export the cache too: add `--cache-to type=inline` (or "
                        "`--build-arg BUILDKIT_INLINE_CACHE=1`) to the build that pushes "
                        f"{plain[0]}, or use a registry cache "
                        "(`--cache-to type=registry,ref=...,mode=max`).",
                        "",
                    ),
                    weight=0.5,
                )
            )


def _step_dir(eff: EffStep) -> str | None:
    step = eff.step
    if step.working_directory:
        return None if _is_expr(step.working_directory) else normalize(step.working_directory)
    return eff.workdir


def _ca111_compose(out: _Collector, unit: Unit, eff: EffStep, command: Command) -> None:
    """``docker compose build`` / ``up --build`` and ``docker buildx bake`` with no layer cache
    source: neither ``--set *.cache-from`` nor ``cache_from`` in the files they build from
    (when those cannot be read: none anywhere in the repository)."""
    step = eff.step
    for build in find_image_builds([command]):
        if build.kind not in ("compose", "bake") or "--no-cache" in build.options:
            continue
        if build.cache_from:
            continue
        env = {**eff.env, **dict(command.env)}
        workdir = _step_dir(eff)
        files = build_files(out.ctx, build, env, workdir)
        if files.cached:
            continue
        uncached = [s for s in files.services if not s.cached]
        if files.known and not uncached:
            continue  # nothing built, or every service names a cache source
        if not files.known and (
            any(s.cached for s in files.services) or repo_sets_cache_from(out.ctx)
        ):
            continue
        what = "`docker buildx bake`" if build.kind == "bake" else "compose"
        if uncached:
            names = ", ".join(f"`{s.name}`" for s in uncached[:4])
            more = f" and {len(uncached) - 4} more" if len(uncached) > 4 else ""
            detail = (
                f": the {'service' if len(uncached) == 1 else 'services'} {names}{more} in "
                f"{', '.join(files.files)} build without `cache_from`, so every run rebuilds "
                "every layer."
            )
        else:
            shown = f" ({', '.join(files.files)}: not found or not read)" if files.files else ""
            detail = (
                f" but nothing configures a layer cache for it{shown}: no `--set "
                f"*.cache-from`, no `cache_from` in any {what} file of the repository, so every "
                "run rebuilds every layer."
            )
        message = f"{unit.at(step)} runs `{_fold(command.text)}`{detail}"
        fix = Fix(
            "Build the images with docker/bake-action and a layer cache per service "
            + (
                "in a registry (this job publishes; pull requests cannot write it)"
                if _release_job(unit)
                else "in the GitHub Actions cache (`type=gha`, one `scope` each)"
            )
            + ", or add `cache_from`/`cache_to` to the services' `build:`; then run the "
            "compose commands as before (they reuse the loaded images).",
            _bake_snippet(
                unit,
                step,
                files.files,
                [s.name for s in uncached],
                workdir or "",
                _build_args(command),
            ),
        )
        out.add(
            RULES["CA111"].finding(
                _loc(step, command.line, _column(step.doc, command)),
                message,
                subject=unit.subject(step, f"{build.kind}:{command.line - step.line}"),
                fix=fix,
            )
        )


def _build_args(command: Command) -> list[str]:
    """``--build-arg K=V`` values of a compose build, to carry into the bake fix."""
    args = list(command.argv)
    out = []
    for i, arg in enumerate(args):
        if arg == "--build-arg" and i + 1 < len(args):
            out.append(args[i + 1])
        elif arg.startswith("--build-arg="):
            out.append(arg.split("=", 1)[1])
    return out


def _repo_mentions_inline_cache(ctx: RepoContext) -> bool:
    def compute() -> bool:
        for source in ctx.files:
            if source.kind in (
                FileKind.WORKFLOW,
                FileKind.COMPOSITE_ACTION,
                FileKind.DOCKERFILE,
                FileKind.GITLAB_CI,
            ) and ("BUILDKIT_INLINE_CACHE" in source.text or "type=inline" in source.text):
                return True
        return False

    return ctx.memo("gha", "inline-cache", compute)


def warmed(index: Index) -> bool:
    """Whether a workflow of ``index`` run on a shared-cache event (not only on tag pushes)
    restores a cache, so a cache every pull request can restore exists."""
    for units in _units_by_doc(index).values():
        triggers = units[0].triggers
        if triggers is None or not triggers.events & _SHARED_CACHE_EVENTS:
            continue
        push_tags_only = (
            triggers.events == {"push"}
            and triggers.tag_push
            and not _map(_map(_map(units[0].doc.root).get("on")).get("push")).get("branches")
        )
        if push_tags_only:
            continue
        if any(c.restores for u in units for c in u.caches):
            return True
    return False


def _units_by_doc(index: Index) -> dict[str, list[Unit]]:
    by_doc: dict[str, list[Unit]] = {}
    for unit in index.units:
        if unit.job is not None:
            by_doc.setdefault(unit.doc.path, []).append(unit)
    return by_doc


def _rule_ca112(out: _Collector) -> None:
    index = out.index
    by_doc = _units_by_doc(index)
    # A named-file run leaves the repository-wide answer here (cacheaudit.lazy.seed_warmed).
    if out.ctx.memo("gha", "warmed", lambda: warmed(index)):
        return
    for path, units in sorted(by_doc.items()):
        doc = units[0].doc
        triggers = _triggers(doc)
        if (
            not triggers.events
            or not triggers.events <= _PR_EVENTS
            or "pull_request" not in triggers.events
        ):
            continue
        caches = [(u, c) for u in units for c in u.caches if c.restores]
        if not caches:
            continue
        unit, cache = caches[0]
        others = f" and {len(caches) - 1} more" if len(caches) > 1 else ""
        message = (
            f"workflow {doc.name} runs only on pull_request, but {unit.at(cache.step)} "
            f"restores {cache.what}{others}: caches saved by a pull request are scoped to"
            " its merge ref, so no other pull request can reuse them."
        )
        out.add(
            RULES["CA112"].finding(
                Location(path, triggers.line),
                message,
                subject="workflow / triggers",
                fix=Fix(
                    "Also run the workflow on `push` to the default branch so a shared cache "
                    "exists that every pull request can restore.",
                    _on_snippet(doc, triggers),
                ),
            )
        )


def _dockerfile_of(context: str, file: str, workdir: str | None) -> str | None:
    """The Dockerfile a build reads, relative to the root: ``file`` (relative to the working
    directory, like docker's ``-f``) or ``<context>/Dockerfile``; None when it cannot be told."""
    if workdir is None or _is_expr(context) or _is_expr(file) or "$" in context + file:
        return None
    if "://" in context or context.startswith("git@") or context == "-":
        return None
    if file:
        return normalize(file, workdir)
    base = normalize(context or ".", workdir)
    if base is None:
        return None
    return posixpath.join(base, "Dockerfile") if base else "Dockerfile"


def _record_builds(out: _Collector, unit: Unit) -> None:
    """An ImageBuild for each image build step of a job (docker/build-push-action, ``docker
    build``/``docker buildx build`` in ``run:``; one per Dockerfile a compose file or bake
    builds), with the job's runs per pipeline."""
    if unit.job is None:
        return
    for eff in unit.steps:
        step = eff.step
        spec = step.spec
        where = unit.at(step)
        if (
            spec is not None
            and spec.kind in ("docker-build", "remote-builder")
            and (step.uses is not None and step.uses.name.endswith("build-push-action"))
        ):
            context = step.inputs.get("context", "").strip()
            # Without `context`, build-push-action builds the Git context: the repository root.
            dockerfile = _dockerfile_of(context or ".", step.inputs.get("file", "").strip(), "")
            out.index.builds.append(
                ImageBuild(_loc(step, step.line), PLATFORM, where, dockerfile, unit.runs)
            )
        elif step.run is not None:
            workdir = (
                (None if _is_expr(step.working_directory) else normalize(step.working_directory))
                if step.working_directory
                else eff.workdir
            )
            for command in step.commands():
                for build in find_image_builds([command]):
                    if build.kind not in ("compose", "bake"):
                        continue
                    env = {**eff.env, **dict(command.env)}
                    files = build_files(out.ctx, build, env, workdir)
                    if files.known and not files.services:
                        continue  # the files build nothing (images only)
                    loc = _loc(step, command.line, _column(step.doc, command))
                    for dockerfile in sorted({s.dockerfile or "" for s in files.services}) or [""]:
                        out.index.builds.append(
                            ImageBuild(loc, PLATFORM, where, dockerfile or None, unit.runs)
                        )
                if command.program != "docker":
                    continue
                opts = _docker_build(command.argv)
                if opts is None:
                    continue
                context = opts["context"][-1] if opts["context"] else "."
                file = (opts.get("-f") or opts.get("--file") or [""])[-1]
                out.index.builds.append(
                    ImageBuild(
                        _loc(step, command.line, _column(step.doc, command)),
                        PLATFORM,
                        where,
                        _dockerfile_of(context, file, workdir),
                        unit.runs,
                    )
                )

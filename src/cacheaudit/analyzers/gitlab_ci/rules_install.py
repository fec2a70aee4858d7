"""Rules on installs: CA201 (an install no cache holds), CA206 (pip's cache defeated), CA504
(a requirements file that does not exist), with their fixes."""

from __future__ import annotations

import posixpath

from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.installs import rank
from cacheaudit.analyzers.gitlab_ci.model import (
    Facts,
    JobCache,
    Place,
    Step,
    flatten,
    path_covers,
)
from cacheaudit.analyzers.gitlab_ci.places import (
    cache_dir,
    disabled_by_env,
    env_target,
    meant_for,
    tool_of,
    tool_place,
)
from cacheaudit.analyzers.gitlab_ci.resolve import missing_file_fix
from cacheaudit.analyzers.gitlab_ci.rules_paths import empty_cache
from cacheaudit.analyzers.gitlab_ci.text import (
    Tree,
    and_list,
    cache_body,
    cap,
    column_of,
    emit,
    plain,
    quoted,
    short,
    source_line,
    style_of,
    verb,
)
from cacheaudit.analyzers.gitlab_ci.tools import SKIP_TOOLS, TOOLS, ToolCache
from cacheaudit.installs import explicit_inputs
from cacheaudit.model import CacheState, Fix, Location
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


def judge_installs(audit: Audit, fact: Facts) -> None:
    uncached: dict[str, list[tuple[Step, InstallCommand, int]]] = {}
    for step, install, ordinal in fact.installs:
        check_requirement_files(audit, fact, step, install)
        spec = tool_of(install)
        if spec is None or install.tool in SKIP_TOOLS:
            state, reason = _untracked_tool_state(install)
            audit.record_site(fact, step, install, state, reason, None)
            continue
        place = cache_dir(audit.ctx, fact.job, step, install)
        covering = next((c for c in fact.caches if c.covers(place)), None)
        environment = None
        if covering is None:
            # a cached environment the install goes into (.venv, node_modules) spares the
            # downloads too
            environment = env_target(fact.job, step, install)
            if environment is not None:
                where = Place("project", environment)
                covering = next((c for c in fact.caches if c.covers(where)), None)
        state, reason = site_state(fact, install, spec, place, covering, environment)
        audit.record_site(fact, step, install, state, reason, covering)
        if covering is not None or not fact.known or place.kind == "unknown":
            continue
        defeated = place.kind == "disabled" or (
            install.tool == "uv" and install.action.startswith("pip")
        )
        if defeated and check_defeated(audit, fact, step, install, ordinal):
            continue
        meant = [p for c in fact.caches for p in c.paths if meant_for(p, spec)]
        if meant and place.kind != "disabled":
            for path in meant:
                if path.place.kind == "project":
                    empty_cache(audit, fact, spec, place, path)
            continue  # a meant path outside the project is CA202 from judge_paths
        uncached.setdefault(spec.tool, []).append((step, install, ordinal))
    if audit.release_job(fact):
        return  # a release builds from a clean slate: its installs are not CA201's business
    for tool, found in uncached.items():
        # one finding per job and tool (one cache fixes all), at the install of the
        # dependency set: not at a bootstrap before it, and a job that only bootstraps
        # (`pip install poetry` to publish) is not told to cache
        ranked = [(rank(audit.ctx, i, s), s, i, o) for s, i, o in found]
        best = max(r for r, _, _, _ in ranked)
        if best == 0:
            continue
        # at equal rank, the job's own `script:` line (`tox -e py312`) over an inherited
        # `before_script:` one
        _, step, install, ordinal = max(
            (c for c in ranked if c[0] == best),
            key=lambda c: c[1].owner == fact.job.name and c[1].section == "script",
        )
        others = sum(1 for r, _, i, _ in ranked if r > 0 and i is not install)
        report_uncached(audit, fact, step, install, TOOLS[tool], ordinal, others)


PER_PIPELINE_VARS = ("CI_COMMIT_SHA", "CI_COMMIT_SHORT_SHA", "CI_PIPELINE_ID", "CI_PIPELINE_IID",
                     "CI_JOB_ID", "CI_CONCURRENT_ID")  # fmt: skip
"""Predefined variables that change every pipeline: a cache key made with one is never restored
by the next pipeline (unless ``fallback_keys`` name a stable key)."""


def site_state(
    fact: Facts,
    install: InstallCommand,
    spec: ToolCache,
    place: Place,
    covering: JobCache | None,
    environment: str | None,
) -> tuple[CacheState, str]:
    """The install site's cache state and why, as the next pipeline would find it."""
    tool = spec.tool
    if covering is not None:
        shown = ", ".join(f"`{p.raw}`" for p in covering.paths) or "`untracked: true`"
        policy = covering.spec.policy.text if covering.spec.policy is not None else None
        if policy is not None and policy.strip() == "push":
            return CacheState.BROKEN, (
                f"its cache ({shown}) has `policy: push`: saved at the end, never restored"
            )
        key = covering.spec.key.text if covering.spec.key is not None else None
        volatile = next((v for v in PER_PIPELINE_VARS if key and v in key), None)
        if volatile is not None and not covering.spec.fallback_keys:
            return CacheState.BROKEN, (
                f"its cache key uses `${volatile}`, which changes every pipeline, so the next "
                "pipeline never restores it"
            )
        if environment is not None and not covering.covers(place):
            return (
                CacheState.EFFECTIVE,
                f"the environment it installs into (`{environment}`) is cached",
            )
        holder = next(
            (
                p.raw
                for p in covering.paths
                if p.place.kind == "project" and path_covers(p.place.rel, place.rel)
            ),
            None,
        )
        held = f"`{holder}`" if holder is not None else shown
        return CacheState.EFFECTIVE, f"the cached {held} holds {tool}'s download cache"
    if not fact.known:
        return CacheState.UNKNOWN, fact.unknown_why
    if place.kind == "unknown":
        if tool == "yarn" and not place.how:
            return CacheState.UNKNOWN, (
                "Yarn 2+ keeps its cache in `.yarn/cache` or a global folder, as `.yarnrc.yml` "
                "and its version decide"
            )
        why = f" ({place.how})" if place.how else ""
        return CacheState.UNKNOWN, f"where {tool} writes its download cache cannot be told{why}"
    meant = [p for c in fact.caches for p in c.paths if meant_for(p, spec)]
    pip_meant = [p for c in fact.caches for p in c.paths if meant_for(p, TOOLS["pip"])]
    if install.tool == "uv" and install.action.startswith("pip") and pip_meant:
        return CacheState.BROKEN, (
            f"`uv pip` fills uv's cache, never the cached pip directory `{pip_meant[0].raw}`"
        )
    if place.kind == "disabled":
        variable = "`PIP_NO_CACHE_DIR`" if tool == "pip" else "`UV_NO_CACHE`"
        flag = f"`{short(install.command.text, 40)}`" if install.no_cache else variable
        if meant or pip_meant:
            shown = (meant or pip_meant)[0].raw
            return CacheState.BROKEN, (
                f"{flag} turns {tool}'s cache off, so the cached `{shown}` stays empty"
            )
        return (
            CacheState.MISSING,
            f"no cache holds {tool}'s downloads, and {flag} turns its cache off",
        )
    if meant:
        path = meant[0]
        if path.place.kind == "outside":
            return CacheState.BROKEN, (
                f"the cached `{path.raw}` is outside `$CI_PROJECT_DIR`, which GitLab never archives"
            )
        return CacheState.BROKEN, (
            f"{tool} writes to {place.shown or 'elsewhere'} ({place.how}), so the cached "
            f"`{path.raw}` stays empty"
        )
    if fact.job.cache_state == "disabled":
        return CacheState.MISSING, "`cache: []` turns the default cache off"
    where = f" (its cache is at {place.shown})" if place.shown else ""
    return CacheState.MISSING, f"no cache holds {tool}'s downloads{where}"


def _untracked_tool_state(install: InstallCommand) -> tuple[CacheState, str]:
    """System package managers and installers whose cache cacheaudit does not place."""
    if install.tool in SKIP_TOOLS:
        if "cache" in install.command.text.lower() and "no-cache" not in install.command.text:
            return CacheState.UNKNOWN, f"{install.tool}'s cache is moved by an option"
        return CacheState.MISSING, (
            f"{install.tool} downloads into the image's system directories, which GitLab cannot "
            "cache (an image with the packages avoids the download)"
        )
    return CacheState.UNKNOWN, f"where {install.tool} keeps its download cache is not known"


def report_uncached(
    audit: Audit,
    fact: Facts,
    step: Step,
    install: InstallCommand,
    spec: ToolCache,
    ordinal: int,
    others: int,
) -> None:
    job = fact.job
    command = short(install.command.text)
    subject = f"{step.owner} / {step.section} / {install.tool} install #{ordinal}"
    keyword = job.cache_keyword
    replaced = bool(
        fact.caches
        and keyword is not None
        and keyword.owner == job.name
        and (step.owner != job.name or step.via is not None)
        and job.cache_state == "own"
    )
    if replaced and keyword is not None:
        # the install comes from a template (or a default `before_script`) that other jobs
        # share; this job's own `cache:` is what leaves it out: point there
        location = keyword.location
        subject = f"{job.name} / cache / {spec.tool}"
    elif step.via is None:
        location = Location(step.path, step.command.line, column_of(audit.ctx, step))
    else:
        location = step.via  # the job runs the script here: its cache is configured here
    if job.cache_state == "disabled" and job.cache_keyword is not None:
        where = f"{job.cache_keyword.path}:{job.cache_keyword.line}"
        reason = f"its `cache: []` ({where}) turns the default cache off"
    elif not fact.caches:
        default = audit.pipeline.default_cache
        if job.cache_state == "none" and default is not None and not job.inherits_default("cache"):
            reason = (
                "it has no cache: its `inherit: default` keeps out the default cache "
                f"({default.path}:{default.line})"
            )
        else:
            reason = "no cache is configured for it"
    else:
        shown = ", ".join(f"`{p.raw}`" for c in fact.caches for p in c.paths) or "its cache"
        reason = f"its cache ({shown}) does not hold {spec.tool}'s downloads"
        if replaced:
            reason = (
                f"its own `cache:` ({shown}), which replaces any inherited one, does not hold "
                f"{spec.tool}'s downloads"
            )
    if install.no_cache:
        reason += f", and `{command}` turns {spec.tool}'s own cache off"
    place = cache_dir(audit.ctx, job, step, install)
    where = f" ({spec.tool}'s cache is at {place.shown})" if place.shown else ""
    # jobs sharing this line may differ in why nothing is cached and in how many more
    # installs they run: say what they have in common
    details = audit.more.setdefault(("CA201", location, subject), {})
    details[job.name] = (others, reason)

    def message(jobs: str) -> str:
        what = f"`{command}`"
        if step.via is not None or replaced:
            what += f" in {step.path}:{step.command.line}"
        counts = {n for n, _ in details.values()}
        if len(counts) == 1 and (n := counts.pop()):
            what += f" (and {n} more {spec.tool} install{'s' if n > 1 else ''})"
        reasons = {r for _, r in details.values()}
        why = (
            reasons.pop()
            if len(reasons) == 1
            else f"none of their caches holds {spec.tool}'s downloads"
        )
        return (
            f"{cap(jobs)} {verb(jobs, 'installs', 'install')} "
            f"from the registry with {what} but {why}, so every run downloads every "
            f"package again{where}."
        )

    audit.hit(
        "CA201",
        location,
        subject,
        job.name,
        message,
        cache_fix(audit, fact, step, install, spec),
    )


def check_defeated(
    audit: Audit, fact: Facts, step: Step, install: InstallCommand, ordinal: int
) -> bool:
    """CA206: the job caches pip's directory but the install turns pip's cache off or
    goes through ``uv pip``. True when reported."""
    pip = TOOLS["pip"]
    argv = install.command.argv if install.cache_tool == "pip" else ()
    pip_place = tool_place(audit.ctx, fact.job, step, pip, argv)
    pip_paths = [
        p
        for c in fact.caches
        for p in c.paths
        if p.place.kind == "project"
        and (
            meant_for(p, pip)
            or (pip_place.kind == "project" and path_covers(p.place.rel, pip_place.rel))
        )
    ]
    if not pip_paths:
        return False
    command = short(install.command.text)
    uses_uv = install.tool == "uv"
    if uses_uv:
        uv_place = cache_dir(audit.ctx, fact.job, step, install)
        if any(c.covers(uv_place) for c in fact.caches):
            return False
        location = Location(step.path, step.command.line, column_of(audit.ctx, step))
        subject = f"{step.owner} / {step.section} / uv pip #{ordinal}"
        where = f" (`{uv_place.shown}`)" if uv_place.shown else ""
        why = f"`{command}` installs with uv, which fills its own cache{where}, never pip's"
        fix = cache_fix(audit, fact, step, install, TOOLS["uv"])
    else:
        var = disabled_by_env("pip", step.env)
        if not install.no_cache and var is None:
            return False
        if var is not None and var.location is not None and var.source in ("variables", "export"):
            location = var.location
            subject = f"{var.owner or var.location.path} / PIP_NO_CACHE_DIR"
            why = (
                f"`PIP_NO_CACHE_DIR: {var.value}` turns pip's cache off (any value does, "
                "even `false`)"
            )
            line = source_line(audit.ctx, location.path, location.line) or ""
            indent = line[: len(line) - len(line.lstrip())]
            fix = Fix(
                "Delete the `PIP_NO_CACHE_DIR` variable so pip fills the cache this job saves.",
                f"{indent}# {line.strip()}" if line.strip() else "",
            )
        else:
            location = Location(step.path, step.command.line, column_of(audit.ctx, step))
            subject = f"{step.owner} / {step.section} / pip no-cache #{ordinal}"
            why = f"`{command}` turns pip's cache off"
            fix = _line_without_no_cache(audit.ctx, step)
    shown = ", ".join(sorted({f"`{p.raw}`" for p in pip_paths}))

    def message(jobs: str) -> str:
        return (
            f"{cap(jobs)} {verb(jobs, 'caches', 'cache')} pip's download cache "
            f"({shown}) but {why}, so the saved cache stays empty and every run downloads "
            "every package again."
        )

    audit.hit("CA206", location, subject, fact.job.name, message, fix)
    return True


def check_requirement_files(audit: Audit, fact: Facts, step: Step, install: InstallCommand) -> None:
    if step.workdir is None:
        return
    for name in explicit_inputs(install, step.workdir):
        if name in audit.ctx.paths or generated(audit, fact, step, name):
            continue
        shown = next(
            (
                f
                for f in (*install.requirement_files, *install.constraint_files)
                if normalize(f, step.workdir) == name
            ),
            name,
        )

        def message(jobs: str, shown: str = shown, name: str = name) -> str:
            return (
                f"`{short(install.command.text)}` in {jobs} reads `{shown}`, but `{name}` "
                "does not exist in the repository: the install fails."
            )

        audit.hit(
            "CA504",
            Location(step.path, step.command.line, column_of(audit.ctx, step)),
            f"{step.owner} / {step.section} / requirement {name}",
            fact.job.name,
            message,
            missing_file_fix(
                audit.ctx, name, "install", Location(step.path, step.command.line), shown
            ),
        )


def generated(audit: Audit, fact: Facts, step: Step, name: str) -> bool:
    """A file an earlier command of the job or another job's artifacts may create."""
    base = posixpath.basename(name)
    for earlier in fact.steps:
        if earlier is step:
            break
        if base in earlier.command.text:
            return True
    for job in audit.pipeline.jobs:
        if any(path_covers(normalize(a.lstrip("/")) or "", name) for a in job.artifacts):
            return True
    return False


def cache_fix(
    audit: Audit, fact: Facts, step: Step, install: InstallCommand, spec: ToolCache
) -> Fix:
    style = style_of(audit.ctx, step.path)
    # no lock or requirements file names the packages: the file with the install command does
    # (`pip install pip-audit==2.7.3`), so the key changes when they do
    files = audit.key_files(fact, spec.tool) or [step.path]
    place = cache_dir(audit.ctx, fact.job, step, install)
    body: Tree = []
    if place.kind == "project" and place.rel:
        target = place.rel  # already inside the project: only the cache is missing
    else:
        target = spec.project_dir
        if spec.fix_command:
            body.append(("before_script", [spec.fix_command]))
        else:
            body.append(("variables", [(spec.env[0], quoted(f"$CI_PROJECT_DIR/{target}"))]))
    new = cache_body(files, spec.tool, [target + "/"])
    kept = audit.dependency_caches(fact)
    if kept and len(kept) < 4:
        # a job's `cache:` replaces every inherited one: keep the caches its installs use
        body.append(("cache", (*(restated(c) for c in kept), new)))
    else:
        body.append(("cache", new))
    lock = f"keyed on {and_list(files)}"
    extra = f" and drop the flag that turns {spec.tool}'s cache off" if install.no_cache else ""
    first = (
        "Cache"
        if place.kind == "project"
        else f"Point {spec.tool}'s cache into the project and cache"
    )
    return Fix(
        f"{first} `{target}/` {lock}{extra} (put it in `default:` to cover every job; "
        "`cache:` takes a list of up to four caches).",
        emit([(fact.job.name, body)], style),
    )


def restated(cache: JobCache) -> Tree:
    """An existing cache written out again, for a fix that gives the job a ``cache:`` list."""
    spec = cache.spec
    body: Tree = []
    key = spec.key
    if key is not None and key.text is not None:
        body.append(("key", plain(key.text)))
    elif key is not None and key.map is not None:
        inner: Tree = []
        for name in ("files", "files_commits"):
            if (files := key.map.get(name)) is not None:
                inner.append((name, [v.text or "" for v in flatten(files)]))
        prefix = key.map.get("prefix")
        if prefix is not None and prefix.text:
            inner.append(("prefix", plain(prefix.text)))
        body.append(("key", inner))
    if cache.paths:
        body.append(("paths", [p.raw for p in cache.paths]))
    if spec.untracked:
        body.append(("untracked", "true"))
    for name, value in (("policy", spec.policy), ("unprotect", spec.unprotect)):
        if value is not None and value.text:
            body.append((name, plain(value.text)))
    if spec.when != "on_success":
        body.append(("when", spec.when))
    return body


def _line_without_no_cache(ctx: RepoContext, step: Step) -> Fix:
    line = source_line(ctx, step.path, step.command.line) or ""
    words = line.split(" ")
    kept = [
        w for w in words
        if not (w.startswith("--no-cache") or w.startswith("PIP_NO_CACHE_DIR="))
    ]  # fmt: skip
    return Fix(
        "Drop `--no-cache-dir` (and any `PIP_NO_CACHE_DIR`) so pip fills the cache this job saves.",
        " ".join(kept).rstrip() if kept != words else "",
    )

"""Rules on cache definitions: CA203 (constant key), CA204 (every job pushes a shared cache),
CA205 (``unprotect: true``), CA504 (``key: files`` naming no file), with their fixes."""

from __future__ import annotations

from collections import Counter

from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.model import Facts, JobCache, Origin, Place, flatten, truthy
from cacheaudit.analyzers.gitlab_ci.places import (
    cache_dir,
    cache_policy,
    constant_key,
    env_target,
    is_env_dir,
    key_identity,
    meant_for,
    tool_of,
)
from cacheaudit.analyzers.gitlab_ci.resolve import missing_file_fix
from cacheaudit.analyzers.gitlab_ci.text import (
    Tree,
    and_list,
    cap,
    emit,
    plain,
    style_of,
    verb,
)
from cacheaudit.analyzers.gitlab_ci.tools import ENV_DIRS, TOOLS
from cacheaudit.installs import LOCKFILES_BY_TOOL, install_inputs
from cacheaudit.model import Fix
from cacheaudit.paths import normalize


def judge_keys(audit: Audit, fact: Facts) -> None:
    job = fact.job
    for cache in fact.caches:
        check_key_files(audit, fact, cache)
    for cache in audit.dependency_caches(fact):
        spec = cache.spec
        constant = constant_key(job, spec)
        if constant is None or (spec.key is None and not audit.settled(fact, cache)):
            continue
        origin = spec.key.origin if spec.key is not None else spec.origin
        paths = ", ".join(f"`{p.raw}`" for p in cache.paths) or "its paths"
        if spec.key is None:
            what = (
                "has no `key`: it is saved under `default` (shared by every cache without "
                "a key) and"
            )
        else:
            what = f"has the constant key `{constant}`: it"
        lock = audit.key_files(fact)
        # an installed environment (.venv, node_modules) restored under a key that ignores
        # the lock file is stale; a download cache only grows: the lesser form
        environment = any(is_env_dir(p, f) for p in cache.paths for f in ENV_DIRS)
        effect = (
            "an environment built for other dependencies is restored"
            if environment
            else "stale packages pile up"
        )

        def message(jobs: str, what: str = what, paths: str = paths, effect: str = effect) -> str:
            return (
                f"The dependency cache ({paths}) of {jobs} {what} never changes when the "
                f"dependencies do, so {effect} and a lock-file change never starts a fresh "
                "cache."
            )

        audit.hit(
            "CA203",
            origin.location,
            f"{origin.owner} / cache {paths_id(cache)} / key",
            job.name,
            message,
            key_fix(audit, fact, cache, lock, origin),
            1.0 if environment else 0.5,
        )


def check_key_files(audit: Audit, fact: Facts, cache: JobCache) -> None:
    key = cache.spec.key
    mapping = key.map if key is not None else None
    if mapping is None:
        return
    files = mapping.get("files") or mapping.get("files_commits")
    for value in flatten(files):
        name = (value.text or "").strip()
        rel = normalize(name.lstrip("/"))
        if not name or "$" in name or rel is None or audit.matches(name):
            continue

        def message(jobs: str, name: str = name) -> str:
            return (
                f"`key: files:` of the cache of {jobs} names `{name}`, which matches no file: "
                "GitLab leaves it out of the key (and uses `default` when no listed file "
                "exists), so the key no longer follows the dependencies."
            )

        origin = value.origin
        audit.hit(
            "CA504",
            origin.location,
            f"{origin.owner} / cache key file {name}",
            fact.job.name,
            message,
            missing_file_fix(audit.ctx, rel, "cache key", origin.location, name),
        )


def key_fix(audit: Audit, fact: Facts, cache: JobCache, files: list[str], origin: Origin) -> Fix:
    style = style_of(audit.ctx, origin.path)
    tools = [
        spec.tool
        for step, install, _ in fact.installs
        if (spec := tool_of(install)) is not None
        and cache.covers(cache_dir(audit.ctx, fact.job, step, install))
    ]
    tools += [t.tool for t in TOOLS.values() for p in cache.paths if meant_for(p, t)]
    tools += [t.tool for _, i, _ in fact.installs if (t := tool_of(i)) is not None]
    prefix = tools[0] if tools else "deps"
    if cache.paths and all(any(is_env_dir(p, family) for family in ENV_DIRS) for p in cache.paths):
        prefix += "-env"  # an installed environment: keep it apart from download caches
    owner = cache.spec.origin.owner or fact.job.name
    owner = "default" if owner == "cache" else owner
    key: list[tuple[str, object]] = []
    if files:
        key = [("files", list(files)), ("prefix", prefix)]
        what = f"Key the cache on {and_list(files)} with a prefix per job kind"
    else:
        tool = prefix.removesuffix("-env")
        lock = (LOCKFILES_BY_TOOL.get(tool) or ("requirements.txt",))[0]
        key = [("files", [lock]), ("prefix", prefix)]
        what = f"Key the cache on the lock file the job installs from (commit `{lock}`)"
    body: Tree = [("key", key), ("paths", [p.raw for p in cache.paths] or [".cache/"])]
    entry: object = (body,) if cache.spec.in_list else body
    return Fix(what + " (at most two files).", emit([(owner, [("cache", entry)])], style))


def judge_policies(audit: Audit, facts: list[Facts]) -> None:
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[Facts, JobCache]]] = {}
    for fact in facts:
        if not fact.known:
            continue
        for cache in audit.dependency_caches(fact):
            if cache.spec.policy is None and not audit.settled(fact, cache):
                continue
            identity = key_identity(fact.job, cache.spec)
            if identity is None:
                continue
            paths = tuple(sorted(p.raw.rstrip("/") for p in cache.paths))
            groups.setdefault((identity, paths), []).append((fact, cache))
    for (identity, paths), members in groups.items():
        instances = sum(f.job.parallel for f, _ in members)
        if instances < 2:
            continue
        policies = [cache_policy(f.job, c.spec) for f, c in members]
        if any(p != "pull-push" for p in policies):
            continue
        runs: Counter[tuple[tuple[str, ...], ...]] = Counter()
        same: dict[tuple[tuple[str, ...], ...], list[str]] = {}
        for fact, cache in members:
            fills = fills_of(audit, fact, cache)
            if fills and not fact.job.runs_note.startswith("matrix"):
                runs[fills] += fact.job.parallel
                same.setdefault(fills, []).append(fact.job.name)
        if not runs or max(runs.values()) < 2:
            # each job puts other packages into the shared cache (other tox/nox sessions,
            # requirement files, matrix images): `policy: pull` would keep theirs out, so
            # pushing from every job is not a mistake. Only runs that install the very same
            # thing push the same archive for nothing.
            continue
        origins = Counter((c.spec.origin.path, c.spec.origin.line) for _, c in members)
        top_origin = min(origins, key=lambda o: (-origins[o], o))
        cache = next(
            c for _, c in members if (c.spec.origin.path, c.spec.origin.line) == top_origin
        )
        jobs = [f.job.name for f, _ in members]
        readers = jobs[1:] if len(jobs) > 1 else jobs
        shown = ", ".join(f"`{p}`" for p in paths)
        twins = max(runs, key=lambda k: runs[k])
        alike = f"{runs[twins]} runs of {and_list([f'`{n}`' for n in same[twins]])}"

        def message(names: str, shown: str = shown, alike: str = alike) -> str:
            return (
                f"{cap(names)} {verb(names, 'shares', 'share')} the dependency cache "
                f"({shown}) with the default `policy: pull-push`, and the {alike} install "
                "the very same packages into it: whenever those change, every one of these "
                "runs downloads them and uploads the same archive under the one key. Let one "
                "job fill the cache and give the others `policy: pull`."
            )

        fix = policy_fix(audit, members[0][0], cache, readers)
        for fact, _ in members:
            audit.hit(
                "CA204",
                cache.spec.origin.location,
                f"cache {identity} {','.join(paths)}",
                fact.job.name,
                message,
                fix,
            )


def fills_of(audit: Audit, fact: Facts, cache: JobCache) -> tuple[tuple[str, ...], ...]:
    """What the job installs, as written with the files each install reads, when some of it
    goes into the cache; empty for a job that only reads the cache. Every install counts,
    not only those known to land in the cache: two jobs that run different tox/nox sessions
    (whose installer may be pip or uv) fill it differently."""
    out = []
    fills = False
    for step, install, _ in fact.installs:
        spec = tool_of(install)
        if spec is not None:
            place = cache_dir(audit.ctx, fact.job, step, install)
            environment = env_target(fact.job, step, install)
            fills = (
                fills
                or cache.covers(place)
                or (environment is not None and cache.covers(Place("project", environment)))
            )
        inputs = (
            install_inputs(install, audit.ctx, step.workdir) if step.workdir is not None else ()
        )
        out.append((install.tool, " ".join(install.command.argv), *inputs))
    return tuple(sorted(set(out))) if fills else ()


def policy_fix(audit: Audit, fact: Facts, cache: JobCache, readers: list[str]) -> Fix:
    style = style_of(audit.ctx, cache.spec.origin.path)
    reader = readers[0]
    owner = cache.spec.origin.owner
    body: Tree = []
    if cache.spec.from_default or owner == reader or not owner.startswith("."):
        # the job's own `cache:` replaces the inherited one: restate all of it
        key = cache.spec.key
        if key is not None and key.text is not None:
            body.append(("key", plain(key.text)))
        elif key is not None and key.map is not None:
            inner: Tree = []
            files = key.map.get("files") or key.map.get("files_commits")
            if files is not None:
                inner.append(("files", [v.text or "" for v in flatten(files)]))
            prefix = key.map.get("prefix")
            if prefix is not None and prefix.text:
                inner.append(("prefix", plain(prefix.text)))
            body.append(("key", inner))
        body.append(("paths", [p.raw for p in cache.paths]))
    body.append(("policy", "pull"))  # from a template, `extends` merges this one key in
    entry: object = (body,) if cache.spec.in_list else body
    snippet = emit([(reader, [("cache", entry)])], style)
    if len(readers) == 1 and fact.job.name == reader:
        return Fix(
            "Fill the cache in one job of an earlier stage (`policy: pull-push`) and give "
            f"`{reader}` `policy: pull`, so its {fact.job.parallel} parallel runs only read "
            "it.",
            snippet,
        )
    more = f" (and the same in {and_list([f'`{r}`' for r in readers[1:]])})" if readers[1:] else ""
    return Fix(
        f"Keep `pull-push` in the one job that fills the cache and give `{reader}`{more} "
        "`policy: pull` (or set `policy: $CACHE_POLICY` and choose it per job).",
        snippet,
    )


def paths_id(cache: JobCache) -> str:
    return ",".join(p.raw for p in cache.paths) or "(no paths)"


def judge_unprotect(audit: Audit, fact: Facts) -> None:
    for cache in fact.caches:
        value = cache.spec.unprotect
        if not truthy(value) or value is None:
            continue
        origin = value.origin

        def message(jobs: str) -> str:
            return (
                f"The cache of {jobs} sets `unprotect: true`: pipelines on unprotected "
                "branches (any developer's branch or merge request) can write the cache that "
                "protected branches and tags restore, so a poisoned cache reaches releases."
            )

        indent = " " * ((origin.column or 1) - 1)
        audit.hit(
            "CA205",
            origin.location,
            f"{origin.owner} / cache {paths_id(cache)} / unprotect",
            fact.job.name,
            message,
            Fix(
                "Remove `unprotect: true` (or set it to false) so protected and unprotected "
                "branches keep separate caches.",
                f"{indent}unprotect: false",
            ),
        )

"""CA301 (no cache mount), CA302 (cache mount defeated), CA304 (cache mount on the wrong target
or not writable by the user), with their fixes: one judgement per RUN and tool."""

from __future__ import annotations

from cacheaudit.analyzers.dockerfile.facts import CA301_TOOLS, DOCKER_CACHES
from cacheaudit.analyzers.dockerfile.installs import _cache_ids, _downloads, followups
from cacheaudit.analyzers.dockerfile.model import (
    DockerfileModel,
    RunInfo,
    User,
    _covers,
    _location,
    _mount_target,
    _short,
)
from cacheaudit.analyzers.dockerfile.mounts import (
    Expected,
    _check_mounts,
    _cleaners,
    _disabled_by,
    _env_disabler,
    _expected,
    _related,
)
from cacheaudit.analyzers.dockerfile.rewrite import _replace, _rewrite_run, _without_assignment
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing.dockerfile import Mount
from cacheaudit.parsing.shell import Command, InstallCommand
from cacheaudit.rules import RULES


def rules_cache(dc: DockerfileModel) -> list[Finding]:
    findings: list[Finding] = []
    for run in dc.runs:
        by_tool: dict[str, list[InstallCommand]] = {}
        for install in run.installs:
            if install.tool == "apt" or not _downloads(dc, run, install):
                continue
            if install.tool in CA301_TOOLS and install.cache_tool in DOCKER_CACHES:
                by_tool.setdefault(install.cache_tool, []).append(install)
        for tool, installs in by_tool.items():
            findings.extend(_cache_mount_rules(dc, run, tool, installs))
    return findings


def _cache_mount_rules(
    dc: DockerfileModel, run: RunInfo, tool: str, installs: list[InstallCommand]
) -> list[Finding]:
    first = installs[0]
    expected = _expected(dc, run, tool, first)
    check = _check_mounts(run, tool, expected)
    if check.unknown and not check.covering:
        return []
    findings: list[Finding] = []
    disabled = _disabled_by(run, tool, installs)
    cleaners = _cleaners(run, expected.dirs)
    subject = f"{run.subject} / {tool}"
    location = _location(dc, first)
    shown = _short(first.command.text)
    wants = expected.dirs[0] if expected.dirs else None
    causes = [f"{disabled} turns {tool}'s cache off"] if disabled else []
    if check.covering and cleaners:
        command = cleaners[0]
        causes.append(f"`{_short(command.text)}` (line {command.line}) empties it")
    if causes and (check.covering or check.related):
        mount = (check.covering or tuple(m for m, _ in check.related))[0]
        findings.append(
            RULES["CA302"].finding(
                location,
                f"{run.where}: the cache mount `{mount.text}` stays empty for `{shown}`: "
                f"{' and '.join(causes)}, so every rebuild downloads everything again.",
                subject=subject,
                fix=_fix_defeated(dc, run, tool, installs, cleaners if check.covering else []),
            )
        )
    if check.covering:
        if check.unwritable:
            user = expected.user
            findings.append(
                RULES["CA304"].finding(
                    location,
                    f"{run.where}: the cache mount on {wants} is owned by root, but `{shown}` "
                    f"runs as user {user.name}, who cannot write it: {tool} disables its cache "
                    "and downloads everything again.",
                    subject=subject,
                    fix=_fix_mount(dc, run, tool, installs, expected, replace_related=True),
                )
            )
        return findings
    if check.related:
        mount, target = check.related[0]
        if wants:
            writes = f"writes its cache to {wants} ({expected.source})"
        else:
            writes = f"runs as user {expected.user.name}, whose cache is not under /root"
        findings.append(
            RULES["CA304"].finding(
                location,
                f"{run.where}: the cache mount targets {target}, but `{shown}` {writes}: the "
                "mount is never used.",
                subject=subject,
                fix=_fix_mount(dc, run, tool, installs, expected, replace_related=True),
            )
        )
        return findings
    lean = disabled is not None or bool(cleaners)
    where = wants or f"{tool}'s cache directory"
    if lean:
        message = (
            f"{run.where}: `{shown}` keeps the image lean but has no cache mount on {where}: "
            "every rebuild of this layer downloads every package again."
        )
    else:
        message = (
            f"{run.where}: `{shown}` has no cache mount on {where}: every rebuild of this "
            "layer downloads every package again, and the downloads are baked into the layer."
        )
    findings.append(
        RULES["CA301"].finding(
            location,
            message,
            subject=subject,
            fix=_fix_mount(dc, run, tool, installs, expected, replace_related=False),
            weight=0.5 if lean else 1.0,
        )
    )
    return findings


# --- fixes -------------------------------------------------------------------------------------


def _mount_spec(tool: str, target: str, user: User) -> str:
    spec = DOCKER_CACHES[tool]
    parts = ["type=cache"]
    if spec.mount_id:
        parts.append(f"id={spec.mount_id}")
    parts.append(f"target={target}")
    if not user.root:
        parts.append(f"uid={user.uid or '1000'},gid={user.gid or user.uid or '1000'}")
    return ",".join(parts)


def _fix_mount(
    dc: DockerfileModel,
    run: RunInfo,
    tool: str,
    installs: list[InstallCommand],
    expected: Expected,
    *,
    replace_related: bool,
) -> Fix:
    user = expected.user
    prelude: list[str] = []
    if expected.dirs:
        target = expected.dirs[0]
    else:  # unknown home: give the cache a fixed place
        target = f"/tmp/cache/{tool}"
        prelude.append(f"ENV {DOCKER_CACHES[tool].dir_envs[0]}={target}")
    if tool == "uv" and run.variables.get("UV_LINK_MODE") != "copy":
        prelude.append("ENV UV_LINK_MODE=copy")
    drop = [
        m
        for m in run.instruction.mounts
        if replace_related
        and m.type == "cache"
        and (_related(m, None, tool) or _hits(run, m, expected))
    ]
    cleaners = _cleaners(run, (target, *expected.dirs))
    text = _rewrite_run(
        dc,
        run,
        add=[_mount_spec(tool, target, user)],
        drop_mounts=drop,
        disabling=(tool, _same_tool(run, tool)),
        drop_commands=cleaners,
    )
    what = f"Mount a BuildKit cache on {target}"
    if not user.root:
        uid = f"uid {user.uid}" if user.uid else f"1000 assumed: use {user.name}'s uid"
        what += f" owned by user {user.name} ({uid})"
    what += f" so {tool} reuses its downloads across builds without storing them in the image"
    if any(i.no_cache for i in installs):
        what += "; drop the flag that disables the cache"
    if cleaners:
        what += "; stop deleting the cache, which would empty the mount"
    var = _env_disabler(run, tool)
    if var is not None:
        what += f"; remove {var.name} from the {var.where}"
    if tool == "uv" and "ENV UV_LINK_MODE=copy" in prelude:
        what += "; UV_LINK_MODE=copy avoids uv's hard-link warning across the mount"
    snippet = "\n".join([*prelude, text])
    edits = [_replace(run.instruction, snippet)]
    if not replace_related:
        spec = _mount_spec(tool, target, user)
        ident = DOCKER_CACHES[tool].mount_id or target
        later_runs = {id(r.instruction): r for i in installs for r in followups(dc, run, i)}
        for later in later_runs.values():
            if ident in _cache_ids(later):
                continue
            edits.append(_replace(later.instruction, _rewrite_run(dc, later, add=[spec])))
            what += (
                f"; mount the same cache on the RUN at line {later.instruction.line}, which "
                "installs from what this RUN downloads"
            )
    return Fix(what + ".", snippet, line_edits=tuple(edits))


def _same_tool(run: RunInfo, tool: str) -> list[InstallCommand]:
    return [i for i in run.installs if i.cache_tool == tool]


def _hits(run: RunInfo, mount: Mount, expected: Expected) -> bool:
    target = _mount_target(mount, run.variables, run.workdir)
    return target is not None and any(_covers(target, d) for d in expected.dirs)


def _fix_defeated(
    dc: DockerfileModel,
    run: RunInfo,
    tool: str,
    installs: list[InstallCommand],
    cleaners: list[Command],
) -> Fix:
    var = _env_disabler(run, tool)
    in_run = any(i.no_cache for i in installs) or bool(cleaners)
    if var is not None and not in_run:
        owner = next((s for s in run.stage.chain() if s.key == var.stage), run.stage)
        instruction = next(
            (i for i in dc.parsed.instructions if i.line == var.line and i.keyword == var.kind),
            None,
        )
        snippet = _without_assignment(instruction, var.name, dc.escape) if instruction else ""
        action = "Rewrite" if snippet else "Delete"
        edits = (_replace(instruction, snippet),) if instruction else ()
        return Fix(
            f"{action} the {var.kind} at line {var.line} in {owner.label} so {var.name} is no "
            "longer set: with the cache mount, the cache never lands in the image anyway.",
            snippet,
            line_edits=edits,
        )
    text = _rewrite_run(dc, run, disabling=(tool, _same_tool(run, tool)), drop_commands=cleaners)
    what = f"Let {tool} use the cache mount: drop what disables or deletes its cache"
    if var is not None:
        what += f", and remove {var.name} from the {var.where}"
        return Fix(what + ".", text)  # two places to change: the ENV/ARG is left to the reader
    return Fix(what + ".", text, line_edits=(_replace(run.instruction, text),))

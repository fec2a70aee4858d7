"""apt in a Dockerfile: CA305 (package lists left in a shipped image), CA306 (``apt-get
update`` alone), CA308 (downloads not cached), with their fixes.

CA305 follows hadolint's DL3009: the lists are left by the RUN that runs ``apt-get update``
without removing them (``rm -rf /var/lib/apt/lists/*``, ``apt-get dist-clean``) and without a
cache mount on them, in a stage that reaches the image (the final stage and the stages it is
built ``FROM``); ``apt-get clean`` removes downloaded packages, not the lists. A ``# hadolint
ignore=DL3009`` above the RUN is a reviewed decision and is honoured."""

from __future__ import annotations

import re
from dataclasses import replace

from cacheaudit.analyzers.dockerfile.ci_targets import ci_targets
from cacheaudit.analyzers.dockerfile.facts import APT_DIRS, APT_KEEP, APT_MOUNTS, APT_NEEDS
from cacheaudit.analyzers.dockerfile.installs import _downloads
from cacheaudit.analyzers.dockerfile.model import (
    DockerfileModel,
    RunInfo,
    _covers,
    _location,
    _short,
)
from cacheaudit.analyzers.dockerfile.mounts import _apt_cache, _cache_targets
from cacheaudit.analyzers.dockerfile.rewrite import (
    _append_command,
    _command_regex,
    _drop_command,
    _replace,
    _rewrite_run,
)
from cacheaudit.model import CacheState, Finding, Fix, LineEdit
from cacheaudit.parsing.dockerfile import parse, split_words
from cacheaudit.parsing.shell import Command, InstallCommand
from cacheaudit.rules import RULES

LISTS_CLEANUP = "rm -rf /var/lib/apt/lists/*"
_LISTS_PATH = re.compile(r"^/var/lib/apt(?:/lists)?/?\*?$|^/var/lib/apt/lists/")
"""``rm`` arguments that remove the package lists (``/var/lib/apt/lists/*`` and variants)."""


def rules_apt(dc: DockerfileModel) -> list[Finding]:
    findings: list[Finding] = []
    shipped = _shipped(dc)
    for run in dc.runs:
        installs = [i for i in run.installs if i.tool == "apt" and _downloads(dc, run, i)]
        updates = [i for i in run.installs if i.tool == "apt" and i.action == "update"]
        if installs:
            finding = _ca308(dc, run, installs[0])
            if finding is not None:
                findings.append(finding)
        if updates and run.stage.index in shipped and not _update_alone(run):
            finding = _ca305(dc, run, (installs or updates)[0], shipped[run.stage.index])
            if finding is not None:
                findings.append(finding)
        if updates and _update_alone(run):
            findings.append(_ca306(dc, run, updates[0], shipped))
    return findings


def _shipped(dc: DockerfileModel) -> dict[int, str]:
    """Stages whose files reach an image, with why: the final stage and the stages it is built
    FROM, and every stage CI builds with ``--target`` and the stages it is built FROM (POLICY
    12); none for a dev container's Dockerfile, which is built on a developer's machine and
    never shipped."""
    if ".devcontainer" in dc.path.split("/"):
        return {}
    shipped = dict.fromkeys(dc.shipped_stages(), "")
    targets = ci_targets(dc.ctx).get(dc.path, {})
    for stage in dc.stages:
        where = targets.get((stage.name or "").lower())
        if where is None:
            continue
        for built in stage.chain():
            shipped.setdefault(built.index, f"CI builds {stage.label} with --target in {where}")
    return shipped


def _update_alone(run: RunInfo) -> bool:
    installs_here = any(i.tool == "apt" and i.action == "install" for i in run.installs)
    upgrades = any(
        c.program in ("apt-get", "apt", "aptitude")
        and any(a in ("upgrade", "dist-upgrade", "full-upgrade") for a in c.argv[1:])
        for c in run.commands
    )
    return not installs_here and not upgrades


# --- CA305 -------------------------------------------------------------------------------------


def _removes_lists(run: RunInfo) -> bool:
    for command in run.commands:
        args = [a for a in command.argv[1:] if not a.startswith("-")]
        if command.program == "rm" and any(_LISTS_PATH.match(a) for a in args):
            return True
        if command.program in ("apt-get", "apt") and args[:1] == ["dist-clean"]:
            return True
        deletes = command.program == "find" and "-delete" in command.argv
        if deletes and any(a.startswith("/var/lib/apt") for a in args):
            return True
    return False


def _lists_mounted(run: RunInfo) -> bool:
    return any(_covers(t, APT_NEEDS[1]) for t in _cache_targets(run))


def _ignored(dc: DockerfileModel, run: RunInfo, code: str) -> bool:
    """A ``# hadolint ignore=DL3009`` comment right above the RUN."""
    index = run.instruction.line - 2
    while index >= 0 and dc.lines[index].lstrip().startswith("#"):
        if re.search(rf"hadolint\s+ignore=[\w,]*\b{code}\b", dc.lines[index]):
            return True
        index -= 1
    return False


def _ca305(dc: DockerfileModel, run: RunInfo, install: InstallCommand, why: str) -> Finding | None:
    if _removes_lists(run) or _lists_mounted(run) or _ignored(dc, run, "DL3009"):
        return None
    shown = _short(install.command.text)
    shipped = f"shipped ({why})" if why else "shipped"
    return RULES["CA305"].finding(
        _location(dc, install),
        f"{run.where}: `{shown}` leaves the apt package lists in {run.stage.label}, which is "
        f"{shipped}: tens of megabytes in the image, stale the moment it is built.",
        subject=f"{run.subject} / apt lists",
        fix=_fix_lists(dc, run),
    )


def _fix_lists(dc: DockerfileModel, run: RunInfo) -> Fix:
    text = _append_command(dc, run, LISTS_CLEANUP)
    description = (
        f"Remove the lists in the same RUN (`{LISTS_CLEANUP}`), or keep /var/lib/apt on a "
        "cache mount (see CA308)."
    )
    if text is None:
        return Fix(description + " Add it by hand: this RUN cannot be rewritten safely.")
    return Fix(description, text, line_edits=(_replace(run.instruction, text),))


# --- CA308 -------------------------------------------------------------------------------------


def _ca308(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> Finding | None:
    cache = _apt_cache(run)
    if cache.state is CacheState.EFFECTIVE:
        return None
    targets = _cache_targets(run)
    shown = _short(install.command.text)
    if any(_covers(t, APT_NEEDS[0]) for t in targets):
        message = (
            f"{run.where}: `{shown}` has apt cache mounts, but nothing in {run.stage.label} "
            "removes /etc/apt/apt.conf.d/docker-clean, which deletes every downloaded package "
            "after the install: the /var/cache/apt mount stays empty."
        )
        fix = Fix(
            "Keep downloaded packages: add this RUN before the stage's first apt RUN (Docker's "
            "RUN --mount reference recipe).",
            f"RUN {APT_KEEP}",
            line_edits=_keep_packages(dc, run) or (),
        )
        weight = 0.5
    else:
        missing = [
            d
            for d, need in zip(APT_DIRS, APT_NEEDS, strict=True)
            if not any(_covers(t, need) for t in targets)
        ]
        mounts = "mounts" if len(missing) > 1 else "mount"
        message = (
            f"{run.where}: `{shown}` has no cache {mounts} on {' and '.join(missing)}: every "
            "rebuild of this layer downloads the packages again."
        )
        fix = _fix_apt(dc, run)
        weight = 1.0
    return RULES["CA308"].finding(
        _location(dc, install),
        message,
        subject=f"{run.subject} / apt",
        fix=fix,
        weight=weight,
    )


def _apt_cleanups(run: RunInfo) -> list[Command]:
    """``rm -rf /var/lib/apt/lists/*`` and ``apt-get clean``: with cache mounts they only
    throw the cache away."""

    def cleanup(command: Command) -> bool:
        args = command.argv[1:]
        if command.program == "rm":
            return any(a.startswith(("/var/lib/apt", "/var/cache/apt")) for a in args)
        return command.program in ("apt-get", "apt") and args[:1] == ("clean",)

    return [c for c in run.commands if cleanup(c)]


def _fix_apt(dc: DockerfileModel, run: RunInfo) -> Fix:
    existing = [
        m
        for m in run.instruction.mounts
        if m.type == "cache" and (m.target or "").rstrip("/") in (*APT_DIRS, *APT_NEEDS)
    ]
    first_install = next(
        (i for i in run.installs if i.tool == "apt" and i.action == "install"), None
    )
    updates = any(i.tool == "apt" and i.action == "update" for i in run.installs)
    text = _rewrite_run(
        dc,
        run,
        add=list(APT_MOUNTS),
        drop_mounts=existing,
        drop_commands=_apt_cleanups(run),
        # with the lists in a cache mount, the first build starts with none: refresh them here
        prefix=None
        if updates or first_install is None
        else (
            first_install.command,
            "apt-get update && ",
        ),
    )
    keep = _keep_packages(dc, run)
    edits = [_replace(run.instruction, text)]
    if keep is not None and keep[0].start_line == run.instruction.line:
        edits = [_replace(run.instruction, f"RUN {APT_KEEP}\n{text}")]
    elif keep is not None:
        edits.extend(keep)
    return Fix(
        "Keep apt's downloads and lists in cache mounts (sharing=locked: apt needs exclusive "
        "access) instead of deleting them, and stop docker-clean from emptying the cache (once, "
        "before the stage's first apt RUN); the lists no longer need removing because the "
        "mounts never reach the image.",
        (f"RUN {APT_KEEP}\n" if keep is not None else "") + text,
        line_edits=tuple(edits),
    )


def _keep_packages(dc: DockerfileModel, run: RunInfo) -> tuple[LineEdit] | None:
    """The edit that turns Debian's docker-clean off for the stage: the RUN of
    :data:`APT_KEEP` put before the first apt RUN of the stage chain (so every apt RUN after it,
    in this stage and the stages built FROM it, keeps its downloads); None when an earlier RUN
    already did it. Every apt fix in the chain carries the same edit, so the fix engine applies
    it once and recomputes the others."""
    if run.docker_clean_off:
        return None
    chain = {id(s) for s in run.stage.chain()}
    first = next(
        r
        for r in dc.runs
        if id(r.stage) in chain and (r is run or any(i.tool == "apt" for i in r.installs))
    )
    line = first.instruction.line
    return (LineEdit(line, line, f"RUN {APT_KEEP}\n{dc.lines[line - 1]}"),)


# --- CA306 -------------------------------------------------------------------------------------


def _ca306(
    dc: DockerfileModel, run: RunInfo, update: InstallCommand, shipped: dict[int, str]
) -> Finding:
    return RULES["CA306"].finding(
        _location(dc, update),
        f"{run.where}: `{_short(update.command.text)}` runs in a RUN of its own: its "
        "cached layer keeps a stale package index, so later installs fetch outdated "
        "or vanished package versions.",
        subject=f"{run.subject} / apt-get update",
        fix=_fix_update(dc, run, update, shipped),
    )


def _fix_update(
    dc: DockerfileModel, run: RunInfo, update: InstallCommand, shipped: dict[int, str]
) -> Fix:
    later = next(
        (
            (r, i)
            for r in dc.runs
            if r.stage is run.stage and r.instruction.line > run.instruction.line
            for i in r.installs
            if i.tool == "apt" and i.action == "install"
        ),
        None,
    )
    advice = Fix(
        f"Delete the RUN at line {run.instruction.line} and run `apt-get update &&` in front of "
        "each `apt-get install`, in the same RUN.",
    )
    if later is None:
        return advice
    target, install = later
    text = _prefix_update(target, install)
    if text is None:
        return advice
    if target.stage.index in shipped and not (_removes_lists(target) or _lists_mounted(target)):
        # the lists now come from this RUN: keep them out of the shipped image (CA305)
        lines = _append_command(dc, _with_text(dc, target, text), LISTS_CLEANUP)
        if lines is None:
            return advice
        text = lines
    remaining = _drop_command(run.instruction.text, update.command)
    alone = remaining == run.instruction.text or not _has_commands(remaining)
    first = LineEdit(run.instruction.line, run.instruction.end_line, "" if alone else remaining)
    return Fix(
        f"Run `apt-get update` in the same RUN as the install at line {target.instruction.line} "
        f"and {'delete the RUN' if alone else 'drop it from the RUN'} at line "
        f"{run.instruction.line}.",
        text,
        line_edits=(first, _replace(target.instruction, text)),
    )


def _prefix_update(run: RunInfo, install: InstallCommand) -> str | None:
    """The RUN with ``apt-get update && `` in front of the install command."""
    body = _command_regex(install.command)
    text = run.instruction.text
    match = re.search(body, text) if body else None
    if match is None or run.instruction.exec_form is not None:
        return None
    return text[: match.start()] + "apt-get update && " + text[match.start() :]


def _has_commands(text: str) -> bool:
    """Whether a RUN's text still runs something once its keyword and flags are set aside."""
    words = [w for w in split_words(text.replace("\\\n", " ")) if w not in ("\\", "&&", ";")]
    return any(not w.startswith("--") for w in words[1:])


def _with_text(dc: DockerfileModel, run: RunInfo, text: str) -> RunInfo:
    """The RUN as it would read with ``text`` (only what ``_append_command`` looks at)."""
    parsed = parse(f"FROM scratch\n{text}")
    instruction = parsed.instructions[-1] if len(parsed.instructions) > 1 else None
    if instruction is None:
        return run
    shift = run.instruction.line - instruction.line
    moved = replace(
        instruction,
        line=instruction.line + shift,
        end_line=instruction.end_line + shift,
        heredocs=tuple(
            replace(h, line=h.line + shift, end_line=h.end_line + shift)
            for h in instruction.heredocs
        ),
    )
    return replace(run, instruction=moved)

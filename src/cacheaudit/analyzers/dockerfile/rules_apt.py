"""apt in a Dockerfile: CA305 (apt lists and downloads), CA306 (``apt-get update`` alone), with
their fixes."""

from __future__ import annotations

from cacheaudit.analyzers.dockerfile.facts import APT_DIRS, APT_KEEP, APT_MOUNTS, APT_NEEDS
from cacheaudit.analyzers.dockerfile.installs import _apt_cached
from cacheaudit.analyzers.dockerfile.model import (
    DockerfileModel,
    RunInfo,
    _covers,
    _location,
    _short,
)
from cacheaudit.analyzers.dockerfile.mounts import _cache_targets
from cacheaudit.analyzers.dockerfile.rewrite import _rewrite_run
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing.shell import Command, InstallCommand, find_installs, parse_script
from cacheaudit.rules import RULES


def rules_apt(dc: DockerfileModel) -> list[Finding]:
    pending: list[tuple[RunInfo, InstallCommand, bool]] = []
    update_alone: list[tuple[RunInfo, InstallCommand]] = []
    for run in dc.runs:
        for install in run.installs:
            if install.tool != "apt":
                continue
            if install.action == "update":
                if _update_alone(run):
                    update_alone.append((run, install))
                continue
            if not install.downloads_from_registry or _apt_cached(run):
                continue
            cleaned = any(
                c.program == "rm" and any(a.startswith("/var/lib/apt/lists") for a in c.argv[1:])
                for c in run.commands
            )
            pending.append((run, install, cleaned))
    return [*_ca305(dc, pending), *_ca306(dc, update_alone)]


def _update_alone(run: RunInfo) -> bool:
    installs_here = any(i.tool == "apt" and i.action == "install" for i in run.installs)
    upgrades = any(
        c.program in ("apt-get", "apt", "aptitude")
        and any(a in ("upgrade", "dist-upgrade", "full-upgrade") for a in c.argv[1:])
        for c in run.commands
    )
    return not installs_here and not upgrades


def _ca305(
    dc: DockerfileModel, pending: list[tuple[RunInfo, InstallCommand, bool]]
) -> list[Finding]:
    shipped = dc.shipped_stages()
    findings: list[Finding] = []
    seen: set[int] = set()
    for run, install, cleaned in pending:
        if id(run.instruction) in seen:
            continue  # one finding per RUN: one recipe fixes every apt-get in it
        seen.add(id(run.instruction))
        targets = _cache_targets(run)
        mounted = all(any(_covers(t, need) for t in targets) for need in APT_NEEDS)
        shown = _short(install.command.text)
        if mounted:
            message = (
                f"{run.where}: `{shown}` has apt cache mounts, but nothing in "
                f"{run.stage.label} removes /etc/apt/apt.conf.d/docker-clean, which deletes "
                "every downloaded package after the install: the /var/cache/apt mount stays "
                "empty."
            )
            weight = 0.5
            fix = Fix(
                "Keep downloaded packages: add this RUN before the install (Docker's "
                "RUN --mount reference recipe).",
                f"RUN {APT_KEEP}",
            )
        else:
            baked = not cleaned and run.stage.index in shipped
            missing = [
                d
                for d, need in zip(APT_DIRS, APT_NEEDS, strict=True)
                if not any(_covers(t, need) for t in targets)
            ]
            mounts = "mounts" if len(missing) > 1 else "mount"
            message = (
                f"{run.where}: `{shown}` has no cache {mounts} on {' and '.join(missing)}: every "
                "rebuild of this layer downloads the packages again"
                + (", and the package lists stay in the image." if baked else ".")
            )
            weight = 1.0 if baked else 0.5
            fix = _fix_apt(dc, run)
        findings.append(
            RULES["CA305"].finding(
                _location(dc, install),
                message,
                subject=f"{run.subject} / apt",
                fix=fix,
                weight=weight,
            )
        )
    return findings


def _ca306(
    dc: DockerfileModel, update_alone: list[tuple[RunInfo, InstallCommand]]
) -> list[Finding]:
    return [
        RULES["CA306"].finding(
            _location(dc, install),
            f"{run.where}: `{_short(install.command.text)}` runs in a RUN of its own: its "
            "cached layer keeps a stale package index, so later installs fetch outdated "
            "or vanished package versions.",
            subject=f"{run.subject} / apt-get update",
            fix=_fix_update(run),
        )
        for run, install in update_alone
    ]


# --- fixes -------------------------------------------------------------------------------------


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
    prelude = "" if run.docker_clean_off else f"RUN {APT_KEEP}\n"
    return Fix(
        "Keep apt's downloads and lists in cache mounts (sharing=locked: apt needs exclusive "
        "access) instead of deleting them, and stop docker-clean from emptying the cache; the "
        "lists no longer need removing because the mounts never reach the image.",
        prelude + text,
    )


def _fix_update(run: RunInfo) -> Fix:
    stage = run.stage
    later = [
        r
        for r in stage.runs
        if r.line > run.instruction.line and not r.heredocs and r.exec_form is None
    ]
    for instruction in later:
        installs = find_installs(parse_script(instruction.script, start_line=instruction.line))
        apt = next((i for i in installs if i.tool == "apt" and i.action == "install"), None)
        if apt is None:
            continue
        index = apt.line - instruction.line
        lines = instruction.text.split("\n")
        word = apt.command.text.split()[0]
        column = lines[index].find(word)
        if column < 0:
            break
        lines[index] = lines[index][:column] + "apt-get update && " + lines[index][column:]
        return Fix(
            f"Run `apt-get update` in the same RUN as the install at line {instruction.line} "
            f"and delete the RUN at line {run.instruction.line}.",
            "\n".join(lines),
        )
    return Fix(
        f"Delete the RUN at line {run.instruction.line} and run `apt-get update &&` in front of "
        "each `apt-get install`, in the same RUN.",
        "",
    )

"""CA307: ``npm install`` where ``npm ci`` fits (a lock file exists), with its fix."""

from __future__ import annotations

import posixpath
import re

from cacheaudit.analyzers.dockerfile.installs import (
    _downloads,
    _repo_dir,
    _repo_path,
    _workdir_of,
)
from cacheaudit.analyzers.dockerfile.model import DockerfileModel, RunInfo, _location, _short
from cacheaudit.analyzers.dockerfile.rewrite import _replace
from cacheaudit.installs import LOCKFILES_BY_TOOL
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.rules import RULES


def rule_ca307(dc: DockerfileModel) -> list[Finding]:
    findings: list[Finding] = []
    for run in dc.runs:
        for install in run.installs:
            if install.tool != "npm" or not _downloads(dc, run, install):
                continue
            finding = _npm_ci(dc, run, install)
            if finding is not None:
                findings.append(finding)
    return findings


def _npm_ci(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> Finding | None:
    if install.action != "install" or install.packages or install.local_targets:
        return None
    if {"-g", "--global"} & set(install.options):
        return None
    repo_dir = _repo_dir(dc, run, install)
    locks = [
        rel
        for name in LOCKFILES_BY_TOOL["npm"]
        if (rel := normalize(name, repo_dir)) is not None and rel in dc.ctx.paths
    ]
    if not locks:
        return None
    lock = posixpath.basename(locks[0])
    copied = _repo_path(dc, run, posixpath.join(_workdir_of(run, install), lock)) is not None
    return RULES["CA307"].finding(
        _location(dc, install),
        f"{run.where}: `{_short(install.command.text)}` although {locks[0]} exists: "
        "`npm ci` installs exactly the lock file, faster, and fails instead of silently "
        "resolving new versions.",
        subject=f"{run.subject} / npm install",
        fix=_fix_npm_ci(run, install, lock, copied),
    )


def _fix_npm_ci(run: RunInfo, install: InstallCommand, lock: str, copied: bool) -> Fix:
    lines = run.instruction.text.split("\n")
    index = install.line - run.instruction.line
    action = next((a for a in install.command.argv[1:] if not a.startswith("-")), "install")
    snippet = ""
    if 0 <= index < len(lines):
        start = max(lines[index].find(install.command.argv[0].rsplit("/", 1)[-1]), 0)
        word = rf"(?<![\w-]){re.escape(action)}(?![\w-])"
        tail = re.sub(word, "ci", lines[index][start:], count=1)
        lines[index] = lines[index][:start] + tail
        snippet = "\n".join(lines)
    description = f"Use `npm ci`, which installs exactly what {lock} pins"
    if not copied:
        description += f"; copy {lock} into the image next to package.json first"
        return Fix(description + ".", f"COPY package.json {lock} ./\n{snippet}")
    edits = (_replace(run.instruction, snippet),) if snippet else ()
    return Fix(description + ".", snippet, line_edits=edits)

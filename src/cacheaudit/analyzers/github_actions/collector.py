"""Recording results: the run's collector of findings (deduplicated), finding locations, and
the install sites handed to ``cross``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cacheaudit.analyzers.github_actions.model import (
    Doc,
    Index,
    Install,
    Step,
    Unit,
    Verdict,
    _fold,
    _own,
    _workspace,
)
from cacheaudit.installs import install_inputs
from cacheaudit.model import CacheState, Finding, InstallSite, Location
from cacheaudit.repo import RepoContext

PLATFORM = "github-actions"


@dataclass
class _Collector:
    ctx: RepoContext
    index: Index
    seen: set[tuple[str, str, int, str]] = field(default_factory=set)
    composite_installs: dict[tuple[str, int, str], list[tuple[Unit, Install, Verdict]]] = field(
        default_factory=dict
    )

    def add(self, finding: Finding) -> None:
        key = (finding.rule_id, finding.location.path, finding.location.line, finding.subject)
        if key not in self.seen:
            self.seen.add(key)
            self.index.findings.append(finding)


def _loc(step_or_doc: Step | Doc, line: int, column: int | None = None) -> Location:
    path = step_or_doc.doc.path if isinstance(step_or_doc, Step) else step_or_doc.path
    return Location(path, line, column)


def _site(ctx: RepoContext, unit: Unit, install: Install, verdict: Verdict) -> InstallSite:
    own = _own(unit, install.step)
    # A composite's install has one site per calling job, all with the same context (so the
    # cross-file rules report it once); the caller is named in the runs note.
    context = (
        f"{unit.where} / {install.step.label}"
        if own
        else f"action {install.path} / {install.step.label}"
    )
    runs_note = unit.job.runs_note if unit.job is not None else ""
    if not own and unit.job is not None:
        runs_note = f"called from {unit.where}" + (f", {runs_note}" if runs_note else "")
    if install.script:
        context += f" / {install.script}"
    # Files are named relative to the root only when this repository is checked out there.
    known = install.workdir is not None and _workspace(unit, install.pos) != "unknown"
    inputs = install_inputs(install.cmd, ctx, install.workdir or "") if known else ()
    state = verdict.state
    cached = {CacheState.EFFECTIVE: True, CacheState.UNKNOWN: None}.get(state, False)
    covering = verdict.covering
    return InstallSite(
        location=Location(install.path, install.line, install.column),
        platform=PLATFORM,
        context=context,
        tool=install.cmd.tool,
        command=_fold(install.cmd.command.text),
        inputs=inputs,
        cached=cached,
        cache_key_inputs=covering.key_inputs if covering is not None else (),
        cache=state,
        cache_reason=verdict.reason,
        runs_per_pipeline=unit.runs,
        runs_note=runs_note,
    )


def _defeated_by(install: Install) -> str | None:
    """Why pip's cache is off for this install: the flag, or the env var and where it is set."""
    if install.cmd.tool not in ("pip", "pipenv") and install.cmd.cache_tool != "pip":
        return None
    if "--no-cache-dir" in install.cmd.options:
        return "`--no-cache-dir`"
    if any(name == "PIP_NO_CACHE_DIR" for name, _ in install.cmd.command.env):
        return "`PIP_NO_CACHE_DIR` on the command"
    if "PIP_NO_CACHE_DIR" in install.env:
        return "`PIP_NO_CACHE_DIR` in env"
    return None


def _broken_version(step: Step) -> bool:
    spec = step.spec
    if spec is None or spec.floor is None or step.uses is None:
        return False
    return spec.floor.broken(step.uses.version) is True

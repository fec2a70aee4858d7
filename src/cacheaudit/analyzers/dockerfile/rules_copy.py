"""What is copied from the build context: CA303 (the source tree copied before an install) and
CA504 (a COPY or bind-mount source that does not exist), with their fixes."""

from __future__ import annotations

import posixpath
import re

from cacheaudit.analyzers.dockerfile.facts import DEPENDENCY_KINDS
from cacheaudit.analyzers.dockerfile.installs import _downloads, _inputs
from cacheaudit.analyzers.dockerfile.model import (
    CopyEntry,
    DockerfileModel,
    RunInfo,
    Stage,
    _fold_text,
    _indent,
    _is_glob,
    _relative_to,
    _short,
)
from cacheaudit.analyzers.dockerfile.rewrite import _append_to_install
from cacheaudit.discovery import classify
from cacheaudit.model import Finding, Fix, Location
from cacheaudit.parsing.dockerfile import Instruction
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.rules import RULES

# --- CA303 -------------------------------------------------------------------------------------


def rule_ca303(dc: DockerfileModel) -> list[Finding]:
    affected: dict[int, list[tuple[RunInfo, InstallCommand]]] = {}
    for run in dc.runs:
        for install in run.installs:
            if install.tool == "apt" or install.cache_tool in ("apt", "apk"):
                continue
            if not _downloads(dc, run, install):
                continue
            for entry in run.copies:
                if entry.whole_tree and install.cache_tool not in entry.tools_before:
                    affected.setdefault(id(entry), []).append((run, install))
    findings: list[Finding] = []
    for entry in dc.copies:
        victims = affected.get(id(entry))
        if not victims:
            continue
        run, install = victims[0]
        copy_text = _fold_text(entry.instruction.text)
        others = len({id(r.instruction) for r, _ in victims}) - 1
        more = f" (and {others} more install RUN{'s' if others > 1 else ''})" if others else ""
        stage_note = "" if run.stage is entry.stage else f" in {run.stage.label}"
        findings.append(
            RULES["CA303"].finding(
                Location(dc.path, entry.instruction.line, _indent(dc, entry.instruction.line)),
                f"{entry.stage.label}: `{_short(copy_text)}` (line {entry.instruction.line}) "
                f"copies the whole source tree before `{_short(install.command.text)}` "
                f"(line {install.line}){stage_note}{more}: any source edit invalidates the "
                "install layer and reinstalls every dependency.",
                subject=f"stage {entry.stage.key} / {entry.instruction.keyword} #{entry.ordinal}",
                fix=_fix_reorder(dc, entry, victims),
            )
        )
    return findings


_DEPS_FIRST: dict[str, tuple[str, str]] = {
    "uv": ("--no-install-project", ""),
    "poetry": ("--no-root", "--only-root"),
    "pdm": ("--no-self", ""),
}
"""(flag for the dependencies-only install, flag for the later project install)."""


def _fix_reorder(
    dc: DockerfileModel, entry: CopyEntry, victims: list[tuple[RunInfo, InstallCommand]]
) -> Fix:
    """COPY the manifests, install, then COPY the rest (and install the project)."""
    dest = entry.instruction.text.split()[-1] if not entry.instruction.exec_form else entry.dest
    dest_dir = dest if dest.endswith("/") else dest + "/"
    if dest in (".", "./"):
        dest_dir = "./"
    manifests: list[str] = []
    runs: list[str] = []
    after: list[str] = []
    project_note = ""
    for run, install in victims:
        inputs = _inputs(dc, run, install)
        for path in inputs:
            rel = _relative_to(path, dc.build_context)
            if rel and rel not in manifests:
                manifests.append(rel)
        text = run.instruction.text
        if text in runs:
            continue
        first_flag, project_flag = _DEPS_FIRST.get(install.tool, ("", ""))
        if first_flag and first_flag not in text:
            runs.append(_append_to_install(run, install, first_flag))
            later = _append_to_install(run, install, project_flag) if project_flag else text
            after.append(later)
        elif (
            install.tool in ("pip", "uv")
            and install.local_targets
            and not (install.requirement_files)
        ):
            project_note = (
                " pip cannot install only a project's dependencies: export them to "
                "requirements.txt (uv export, pip-compile), install that first, then the "
                "project with --no-deps."
            )
            manifests = [m for m in manifests if not m.endswith("pyproject.toml")] + [
                "requirements.txt"
            ]
            runs.append(_replace_targets(run, install))
            after.append(_no_deps(run, install))
        else:
            runs.append(text)
    if not manifests:
        manifests = ["<dependency manifests>"]
    block = [f"COPY {' '.join(manifests)} {dest_dir}", *runs, entry.instruction.text, *after]
    return Fix(
        f"Copy only {', '.join(manifests)} before installing, then copy the source, so source "
        f"edits reuse the cached dependency layer.{project_note}",
        "\n".join(block),
    )


def _replace_targets(run: RunInfo, install: InstallCommand) -> str:
    text = run.instruction.text
    for target in install.local_targets:
        text = re.sub(
            rf"(?:-e[ \t]+|--editable[ \t=]+)?(?<![\w/.-]){re.escape(target)}(?![\w/.-])",
            "-r requirements.txt",
            text,
            count=1,
        )
    return text


def _no_deps(run: RunInfo, install: InstallCommand) -> str:
    target = install.local_targets[0] if install.local_targets else "."
    program = "uv pip install" if install.tool == "uv" else "pip install"
    editable = "-e " if {"-e", "--editable"} & set(install.options) else ""
    return f"RUN {program} --no-deps {editable}{target}"


# --- CA504 -------------------------------------------------------------------------------------


def rule_ca504(dc: DockerfileModel) -> list[Finding]:
    findings: list[Finding] = []
    for entry in dc.copies:
        for source in entry.sources:
            findings.extend(
                _check_reference(dc, entry.stage, entry.instruction, entry.ordinal, source)
            )
    for run in dc.runs:
        for source, _ in run.binds:
            findings.extend(_check_reference(dc, run.stage, run.instruction, run.ordinal, source))
    return findings


def _check_reference(
    dc: DockerfileModel, stage: Stage, instruction: Instruction, ordinal: int, source: str
) -> list[Finding]:
    """A COPY/ADD/bind source naming a dependency file that no candidate build context has."""
    if not source or _is_glob(source) or "$" in source:
        return []
    kind = classify(source)
    if kind not in DEPENDENCY_KINDS:
        return []
    if any(dc.ctx.exists(source, base) for base in dc.candidates):
        return []
    what = "bind mount source" if instruction.keyword == "RUN" else f"{instruction.keyword} source"
    looked = ", ".join(f"{c}/" if c else "the repository root" for c in dc.candidates)
    same_name = dc.ctx.named(posixpath.basename(source))
    snippet = ""
    description = f"Commit {source} or correct the path in the {instruction.keyword}."
    if len(same_name) == 1 and _relative_to(same_name[0], dc.build_context) is not None:
        better = _relative_to(same_name[0], dc.build_context) or same_name[0]
        snippet = instruction.text.replace(source, better, 1)
        description = f"Point the {instruction.keyword} at {same_name[0]}, the file that exists."
    return [
        RULES["CA504"].finding(
            _source_location(dc, instruction, source),
            f"{stage.label}: the {what} {source} (line {instruction.line}) does not exist "
            f"(looked in {looked}): the build fails there.",
            subject=f"stage {stage.key} / {instruction.keyword} #{ordinal} / {source}",
            fix=Fix(description, snippet),
        )
    ]


def _source_location(dc: DockerfileModel, instruction: Instruction, source: str) -> Location:
    for offset, line in enumerate(instruction.text.split("\n")):
        column = line.find(source)
        if column >= 0:
            return Location(dc.path, instruction.line + offset, column + 1)
    return Location(dc.path, instruction.line)

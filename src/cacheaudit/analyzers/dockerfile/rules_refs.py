"""CA504 for Dockerfiles: a COPY/ADD or bind-mount source naming a dependency file that does not
exist in any directory that could be the build context, with the path that does exist."""

from __future__ import annotations

import posixpath

from cacheaudit.analyzers.dockerfile.facts import DEPENDENCY_KINDS
from cacheaudit.analyzers.dockerfile.model import (
    DockerfileModel,
    Stage,
    _is_glob,
    _relative_to,
)
from cacheaudit.analyzers.dockerfile.rewrite import _replace
from cacheaudit.discovery import classify
from cacheaudit.model import Finding, Fix, LineEdit, Location
from cacheaudit.parsing.dockerfile import Instruction
from cacheaudit.rules import RULES


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
    edits: tuple[LineEdit, ...] = ()
    description = f"Commit {source} or correct the path in the {instruction.keyword}."
    if len(same_name) == 1 and _relative_to(same_name[0], dc.build_context) is not None:
        better = _relative_to(same_name[0], dc.build_context) or same_name[0]
        snippet = instruction.text.replace(source, better, 1)
        description = f"Point the {instruction.keyword} at {same_name[0]}, the file that exists."
        edits = (_replace(instruction, snippet),)
    return [
        RULES["CA504"].finding(
            _source_location(dc, instruction, source),
            f"{stage.label}: the {what} {source} (line {instruction.line}) does not exist "
            f"(looked in {looked}): the build fails there.",
            subject=f"stage {stage.key} / {instruction.keyword} #{ordinal} / {source}",
            fix=Fix(description, snippet, line_edits=edits),
        )
    ]


def _source_location(dc: DockerfileModel, instruction: Instruction, source: str) -> Location:
    for offset, line in enumerate(instruction.text.split("\n")):
        column = line.find(source)
        if column >= 0:
            return Location(dc.path, instruction.line + offset, column + 1)
    return Location(dc.path, instruction.line)

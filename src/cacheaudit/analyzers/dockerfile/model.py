"""What a Dockerfile means to the rules: its stages (ENV, ARG, USER, WORKDIR, the stage each is
built ``FROM``), the build-context files copied where, and each ``RUN`` with the state BuildKit
would give it (a snapshot taken when the walk reached it); plus the small path and text helpers
every module uses."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cacheaudit.discovery import SourceFile
from cacheaudit.model import Location
from cacheaudit.parsing.dockerfile import Instruction, Mount, ParsedDockerfile, expand
from cacheaudit.parsing.shell import Command, InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


@dataclass(frozen=True)
class Var:
    """A variable visible to RUN: its value and where it was set."""

    value: str | None
    """None when it references something unknown (a base-image variable)."""
    line: int
    kind: str
    """``ENV`` or ``ARG``."""
    stage: str
    name: str
    at: int = 0
    """The line inside the instruction where ``name`` is set (a continuation line)."""

    @property
    def where(self) -> str:
        return f"{self.kind} at line {self.at or self.line}"


@dataclass(frozen=True)
class User:
    name: str
    uid: str | None
    gid: str | None
    home: str | None
    """None when unknown (a numeric user without a passwd entry we saw)."""

    @property
    def root(self) -> bool:
        return self.name in ("root", "0")


ROOT = User("root", "0", "0", "/root")


@dataclass(frozen=True)
class CopyEntry:
    """One COPY/ADD of build-context files into the image."""

    instruction: Instruction
    stage: Stage
    ordinal: int
    sources: tuple[str, ...]
    """Context-relative, normalised (``""`` is the whole context); may be globs."""
    dest: str
    """Absolute image path."""
    dest_is_dir: bool
    whole_tree: bool
    tools_before: frozenset[str]
    """Cache tools already installed in the stage chain before this copy (the two-step
    pattern: dependencies first, then the project)."""
    workdir: str = "/"
    """The working directory the copy ran in."""


@dataclass
class Stage:
    """One ``FROM`` and what its instructions set, as it stands at the end of the walk."""

    index: int
    name: str | None
    image: str
    parent: Stage | None
    """The earlier stage this one is built ``FROM``, whose image config it inherits."""
    env: dict[str, Var] = field(default_factory=dict)
    args: dict[str, Var] = field(default_factory=dict)
    workdir: str = "/"
    user: User = ROOT
    users: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    """name → (uid, gid, home) from useradd/adduser."""
    copies: list[CopyEntry] = field(default_factory=list)
    docker_clean_off: bool = False
    installed: set[str] = field(default_factory=set)
    configured: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    """(tool, user) → (cache directory, line) set by ``pnpm config set store-dir``, ``npm
    config set cache``, ``pip config set global.cache-dir``... in an earlier RUN."""
    runs: list[Instruction] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name or f"#{self.index}"

    @property
    def label(self) -> str:
        return f"stage {self.name}" if self.name else f"stage #{self.index} ({self.image})"

    def variables(self) -> dict[str, str]:
        """What RUN and variable expansion see: ARG values, overridden by ENV."""
        merged = {k: v.value for k, v in self.args.items() if v.value is not None}
        merged.update({k: v.value for k, v in self.env.items() if v.value is not None})
        return merged

    def var(self, name: str) -> Var | None:
        return self.env.get(name) or self.args.get(name)

    def chain(self) -> Iterable[Stage]:
        stage: Stage | None = self
        while stage is not None:
            yield stage
            stage = stage.parent


@dataclass(frozen=True)
class RunInfo:
    """One ``RUN`` with the stage state it runs in."""

    stage: Stage
    instruction: Instruction
    ordinal: int
    commands: list[Command]
    installs: list[InstallCommand]
    variables: dict[str, str]
    binds: list[tuple[str, str]]
    """(context-relative source, absolute image target) of context bind mounts."""
    user: User
    workdir: str
    copies: tuple[CopyEntry, ...]
    """Build-context copies made before this RUN in the stage chain."""
    env: dict[str, Var]
    args: dict[str, Var]
    docker_clean_off: bool
    """Debian's docker-clean hook was removed before (or in) this RUN."""
    configured: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    """Cache directories set by config commands in earlier RUNs (see ``Stage.configured``)."""

    @property
    def subject(self) -> str:
        return f"stage {self.stage.key} / RUN #{self.ordinal}"

    @property
    def where(self) -> str:
        return f"{self.stage.label}, RUN at line {self.instruction.line}"

    def var(self, name: str) -> Var | None:
        return self.env.get(name) or self.args.get(name)


@dataclass
class DockerfileModel:
    """One Dockerfile read: the parse, the build context, the stages and what they run."""

    ctx: RepoContext
    file: SourceFile
    parsed: ParsedDockerfile
    lines: list[str]
    build_context: str
    """Repository-relative directory taken as the build context."""
    candidates: tuple[str, ...]
    """Every directory that could be the build context (the Dockerfile's and its parents)."""
    stages: list[Stage] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    copies: list[CopyEntry] = field(default_factory=list)
    """Every build-context COPY/ADD, in file order."""

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def escape(self) -> str:
        return self.parsed.escape

    def shipped_stages(self) -> set[int]:
        """Indexes of the final stage and the stages it is built FROM (DL3009's exemption:
        other stages never reach the image)."""
        if not self.stages:
            return set()
        return {s.index for s in self.stages[-1].chain()}


# --- paths -------------------------------------------------------------------------------------


def _abs(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir, path))


def _mount_target(mount: Mount, variables: dict[str, str], workdir: str) -> str | None:
    """The mount's absolute target as BuildKit expands it (ENV/ARG only: ``$HOME`` is empty
    unless set by ENV, ``~`` is literal), or None when it uses an unknown variable."""
    target = mount.target
    if target is None:
        return None
    value = expand(target, variables, unset={"HOME": ""})
    if value is None:
        return None
    return _abs(value, workdir)


def _covers(target: str, directory: str) -> bool:
    return directory == target or directory.startswith(target.rstrip("/") + "/")


def _join(*parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(*[p for p in parts if p] or ["."]))
    return "" if joined == "." else joined


def _relative_to(path: str, base: str) -> str | None:
    if not base:
        return path
    return path[len(base) + 1 :] if path.startswith(base + "/") else None


def _is_dir(ctx: RepoContext, path: str, base: str) -> bool:
    """``ctx.is_dir`` scans every path; a Dockerfile asks about the same few many times."""
    rel = normalize(path, base)
    if rel is None:
        return False
    return ctx.memo("dockerfile:is-dir", rel, lambda: ctx.is_dir(rel))


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


# --- text and locations ------------------------------------------------------------------------


def _location(dc: DockerfileModel, install: InstallCommand) -> Location:
    word = install.command.text.split()[0] if install.command.text.split() else ""
    column = None
    if word and 1 <= install.line <= len(dc.lines):
        found = dc.lines[install.line - 1].find(word)
        column = found + 1 if found >= 0 else None
    return Location(dc.path, install.line, column)


def _indent(dc: DockerfileModel, line: int) -> int | None:
    if 1 <= line <= len(dc.lines):
        text = dc.lines[line - 1]
        return len(text) - len(text.lstrip()) + 1
    return None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fold_text(text: str) -> str:
    return " ".join(re.sub(r"\\\n", " ", text).split())

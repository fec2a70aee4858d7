"""The parsed model of GitHub Actions files: a document, its jobs and steps, a job expanded into
a *unit*, and the run's index of all of them; with the small helpers every module uses and the
questions rules ask of a unit's steps (is the repository checked out, does it publish)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.model import CacheState, Finding, ImageBuild, InstallSite
from cacheaudit.parsing.shell import Command, InstallCommand, parse_script
from cacheaudit.parsing.yaml import key_line, value_line
from cacheaudit.repo import RepoContext

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_HASHFILES = re.compile(r"hashFiles\s*\(", re.I)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_GLOB_CHARS = re.compile(r"[*?\[]")
_OUTPUT_ASSIGN = re.compile(r"^([\w-]+)=(.*)$", re.S)


@dataclass(frozen=True)
class Uses:
    """A step's ``uses:``."""

    raw: str
    kind: str
    """``action`` (owner/repo[/path]@ref), ``local`` (./path), ``docker`` or ``unknown``."""
    name: str
    """Lower-case ``owner/repo[/path]``, or the normalised local path."""
    ref: str = ""
    comment: str = ""
    """The trailing YAML comment on the ``uses:`` line (``# v4.2.0``)."""

    @property
    def version(self) -> facts.Ref:
        return facts.parse_ref(self.ref, self.comment)

    def major(self) -> int | None:
        """The major version the ref runs; None for SHAs without a comment and branches."""
        ref = self.version
        return ref.version[0] if ref.version else None


@dataclass
class Doc:
    """One parsed workflow or action file."""

    path: str
    text: str
    lines: list[str]
    root: Any
    error: Finding | None = None
    jobs: list[Job] | None = None
    """Parsed jobs, filled on first use."""
    indent: int = 0
    """The file's indentation step, filled on first use."""

    @property
    def name(self) -> str:
        return self.path if self.is_action else posixpath.basename(self.path)

    @property
    def is_action(self) -> bool:
        return posixpath.basename(self.path) in ("action.yml", "action.yaml")


@dataclass
class Step:
    doc: Doc
    seq: Any
    index: int
    """1-based position among its siblings."""
    node: dict[str, Any]
    name: str | None
    id: str | None
    uses: Uses | None
    inputs: dict[str, str]
    """``with:`` values as text (``true``/``false`` for booleans)."""
    with_node: dict[str, Any] | None
    run: str | None
    env: dict[str, str | None]
    working_directory: str | None
    shell: str | None
    line: int
    ident: str = ""
    """Stable identity within its job, for fingerprints (name, id, or what it uses/runs)."""
    parsed: list[Command] | None = None
    """``run:`` parsed as shell, with file lines (filled on first use)."""

    def commands(self) -> list[Command]:
        """The ``run:`` script's commands, parsed once."""
        if self.parsed is None:
            self.parsed = (
                []
                if self.run is None
                else parse_script(self.run, start_line=value_line(self.node, "run"))
            )
        return self.parsed

    @property
    def label(self) -> str:
        if self.name:
            what = self.name
        elif self.uses is not None:
            what = self.uses.raw
        elif self.run is not None:
            first = next((ln.strip() for ln in self.run.splitlines() if ln.strip()), "run")
            what = first if len(first) <= 40 else first[:37] + "..."
        else:
            what = "?"
        return f"step {self.index} ({what})"

    @property
    def spec(self) -> facts.ActionSpec | None:
        if self.uses is None or self.uses.kind != "action":
            return None
        spec = facts.KNOWN_ACTIONS.get(self.uses.name)
        if spec is not None:
            return spec
        # Drop-in replacements of actions/cache (runs-on/cache, buildjet/cache...) take the same
        # path/key inputs; anything else named like a cache is unknown to us.
        repo = self.uses.name.split("/")[1] if "/" in self.uses.name else ""
        if "cache" in repo and "path" in self.inputs and "key" in self.inputs:
            return facts.ActionSpec("cache")
        return None

    def input_line(self, key: str) -> int:
        if self.with_node is not None and key in self.with_node:
            return key_line(self.with_node, key)
        return self.line


@dataclass
class Job:
    doc: Doc
    id: str
    node: dict[str, Any]
    line: int
    steps: list[Step]
    env: dict[str, str | None]
    workdir: str | None
    runner: str
    """``github`` (GitHub-hosted), ``ephemeral`` (third-party hosted), ``self``, ``other``
    (custom labels) or ``unknown`` (an expression)."""
    oses: frozenset[str] | None
    matrix: dict[str, list[str] | None]
    runs_on_vars: frozenset[str]
    calls: str | None
    """Path of a local reusable workflow this job calls."""
    runs: int = 1
    """Runs per pipeline: the number of matrix combinations (1 when an expression decides)."""
    runs_note: str = ""
    """How ``runs`` was counted (``matrix 3×2 + 1 included``)."""


RELEASE_EVENTS = frozenset({"release", "pull_request_target", "workflow_run"})
"""Events zizmor's ``cache-poisoning`` audit treats as release-like (plus tag and release-branch
pushes)."""
NEUTRAL_EVENTS = frozenset({"workflow_dispatch", "repository_dispatch", "workflow_call"})
"""Manual and API triggers: they neither make a workflow a release workflow nor a CI one."""


@dataclass(frozen=True)
class Triggers:
    events: frozenset[str]
    complete: bool
    """False when a reusable workflow's callers are not in this repository."""
    tag_push: bool
    release_branch_push: bool
    pr_branches: tuple[str, ...]
    line: int
    branch_push: bool = False
    """``push`` runs for ordinary (non-release) branches."""

    @property
    def release_only(self) -> list[str]:
        """The release-like triggers when the workflow runs on nothing else (RULES CA110): a
        workflow that also runs on pull requests, schedules or branch pushes is a CI workflow,
        whose jobs are judged one by one. Empty when it is not release-only."""
        reasons: list[str] = []
        if "release" in self.events:
            reasons.append("`release`")
        if self.tag_push:
            reasons.append("tag pushes")
        if self.release_branch_push:
            reasons.append("pushes to release branches")
        for event in ("pull_request_target", "workflow_run"):
            if event in self.events:
                reasons.append(f"`{event}`")
        others = self.events - RELEASE_EVENTS - NEUTRAL_EVENTS
        if (
            "push" in self.events
            and not self.branch_push
            and (self.tag_push or self.release_branch_push)
        ):
            others -= {"push"}
        return reasons if reasons and not others else []


@dataclass(frozen=True)
class EffStep:
    """A step as it runs in one job: with the env and default working directory it gets."""

    step: Step
    env: Mapping[str, str | None]
    workdir: str | None
    via: Step | None
    """The job's own step that led here through composite actions (None for the job's steps)."""


@dataclass(frozen=True)
class PathEntry:
    raw: str
    norm: str | None
    """Normalised (``~/.cache/pip``, ``node_modules``); None when an expression hides it."""
    line: int
    kinds: frozenset[str]
    """Tools whose cache dir it holds, plus ``python-env`` / ``node-env``."""


@dataclass(frozen=True)
class CacheUse:
    pos: int
    eff: EffStep
    kind: str
    tools: frozenset[str] | None
    """Installs covered (by tool or cache tool); None when unknown. Empty for actions/cache,
    whose coverage depends on each install's cache directory."""
    restores: bool | None
    line: int
    key_inputs: tuple[str, ...]
    entries: tuple[PathEntry, ...] = ()
    what: str = ""
    """How to name it in a message: ``cache: pip`` on setup-python, actions/cache of ...."""

    @property
    def step(self) -> Step:
        return self.eff.step


@dataclass(frozen=True)
class Install:
    pos: int
    eff: EffStep
    cmd: InstallCommand
    line: int
    column: int | None
    env: Mapping[str, str | None]
    workdir: str | None
    registry: bool
    script: str | None = None
    script_line: int = 0
    group_packages: frozenset[str] | None = None
    """Names of the packages the ``--group`` options install (pyproject's
    ``[dependency-groups]``, includes followed); None when there are none or they cannot be
    read."""

    @property
    def step(self) -> Step:
        return self.eff.step

    @property
    def path(self) -> str:
        return self.step.doc.path

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.cmd.tool, self.cmd.cache_tool})

    @property
    def described(self) -> str:
        text = _fold(self.cmd.command.text)
        if self.script:
            return f"`{text}` ({self.script}:{self.script_line})"
        return f"`{text}`"


@dataclass(frozen=True)
class Verdict:
    """Whether an install's downloads come from a cache, and why."""

    state: CacheState
    reason: str = ""
    covering: CacheUse | None = None
    later: CacheUse | None = None
    """A cache of the tool restored only after the install."""
    warms: CacheUse | None = None
    """A save-only cache of the tool's directory after the install: the job fills the cache
    for other jobs (a cache warmer), so its own downloads are deliberate."""


@dataclass
class Unit:
    """A job (or a composite action audited on its own) with its steps expanded."""

    doc: Doc
    job: Job | None
    steps: list[EffStep]
    triggers: Triggers | None
    caches: list[CacheUse] = field(default_factory=list)
    installs: list[Install] = field(default_factory=list)
    standalone: bool = False
    """A composite action with no caller in this repository: its context is unknown."""
    publishes: dict[int, tuple[str, bool]] = field(default_factory=dict)
    """Position of a step → the publishing command it runs through a script of the repository
    (``npm run release`` whose package.json script runs ``semantic-release``) and whether it
    publishes only a preview, set when the unit is built."""
    broken: dict[int, str] = field(default_factory=dict)
    """Position of a cache step → why it never serves the installs it covers (a failing
    version, a key that never changes or never matches, a step that fails), set by the cache
    rules before the install rules run."""

    @property
    def runs(self) -> int:
        return self.job.runs if self.job else 1

    @property
    def runner(self) -> str:
        return self.job.runner if self.job else "unknown"

    @property
    def where(self) -> str:
        if self.job is None:
            return f"action {self.doc.path}"
        return f"workflow {self.doc.name} / job {self.job.id}"

    def at(self, step: Step) -> str:
        """Message prefix naming the file, job and step."""
        if step.doc.path == self.doc.path:
            return f"{self.where} / {step.label}"
        return f"action {step.doc.path} / {step.label} (called from {self.where})"

    def scope(self, step: Step) -> str:
        """``job ID`` for the job's own steps, ``action`` for steps of a composite."""
        return f"job {self.job.id}" if self.job and step.doc.path == self.doc.path else "action"

    def subject(self, step: Step, what: str = "") -> str:
        tail = f" / {what}" if what else ""
        return f"{self.scope(step)} / step {step.ident}{tail}"


@dataclass
class Index:
    """Everything built once per run: parsed documents, units, per-file results."""

    docs: dict[str, Doc] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    installs: list[InstallSite] = field(default_factory=list)
    builds: list[ImageBuild] = field(default_factory=list)


def _text(value: Any) -> str | None:
    """A scalar as text (booleans as ``true``/``false``); None for mappings and sequences."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return None
    return str(value)


def _map(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def _is_expr(value: str | None) -> bool:
    return value is not None and "${{" in value


def _fold(text: str) -> str:
    return " ".join(text.split())


def _env(node: Any) -> dict[str, str | None]:
    """An ``env:`` mapping as text (expressions kept verbatim; None for non-scalars)."""
    return {k: _text(v) for k, v in _map(node).items() if isinstance(k, str)}


def _lines_of(value: str) -> list[str]:
    return [ln.strip() for ln in value.splitlines() if ln.strip()]


def _quote(value: str) -> str:
    """A YAML scalar for a ``with:`` value: quoted when it starts with a YAML indicator."""
    if value and (value[0] in "*&!{}[]%@`'\"|>#,?:-" or ": " in value or " #" in value):
        return "'" + value.replace("'", "''") + "'"
    return value


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "image"


def _workspace(unit: Unit, pos: int) -> str:
    """Whether this repository's files are at the workspace root when step ``pos`` runs:
    ``ok``; ``late`` (checked out only after it); ``unknown``."""
    if unit.standalone:
        return "unknown"
    seen = False
    unsure = False
    for i, eff in enumerate(unit.steps):
        step = eff.step
        spec = step.spec
        if spec is not None and spec.kind == "checkout":
            repo = step.inputs.get("repository", "").strip()
            path = step.inputs.get("path", "").strip().strip("/")
            own = repo in ("", "${{ github.repository }}")
            if own and path in ("", "."):
                if i < pos:
                    seen = True
                elif not seen and not unsure:
                    return "late"
            elif i < pos and (own or path in ("", ".")):
                return "unknown"
        elif i < pos and spec is not None and spec.kind == "download-artifact":
            return "unknown"
        elif i < pos and step.uses is not None and step.uses.kind == "action" and spec is None:
            unsure = True  # an unknown action may check out or generate files
        if i >= pos and seen:
            break
    return "ok" if seen else "unknown"


def _gh_glob(ctx: RepoContext, pattern: str) -> list[str]:
    """Files a GitHub glob (``hashFiles``, ``cache-dependency-path``) matches from the root:
    relative patterns are anchored there, unlike ``.gitignore``-style ones."""
    pat = pattern.strip()
    if not pat or pat.startswith("!"):
        return []
    pat = pat.replace("${{ github.workspace }}/", "").removeprefix("$GITHUB_WORKSPACE/")
    if not pat.startswith(("**", "/", "./")):
        pat = "./" + pat
    return ctx.glob(pat)


def _unknowable(pattern: str) -> bool:
    """Patterns cacheaudit cannot check: absolute, expressions, or inside skipped dirs."""
    from cacheaudit.discovery import SKIPPED_DIRS

    pat = pattern.strip()
    if not pat or pat.startswith(("/", "~", "$")) or "${{" in pat or ".." in pat.split("/"):
        return True
    return any(part in SKIPPED_DIRS for part in pat.split("/"))


def _own(unit: Unit, step: Step) -> bool:
    return step.doc.path == unit.doc.path


def _last_step(unit: Unit, kind: str, before: int, doc: Doc | None = None) -> Step | None:
    """The last step of ``kind`` before position ``before`` (in ``doc`` only, if given)."""
    found = None
    for eff in unit.steps[:before]:
        if (
            eff.step.spec is not None
            and eff.step.spec.kind == kind
            and (doc is None or eff.step.doc is doc)
        ):
            found = eff.step
    return found


_TAG_CONDITION = re.compile(
    r"startsWith\(\s*github\.ref\s*,\s*'refs/tags/?'\s*\)|github\.ref_type\s*==\s*'tag'"
    r"|github\.event_name\s*==\s*'release'",
    re.I,
)
_RELEASE_NAME = re.compile(
    rf"^[^A-Za-z0-9]*(?:{'|'.join(facts.RELEASE_VERBS)})(?:e?s|e?d|ing)?(?![A-Za-z0-9])", re.I
)
"""A name that starts with a publishing verb (emoji and punctuation before it allowed)."""
_NOT_RELEASE_NAME = re.compile(
    r"artifact|coverage|codecov|test.?result|junit|report|\blogs?\b|notify|prepare|draft|"
    r"notes|changelog|dry.?run|\bpr\b|pull.?request",
    re.I,
)


def _release_name(name: str) -> bool:
    return bool(_RELEASE_NAME.search(name)) and not _NOT_RELEASE_NAME.search(name)


def publish_command(command: Command, *, previews: bool = True) -> str | None:
    """How ``command`` publishes (its text), or None: a command of
    :data:`facts.PUBLISH_COMMANDS`, also behind a launcher (``npx semantic-release``,
    ``python -m twine upload``), ``docker build --push``, ``git push --tags``."""
    argv = command.argv
    if not argv or any(a in ("--dry-run", "--dryrun") for a in argv):
        return None
    # options dropped, versions too (`npx semantic-release@24`, not a scoped `@scope/pkg`)
    words = [command.program] + [
        (a.rsplit("@", 1)[0] if a.rfind("@") > 0 else a) for a in argv[1:] if not a.startswith("-")
    ]
    text = _fold(command.text)[:60]
    for start in range(min(4, len(words))):
        if start and words[start - 1] not in facts.PUBLISH_LAUNCHERS:
            break
        for size in (1, 2, 3):
            found = tuple(words[start : start + size])
            if found in facts.PUBLISH_COMMANDS and (
                previews or found not in facts.PREVIEW_PUBLISH_COMMANDS
            ):
                return text
    if command.program == "docker" and "--push" in argv:
        return text
    if (
        command.program == "git"
        and words[1:2] == ["push"]
        and {"--tags", "--follow-tags"} & set(argv)
    ):
        return text
    return None


def _publishes(unit: Unit) -> Step | None:
    """The first step of the job that publishes what it built."""
    found = _publishing(unit)
    return found[0] if found else None


def _publishing(
    unit: Unit, *, job_names: bool = True, previews: bool = True
) -> tuple[Step, str] | None:
    """The step that publishes and how to say so: a known publisher action or command (also
    run through a script of the repository); in a workflow that only runs by hand
    (``workflow_dispatch``), a step, job or workflow named as a release (the name starts with
    release/publish/deploy/upload/push), since such jobs publish through scripts of their own;
    with ``job_names``, a job so named in any workflow (``deploy``, ``release-nightly``);
    with ``previews``, publishes of preview builds (pkg.pr.new)."""
    for pos, eff in enumerate(unit.steps):
        step = eff.step
        if step.uses is not None and step.uses.kind == "action":
            if step.uses.name in facts.PUBLISHER_ACTIONS:
                return step, f"publishes in {step.label}"
            if step.uses.name == "docker/build-push-action":
                push = step.inputs.get("push", "").strip().lower()
                if push == "true" or _is_expr(push):
                    return step, f"pushes an image in {step.label}"
        if step.run is not None:
            for command in step.commands():
                text = publish_command(command, previews=previews)
                if text is not None:
                    image = command.program in ("docker", "podman")
                    what = "pushes an image" if image else "publishes"
                    return step, f"{what} in {step.label} (`{text}`)"
        how, preview = unit.publishes.get(pos, ("", False))
        if how and (previews or not preview):
            return step, f"publishes in {step.label} ({how})"
    if unit.job is None:
        return None
    own = [e.step for e in unit.steps if _own(unit, e.step)]
    named = own and any(
        _release_name(n) for n in (unit.job.id, _text(unit.job.node.get("name")) or "") if n
    )
    triggers = unit.triggers
    if (
        triggers is None
        or not triggers.complete
        or not triggers.events
        or not triggers.events <= {"workflow_dispatch", "repository_dispatch"}
    ):
        return (own[-1], "is named as a release job") if named and job_names else None
    for step in own:
        if step.name and _release_name(step.name):
            return step, f"runs only by hand and releases in {step.label}"
    if named:
        return own[-1], "runs only by hand and is named as a release job"
    workflow = _text(_map(unit.doc.root).get("name")) or posixpath.basename(unit.doc.path)
    if own and _release_name(workflow):
        return own[-1], "runs only by hand in a workflow named as a release"
    return None


def _release_reasons(unit: Unit) -> list[str]:
    """Why a job's caches are a poisoning risk whatever it does (RULES CA110, zizmor): the
    workflow runs only on release-like events, or the job's own ``if:`` runs it only for tags
    or releases. Empty for jobs of CI workflows, which are judged by what they do."""
    triggers = unit.triggers
    if triggers is None or unit.job is None:
        return []
    reasons = triggers.release_only
    if reasons:
        return reasons
    condition = _text(unit.job.node.get("if")) or ""
    m = _TAG_CONDITION.search(condition)
    if m and "||" not in condition and not condition[: m.start()].rstrip().endswith("!"):
        return ["a job condition that runs it only for tags or releases"]
    return []


def _release_job(unit: Unit) -> bool:
    """A job whose caches are CA110's business, not CA101's: it publishes, or it runs only for
    releases. A release should build from a clean slate."""
    return bool(_release_reasons(unit)) or _publishes(unit) is not None

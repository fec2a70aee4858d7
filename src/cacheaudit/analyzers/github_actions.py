"""GitHub Actions: workflows (``.github/workflows/*.yml``) and composite actions (``action.yml``).

Rules CA101–CA114, plus CA504 for files named by cache inputs (``cache-dependency-path``,
``hashFiles``); missing ``-r`` files of installs are reported by ``cross`` from the install sites.

How it works. Every workflow job is expanded into a *unit*: its steps in order, with the steps of
local composite actions (``uses: ./path``) spliced in where they are called, each with the env
and working directory it runs with. The caches a unit restores and the installs it runs are then
read from that list, so a composite that sets up ``cache: pip`` covers the installs after it, and
an install inside a composite is judged with each job that calls it. Units are built once per
run (``ctx.memo``) and every file takes the findings located in it: an install inside a composite
is reported in the composite, once, however many jobs call it.

Precision first: an input set by an expression ``${{ ... }}`` is unknown, and a rule that
depends on it stays silent; so do rules that depend on files when the job checks out somewhere
else, and install rules on self-hosted runners (whose local caches persist between jobs).
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cacheaudit.analyzers import gha_actions as facts
from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.installs import install_inputs
from cacheaudit.model import Analysis, Finding, Fix, InstallSite, Location, Severity
from cacheaudit.notices import parse_error
from cacheaudit.parsing.shell import Command, InstallCommand, find_installs, parse_script
from cacheaudit.parsing.yaml import (
    YamlError,
    item_line,
    key_column,
    key_line,
    load_path,
    value_line,
)
from cacheaudit.paths import glob_regex, normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

PLATFORM = "github-actions"
MAX_COMPOSITE_DEPTH = 5
MAX_SCRIPT_DEPTH = 3
_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_HASHFILES = re.compile(r"hashFiles\s*\(", re.I)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_CONTEXT_REF = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w*-]+|\[[^\]]*\])*")
_GLOB_CHARS = re.compile(r"[*?\[]")
_NON_SHELLS = frozenset({"python", "python3", "node", "perl", "ruby"})
_SHELL_PROGRAMS = frozenset({"sh", "bash", "dash", "zsh", "ksh"})
_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel"})
_PR_EVENTS = frozenset(
    {"pull_request", "pull_request_review", "pull_request_review_comment", "merge_group"}
)
_SHARED_CACHE_EVENTS = frozenset({"push", "schedule", "workflow_dispatch"})
_VOLATILE = (
    "github.sha",
    "github.run_id",
    "github.run_number",
    "github.run_attempt",
    "github.event.after",
    "github.event.pull_request.head.sha",
)
_STATIC_CONTEXT = re.compile(
    r"(runner\.(os|arch)|matrix\.[\w-]+|github\.(job|workflow|ref|ref_name|head_ref|base_ref|"
    r"repository|event_name|workflow_ref|ref_type)|env\.[\w-]+|steps\.[\w-]+\.outputs\."
    r"(python-version|node-version|uv-version|python-path))"
)
_EXPR_WORDS = frozenset({
    "true", "false", "null", "format", "join", "tojson", "fromjson", "contains", "startswith",
    "endswith", "always", "success", "failure", "cancelled", "hashfiles",
})  # fmt: skip
_OS_WORDS = re.compile(r"linux|ubuntu|macos|darwin|windows", re.I)
_SUBSTITUTION = re.compile(r"\$\(\s*([^()]*?)\s*\)")
_OUTPUT_ASSIGN = re.compile(r"^([\w-]+)=(.*)$", re.S)
_SET_OUTPUT = re.compile(r"::set-output\s+name=([\w-]+)::(.*)$", re.S)
_WORKSPACE_PREFIXES = ("$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}", "<workspace>")


# --- the parsed model --------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Triggers:
    events: frozenset[str]
    complete: bool
    """False when a reusable workflow's callers are not in this repository."""
    tag_push: bool
    release_branch_push: bool
    pr_branches: tuple[str, ...]
    line: int


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


# --- small helpers -----------------------------------------------------------------------------


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


# --- parsing -----------------------------------------------------------------------------------


def _doc(ctx: RepoContext, path: str) -> Doc | None:
    """Parse a workflow or action file once per run (None when it cannot be read)."""

    def compute() -> Doc | None:
        text = ctx.read_text(path)
        if text is None:
            return None
        doc = Doc(path, text, text.split("\n"), None)
        try:
            doc.root = load_path(ctx, path)  # shared with the cross-file rules
        except YamlError as exc:
            doc.error = parse_error(path, exc.message, exc.line, exc.column)
        return doc

    return ctx.memo("gha-doc", path, compute)


def _uses(raw: str, doc: Doc, line: int) -> Uses:
    raw = raw.strip()
    comment = ""
    if 0 < line <= len(doc.lines) and "#" in doc.lines[line - 1]:
        comment = doc.lines[line - 1].split("#", 1)[1].strip()
    if raw.startswith("./") or raw == ".":
        return Uses(raw, "local", normalize(raw) or "")
    if raw.startswith("docker://"):
        return Uses(raw, "docker", raw)
    if "@" in raw and "/" in raw.split("@", 1)[0]:
        name, ref = raw.split("@", 1)
        return Uses(raw, "action", name.strip().lower(), ref.strip(), comment)
    return Uses(raw, "unknown", raw.lower())


def _steps(doc: Doc, seq: Any) -> list[Step]:
    if not isinstance(seq, list):
        return []
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(seq):
        if not isinstance(raw, dict):
            continue
        node: dict[str, Any] = raw
        uses_text = _text(node.get("uses"))
        line = item_line(seq, i)
        uses = None
        if uses_text and "uses" in node:
            line = key_line(node, "uses")
            uses = _uses(uses_text, doc, line)
        with_node = node.get("with") if isinstance(node.get("with"), dict) else None
        inputs = {str(k): t for k, v in _map(with_node).items() if (t := _text(v)) is not None}
        run = _text(node.get("run")) if "run" in node else None
        if run is not None and "run" in node:
            line = key_line(node, "run")
        name = _text(node.get("name")) or None
        step_id = _text(node.get("id")) or None
        wd = _text(node.get("working-directory"))
        step = Step(
            doc=doc,
            seq=seq,
            index=i + 1,
            node=node,
            name=name,
            id=step_id,
            uses=uses,
            inputs=inputs,
            with_node=with_node,
            run=run,
            env=_env(node.get("env")),
            working_directory=wd or None,
            shell=_text(node.get("shell")) or None,
            line=line,
        )
        base = (
            name
            or (f"id:{step_id}" if step_id else "")
            or (f"uses:{uses.name}" if uses else "")
            or ("run:" + (_lines_of(run)[0][:60] if run and _lines_of(run) else ""))
            or f"#{i + 1}"
        )
        seen[base] = seen.get(base, 0) + 1
        step.ident = base if seen[base] == 1 else f"{base} #{seen[base]}"
        steps.append(step)
    return steps


def _matrix(job: dict[str, Any]) -> dict[str, list[str] | None]:
    strategy = _map(job.get("strategy"))
    matrix = strategy.get("matrix")
    out: dict[str, list[str] | None] = {}
    if not isinstance(matrix, dict):
        return out
    for key, value in matrix.items():
        if not isinstance(key, str) or key in ("include", "exclude"):
            continue
        if isinstance(value, list):
            texts = [_text(v) for v in value]
            out[key] = (
                None
                if any(t is None or _is_expr(t) for t in texts)
                else [t for t in texts if t is not None]
            )
        else:
            out[key] = None
    include = matrix.get("include")
    for extra in include if isinstance(include, list) else []:
        for key, value in _map(extra).items():
            text = _text(value)
            known = out.get(key, [])
            if text is None or _is_expr(text) or known is None:
                out[key] = None
            else:
                out[key] = [*known, text]
    return out


def _classify_labels(labels: Sequence[str]) -> tuple[str, str | None]:
    """(runner class, OS) of one set of runner labels."""
    lowered = [label.strip().lower() for label in labels]
    if "self-hosted" in lowered:
        kind = "self"
    elif any(facts.GITHUB_HOSTED.fullmatch(label) for label in lowered):
        kind = "github"
    elif any(facts.EPHEMERAL_THIRD_PARTY.fullmatch(label) for label in lowered):
        kind = "ephemeral"
    else:
        kind = "other"
    os_name = None
    for label in lowered:
        for word, name in (
            ("ubuntu", "linux"),
            ("linux", "linux"),
            ("windows", "windows"),
            ("macos", "macos"),
        ):
            if word in label:
                os_name = os_name or name
    return kind, os_name


def _runner(
    runs_on: Any, matrix: dict[str, list[str] | None]
) -> tuple[str, frozenset[str] | None, frozenset[str]]:
    """(runner class, the OSes the job may run on, matrix variables used in runs-on)."""
    if isinstance(runs_on, str | list):
        items = [runs_on] if isinstance(runs_on, str) else runs_on
        options: list[list[str]] = [[]]
        used: set[str] = set()
        for item in items:
            text = _text(item)
            if text is None:
                return "unknown", None, frozenset()
            m = re.fullmatch(r"\s*\$\{\{\s*matrix\.([\w-]+)\s*\}\}\s*", text)
            if m:
                values = matrix.get(m.group(1))
                used.add(m.group(1))
                if not values:
                    return "unknown", None, frozenset(used)
                options = [[*o, v] for o in options for v in values]
            elif _is_expr(text):
                return "unknown", None, frozenset(used)
            else:
                options = [[*o, text] for o in options]
        classes = {_classify_labels(o) for o in options}
        kinds = {k for k, _ in classes}
        oses = {os_name for _, os_name in classes}
        kind = (
            kinds.pop() if len(kinds) == 1 else ("other" if kinds & {"self", "other"} else "github")
        )
        return kind, None if None in oses else frozenset(o for o in oses if o), frozenset(used)
    return "unknown", None, frozenset()


def _workdir(node: Any) -> str | None:
    """``defaults.run.working-directory``: "" when unset, None when an expression."""
    wd = _text(_map(_map(_map(node).get("defaults")).get("run")).get("working-directory"))
    if not wd:
        return ""
    if _is_expr(wd):
        return None
    return normalize(wd)


def _triggers(doc: Doc) -> Triggers:
    root = _map(doc.root)
    on = root.get("on")
    line = key_line(root, "on") if "on" in root else 1
    events: dict[str, Any] = {}
    if isinstance(on, str):
        events = {on: None}
    elif isinstance(on, list):
        events = {e: None for e in on if isinstance(e, str)}
    elif isinstance(on, dict):
        events = {k: v for k, v in on.items() if isinstance(k, str)}
    push = _map(events.get("push"))
    tag_push = "tags" in push
    branches = (
        [b for b in (push.get("branches") or []) if isinstance(b, str)]
        if isinstance(push.get("branches"), list)
        else []
    )
    release_branch = any("release" in b.lower() for b in branches)
    pr = _map(events.get("pull_request"))
    pr_branches = (
        tuple(b for b in pr.get("branches") or [] if isinstance(b, str))
        if isinstance(pr.get("branches"), list)
        else ()
    )
    return Triggers(frozenset(events), bool(events), tag_push, release_branch, pr_branches, line)


def _jobs(doc: Doc) -> list[Job]:
    root = _map(doc.root)
    jobs_node = _map(root.get("jobs"))
    wf_env = _env(root.get("env"))
    wf_workdir = _workdir(root)
    out: list[Job] = []
    for job_id, raw in jobs_node.items():
        if not isinstance(job_id, str) or not isinstance(raw, dict):
            continue
        node: dict[str, Any] = raw
        matrix = _matrix(node)
        runner, oses, runs_on_vars = _runner(node.get("runs-on"), matrix)
        job_wd = _workdir(node)
        workdir = wf_workdir if job_wd == "" else job_wd
        calls = None
        uses = _text(node.get("uses"))
        if uses and uses.strip().startswith("./"):
            calls = normalize(uses.strip().split("@", 1)[0])
        out.append(
            Job(
                doc=doc,
                id=job_id,
                node=node,
                line=key_line(jobs_node, job_id),
                steps=_steps(doc, node.get("steps")),
                env={**wf_env, **_env(node.get("env"))},
                workdir=workdir,
                runner=runner,
                oses=oses,
                matrix=matrix,
                runs_on_vars=runs_on_vars,
                calls=calls,
            )
        )
    return out


def _composite(ctx: RepoContext, index: Index, directory: str) -> tuple[Doc, list[Step]] | None:
    """The steps of the composite action in ``directory`` (None for Docker/JS actions)."""
    for name in ("action.yml", "action.yaml"):
        path = posixpath.join(directory, name) if directory else name
        if path not in ctx.paths:
            continue
        doc = _doc(ctx, path)
        if doc is None or doc.root is None:
            return None
        index.docs[path] = doc
        runs = _map(_map(doc.root).get("runs"))
        if str(runs.get("using", "")).strip().lower() != "composite":
            return None
        return doc, _steps(doc, runs.get("steps"))
    return None


# --- expansion ---------------------------------------------------------------------------------


def _expand(
    ctx: RepoContext,
    index: Index,
    steps: list[Step],
    env: Mapping[str, str | None],
    workdir: str | None,
    via: Step | None,
    chain: tuple[str, ...],
) -> list[EffStep]:
    out: list[EffStep] = []
    for step in steps:
        step_env = {**env, **step.env}
        out.append(EffStep(step, step_env, workdir, via))
        uses = step.uses
        if uses is None or uses.kind != "local" or len(chain) >= MAX_COMPOSITE_DEPTH:
            continue
        found = _composite(ctx, index, uses.name)
        if found is None or found[0].path in chain:
            continue
        doc, inner = found
        # Composite steps run in the workspace, not under the job's defaults.run.
        out.extend(_expand(ctx, index, inner, step_env, "", via or step, (*chain, doc.path)))
    return out


# --- caches ------------------------------------------------------------------------------------


def _norm_path(
    raw: str, env: Mapping[str, str | None], outputs: Mapping[str, str], depth: int = 0
) -> str | None:
    """A cache path normalised for comparison; None when an expression hides it."""

    def expr(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if inner in ("github.workspace", "env.GITHUB_WORKSPACE"):
            return "<workspace>"
        if inner in ("env.pythonLocation", "env.pythonlocation"):
            return "<python-location>"
        if inner in ("env.HOME",):
            return "~"
        em = re.fullmatch(r"env\.([\w-]+)", inner)
        value = env.get(em.group(1)) if em else None
        if value is not None and depth < 3:
            resolved = _norm_path(value, env, outputs, depth + 1)
            return "\0" if resolved is None else resolved
        sm = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", inner)
        if sm and f"{sm.group(1)}.{sm.group(2)}" in outputs:
            return outputs[f"{sm.group(1)}.{sm.group(2)}"]
        return "\0"

    text = _EXPR.sub(expr, raw.strip())
    if "\0" in text:
        return None
    text = text.replace("\\", "/")
    for prefix in facts.RUNNER_HOMES:
        if text == prefix or text.startswith(prefix + "/"):
            text = "~" + text[len(prefix) :]
    for prefix in _WORKSPACE_PREFIXES:
        if text == prefix or text.startswith(prefix + "/"):
            text = "." + text[len(prefix) :]
    text = re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: _plain(env.get(m.group(1))), text)
    if "\0" in text:
        return None
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/") or "."


def _plain(value: str | None) -> str:
    """An env value usable inside a path, or the unknown marker."""
    return value if value and not _is_expr(value) and "$" not in value else "\0"


def _under(entry: str, directory: str) -> bool:
    """True when caching ``entry`` saves ``directory``."""
    entry, directory = entry.lower(), directory.lower()
    if _GLOB_CHARS.search(entry):
        return glob_regex(entry).match(directory) is not None
    return directory == entry or directory.startswith(entry.rstrip("/") + "/") or entry == "~"


def _overlaps(entry: str, directory: str) -> bool:
    """Caching ``entry`` saves ``directory`` or a part of it (``~/.cache/pip/wheels``)."""
    return _under(entry, directory) or _under(directory, entry)


def _entry_kinds(norm: str) -> frozenset[str]:
    kinds: set[str] = set()
    if norm.startswith("<tool-cache:"):
        kinds.add(norm[len("<tool-cache:") : -1])
    for tool, dirs in facts.TOOL_CACHE_DIRS.items():
        if any(_overlaps(norm, d) for d in dirs if not d.startswith("<")):
            kinds.add(tool)
    base = posixpath.basename(norm.rstrip("/*"))
    if base in facts.PYTHON_ENV_NAMES or "site-packages" in norm or norm == "<python-location>":
        kinds.add("python-env")
    if base in facts.NODE_ENV_NAMES or norm.endswith("node_modules"):
        kinds.add("node-env")
    return frozenset(kinds)


def _outputs(unit_steps: Sequence[EffStep], upto: int) -> dict[str, str]:
    """``id.output`` → ``<tool-cache:TOOL>`` for steps that print a tool's cache directory into
    ``$GITHUB_OUTPUT`` (or the old ``::set-output``)."""
    found: dict[str, str] = {}
    for eff in unit_steps[:upto]:
        step = eff.step
        if not step.id or step.run is None:
            continue
        for command in step.commands():
            for word in command.argv[1:] if command.program == "echo" else ():
                m = _SET_OUTPUT.search(word) or (
                    _OUTPUT_ASSIGN.match(word) if "GITHUB_OUTPUT" in command.text else None
                )
                if not m:
                    continue
                sub = _SUBSTITUTION.search(m.group(2))
                tool = facts.CACHE_DIR_COMMANDS.get(tuple(sub.group(1).split())) if sub else None
                if tool:
                    found[f"{step.id}.{m.group(1)}"] = f"<tool-cache:{tool}>"
    return found


def _hashfiles_args(key: str) -> list[list[str] | None]:
    """The string arguments of each ``hashFiles(...)`` in a key; None for a call whose arguments
    are not all string literals."""
    calls: list[list[str] | None] = []
    for m in _HASHFILES.finditer(key):
        depth, pos = 1, m.end()
        while pos < len(key) and depth:
            depth += {"(": 1, ")": -1}.get(key[pos], 0)
            pos += 1
        body = key[m.end() : pos - 1]
        args = [a.replace("''", "'") for a in _STRING.findall(body)]
        rest = _STRING.sub("", body).replace(",", "").strip()
        calls.append(args if args and not rest else None)
    return calls


class _UseFactory(Protocol):
    def __call__(
        self,
        tools: frozenset[str] | None,
        restores: bool | None,
        line: int,
        key_inputs: Sequence[str] = (),
        entries: tuple[PathEntry, ...] = (),
        what: str = "",
    ) -> CacheUse: ...


def _cache_of(ctx: RepoContext, unit: Unit, pos: int) -> CacheUse | None:
    eff = unit.steps[pos]
    step = eff.step
    spec = step.spec
    if spec is None or step.uses is None:
        return None
    inputs = step.inputs
    kind = spec.kind
    major = step.uses.major()

    def use(
        tools: frozenset[str] | None,
        restores: bool | None,
        line: int,
        key_inputs: Sequence[str] = (),
        entries: tuple[PathEntry, ...] = (),
        what: str = "",
    ) -> CacheUse:
        return CacheUse(pos, eff, kind, tools, restores, line, tuple(key_inputs), entries, what)

    if kind == "setup-python":
        value = inputs.get("cache", "").strip()
        if not value:
            return None
        line = step.input_line("cache")
        if _is_expr(value):
            return use(None, None, line, what=f"`cache: {value}` on setup-python")
        tools = facts.SETUP_PYTHON_COVERS.get(value)
        return use(
            tools,
            True if tools else None,
            line,
            _setup_python_globs(ctx, step, value),
            what=f"`cache: {value}` on setup-python",
        )
    if kind == "setup-node":
        return _setup_node_cache(ctx, unit, pos, use)
    if kind == "setup-uv":
        value = inputs.get("enable-cache", "").strip().lower()
        line = step.input_line("enable-cache")
        if _is_expr(value):
            return use(None, None, line, what="setup-uv's cache")
        default_on = spec.cache_default_on_from is not None and (
            major is None or major >= spec.cache_default_on_from
        )
        if value in ("", "auto") and default_on:
            on = {"github": True, "self": False, "ephemeral": False}.get(unit.runner)
        else:
            on = value == "true" or (value == "" and default_on)
        if on is False:
            return None
        globs = (
            _lines_of(inputs["cache-dependency-glob"])
            if "cache-dependency-glob" in inputs
            else list(facts.SETUP_UV_DEFAULT_GLOBS)
        )
        return use(frozenset({"uv"}) if on else None, on, line, globs, what="setup-uv's cache")
    if kind in ("setup-pdm", "micromamba"):
        value = inputs.get(spec.cache_input or "", "").strip().lower()
        tool = "pdm" if kind == "setup-pdm" else "conda"
        if _is_expr(value):
            return use(None, None, step.input_line(spec.cache_input or ""))
        if value != "true":
            return None
        return use(
            frozenset({tool}),
            True,
            step.input_line(spec.cache_input or ""),
            _lines_of(inputs.get("cache-dependency-path", ""))
            or (["pdm.lock"] if tool == "pdm" else []),
            what=f"the {tool} cache of {step.uses.name}",
        )
    if kind == "pre-commit":
        return use(
            frozenset({"pre-commit"}),
            True,
            step.line,
            [".pre-commit-config.yaml"],
            what="pre-commit/action's cache",
        )
    if kind == "apt-cache":
        return use(frozenset({"apt"}), True, step.line, what="cache-apt-pkgs-action")
    if kind in ("cache", "cache-restore", "cache-save"):
        return _actions_cache(unit, pos, use)
    if kind == "docker-build":
        sources = " ".join(_lines_of(inputs.get("cache-from", "")))
        if "type=gha" in sources:
            return use(
                frozenset(),
                True,
                step.input_line("cache-from"),
                what="the GitHub Actions layer cache (`cache-from: type=gha`)",
            )
        return None
    if kind == "other-cache":
        return _other_cache(step, spec, major, use)
    return None


def _unknown_cache(unit: Unit, pos: int) -> CacheUse | None:
    """An action cacheaudit does not know that may restore a dependency cache: its installs
    after it are unknown, not uncached."""
    eff = unit.steps[pos]
    step = eff.step
    uses = step.uses
    if uses is None or uses.kind != "action" or step.spec is not None:
        return None
    owner = uses.name.split("/", 1)[0]
    repo = "/".join(uses.name.split("/")[:2])
    if owner in facts.NON_CACHING_OWNERS or repo in facts.NON_CACHING_ACTIONS:
        return None
    says_cache = any(
        "cache" in key and value.strip().lower() not in ("", "false", "0", "none")
        for key, value in step.inputs.items()
    )
    if not says_cache and not facts.MAY_CACHE_NAME.search(uses.name.split("/", 1)[-1]):
        return None
    return CacheUse(pos, eff, "unknown", None, None, step.line, (), (), f"{uses.name}")


def _other_cache(
    step: Step, spec: facts.ActionSpec, major: int | None, use: _UseFactory
) -> CacheUse | None:
    """Caches of other ecosystems: only whether they restore matters."""
    result: CacheUse | None = None
    default_on = spec.cache_default_on_from is not None and (
        major is None or major >= spec.cache_default_on_from
    )
    if spec.opt_out_input and spec.opt_out_input in step.inputs:
        value = step.inputs[spec.opt_out_input].strip().lower()
        if _is_expr(value):
            return use(frozenset(), None, step.input_line(spec.opt_out_input))
        if value == "true":
            return None
    if spec.cache_input and spec.cache_input in step.inputs:
        value = step.inputs[spec.cache_input].strip()
        if _is_expr(value):
            return use(frozenset(), None, step.input_line(spec.cache_input))
        if value.lower() in ("", "false"):
            return None
        result = use(
            frozenset(),
            True,
            step.input_line(spec.cache_input),
            what=f"the cache of {step.uses.name if step.uses else 'the action'}",
        )
    elif default_on:
        result = use(
            frozenset(),
            True,
            step.line,
            what=f"the cache of {step.uses.name if step.uses else 'the action'}",
        )
    return result


def _setup_python_globs(ctx: RepoContext, step: Step, mode: str) -> list[str]:
    if "cache-dependency-path" in step.inputs:
        patterns = _lines_of(step.inputs["cache-dependency-path"])
    else:
        patterns = list(facts.SETUP_PYTHON_DEFAULT_GLOBS.get(mode, ()))
    if mode == "pip" and not any(_gh_glob(ctx, p) for p in patterns):
        return [facts.SETUP_PYTHON_PIP_FALLBACK]
    return patterns


def _package_manager(ctx: RepoContext) -> str | None:
    """The package manager named by the root package.json (setup-node's auto caching)."""
    text = ctx.read_text("package.json")
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    names: list[str] = []
    dev = data.get("devEngines")
    dev_pm = dev.get("packageManager") if isinstance(dev, dict) else None
    for entry in dev_pm if isinstance(dev_pm, list) else [dev_pm] if dev_pm else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])
    if isinstance(data.get("packageManager"), str):
        names.append(data["packageManager"])
    for name in names:
        m = re.match(r"\^?(npm|yarn|pnpm)(@|$)", name.strip())
        if m:
            return m.group(1)
    return None


def _setup_node_cache(ctx: RepoContext, unit: Unit, pos: int, use: _UseFactory) -> CacheUse | None:
    step = unit.steps[pos].step
    value = step.inputs.get("cache", "").strip()
    cdp = _lines_of(step.inputs.get("cache-dependency-path", ""))
    if value:
        line = step.input_line("cache")
        if _is_expr(value):
            return use(None, None, line, what=f"`cache: {value}` on setup-node")
        lockfiles = cdp or _root_locks(ctx, value)
        return use(
            frozenset({value}), True, line, lockfiles, what=f"`cache: {value}` on setup-node"
        )
    major = step.uses.major() if step.uses else None
    if major is not None and major < 5:
        return None
    pmc = step.inputs.get("package-manager-cache", "").strip().lower()
    if pmc == "false":
        return None
    manager = _package_manager(ctx)
    if manager is None or _workspace(unit, pos) != "ok":
        return None
    allowed = facts.SETUP_NODE_AUTO_MANAGERS[min(max(major or 99, 5), 6)]
    if manager not in allowed:
        return None
    what = f"setup-node's automatic {manager} cache (package.json names {manager})"
    if _is_expr(pmc):
        return use(None, None, step.line, what=what)
    lockfiles = cdp or _root_locks(ctx, manager)
    return dataclasses.replace(
        use(frozenset({manager}), True, step.line, lockfiles, what=what), kind="setup-node-auto"
    )


def _root_locks(ctx: RepoContext, manager: str) -> list[str]:
    """The root lock files setup-node hashes for ``manager`` (all names when none exists)."""
    names = facts.SETUP_NODE_LOCKFILES.get(manager, ())
    return [n for n in names if ctx.exists(n)] or list(names)


def _actions_cache(unit: Unit, pos: int, use: _UseFactory) -> CacheUse:
    eff = unit.steps[pos]
    step = eff.step
    outputs = _outputs(unit.steps, pos)
    raw = step.inputs.get("path", "")
    entries: list[PathEntry] = []
    first = (
        value_line(step.with_node, "path")
        if step.with_node and "path" in step.with_node
        else step.line
    )
    block = "\n" in raw
    for offset, line_text in enumerate(raw.splitlines()):
        text = line_text.strip()
        if not text or text.startswith("!"):
            continue
        norm = _norm_path(text, eff.env, outputs)
        kinds = _entry_kinds(norm) if norm is not None else frozenset()
        entries.append(PathEntry(text, norm, first + offset if block else first, kinds))
    kind = step.spec.kind if step.spec else "cache"
    lookup = step.inputs.get("lookup-only", "").strip().lower()
    restores: bool | None = kind != "cache-save" and lookup != "true"
    if _is_expr(lookup) and kind != "cache-save":
        restores = None
    key = step.inputs.get("key", "")
    patterns = [p for call in _hashfiles_args(key) for p in (call or []) if not p.startswith("!")]
    what = (
        "actions/cache of " + ", ".join(f"`{e.raw}`" for e in entries)
        if entries
        else "actions/cache"
    )
    return use(frozenset(), restores, step.line, patterns, tuple(entries), what)


# --- installs ----------------------------------------------------------------------------------


def _project_has_dependencies(ctx: RepoContext, target: str, workdir: str) -> bool:
    """Whether ``pip install <target>`` of a local project downloads anything from a registry
    beyond its build backend (RULES: a project without dependencies is not worth a warning)."""
    m = re.fullmatch(r"(.*?)(?:\[([^\]]*)\])?", target.strip())
    base = normalize(m.group(1) if m else target, workdir) if m else None
    extras = [e.strip() for e in (m.group(2) or "").split(",") if e.strip()] if m else []
    if base is None or "$" in target:
        return True
    pyproject = posixpath.join(base, "pyproject.toml") if base else "pyproject.toml"

    def parse() -> dict[str, Any] | None:
        text = ctx.read_text(pyproject)
        if text is None:
            return None
        try:
            data: dict[str, Any] = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError):
            return None
        return data

    data = ctx.memo("gha-pyproject", pyproject, parse)
    if data is None:
        return True
    project = data.get("project")
    poetry = _map(_map(data.get("tool")).get("poetry"))
    if isinstance(poetry.get("dependencies"), dict) and set(poetry["dependencies"]) - {"python"}:
        return True
    if not isinstance(project, dict):
        return True
    if "dependencies" in (project.get("dynamic") or []):
        return True
    if project.get("dependencies"):
        return True
    optional = _map(project.get("optional-dependencies"))
    return any(optional.get(e) for e in extras)


def _is_registry(ctx: RepoContext, cmd: InstallCommand, workdir: str | None) -> bool:
    if not cmd.downloads_from_registry:
        return False
    if cmd.tool not in ("pip", "uv") or cmd.action not in ("install", "pip install"):
        return True
    if cmd.requirement_files or cmd.groups or not cmd.local_targets:
        return True
    names = {re.split(r"[<>=!~\[;@ ]", p, maxsplit=1)[0].lower() for p in cmd.packages}
    if names - _BOOTSTRAP or workdir is None:
        return True
    return any(_project_has_dependencies(ctx, t, workdir) for t in cmd.local_targets)


def _script_path(command: Command, workdir: str | None) -> str | None:
    """The repository script a command runs (``bash ci/install.sh``, ``./scripts/setup``)."""
    if workdir is None or not command.argv:
        return None
    argv = command.argv
    if command.program in _SHELL_PROGRAMS or argv[0] in ("source", "."):
        operands = [a for a in argv[1:] if not a.startswith("-")]
        if argv[0] not in ("source", ".") and any(a == "-c" for a in argv[1:]):
            return None
        target = operands[0] if operands else ""
    elif "/" in argv[0]:
        target = argv[0]
    else:
        return None
    if not target or "$" in target:
        return None
    return normalize(target, workdir)


def _run_installs(ctx: RepoContext, eff: EffStep, pos: int) -> list[Install]:
    step = eff.step
    if step.run is None or (step.shell and step.shell.split()[0].rsplit("/", 1)[-1] in _NON_SHELLS):
        return []
    if step.working_directory:
        wd: str | None = (
            None if _is_expr(step.working_directory) else normalize(step.working_directory)
        )
    else:
        wd = eff.workdir
    out: list[Install] = []
    commands = step.commands()
    for command, workdir in _with_workdirs(commands, wd):
        env = {**eff.env, **dict(command.env)}
        column = _column(step.doc, command)
        for cmd in find_installs([command]):
            out.append(
                Install(
                    pos, eff, cmd, cmd.line, column, env, workdir, _is_registry(ctx, cmd, workdir)
                )
            )
        script = _script_path(command, workdir)
        if script is not None:
            for cmd, sdir, spath in _script_installs(ctx, script, workdir, 1, {script}):
                out.append(
                    Install(
                        pos,
                        eff,
                        cmd,
                        command.line,
                        column,
                        {**env, **dict(cmd.command.env)},
                        sdir,
                        _is_registry(ctx, cmd, sdir),
                        spath,
                        cmd.line,
                    )
                )
    return out


def _with_workdirs(
    commands: list[Command], workdir: str | None
) -> Iterable[tuple[Command, str | None]]:
    """Each command with the directory it runs in, following ``cd DIR`` in the script."""
    for command in commands:
        yield command, workdir
        if command.program in ("cd", "pushd") and command.argv[0] in ("cd", "pushd"):
            target = command.argv[1] if len(command.argv) == 2 else ""
            if workdir is None or not target or "$" in target or target.startswith(("-", "~")):
                workdir = None
            else:
                workdir = normalize(target, workdir)
        elif command.program == "popd":
            workdir = None


def _script_installs(
    ctx: RepoContext, path: str, workdir: str | None, depth: int, seen: set[str]
) -> list[tuple[InstallCommand, str | None, str]]:
    if path not in ctx.paths or depth > MAX_SCRIPT_DEPTH:
        return []
    text = ctx.read_text(path)
    if text is None:
        return []
    first = text.split("\n", 1)[0]
    if not (
        path.endswith((".sh", ".bash"))
        or (first.startswith("#!") and re.search(r"\b(ba|z|k|da)?sh\b", first))
    ):
        return []
    out: list[tuple[InstallCommand, str | None, str]] = []
    for command, wd in _with_workdirs(parse_script(text), workdir):
        out.extend((cmd, wd, path) for cmd in find_installs([command]))
        nested = _script_path(command, wd)
        if nested is not None and nested not in seen:
            out.extend(_script_installs(ctx, nested, wd, depth + 1, {*seen, nested}))
    return out


def _column(doc: Doc, command: Command) -> int | None:
    if not 0 < command.line <= len(doc.lines) or not command.text:
        return None
    head = command.text.split()[0]
    found = doc.lines[command.line - 1].find(head)
    return found + 1 if found >= 0 else None


# --- workspace state ---------------------------------------------------------------------------


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


_LOCKERS = frozenset({"uv", "poetry", "pipenv", "pdm"})
_WRITERS = frozenset({"cp", "mv", "touch", "tee", "curl", "wget", "ln", "install"})


def _maybe_generated(unit: Unit, pos: int, pattern: str, before_line: int = 0) -> bool:
    """Whether a command that runs before step ``pos`` (or earlier in it, before
    ``before_line``) may write a file matching ``pattern``: a lock, compile or export, a
    redirection or copy naming it, or an artifact download."""
    base = posixpath.basename(pattern.rstrip("/"))
    stem = _GLOB_CHARS.split(base)[0] if _GLOB_CHARS.search(base) else base
    lock_like = (
        "lock" in base
        or "requirements" in base
        or "constraints" in base
        or base.endswith((".txt", "*"))
    )
    stop = min(pos + 1, len(unit.steps)) if before_line else pos
    for i, eff in enumerate(unit.steps[:stop]):
        run = eff.step.run
        if run is None:
            continue
        for command in eff.step.commands():
            if i == pos and command.line >= before_line:
                break
            argv, text = command.argv, command.text
            if not argv:
                continue
            names_it = bool(stem) and len(stem) > 2 and stem in text
            if names_it and (
                ">" in text
                or command.program in _WRITERS
                or any(a in ("-o", "--output", "--output-file", "-O") for a in argv)
            ):
                return True
            if lock_like and (
                command.program in ("pip-compile", "pip-sync")
                or (command.program in _LOCKERS and argv[1:2] in (("lock",), ("export",)))
                or argv[1:3] == ("pip", "compile")
            ):
                return True
    return False


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


# --- building units ----------------------------------------------------------------------------


def _effective_triggers(
    index: Index, path: str, seen: frozenset[str] = frozenset()
) -> Triggers | None:
    doc = index.docs.get(path)
    if doc is None or doc.root is None:
        return None
    own = _triggers(doc)
    if "workflow_call" not in own.events:
        return own
    callers = [
        job
        for other in index.docs.values()
        if other.root is not None and not other.is_action
        for job in _jobs_cached(other)
        if job.calls == path
    ]
    events = set(own.events - {"workflow_call"})
    complete = bool(callers)
    tag, rel = own.tag_push, own.release_branch_push
    for job in callers:
        if job.doc.path in seen:
            complete = False
            continue
        inner = _effective_triggers(index, job.doc.path, seen | {path})
        if inner is None:
            complete = False
            continue
        events |= inner.events
        complete = complete and inner.complete
        tag, rel = tag or inner.tag_push, rel or inner.release_branch_push
    return Triggers(frozenset(events), complete, tag, rel, own.pr_branches, own.line)


def _jobs_cached(doc: Doc) -> list[Job]:
    # Stored on the document, which lives in the run's RepoContext memo, never in module state.
    if doc.jobs is None:
        doc.jobs = _jobs(doc)
    return doc.jobs


_GITHUB_ENV_UNKNOWN = "${{ github-env }}"
"""A value written to ``$GITHUB_ENV`` that cacheaudit cannot read (an expansion)."""


def _with_github_env(steps: list[EffStep]) -> list[EffStep]:
    """Env vars an earlier step writes to ``$GITHUB_ENV`` (``echo "PIP_CACHE_DIR=..." >>
    "$GITHUB_ENV"``) hold for the steps after it; a step's own ``env:`` still wins."""
    written: dict[str, str | None] = {}
    out: list[EffStep] = []
    for eff in steps:
        if written:
            eff = dataclasses.replace(eff, env={**written, **eff.env})
        out.append(eff)
        for command in eff.step.commands():
            if "GITHUB_ENV" not in command.text or command.program not in ("echo", "printf"):
                continue
            for word in command.argv[1:]:
                m = _OUTPUT_ASSIGN.match(word)
                if m and re.fullmatch(r"[A-Za-z_]\w*", m.group(1)):
                    value = m.group(2)
                    written[m.group(1)] = _GITHUB_ENV_UNKNOWN if "$" in value else value
    return out


def _build_unit(ctx: RepoContext, unit: Unit) -> Unit:
    unit.steps = _with_github_env(unit.steps)
    for pos in range(len(unit.steps)):
        cache = _cache_of(ctx, unit, pos) or _unknown_cache(unit, pos)
        if cache is not None:
            unit.caches.append(cache)
        unit.installs.extend(_run_installs(ctx, unit.steps[pos], pos))
    return unit


def _index(ctx: RepoContext) -> Index:
    return ctx.memo("gha", "index", lambda: _build_index(ctx))


def _build_index(ctx: RepoContext) -> Index:
    index = Index()
    for source in ctx.files_of(FileKind.WORKFLOW):
        doc = _doc(ctx, source.path)
        if doc is not None and doc.root is not None:
            index.docs[doc.path] = doc
    for path in sorted(p for p, d in index.docs.items() if not d.is_action):
        doc = index.docs[path]
        triggers = _effective_triggers(index, path)
        for job in _jobs_cached(doc):
            if job.calls is not None or not job.steps:
                continue
            steps = _expand(ctx, index, job.steps, job.env, job.workdir, None, ())
            index.units.append(_build_unit(ctx, Unit(doc, job, steps, triggers)))
    called = {eff.step.doc.path for unit in index.units for eff in unit.steps}
    for source in ctx.files_of(FileKind.COMPOSITE_ACTION):
        if source.path in called:
            continue
        found = _composite(ctx, index, posixpath.dirname(source.path))
        if found is None:
            continue
        doc, own_steps = found
        effs = _expand(ctx, index, own_steps, {}, "", None, (doc.path,))
        index.units.append(_build_unit(ctx, Unit(doc, None, effs, None, standalone=True)))
    _evaluate(ctx, index)
    return index


# --- coverage ----------------------------------------------------------------------------------


def _install_dirs(install: Install, tool: str) -> list[str] | None:
    """Where this install keeps ``tool``'s cache; None when an expression decides it."""
    for option, value in install.cmd.option_values:
        if option in facts.CACHE_DIR_OPTIONS.get(tool, ()):
            norm = _norm_path(value, install.env, {})
            return None if norm is None else [norm]
    for name in facts.CACHE_DIR_ENV.get(tool, ()):
        if name in install.env:
            setting = install.env[name]
            norm = _norm_path(setting, install.env, {}) if setting is not None else None
            return None if norm is None else [norm]
    return [*facts.TOOL_CACHE_DIRS.get(tool, ()), f"<tool-cache:{tool}>"]


def _covers(cache: CacheUse, install: Install) -> bool | None:
    """Whether restoring ``cache`` gives ``install`` its downloads (None: cannot tell)."""
    if cache.restores is False:
        return False
    if cache.kind not in ("cache", "cache-restore"):
        if cache.tools is None:
            return None
        return bool(cache.tools & install.keys) and (cache.restores or None)
    unknown = False
    for entry in cache.entries:
        if entry.norm is None:
            unknown = True
            continue
        if "python-env" in entry.kinds and install.keys & facts.PYTHON_ENV_TOOLS:
            return True
        if "node-env" in entry.kinds and install.keys & facts.NODE_TOOLS:
            return True
        for tool in install.keys:
            dirs = _install_dirs(install, tool)
            if dirs is None:
                unknown = unknown or not entry.kinds
                continue
            if any(_overlaps(entry.norm, d) for d in dirs):
                return True if cache.restores else None
    return None if unknown else False


def _coverage(unit: Unit, install: Install) -> tuple[bool | None, CacheUse | None, CacheUse | None]:
    """(covered?, the covering cache, a matching cache that only comes later)."""
    result: bool | None = False
    covering = later = None
    for cache in unit.caches:
        verdict = _covers(cache, install)
        if cache.pos >= install.pos:
            if verdict and later is None:
                later = cache
            continue
        if verdict:
            return True, cache, None
        if verdict is None:
            result = None
    return result, covering, later


# --- evaluation --------------------------------------------------------------------------------


@dataclass
class _Collector:
    ctx: RepoContext
    index: Index
    seen: set[tuple[str, str, int, str]] = field(default_factory=set)
    composite_installs: dict[tuple[str, int, str], list[tuple[Unit, Install, bool | None]]] = field(
        default_factory=dict
    )

    def add(self, finding: Finding) -> None:
        key = (finding.rule_id, finding.location.path, finding.location.line, finding.subject)
        if key not in self.seen:
            self.seen.add(key)
            self.index.findings.append(finding)


def _evaluate(ctx: RepoContext, index: Index) -> None:
    out = _Collector(ctx, index)
    for unit in index.units:
        _rules_install(out, unit)
        _rules_cache_steps(out, unit)
        _rule_ca110(out, unit)
        _rule_ca111(out, unit)
    _rule_ca112(out)
    _composite_ca101(out)


def _own(unit: Unit, step: Step) -> bool:
    return step.doc.path == unit.doc.path


def _loc(step_or_doc: Step | Doc, line: int, column: int | None = None) -> Location:
    path = step_or_doc.doc.path if isinstance(step_or_doc, Step) else step_or_doc.path
    return Location(path, line, column)


def _site(
    ctx: RepoContext, unit: Unit, install: Install, cached: bool | None, covering: CacheUse | None
) -> InstallSite:
    context = (
        f"{unit.where} / {install.step.label}"
        if _own(unit, install.step)
        else f"action {install.path} / {install.step.label}"
    )
    if install.script:
        context += f" / {install.script}"
    # Files are named relative to the root only when this repository is checked out there.
    known = install.workdir is not None and _workspace(unit, install.pos) != "unknown"
    inputs = install_inputs(install.cmd, ctx, install.workdir or "") if known else ()
    if cached and covering is not None and _broken_version(covering.step):
        cached = False  # the cache action fails against the current cache service
    return InstallSite(
        location=Location(install.path, install.line, install.column),
        platform=PLATFORM,
        context=context,
        tool=install.cmd.tool,
        command=_fold(install.cmd.command.text),
        inputs=inputs,
        cached=cached,
        cache_key_inputs=covering.key_inputs if covering is not None else (),
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


def _rules_install(out: _Collector, unit: Unit) -> None:
    ctx = out.ctx
    groups: dict[str, list[tuple[Install, bool | None, CacheUse | None, CacheUse | None]]] = {}
    pip_cache = [
        c
        for c in unit.caches
        if c.restores is not False
        and ((c.tools is not None and "pip" in c.tools) or any("pip" in e.kinds for e in c.entries))
    ]
    pip_users = False
    for install in unit.installs:
        covered, covering, later = _coverage(unit, install)
        if (
            install.cmd.cache_tool == "pip"
            and install.registry
            and covered
            and _defeated_by(install) is None
            and not _bootstrap_tools(install)
        ):
            pip_users = True
        groups.setdefault(install.cmd.cache_tool, []).append((install, covered, covering, later))
        if _own(unit, install.step):
            if install.registry:
                cached = (
                    None if unit.runner in ("self", "other", "unknown") and not covered else covered
                )
                if cached and _defeated_by(install):
                    cached = False  # the flag keeps pip from using the restored cache
                out.index.installs.append(_site(ctx, unit, install, cached, covering))
        elif install.registry and not unit.standalone:
            key = (install.path, install.line, _fold(install.cmd.command.text))
            out.composite_installs.setdefault(key, []).append((unit, install, covered))
    _rule_ca104(out, unit, pip_cache, pip_users)
    _rule_ca101(out, unit, groups, pip_cache, pip_users)
    _rule_ca114(out, unit)


def _rule_ca101(
    out: _Collector,
    unit: Unit,
    groups: dict[str, list[Any]],
    pip_cache: list[CacheUse],
    pip_users: bool,
) -> None:
    if unit.runner not in ("github", "ephemeral") or unit.standalone:
        return
    if _release_reasons(unit) or _publishes(unit) is not None:
        return  # a release job should build from a clean slate (CA110), not restore caches
    for tool, entries in groups.items():
        if tool not in facts.CA101_TOOLS and not any(
            i.cmd.tool in facts.CA101_TOOLS for i, *_ in entries
        ):
            continue
        if tool == "uv" and pip_cache and not pip_users:
            continue  # CA104 says it: the pip cache is configured but uv installs bypass it
        todo = [
            (i, c, cov, later)
            for i, c, cov, later in entries
            if i.registry and c is False and _own(unit, i.step) and not _cached_bootstrap(unit, i)
        ]
        if not todo or any(c is None for i, c, *_ in entries if i.registry):
            continue
        install, _, _, later = todo[0]
        others = [i for i, *_ in todo[1:]]
        extra = ""
        if others:
            shown = ", ".join(f"`{_fold(i.cmd.command.text)}`" for i in others[:2])
            more = f" and {len(others) - 2} more" if len(others) > 2 else ""
            extra = f" (then {shown}{more})"
        where = unit.at(install.step)
        detail = ""
        if later is not None:
            detail = (
                f" The {later.what} in {later.step.label} is restored only after this"
                " install, so it never helps it."
            )
        flag = _defeated_by(install)
        if flag:
            detail += f" It also sets {flag}: drop it when you add the cache."
        tool_name = {"pip": "pip"}.get(tool, tool)
        message = (
            f"{where} runs {install.described}{extra} but nothing in the job caches "
            f"{tool_name}'s downloads: every run downloads everything again.{detail}"
        )
        fix = _fix_ca101(out.ctx, unit, install, [i for i, *_ in todo])
        out.add(
            RULES["CA101"].finding(
                _loc(install.step, install.line, install.column),
                message,
                subject=f"{unit.scope(install.step)} / {tool_name}",
                fix=fix,
            )
        )


_TOOL_PACKAGES = {
    "pipenv": "pipenv",
    "poetry": "poetry",
    "uv": "uv",
    "pdm": "pdm",
    "tox": "tox",
    "nox": "nox",
    "hatch": "hatch",
    "pre-commit": "pre-commit",
}


def _bootstrap_tools(install: Install) -> frozenset[str]:
    """The installers ``pip install poetry uv`` installs (empty for any other install)."""
    if install.cmd.requirement_files or not install.cmd.packages:
        return frozenset()
    names = {re.split(r"[<>=!~\[;@ ]", p, maxsplit=1)[0].lower() for p in install.cmd.packages}
    tools = {_TOOL_PACKAGES.get(n) for n in names}
    return frozenset() if None in tools else frozenset(t for t in tools if t)


def _cached_bootstrap(unit: Unit, install: Install) -> bool:
    """``pip install poetry`` in a job whose poetry installs are cached: installing the
    installer itself is a few kilobytes, not the dependencies the cache is for."""
    tools = _bootstrap_tools(install)
    return bool(tools) and all(
        any(i.cmd.tool == tool and _coverage(unit, i)[0] for i in unit.installs) for tool in tools
    )


def _composite_ca101(out: _Collector) -> None:
    """An install inside a composite: reported once, in the composite, when some job that calls
    it has no cache for it."""
    for (path, line, _), occurrences in sorted(out.composite_installs.items()):
        bare = [
            (u, i)
            for u, i, c in occurrences
            if c is False
            and u.runner in ("github", "ephemeral")
            and not _release_reasons(u)
            and _publishes(u) is None
        ]
        if not bare or any(c is None for _, _, c in occurrences):
            continue
        unit, install = bare[0]
        if install.cmd.tool not in facts.CA101_TOOLS:
            continue
        callers = sorted({u.where for u, _ in bare})
        shown = ", ".join(callers[:3]) + (
            f" and {len(callers) - 3} more" if len(callers) > 3 else ""
        )
        jobs = "the calling job has" if len(callers) == 1 else "the calling jobs have"
        message = (
            f"action {path} / {install.step.label} runs {install.described}, and {jobs} "
            f"no cache for {install.cmd.cache_tool}'s downloads ({shown}): every run "
            "downloads everything again."
        )
        fix = _fix_ca101(out.ctx, unit, install, [install])
        out.add(
            RULES["CA101"].finding(
                Location(path, line, install.column),
                message,
                subject=f"action / step {install.step.ident} / {install.cmd.cache_tool}",
                fix=fix,
            )
        )
    # InstallSites of composite installs: once each, cached only when every caller agrees.
    for _, occurrences in sorted(out.composite_installs.items()):
        verdicts = {c for _, _, c in occurrences}
        cached = verdicts.pop() if len(verdicts) == 1 else None
        unit, install, _ = occurrences[0]
        covering = _coverage(unit, install)[1]
        out.index.installs.append(_site(out.ctx, unit, install, cached, covering))


def _rule_ca104(out: _Collector, unit: Unit, pip_cache: list[CacheUse], pip_users: bool) -> None:
    if not pip_cache:
        return
    cache = pip_cache[0]
    for install in unit.installs:
        if not install.registry:
            continue
        reason = _defeated_by(install)
        if reason is not None:
            line, column = install.line, install.column
            env_line = (
                _env_line(unit, install.step, "PIP_NO_CACHE_DIR") if "in env" in reason else None
            )
            fix = Fix(
                "Drop the flag: the job caches pip's downloads, so they no longer need "
                "to be kept out of the way.",
                _without_no_cache(install),
            )
            if env_line is not None:
                line, column = env_line, None
                reason = f"`PIP_NO_CACHE_DIR` set in env (line {env_line})"
                fix = Fix(
                    "Delete `PIP_NO_CACHE_DIR` from env: pip reads any value, even "
                    '`false` or `0`, as "no cache".',
                    "",
                )
            message = (
                f"{unit.at(install.step)} runs {install.described} with {reason}, so pip"
                f" writes nothing to the cache configured by {cache.what} in "
                f"{cache.step.label}: the cache saves an empty directory."
            )
            out.add(
                RULES["CA104"].finding(
                    Location(install.path, line, column),
                    message,
                    subject=f"{unit.subject(install.step)} / pip-cache-defeated",
                    fix=fix,
                )
            )
            return
        if install.cmd.tool == "uv" and not pip_users:
            covered = any(_covers(c, install) for c in unit.caches if c.pos < install.pos)
            if covered:
                continue
            message = (
                f"{unit.at(install.step)} installs with {install.described}, which uses"
                f" uv's cache, not pip's: the pip cache configured by {cache.what} in "
                f"{cache.step.label} saves an empty directory and uv downloads everything"
                " on every run."
            )
            fix = Fix(
                "Cache uv's directory instead: use astral-sh/setup-uv with "
                "`enable-cache: true` (and drop the pip cache).",
                _setup_uv_snippet(unit),
            )
            out.add(
                RULES["CA104"].finding(
                    _loc(install.step, install.line, install.column),
                    message,
                    subject=f"{unit.subject(install.step)} / uv-bypasses-pip-cache",
                    fix=fix,
                )
            )
            return


def _env_line(unit: Unit, step: Step, name: str) -> int | None:
    """The line in this unit's file where env var ``name`` is set for ``step``."""
    nodes: list[Any] = [step.node.get("env")]
    if unit.job is not None and _own(unit, step):
        nodes += [unit.job.node.get("env"), _map(unit.doc.root).get("env")]
    for node in nodes:
        if isinstance(node, dict) and name in node:
            return key_line(node, name)
    return None


def _rule_ca114(out: _Collector, unit: Unit) -> None:
    apt = [
        i for i in unit.installs if i.cmd.tool == "apt" and i.cmd.action == "install" and i.registry
    ]
    if not apt or unit.runner not in ("github", "ephemeral"):
        return  # a persistent self-hosted machine keeps what apt installed
    if any(c.tools and "apt" in c.tools for c in unit.caches) or any(
        "apt" in e.kinds for c in unit.caches for e in c.entries
    ):
        return
    for path in sorted({i.path for i in apt}):
        first = next(i for i in apt if i.path == path)
        packages = (
            " ".join(dict.fromkeys(p for i in apt if i.path == path for p in i.cmd.packages))
            or "the packages"
        )
        where = (
            unit.at(first.step) if path == unit.doc.path else f"action {path} / {first.step.label}"
        )
        message = (
            f"{where} runs {first.described} on every run: apt downloads and installs "
            f"{packages} each time."
        )
        snippet = ""
        if unit.job is not None and path == unit.doc.path:
            indent = " " * (_key_indent(unit.doc, unit.job.node) or 4)
            snippet = (
                f"{indent}# an image built once with: apt-get install -y {packages}\n"
                f"{indent}container: ghcr.io/OWNER/ci-image:latest"
            )
        fix = Fix(
            "Run the job in a container image that already has these packages "
            "(`container:`), or drop the ones the runner image already ships.",
            snippet,
        )
        subject = (
            f"{unit.scope(first.step)} / apt"
            if path == unit.doc.path
            else f"action / step {first.step.ident} / apt"
        )
        out.add(
            RULES["CA114"].finding(
                Location(path, first.line, first.column), message, subject=subject, fix=fix
            )
        )


# --- per-cache-step rules ----------------------------------------------------------------------


def _key_kind(key: str, env: Mapping[str, str | None]) -> str:
    """``content`` (hashFiles), ``volatile`` (sha/run id), ``static``, or ``unknown``."""
    exprs = _EXPR.findall(key)
    if any(_HASHFILES.search(e) for e in exprs):
        return "content"
    kind = "static"
    for expr in exprs:
        if any(v in expr for v in _VOLATILE):
            return "volatile"
        body = _STRING.sub("", expr)
        for ref in _CONTEXT_REF.findall(body):
            if ref.lower() in _EXPR_WORDS:
                continue
            unknown_env = ref.startswith("env.") and _is_expr(env.get(ref[4:]))
            if not _STATIC_CONTEXT.fullmatch(ref) or unknown_env:
                kind = "unknown"
    return kind


def _rules_cache_steps(out: _Collector, unit: Unit) -> None:
    for cache in unit.caches:
        _rule_ca109(out, unit, cache)
        if cache.kind == "setup-python":
            _rule_ca102(out, unit, cache)
        elif cache.kind in ("setup-node", "setup-node-auto"):
            _rule_ca103(out, unit, cache)
        elif cache.kind in ("cache", "cache-restore", "cache-save"):
            _rules_actions_cache(out, unit, cache)


def _rule_ca109(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    step = cache.step
    spec = step.spec
    if spec is None or spec.floor is None or step.uses is None:
        return
    if spec.floor.only_with_cache and cache.restores is False and cache.kind != "cache-save":
        return
    ref = step.uses.version
    broken = spec.floor.broken(ref)
    if broken is False:
        return
    line_text = step.doc.lines[step.line - 1] if 0 < step.line <= len(step.doc.lines) else ""
    column = line_text.find(step.uses.raw) + 1 or None
    name = step.uses.name
    written = step.uses.raw.split("@", 1)[0]
    fixed_line = line_text.replace(step.uses.raw, f"{written}@{spec.floor.fixed.split('@')[1]}")
    if "#" in fixed_line:  # a version comment no longer matches the new ref
        fixed_line = fixed_line.split("#", 1)[0].rstrip()
    if broken is None:
        message = (
            f"{unit.at(step)} pins {name} to a commit SHA with no version comment: "
            f"cacheaudit cannot tell offline whether it predates the 2025 cache service "
            f"(versions before {_floor_text(spec.floor)} fail)."
        )
        fix = Fix(
            f"Add the version as a trailing comment (`@{step.uses.ref} # vX.Y.Z`) so it "
            f"can be checked, and make sure it is {_floor_text(spec.floor)} or later.",
            "",
        )
        finding = RULES["CA109"].finding(
            _loc(step, step.line, column),
            message,
            subject=unit.subject(step, "version"),
            fix=fix,
            weight=0.25,
        )
        out.add(dataclasses.replace(finding, severity=Severity.INFO))
        return
    shown = step.uses.ref + (
        f" ({step.uses.comment})"
        if ref.kind == "exact" and facts.parse_ref(step.uses.ref).kind == "sha"
        else ""
    )
    message = (
        f"{unit.at(step)} uses {name}@{shown}: since the cache service moved "
        f"(2025-02) this version's cache requests fail, so the step fails or caches "
        f"nothing. Versions before {_floor_text(spec.floor)} are affected."
    )
    fix = Fix(
        f"Use {spec.floor.fixed} or newer (when pinning by SHA, pin a release from "
        f"{_floor_text(spec.floor)} on and name it in a trailing comment).",
        fixed_line,
    )
    out.add(
        RULES["CA109"].finding(
            _loc(step, step.line, column), message, subject=unit.subject(step, "version"), fix=fix
        )
    )


def _broken_version(step: Step) -> bool:
    spec = step.spec
    if spec is None or spec.floor is None or step.uses is None:
        return False
    return spec.floor.broken(step.uses.version) is True


def _floor_text(floor: facts.VersionFloor) -> str:
    first = [f"v{'.'.join(map(str, v))}" for _, v in floor.min_by_major]
    return " / ".join(first) if first else f"v{floor.fine_from_major}"


def _rule_ca102(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    ctx = out.ctx
    step = cache.step
    mode = step.inputs.get("cache", "").strip()
    if mode not in facts.SETUP_PYTHON_DEFAULT_GLOBS:
        return
    state = _workspace(unit, cache.pos)
    if state == "unknown":
        return
    explicit = "cache-dependency-path" in step.inputs
    raw = step.inputs.get("cache-dependency-path", "")
    patterns = _lines_of(raw) if explicit else list(facts.SETUP_PYTHON_DEFAULT_GLOBS[mode])
    if any(_is_expr(p) or _unknowable(p) for p in patterns):
        return
    matched = {p: _gh_glob(ctx, p) for p in patterns}
    fallback = _gh_glob(ctx, facts.SETUP_PYTHON_PIP_FALLBACK) if mode == "pip" else []
    if any(_maybe_generated(unit, cache.pos, p) for p in patterns):
        return
    where = unit.at(step)
    if state == "late" and (any(matched.values()) or fallback):
        message = (
            f"{where} turns on `cache: {mode}` before `actions/checkout` has run: "
            f"setup-python finds no dependency file and the step fails."
        )
        out.add(
            RULES["CA102"].finding(
                _loc(step, cache.line),
                message,
                subject=unit.subject(step, "cache"),
                fix=Fix("Move `actions/checkout` before this step.", _checkout_first(unit, step)),
            )
        )
        return
    if any(matched.values()):
        _ca504_entries(out, unit, cache, "cache-dependency-path", matched)
        return
    if fallback:
        if explicit:
            _ca504_entries(out, unit, cache, "cache-dependency-path", matched)
        return
    looked = ", ".join(f"`{p}`" for p in patterns)
    also = f" (nor `{facts.SETUP_PYTHON_PIP_FALLBACK}`)" if mode == "pip" else ""
    line = step.input_line("cache-dependency-path") if explicit else cache.line
    message = (
        f"{where} sets `cache: {mode}` but no file matches {looked}{also}: "
        f"setup-python fails with 'No file ... matched'."
    )
    files = _dependency_files(ctx, unit, mode)
    if files:
        snippet = _render_step(unit, step, {"cache-dependency-path": files})
        description = "Point `cache-dependency-path` at the files the job installs from."
    else:
        snippet = _render_step(unit, step, {}, remove=("cache", "cache-dependency-path"))
        description = (
            "The job installs from no dependency file: remove `cache:` (or cache "
            "with actions/cache keyed on a file that exists)."
        )
    out.add(
        RULES["CA102"].finding(
            _loc(step, line),
            message,
            subject=unit.subject(step, "cache"),
            fix=Fix(description, snippet),
        )
    )


def _ca504_entries(
    out: _Collector, unit: Unit, cache: CacheUse, input_name: str, matched: Mapping[str, list[str]]
) -> None:
    step = cache.step
    raw = step.inputs.get(input_name, "")
    base = (
        value_line(step.with_node, input_name)
        if step.with_node and input_name in step.with_node
        else step.line
    )
    block = "\n" in raw
    for offset, text in enumerate(raw.splitlines()):
        pat = text.strip()
        if not pat or pat not in matched or matched[pat] or _GLOB_CHARS.search(pat):
            continue
        line = base + offset if block else base
        message = (
            f"{unit.at(step)} lists `{pat}` in `{input_name}`, but that file does not "
            f"exist: the cache key silently ignores it."
        )
        rest = [p for p in _lines_of(raw) if p != pat]
        out.add(
            RULES["CA504"].finding(
                _loc(step, line),
                message,
                subject=unit.subject(step, f"{input_name}:{pat}"),
                fix=Fix(
                    "Correct the path to the file that exists, or remove the entry.",
                    _render_step(unit, step, {input_name: rest}) if rest else "",
                ),
            )
        )


def _dependency_files(ctx: RepoContext, unit: Unit, mode: str) -> list[str]:
    """Existing files the unit's installs for ``mode`` read (for cache-dependency-path)."""
    files: list[str] = []
    for install in unit.installs:
        if install.workdir is None or mode not in (install.cmd.cache_tool, install.cmd.tool):
            continue
        files.extend(f for f in install_inputs(install.cmd, ctx, install.workdir) if ctx.exists(f))
    return list(dict.fromkeys(files))


def _rule_ca103(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    ctx = out.ctx
    step = cache.step
    manager = next(iter(cache.tools)) if cache.tools else None
    if manager is None:
        return
    state = _workspace(unit, cache.pos)
    if state == "unknown" or (state == "late" and cache.kind == "setup-node-auto"):
        return
    cdp = _lines_of(step.inputs.get("cache-dependency-path", ""))
    if any(_is_expr(p) or _unknowable(p) for p in cdp):
        return
    if cdp:
        matched = {p: _gh_glob(ctx, p) for p in cdp}
        if any(matched.values()):
            _ca504_entries(out, unit, cache, "cache-dependency-path", matched)
            return
        looked = ", ".join(f"`{p}`" for p in cdp)
    else:
        names = facts.SETUP_NODE_LOCKFILES[manager]
        if any(ctx.exists(n) for n in names):
            return
        looked = " or ".join(f"`{n}`" for n in names) + " at the repository root"
    if any(
        _maybe_generated(unit, cache.pos, p) for p in cdp or facts.SETUP_NODE_LOCKFILES[manager]
    ):
        return
    how = cache.what
    message = (
        f"{unit.at(step)} caches with {how} but finds no lock file ({looked}): "
        f"setup-node fails with 'Dependencies lock file is not found'."
    )
    if state == "late":
        message = (
            f"{unit.at(step)} caches with {how} before `actions/checkout` has run: "
            f"setup-node finds no lock file and fails."
        )
    candidates = [p for n in facts.SETUP_NODE_LOCKFILES[manager] for p in ctx.glob(f"**/{n}")]
    if candidates and state == "ok":
        snippet = _render_step(unit, step, {"cache-dependency-path": candidates[:3]})
        description = "Point `cache-dependency-path` at the lock file."
    elif cache.kind == "setup-node-auto":
        snippet = _render_step(unit, step, {"package-manager-cache": ["false"]})
        description = "Commit a lock file, or turn automatic caching off."
    else:
        snippet = _render_step(unit, step, {}, remove=("cache", "cache-dependency-path"))
        description = "Commit the lock file, or remove `cache:`."
    if state == "late":
        snippet = _checkout_first(unit, step)
        description = "Move `actions/checkout` before this step."
    out.add(
        RULES["CA103"].finding(
            _loc(step, cache.line),
            message,
            subject=unit.subject(step, "cache"),
            fix=Fix(description, snippet),
        )
    )


def _is_dependency_cache(cache: CacheUse) -> bool:
    return any(e.kinds for e in cache.entries)


def _rules_actions_cache(out: _Collector, unit: Unit, cache: CacheUse) -> None:
    ctx = out.ctx
    step = cache.step
    key = step.inputs.get("key", "")
    restore_keys = step.inputs.get("restore-keys", "").strip()
    env = cache.eff.env
    kind = _key_kind(key, env)
    key_line_no = step.input_line("key")
    dependency = _is_dependency_cache(cache)
    envs = [e for e in cache.entries if e.kinds & {"python-env", "node-env"}]
    tools = sorted({k for e in cache.entries for k in e.kinds} - {"python-env", "node-env"})
    label = (
        tools[0]
        if tools
        else (
            "venv"
            if any("python-env" in e.kinds for e in envs)
            else "node-modules"
            if envs
            else "deps"
        )
    )
    # CA106 / CA504: hashFiles patterns that match nothing.
    calls = _hashfiles_args(key)
    state = _workspace(unit, cache.pos)
    if calls and state != "unknown":
        for args in calls:
            if args is None:
                continue
            positive = [p for p in args if not p.startswith("!")]
            if not positive or any(_unknowable(p) for p in positive):
                continue
            if any(_maybe_generated(unit, cache.pos, p) for p in positive):
                continue
            matched = {p: _gh_glob(ctx, p) for p in positive}
            if state == "late" and any(matched.values()):
                shown = ", ".join(f"'{p}'" for p in positive)
                message = (
                    f"{unit.at(step)} keys the cache on `hashFiles({shown})` before "
                    "`actions/checkout` has run: hashFiles returns an empty string and"
                    " the key is constant."
                )
                out.add(
                    RULES["CA106"].finding(
                        _loc(step, key_line_no),
                        message,
                        subject=unit.subject(step, "key"),
                        fix=Fix(
                            "Move `actions/checkout` before this step.", _checkout_first(unit, step)
                        ),
                    )
                )
            elif not any(matched.values()):
                shown = ", ".join(f"'{p}'" for p in positive)
                message = (
                    f"{unit.at(step)} keys the cache on `hashFiles({shown})`, which "
                    "matches no file in the repository: hashFiles returns an empty "
                    "string, so the key is constant and never refreshes."
                )
                files = _key_files(ctx, unit, cache)
                snippet = ""
                if files:
                    new_key = key.replace(
                        _hashfiles_call_text(key, args),
                        "hashFiles(" + ", ".join(f"'{f}'" for f in files) + ")",
                    )
                    snippet = _render_step(unit, step, {"key": [new_key]})
                out.add(
                    RULES["CA106"].finding(
                        _loc(step, key_line_no),
                        message,
                        subject=unit.subject(step, "key"),
                        fix=Fix(
                            "Change the `hashFiles()` pattern to the dependency files that exist.",
                            snippet,
                        ),
                    )
                )
            else:
                for pat, hits in matched.items():
                    if hits or _GLOB_CHARS.search(pat):
                        continue
                    message = (
                        f"{unit.at(step)} hashes `{pat}` in its cache key, but that "
                        "file does not exist: the key ignores it."
                    )
                    call = _hashfiles_call_text(key, args)
                    kept = ", ".join(f"'{a}'" for a in args if a != pat)
                    new_key = key.replace(call, f"hashFiles({kept})") if call else key
                    out.add(
                        RULES["CA504"].finding(
                            _loc(step, key_line_no),
                            message,
                            subject=unit.subject(step, f"hashFiles:{pat}"),
                            fix=Fix(
                                "Correct the path to the file that exists, or remove it.",
                                _render_step(unit, step, {"key": [new_key]}),
                            ),
                        )
                    )
    if cache.kind == "cache-save" or not dependency:
        return
    # CA105: keys that never refresh (static) or never hit (run-unique, no restore-keys).
    if kind == "static" or (kind == "volatile" and not restore_keys):
        why = (
            "is the same on every run, so the cache is saved once and never refreshed as "
            "dependencies change"
            if kind == "static"
            else "changes on every run, so it never hits"
        )
        message = (
            f"{unit.at(step)} caches {', '.join(f'`{e.raw}`' for e in cache.entries)} "
            f"under key `{_fold(key)}`, which hashes no lock or requirements file: it "
            f"{why}."
        )
        files = _key_files(ctx, unit, cache)
        pattern = ", ".join(f"'{f}'" for f in files) or _default_key_glob(label)
        new_key = f"${{{{ runner.os }}}}-{label}-${{{{ hashFiles({pattern}) }}}}"
        updates = {"key": [new_key]}
        if not restore_keys:
            updates["restore-keys"] = ["|", f"${{{{ runner.os }}}}-{label}-"]
        out.add(
            RULES["CA105"].finding(
                _loc(step, key_line_no),
                message,
                subject=unit.subject(step, "key"),
                fix=Fix(
                    "Key the cache on `runner.os` plus `hashFiles()` of the files the job "
                    "installs from, with a `restore-keys` prefix.",
                    _render_step(unit, step, updates),
                ),
            )
        )
    # CA107: installed environments keyed without the OS or the matrix runtime version.
    if envs and kind in ("content", "static"):
        _rule_ca107(out, unit, cache, envs, key, key_line_no)
    # CA108: node_modules.
    node = [e for e in cache.entries if "node-env" in e.kinds]
    if node:
        message = (
            f"{unit.at(step)} caches `{node[0].raw}`: node_modules breaks across Node "
            "versions and `npm ci` deletes it before installing; cache npm's download "
            "cache (~/.npm) instead."
        )
        setup = _last_step(unit, "setup-node", cache.pos)
        if setup is not None and "cache" not in setup.inputs:
            snippet = _render_step(unit, setup, {"cache": [_node_manager(unit)]})
            description = "Turn on setup-node's cache and drop the node_modules cache."
        else:
            snippet = _new_cache_step(
                unit, step, "npm", ["~/.npm"], _key_files(ctx, unit, cache) or ["package-lock.json"]
            )
            description = "Cache `~/.npm` keyed on the lock file instead of node_modules."
        out.add(
            RULES["CA108"].finding(
                _loc(step, node[0].line),
                message,
                subject=unit.subject(step, "node_modules"),
                fix=Fix(description, snippet),
            )
        )
    # CA113: a content-addressed download cache with no fallback.
    if kind == "content" and not restore_keys and not envs and cache.restores:
        prefix = _key_prefix(key)
        message = (
            f"{unit.at(step)} has a content-addressed key but no `restore-keys`: every "
            "change to the hashed files starts from an empty cache."
        )
        snippet = _render_step(
            unit, step, {"restore-keys": ["|", prefix or f"${{{{ runner.os }}}}-{label}-"]}
        )
        out.add(
            RULES["CA113"].finding(
                _loc(step, key_line_no),
                message,
                subject=unit.subject(step, "restore-keys"),
                fix=Fix("Add `restore-keys` with the key's prefix up to the hash.", snippet),
            )
        )


def _hashfiles_call_text(key: str, args: list[str]) -> str:
    for m in _HASHFILES.finditer(key):
        depth, pos = 1, m.end()
        while pos < len(key) and depth:
            depth += {"(": 1, ")": -1}.get(key[pos], 0)
            pos += 1
        text = key[m.start() : pos]
        if all(a in text for a in args):
            return text
    return ""


def _key_prefix(key: str) -> str:
    m = _HASHFILES.search(key)
    if not m:
        return ""
    start = key.rfind("${{", 0, m.start())
    return key[:start].strip() if start > 0 else ""


def _default_key_glob(label: str) -> str:
    return {
        "pip": "'**/requirements*.txt'",
        "uv": "'**/uv.lock'",
        "poetry": "'**/poetry.lock'",
        "pdm": "'**/pdm.lock'",
        "npm": "'**/package-lock.json'",
        "yarn": "'**/yarn.lock'",
        "pnpm": "'**/pnpm-lock.yaml'",
        "pre-commit": "'.pre-commit-config.yaml'",
        "pipenv": "'**/Pipfile.lock'",
    }.get(label, "'**/requirements*.txt', '**/pyproject.toml'")


def _key_files(ctx: RepoContext, unit: Unit, cache: CacheUse) -> list[str]:
    """Files to hash for this cache: what the installs it covers read."""
    files: list[str] = []
    for install in unit.installs:
        if install.workdir is None or install.pos <= cache.pos:
            continue
        if _covers(cache, install):
            files.extend(
                f for f in install_inputs(install.cmd, ctx, install.workdir) if ctx.exists(f)
            )
    return _prefer_locks(list(dict.fromkeys(files)))


def _prefer_locks(files: list[str]) -> list[str]:
    """Drop manifests (package.json, pyproject.toml) when their lock file is listed: the lock
    decides what is downloaded."""
    from cacheaudit.discovery import LOCKFILE_NAMES

    locked_dirs = {posixpath.dirname(f) for f in files if posixpath.basename(f) in LOCKFILE_NAMES}
    return [
        f
        for f in files
        if not (
            posixpath.basename(f) in ("package.json", "pyproject.toml", "Pipfile")
            and posixpath.dirname(f) in locked_dirs
        )
    ]


def _rule_ca107(
    out: _Collector, unit: Unit, cache: CacheUse, envs: list[PathEntry], key: str, line: int
) -> None:
    job = unit.job
    if job is None:
        return
    missing: list[str] = []
    varies = job.oses is not None and len(job.oses) > 1
    os_marked = (
        "runner.os" in key
        or "env.ImageOS" in key
        or "pythonLocation" in key
        or any(f"matrix.{v}" in key for v in job.runs_on_vars)
        or bool(_OS_WORDS.search(_EXPR.sub("", key)))
    )
    if varies and not os_marked:
        missing.append("`runner.os`")
    kinds = {k for e in envs for k in e.kinds}
    for setup_kind, input_name, env_kind in (
        ("setup-python", "python-version", "python-env"),
        ("setup-node", "node-version", "node-env"),
        ("setup-uv", "python-version", "python-env"),
    ):
        if env_kind not in kinds:
            continue
        setup = _last_step(unit, setup_kind, cache.pos)
        if setup is None:
            continue
        m = re.search(r"matrix\.([\w-]+)", setup.inputs.get(input_name, ""))
        if not m:
            continue
        values = job.matrix.get(m.group(1), [])
        if values is not None and len(set(values)) < 2:
            continue
        var = m.group(1)
        output = f"outputs.{input_name}"
        if f"matrix.{var}" in key or output in key or "pythonLocation" in key:
            continue
        missing.append(f"`matrix.{var}`")
    if not missing:
        return
    step = cache.step
    message = (
        f"{unit.at(step)} caches the installed environment "
        f"{', '.join(f'`{e.raw}`' for e in envs)} under key `{_fold(key)}`, which omits "
        f"{' and '.join(missing)}: a job on another "
        f"{'OS or ' if '`runner.os`' in missing else ''}runtime version restores an "
        "environment built for a different runtime."
    )
    parts = [p.strip("`") for p in missing]
    prefix = "-".join(f"${{{{ {p} }}}}" for p in parts)
    updates: dict[str, list[str]] = {"key": [f"{prefix}-{key.strip()}"]}
    restore = _lines_of(step.inputs.get("restore-keys", ""))
    if restore:  # a prefix fallback must not cross runtimes either
        updates["restore-keys"] = ["|", *(f"{prefix}-{r}" for r in restore)]
    snippet = _render_step(unit, step, updates)
    out.add(
        RULES["CA107"].finding(
            _loc(step, line),
            message,
            subject=unit.subject(step, "key-runtime"),
            fix=Fix(
                "Add the OS and the runtime version to the key (or cache the download cache "
                "instead of the environment).",
                snippet,
            ),
        )
    )


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


def _node_manager(unit: Unit) -> str:
    tools = [i.cmd.tool for i in unit.installs if i.cmd.tool in facts.NODE_TOOLS]
    return tools[0] if tools else "npm"


# --- CA110 / CA111 / CA112 ---------------------------------------------------------------------


def _publishes(unit: Unit) -> Step | None:
    """The first step of the job that publishes what it built."""
    for eff in unit.steps:
        step = eff.step
        if step.uses is not None and step.uses.kind == "action":
            if step.uses.name in facts.PUBLISHER_ACTIONS:
                return step
            if step.uses.name == "docker/build-push-action":
                push = step.inputs.get("push", "").strip().lower()
                if push == "true" or _is_expr(push):
                    return step
        if step.run is not None:
            for command in step.commands():
                subs = facts.PUBLISH_COMMANDS.get(command.program)
                args = [a for a in command.argv[1:] if not a.startswith("-")]
                if (
                    subs
                    and args
                    and args[0] in subs
                    and (command.program != "gh" or args[1:2] in (["create"], ["upload"]))
                ):
                    return step
                if command.program == "docker" and "--push" in command.argv:
                    return step
    return None


def _release_reasons(unit: Unit) -> list[str]:
    """The triggers that make a job's caches a poisoning risk (RULES CA110, zizmor)."""
    triggers = unit.triggers
    reasons: list[str] = []
    if triggers is not None and unit.job is not None:
        if "release" in triggers.events:
            reasons.append("`release`")
        if triggers.tag_push:
            reasons.append("tag pushes")
        if triggers.release_branch_push:
            reasons.append("pushes to release branches")
        for event in ("pull_request_target", "workflow_run"):
            if event in triggers.events:
                reasons.append(f"`{event}`")
    return reasons


def _rule_ca110(out: _Collector, unit: Unit) -> None:
    if unit.job is None:
        return
    triggers = unit.triggers
    reasons = _release_reasons(unit)
    publisher = _publishes(unit)
    if not reasons and publisher is None:
        return
    called = triggers is not None and "workflow_call" in _triggers(unit.doc).events
    why = (
        f"{'runs from a workflow' if called else 'is'} triggered by {' and '.join(reasons)}"
        if reasons
        else f"publishes in {publisher.label if publisher else 'a step'}"
    )
    reported: set[int] = set()
    for cache in unit.caches:
        if cache.restores is not True:
            continue
        step = cache.step
        anchor = step if _own(unit, step) else cache.eff.via
        if anchor is None or anchor.doc.path != unit.doc.path or id(anchor) in reported:
            continue
        reported.add(id(anchor))
        inside = "" if anchor is step else f" (inside action {step.doc.path})"
        message = (
            f"{unit.where} {why}, and {anchor.label} restores {cache.what}{inside}: "
            "caches are shared with branch and pull-request runs, so a poisoned cache "
            "can end up in what this job builds and releases."
        )
        line = cache.line if anchor is step else anchor.line
        out.add(
            RULES["CA110"].finding(
                _loc(anchor, line),
                message,
                subject=unit.subject(anchor, "cache-poisoning"),
                fix=_fix_ca110(unit, cache, anchor),
            )
        )


def _fix_ca110(unit: Unit, cache: CacheUse, anchor: Step) -> Fix:
    step = cache.step
    if anchor is not step:
        return Fix(
            f"Do not restore caches in this job: turn the cache off inside "
            f"{step.doc.path} (for example behind an input) when it publishes.",
            "",
        )
    if cache.kind == "setup-python":
        return Fix(
            "Do not restore a cache in a publishing job: remove `cache:`.",
            _render_step(unit, step, {}, remove=("cache", "cache-dependency-path")),
        )
    if cache.kind == "setup-node":
        major = step.uses.major() if step.uses else None
        off = {"package-manager-cache": ["false"]} if major is None or major >= 5 else {}
        return Fix(
            "Do not restore a cache in a publishing job: remove `cache:`.",
            _render_step(unit, step, off, remove=("cache", "cache-dependency-path")),
        )
    if cache.kind == "setup-node-auto":
        return Fix(
            "Turn setup-node's automatic cache off in this job.",
            _render_step(unit, step, {"package-manager-cache": ["false"]}),
        )
    if cache.kind == "setup-uv":
        events = unit.triggers.events if unit.triggers else frozenset()
        only_release = events <= {"release", "push", "workflow_dispatch"} and not (
            "push" in events and not (unit.triggers and unit.triggers.tag_push)
        )
        value = "false" if only_release else "${{ !startsWith(github.ref, 'refs/tags/') }}"
        return Fix(
            "Do not restore uv's cache when releasing.",
            _render_step(unit, step, {"enable-cache": [value]}),
        )
    if cache.kind in ("cache", "cache-restore"):
        return Fix(
            "Do not restore this cache in a publishing job (`lookup-only: true` checks "
            "the entry without restoring it), or remove the step.",
            _render_step(unit, step, {"lookup-only": ["true"]}),
        )
    return Fix("Turn this action's cache off in publishing jobs.", "")


def _rule_ca111(out: _Collector, unit: Unit) -> None:
    if unit.runner not in ("github", "ephemeral"):
        return
    if any(
        eff.step.spec is not None and eff.step.spec.kind == "remote-builder" for eff in unit.steps
    ):
        return
    buildx_seen = False
    for eff in unit.steps:
        step = eff.step
        spec = step.spec
        if spec is not None and spec.kind == "buildx":
            if step.inputs.get("driver", "").strip().lower() in ("cloud", "remote", "kubernetes"):
                return
            buildx_seen = True
            continue
        if spec is not None and spec.kind == "docker-build":
            _ca111_action(out, unit, step, buildx_seen)
        elif step.run is not None:
            _ca111_run(out, unit, eff)


def _ca111_action(out: _Collector, unit: Unit, step: Step, buildx_seen: bool) -> None:
    cache_from = _lines_of(step.inputs.get("cache-from", ""))
    cache_to = _lines_of(step.inputs.get("cache-to", ""))
    if any(_is_expr(v) for v in (*cache_from, *cache_to)) or _is_expr(step.inputs.get("builder")):
        return
    if step.inputs.get("no-cache", "").strip().lower() == "true":
        return
    if not cache_from and not cache_to:
        message = (
            f"{unit.at(step)} builds an image with docker/build-push-action without "
            "`cache-from`/`cache-to`: every run rebuilds every layer."
        )
        scope = (
            _slug(
                step.inputs.get("tags", "")
                .split(",")[0]
                .split("\n")[0]
                .split(":")[0]
                .rsplit("/", 1)[-1]
            )
            if step.inputs.get("tags")
            else _slug(step.ident)
        )
        snippet = _render_step(
            unit,
            step,
            {
                "cache-from": [f"type=gha,scope={scope}"],
                "cache-to": [f"type=gha,scope={scope},mode=max"],
            },
        )
        if not buildx_seen:
            snippet = _prepend_step(unit, step, ["uses: docker/setup-buildx-action@v3"], snippet)
        out.add(
            RULES["CA111"].finding(
                _loc(step, step.line),
                message,
                subject=unit.subject(step, "layer-cache"),
                fix=Fix(
                    "Add `cache-from`/`cache-to` with the GitHub Actions cache backend (after "
                    "docker/setup-buildx-action), one `scope` per image.",
                    snippet,
                ),
            )
        )
        return
    if (
        any("type=gha" in v for v in (*cache_from, *cache_to))
        and not buildx_seen
        and not step.inputs.get("builder")
    ):
        line = step.input_line("cache-to" if cache_to else "cache-from")
        message = (
            f"{unit.at(step)} uses the `type=gha` cache without "
            "docker/setup-buildx-action before it: the default docker driver rejects "
            "cache export, so the build fails or caches nothing."
        )
        out.add(
            RULES["CA111"].finding(
                _loc(step, line),
                message,
                subject=unit.subject(step, "gha-needs-buildx"),
                fix=Fix(
                    "Add docker/setup-buildx-action before this step.",
                    _prepend_step(
                        unit, step, ["uses: docker/setup-buildx-action@v3"], _step_text(unit, step)
                    ),
                ),
            )
        )


_DOCKER_VALUE_OPTIONS = frozenset({
    "-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform", "--label",
    "--secret", "--ssh", "--cache-from", "--cache-to", "--network", "--progress", "-o",
    "--output", "--iidfile", "--add-host", "--shm-size", "--ulimit", "--builder",
    "--metadata-file", "--build-context", "--attest", "--provenance", "--sbom", "--annotation",
})  # fmt: skip


def _docker_build(argv: Sequence[str]) -> dict[str, list[str]] | None:
    """Options and context of ``docker [buildx|image] build ...``; None for other commands."""
    args = list(argv[1:])
    if args[:2] in (["buildx", "build"], ["image", "build"]):
        args = args[2:]
    elif args[:1] == ["build"]:
        args = args[1:]
    else:
        return None
    opts: dict[str, list[str]] = {"context": []}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("-"):
            name, _, value = arg.partition("=")
            if name in _DOCKER_VALUE_OPTIONS and not value:
                value = args[i] if i < len(args) else ""
                i += 1
            opts.setdefault(name, []).append(value)
        else:
            opts["context"].append(arg)
    return opts


def _ca111_run(out: _Collector, unit: Unit, eff: EffStep) -> None:
    step = eff.step
    if step.run is None:
        return
    for command in step.commands():
        if command.program != "docker":
            continue
        opts = _docker_build(command.argv)
        if opts is None or "--no-cache" in opts:
            continue
        env = {**eff.env, **dict(command.env)}
        sources = opts.get("--cache-from", [])
        column = _column(step.doc, command)
        if not sources:
            message = (
                f"{unit.at(step)} runs `{_fold(command.text)}` without `--cache-from`: "
                "every run rebuilds every layer."
            )
            out.add(
                RULES["CA111"].finding(
                    _loc(step, command.line, column),
                    message,
                    subject=unit.subject(step, f"docker-build:{command.line - step.line}"),
                    fix=Fix(
                        "Build with docker/build-push-action and the GitHub Actions cache "
                        "(`cache-from: type=gha`, `cache-to: type=gha,mode=max`), or add a "
                        "registry cache (`--cache-from`/`--cache-to type=registry,ref=...`).",
                        _build_push_snippet(unit, step, opts),
                    ),
                )
            )
            continue
        plain = [s for s in sources if "type=" not in s]
        legacy = (env.get("DOCKER_BUILDKIT") or "").strip() == "0"
        inline = any("BUILDKIT_INLINE_CACHE" in a for a in opts.get("--build-arg", [])) or opts.get(
            "--cache-to"
        )
        if plain and not legacy and not inline and not _repo_mentions_inline_cache(out.ctx):
            message = (
                f"{unit.at(step)} runs `{_fold(command.text)}` with `--cache-from "
                f"{plain[0]}`: under BuildKit a plain image only serves as a cache source "
                "if it was pushed with inline cache metadata, and nothing in this "
                "repository pushes it that way, so the option does nothing."
            )
            out.add(
                RULES["CA111"].finding(
                    _loc(step, command.line, column),
                    message,
                    subject=unit.subject(step, f"dead-cache-from:{command.line - step.line}"),
                    fix=Fix(
                        "Export the cache too: add `--cache-to type=inline` (or "
                        "`--build-arg BUILDKIT_INLINE_CACHE=1`) to the build that pushes "
                        f"{plain[0]}, or use a registry cache "
                        "(`--cache-to type=registry,ref=...,mode=max`).",
                        "",
                    ),
                    weight=0.5,
                )
            )


def _repo_mentions_inline_cache(ctx: RepoContext) -> bool:
    def compute() -> bool:
        for source in ctx.files:
            if source.kind in (
                FileKind.WORKFLOW,
                FileKind.COMPOSITE_ACTION,
                FileKind.DOCKERFILE,
                FileKind.GITLAB_CI,
            ) and ("BUILDKIT_INLINE_CACHE" in source.text or "type=inline" in source.text):
                return True
        return False

    return ctx.memo("gha", "inline-cache", compute)


def _rule_ca112(out: _Collector) -> None:
    index = out.index
    by_doc: dict[str, list[Unit]] = {}
    for unit in index.units:
        if unit.job is not None:
            by_doc.setdefault(unit.doc.path, []).append(unit)
    warm = False
    for units in by_doc.values():
        triggers = units[0].triggers
        if triggers is None or not triggers.events & _SHARED_CACHE_EVENTS:
            continue
        push_tags_only = (
            triggers.events == {"push"}
            and triggers.tag_push
            and not _map(_map(_map(units[0].doc.root).get("on")).get("push")).get("branches")
        )
        if push_tags_only:
            continue
        if any(c.restores for u in units for c in u.caches):
            warm = True
    if warm:
        return
    for path, units in sorted(by_doc.items()):
        doc = units[0].doc
        triggers = _triggers(doc)
        if (
            not triggers.events
            or not triggers.events <= _PR_EVENTS
            or "pull_request" not in triggers.events
        ):
            continue
        caches = [(u, c) for u in units for c in u.caches if c.restores]
        if not caches:
            continue
        unit, cache = caches[0]
        others = f" and {len(caches) - 1} more" if len(caches) > 1 else ""
        message = (
            f"workflow {doc.name} runs only on pull_request, but {unit.at(cache.step)} "
            f"restores {cache.what}{others}: caches saved by a pull request are scoped to"
            " its merge ref, so no other pull request can reuse them."
        )
        out.add(
            RULES["CA112"].finding(
                Location(path, triggers.line),
                message,
                subject="workflow / triggers",
                fix=Fix(
                    "Also run the workflow on `push` to the default branch so a shared cache "
                    "exists that every pull request can restore.",
                    _on_snippet(doc, triggers),
                ),
            )
        )


# --- fixes -------------------------------------------------------------------------------------


def _indent_unit(doc: Doc) -> int:
    """The file's indentation step (the smallest positive indentation in it)."""
    if not doc.indent:
        widths = [
            len(line) - len(line.lstrip(" "))
            for line in doc.lines
            if line.strip() and not line.lstrip().startswith("#")
        ]
        doc.indent = min((w for w in widths if w), default=2)
    return doc.indent


def _key_indent(doc: Doc, node: dict[str, Any]) -> int | None:
    for key in node:
        column = key_column(node, key)
        if column is not None:
            return column - 1
    return None


def _step_span(step: Step) -> tuple[int, int, int]:
    """(first line, last line, dash column) of a step's text (1-based lines)."""
    lines = step.doc.lines
    start = item_line(step.seq, step.index - 1)
    key_col = _key_indent(step.doc, step.node) or 0
    dash = start
    while dash >= 1 and not lines[dash - 1].lstrip().startswith("-"):
        dash -= 1
    if dash < 1:
        dash = start
    text = lines[dash - 1]
    dash_col = len(text) - len(text.lstrip()) if text.lstrip().startswith("-") else key_col - 2
    end = dash
    for number in range(dash + 1, len(lines) + 1):
        line = lines[number - 1]
        stripped = line.strip()
        if not stripped:
            continue
        if len(line) - len(line.lstrip()) <= dash_col:
            break
        end = number
    return dash, end, dash_col


def _step_text(unit: Unit, step: Step) -> str:
    start, end, _ = _step_span(step)
    return "\n".join(step.doc.lines[start - 1 : end])


def _render_step(
    unit: Unit, step: Step, updates: Mapping[str, Sequence[str]], remove: Iterable[str] = ()
) -> str:
    """The step's text with ``with:`` entries set or removed, indented as the file indents.

    ``updates`` maps an input to its value lines: one line is written inline, several (or a
    first line ``|``) as a literal block."""
    doc = step.doc
    start, end, _ = _step_span(step)
    block = doc.lines[start - 1 : end]
    unit_width = _indent_unit(doc)
    key_col = _key_indent(doc, step.node) or 0
    with_node = step.with_node
    flow = (
        with_node is not None
        and "with" in step.node
        and value_line(step.node, "with") == key_line(step.node, "with")
        and "{" in doc.lines[key_line(step.node, "with") - 1]
    )
    if with_node is not None and with_node and not flow:
        entry_col = _key_indent(doc, with_node) or key_col + unit_width
    else:
        entry_col = key_col + unit_width

    def entry(key: str, values: Sequence[str]) -> list[str]:
        pad = " " * entry_col
        if len(values) == 1 and values[0] != "|":
            return [f"{pad}{key}: {_quote(values[0])}"]
        items = [v for v in values if v != "|"]
        return [f"{pad}{key}: |"] + [f"{pad}{' ' * unit_width}{v}" for v in items]

    drop = set(remove)
    if with_node is None or flow:
        kept = {k: v for k, v in step.inputs.items() if k not in drop and k not in updates}
        new_with = (
            [f"{' ' * key_col}with:"]
            + [ln for k, v in kept.items() for ln in entry(k, _lines_of(v) if "\n" in v else [v])]
            + [ln for k, v in updates.items() for ln in entry(k, v)]
        )
        if flow:
            wl = key_line(step.node, "with") - start
            body = block[:wl] + block[wl + 1 :]
        else:
            body = block
        while body and not body[-1].strip():
            body.pop()
        lines = body + (new_with if len(new_with) > 1 else [])
        return "\n".join(lines)
    # Spans of each with entry, relative to the block.
    keys = [(key_line(with_node, k) - start, str(k)) for k in with_node]
    keys.sort()
    with_rel = key_line(step.node, "with") - start
    after_with = [
        key_line(step.node, k) - start
        for k in step.node
        if key_line(step.node, k) - start > with_rel
    ]
    with_end = min(after_with) if after_with else len(block)
    spans: dict[str, tuple[int, int]] = {}
    for i, (rel, key) in enumerate(keys):
        stop = keys[i + 1][0] if i + 1 < len(keys) else with_end
        while stop - 1 > rel and not block[stop - 1].strip():
            stop -= 1
        spans[key] = (rel, stop)
    replaced: dict[int, list[str]] = {}
    deleted: set[int] = set()
    for key in drop:
        if key in spans:
            deleted.update(range(*spans[key]))
    appended: list[str] = []
    for key, values in updates.items():
        if key in spans:
            lo, hi = spans[key]
            deleted.update(range(lo + 1, hi))
            replaced[lo] = entry(key, values)
        else:
            appended += entry(key, values)
    remaining = [k for k in spans if k not in drop]
    if not remaining and not appended and not replaced:
        deleted.add(with_rel)  # nothing left under `with:`: drop the key too
    last = max((spans[k][1] for k in remaining), default=with_rel + 1)
    out: list[str] = []
    for i, line in enumerate(block):
        if i in replaced:
            out += replaced[i]
        elif i not in deleted:
            out.append(line)
        if i == last - 1:
            out += appended
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def _checkout_first(unit: Unit, step: Step) -> str:
    """The job's checkout step followed by ``step``: the order to paste."""
    checkout = next(
        (
            e.step
            for e in unit.steps
            if e.step.spec is not None and e.step.spec.kind == "checkout" and e.step.doc is step.doc
        ),
        None,
    )
    if checkout is None:
        return ""
    return _step_text(unit, checkout) + "\n" + _step_text(unit, step)


def _prepend_step(unit: Unit, step: Step, body: list[str], snippet: str) -> str:
    _, _, dash_col = _step_span(step)
    pad = " " * dash_col
    return "\n".join([f"{pad}- {body[0]}", *(f"{pad}  {b}" for b in body[1:]), snippet])


def _new_step(
    unit: Unit, anchor: Step, name: str, uses: str, inputs: Sequence[tuple[str, Sequence[str]]]
) -> str:
    """A new step, indented like ``anchor``'s."""
    _, _, dash_col = _step_span(anchor)
    key_col = _key_indent(anchor.doc, anchor.node) or dash_col + 2
    width = _indent_unit(anchor.doc)
    pad, keys, entries = " " * dash_col, " " * key_col, " " * (key_col + width)
    lines = [f"{pad}- name: {name}", f"{keys}uses: {uses}", f"{keys}with:"]
    for key, values in inputs:
        if len(values) == 1 and values[0] != "|":
            lines.append(f"{entries}{key}: {values[0]}")
        else:
            lines.append(f"{entries}{key}: |")
            lines += [f"{entries}{' ' * width}{v}" for v in values if v != "|"]
    return "\n".join(lines)


def _new_cache_step(
    unit: Unit, anchor: Step, tool: str, paths: Sequence[str], files: Sequence[str]
) -> str:
    patterns = ", ".join(f"'{f}'" for f in files) or _default_key_glob(tool)
    return _new_step(
        unit,
        anchor,
        f"Cache {tool} downloads",
        "actions/cache@v4",
        [
            ("path", list(paths)),
            ("key", [f"${{{{ runner.os }}}}-{tool}-${{{{ hashFiles({patterns}) }}}}"]),
            ("restore-keys", ["|", f"${{{{ runner.os }}}}-{tool}-"]),
        ],
    )


def _setup_uv_snippet(unit: Unit) -> str:
    anchor = next((e.step for e in unit.steps if _own(unit, e.step)), None)
    if anchor is None:
        return ""
    setup = _last_step(unit, "setup-uv", len(unit.steps))
    if setup is not None and _own(unit, setup):
        return _render_step(unit, setup, {"enable-cache": ["true"]})
    _, _, dash_col = _step_span(anchor)
    key_col = _key_indent(anchor.doc, anchor.node) or dash_col + 2
    width = _indent_unit(anchor.doc)
    return "\n".join(
        [
            f"{' ' * dash_col}- uses: astral-sh/setup-uv@v6",
            f"{' ' * key_col}with:",
            f"{' ' * (key_col + width)}enable-cache: true",
        ]
    )


def _fix_ca101(ctx: RepoContext, unit: Unit, install: Install, todo: list[Install]) -> Fix:
    tool = install.cmd.cache_tool
    files: list[str] = []
    for item in todo:
        if item.workdir is not None:
            files += [f for f in install_inputs(item.cmd, ctx, item.workdir) if ctx.exists(f)]
            configs = facts.RUNNER_CONFIG_FILES.get(item.cmd.tool, ())
            files += [
                f
                for name in configs
                if (f := normalize(name, item.workdir) or name) and ctx.exists(f)
            ][:1]
    files = list(dict.fromkeys(files))
    step = install.step
    where = f"before {step.label}" + (
        "" if step.doc.path == unit.doc.path else f" in {step.doc.path}"
    )
    if tool in ("pip", "poetry", "pipenv") or install.cmd.tool in ("pipenv", "poetry"):
        mode = install.cmd.tool if install.cmd.tool in ("poetry", "pipenv") else "pip"
        setup = _last_step(unit, "setup-python", install.pos, step.doc)
        lock = {"poetry": "poetry.lock", "pipenv": "Pipfile.lock"}.get(mode)
        defaults_match = any(_gh_glob(ctx, p) for p in facts.SETUP_PYTHON_DEFAULT_GLOBS[mode]) or (
            mode == "pip" and _gh_glob(ctx, facts.SETUP_PYTHON_PIP_FALLBACK)
        )
        if setup is not None and (mode == "pip" or defaults_match) and (files or defaults_match):
            updates: dict[str, list[str]] = {"cache": [mode]}
            if files and (mode == "pip" or not defaults_match):
                updates["cache-dependency-path"] = files
            note = (
                " (install poetry before setup-python: the cache asks poetry for its "
                "cache directory)"
                if mode == "poetry"
                else ""
            )
            return Fix(
                f"Turn on setup-python's cache in {setup.label}{note}.",
                _render_step(unit, setup, updates),
            )
        paths = {
            "pip": ["~/.cache/pip"],
            "poetry": ["~/.cache/pypoetry"],
            "pipenv": ["~/.cache/pip", "~/.local/share/virtualenvs"],
        }[mode]
        if (
            unit.job is not None
            and unit.job.oses is not None
            and unit.job.oses - {"linux"}
            and mode == "pip"
        ):
            paths = ["~/.cache/pip", "~/Library/Caches/pip", "~\\AppData\\Local\\pip\\Cache"]
        keys = files or ([lock] if lock and ctx.exists(lock) else []) or [unit.doc.path]
        return Fix(
            f"Add an actions/cache step {where}, keyed on the files it installs from.",
            _new_cache_step(unit, step, mode, paths, keys),
        )
    if tool == "uv":
        setup = _last_step(unit, "setup-uv", install.pos, step.doc)
        if setup is not None:
            return Fix(
                f"Turn on setup-uv's cache in {setup.label}.",
                _render_step(unit, setup, {"enable-cache": ["true"]}),
            )
        return Fix(
            f"Install uv with astral-sh/setup-uv and its cache on, {where}.",
            _setup_uv_snippet(unit),
        )
    if tool in facts.NODE_TOOLS:
        setup = _last_step(unit, "setup-node", install.pos, step.doc)
        locks = [p for n in facts.SETUP_NODE_LOCKFILES[tool] for p in ctx.glob(f"**/{n}")]
        if setup is not None and locks:
            updates = {"cache": [tool]}
            if not any(ctx.exists(n) for n in facts.SETUP_NODE_LOCKFILES[tool]):
                updates["cache-dependency-path"] = locks[:3]
            return Fix(
                f"Turn on setup-node's cache in {setup.label}.", _render_step(unit, setup, updates)
            )
        paths = {
            "npm": ["~/.npm"],
            "yarn": ["~/.cache/yarn"],
            "pnpm": ["~/.local/share/pnpm/store"],
        }[tool]
        return Fix(
            f"Add an actions/cache step {where}, keyed on the lock file.",
            _new_cache_step(unit, step, tool, paths, locks[:3] or files or ["**/package.json"]),
        )
    if tool == "pdm":
        setup = _last_step(unit, "setup-pdm", install.pos, step.doc)
        if setup is not None:
            return Fix(
                f"Turn on setup-pdm's cache in {setup.label}.",
                _render_step(unit, setup, {"cache": ["true"]}),
            )
        return Fix(
            f"Add an actions/cache step {where}.",
            _new_cache_step(unit, step, "pdm", ["~/.cache/pdm"], files or ["pdm.lock"]),
        )
    return Fix(f"Add an actions/cache step {where}.", "")


def _without_no_cache(install: Install) -> str:
    """The install line without ``--no-cache-dir`` / ``PIP_NO_CACHE_DIR=...``, written after
    the same prefix as in the file (indentation, ``run:``), so it pastes over that line."""
    text = _fold(install.cmd.command.text)
    text = re.sub(r"\s--no-cache(-dir)?(?=\s|$)", "", text)
    text = re.sub(r"(^|\s)PIP_NO_CACHE_DIR=\S*\s+", r"\1", text)
    lines = install.step.doc.lines
    prefix = ""
    if install.script is None and 0 < install.line <= len(lines):
        source = lines[install.line - 1]
        prefix = (
            source[: install.column - 1]
            if install.column
            else source[: len(source) - len(source.lstrip())]
        )
    return prefix + text


def _build_push_snippet(unit: Unit, step: Step, opts: Mapping[str, list[str]]) -> str:
    context = opts["context"][-1] if opts["context"] else "."
    inputs: list[tuple[str, Sequence[str]]] = [("context", [context])]
    if opts.get("-f") or opts.get("--file"):
        inputs.append(("file", [(opts.get("-f") or opts.get("--file") or [""])[-1]]))
    tags = opts.get("-t", []) + opts.get("--tag", [])
    if tags:
        inputs.append(("tags", [",".join(tags)] if len(tags) == 1 else tags))
    for name in ("--target", "--platform"):
        if opts.get(name):
            inputs.append((name.strip("-"), [opts[name][-1]]))
    if opts.get("--build-arg"):
        inputs.append(("build-args", opts["--build-arg"]))
    push = "--push" in opts
    inputs.append(("push" if push else "load", ["true"]))
    scope = _slug(tags[0].split(":")[0].rsplit("/", 1)[-1]) if tags else "image"
    inputs += [
        ("cache-from", [f"type=gha,scope={scope}"]),
        ("cache-to", [f"type=gha,scope={scope},mode=max"]),
    ]
    _, _, dash_col = _step_span(step)
    pad = " " * dash_col
    build = _new_step(unit, step, step.name or "Build image", "docker/build-push-action@v6", inputs)
    return f"{pad}- uses: docker/setup-buildx-action@v3\n{build}"


def _on_snippet(doc: Doc, triggers: Triggers) -> str:
    root = _map(doc.root)
    width = _indent_unit(doc)
    branch = (
        triggers.pr_branches[0]
        if len(triggers.pr_branches) == 1 and not _GLOB_CHARS.search(triggers.pr_branches[0])
        else "main"
    )
    push = [f"{' ' * width}push:", f"{' ' * (width * 2)}branches: [{branch}]"]
    on = root.get("on")
    if isinstance(on, dict) and on:
        start = key_line(root, "on")
        keys = [key_line(root, k) for k in root if key_line(root, k) > start]
        end = min(keys) - 1 if keys else len(doc.lines)
        block = doc.lines[start - 1 : end]
        while block and not block[-1].strip():
            block.pop()
        return "\n".join(block + push)
    events = [on] if isinstance(on, str) else [e for e in on or [] if isinstance(e, str)]
    return "\n".join(["on:"] + [f"{' ' * width}{e}:" for e in events] + push)


# --- entry point -------------------------------------------------------------------------------


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    """Findings and install sites located in ``file`` (a workflow or an ``action.yml``)."""
    doc = _doc(ctx, file.path)
    if doc is None:
        return Analysis()
    if doc.error is not None:
        return Analysis(findings=[doc.error])
    if file.kind is FileKind.COMPOSITE_ACTION:
        runs = _map(_map(doc.root).get("runs"))
        if str(runs.get("using", "")).strip().lower() != "composite":
            return Analysis()
    index = _index(ctx)
    findings = [f for f in index.findings if f.location.path == file.path]
    installs = [i for i in index.installs if i.location.path == file.path]
    return Analysis(findings=findings, installs=installs)

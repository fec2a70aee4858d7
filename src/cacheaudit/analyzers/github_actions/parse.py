"""Parsing workflows and composite actions into the model: steps, jobs, matrix and runner,
triggers (including those a reusable workflow inherits from its callers), and the expansion of
local composite actions (``uses: ./path``) into the steps of the job that calls them."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.model import (
    Doc,
    EffStep,
    Index,
    Job,
    Step,
    Triggers,
    Uses,
    _env,
    _is_expr,
    _lines_of,
    _map,
    _text,
)
from cacheaudit.notices import parse_error
from cacheaudit.parsing.yaml import YamlError, item_line, key_line, load_path
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

MAX_COMPOSITE_DEPTH = 5


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

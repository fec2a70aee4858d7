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


_MATRIX_REF = re.compile(r"\s*matrix((?:\.[\w-]+)+)\s*(?:\|\|\s*'((?:[^']|'')*)'\s*)?", re.S)


def _matrix_rows(job: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, int, str]:
    """The combinations a job's ``strategy.matrix`` runs (GitHub's algorithm: the product of
    the axes, each ``include`` entry extending the combinations it matches without overwriting
    an axis value, or added as a combination of its own; then ``exclude`` removes the ones it
    matches), with how many runs that is and how they were counted. Rows are None when an
    expression decides the matrix (counted once)."""
    strategy = job.get("strategy")
    if strategy is None:
        return [{}], 1, ""
    if not isinstance(strategy, dict):
        return None, 1, "strategy from an expression: counted once"
    matrix = strategy.get("matrix")
    if matrix is None:
        return [{}], 1, ""
    if not isinstance(matrix, dict):
        return None, 1, "matrix from an expression: counted once"
    rows: list[dict[str, Any]] = [{}]
    axes: list[str] = []
    sizes: list[str] = []
    for key, values in matrix.items():
        if not isinstance(key, str) or key in ("include", "exclude"):
            continue
        if not isinstance(values, list):
            return None, 1, f"matrix axis `{key}` from an expression: counted once"
        axes.append(key)
        sizes.append(str(len(values)))
        rows = [{**row, key: value} for row in rows for value in values]
    if not axes:
        rows = []
    counted = "×".join(sizes)
    include = matrix.get("include")
    if include is not None and not isinstance(include, list):
        return None, 1, "matrix `include` from an expression: counted once"
    added = 0
    for extra in include or []:
        if not isinstance(extra, dict):
            return None, 1, "matrix `include` entry from an expression: counted once"
        matched = False
        for row in rows:
            if all(row.get(k, v) == v for k, v in extra.items() if k in axes):
                matched = True
                row.update({k: v for k, v in extra.items() if k not in axes or k not in row})
        if not matched:
            rows.append(dict(extra))
            added += 1
    exclude = matrix.get("exclude")
    if exclude is not None and not isinstance(exclude, list):
        return None, 1, "matrix `exclude` from an expression: counted once"
    before = len(rows)
    for entry in exclude or []:
        if isinstance(entry, dict):
            rows = [r for r in rows if not all(_same(r.get(k), v) for k, v in entry.items())]
    removed = before - len(rows)
    note = f"matrix {counted}" if counted else "matrix"
    if added:
        note += f" + {added} included"
    if removed:
        note += f" − {removed} excluded"
    return rows, max(len(rows), 1), note if (counted or added) else ""


def _same(value: Any, pattern: Any) -> bool:
    """Whether a matrix value matches an ``exclude`` value (objects match on the keys given)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_same(value.get(k), v) for k, v in pattern.items())
    return bool(value == pattern)


def _matrix_value(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.strip(".").split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _labels_of(text: str, rows: list[dict[str, Any]] | None) -> list[str] | None:
    """Each value a runs-on label takes over the matrix (``${{ matrix.os }}-latest``,
    ``${{ matrix.config.os }}``, ``${{ matrix.os || 'ubuntu-latest' }}``); None when another
    expression decides it."""
    if not _is_expr(text):
        return [text]
    if rows is None:
        return None
    out: list[str] = []
    for row in rows:
        failed = False

        def sub(m: re.Match[str], row: dict[str, Any] = row) -> str:
            nonlocal failed
            ref = _MATRIX_REF.fullmatch(m.group(1))
            if ref is None:
                failed = True
                return ""
            value = _matrix_value(row, ref.group(1))
            if value in (None, "") and ref.group(2) is not None:
                return ref.group(2).replace("''", "'")
            text_value = _text(value) if value is not None else None
            if not text_value or _is_expr(text_value):
                failed = True
                return ""
            return text_value

        label = re.sub(r"\$\{\{(.*?)\}\}", sub, text, flags=re.S)
        if failed:
            return None
        out.append(label)
    return out


def _runner(
    runs_on: Any, rows: list[dict[str, Any]] | None
) -> tuple[str, frozenset[str] | None, frozenset[str]]:
    """(runner class, the OSes the job may run on, matrix variables used in runs-on)."""
    if isinstance(runs_on, dict):  # {group: ..., labels: ...}
        runs_on = runs_on.get("labels", "") if "group" not in runs_on else None
    if not isinstance(runs_on, str | list):
        return "unknown", None, frozenset()
    items = [runs_on] if isinstance(runs_on, str) else runs_on
    used = {
        m.group(1)
        for item in items
        if isinstance(item, str)
        for m in re.finditer(r"matrix\.([\w-]+)", item)
    }
    options: list[list[str]] = [[]]
    for item in items:
        text = _text(item)
        if text is None:
            return "unknown", None, frozenset(used)
        labels = _labels_of(text, rows)
        if not labels:
            return "unknown", None, frozenset(used)
        options = [[*o, label] for o in options for label in dict.fromkeys(labels)]
    classes = {_classify_labels(o) for o in options}
    kinds = {k for k, _ in classes}
    oses = {os_name for _, os_name in classes}
    kind = kinds.pop() if len(kinds) == 1 else ("other" if kinds & {"self", "other"} else "github")
    return kind, None if None in oses else frozenset(o for o in oses if o), frozenset(used)


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
    tag_push = "tags" in push or "tags-ignore" in push
    raw_branches = push.get("branches")
    branches = (
        [b for b in raw_branches if isinstance(b, str)]
        if isinstance(raw_branches, list)
        else [raw_branches]
        if isinstance(raw_branches, str)
        else []
    )
    release_branch = any("release" in b.lower() for b in branches)
    # A push runs on ordinary branches unless it names only tags or only release branches
    # (a workflow that names only tags does not run for branch pushes).
    branch_push = "push" in events and (
        "branches-ignore" in push
        or (not tag_push and "branches" not in push)
        or any("release" not in b.lower() for b in branches)
    )
    pr = _map(events.get("pull_request"))
    pr_branches = (
        tuple(b for b in pr.get("branches") or [] if isinstance(b, str))
        if isinstance(pr.get("branches"), list)
        else ()
    )
    return Triggers(
        frozenset(events), bool(events), tag_push, release_branch, pr_branches, line, branch_push
    )


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
        rows, runs, runs_note = _matrix_rows(node)
        runner, oses, runs_on_vars = _runner(node.get("runs-on"), rows)
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
                runs=runs,
                runs_note=runs_note,
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
    tag, rel, branch = own.tag_push, own.release_branch_push, own.branch_push
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
        branch = branch or inner.branch_push
    return Triggers(frozenset(events), complete, tag, rel, own.pr_branches, own.line, branch)


def _jobs_cached(doc: Doc) -> list[Job]:
    # Stored on the document, which lives in the run's RepoContext memo, never in module state.
    if doc.jobs is None:
        doc.jobs = _jobs(doc)
    return doc.jobs

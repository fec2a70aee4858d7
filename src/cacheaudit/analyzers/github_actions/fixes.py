"""Fixes: the YAML snippets offered with findings (a cache step to add, a step with changed
inputs, an ``on:`` block), rendered in the file's own indentation."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cacheaudit.analyzers.github_actions import actions as facts
from cacheaudit.analyzers.github_actions.model import (
    _GLOB_CHARS,
    CacheUse,
    Doc,
    Install,
    Step,
    Triggers,
    Unit,
    _fold,
    _gh_glob,
    _last_step,
    _lines_of,
    _map,
    _own,
    _quote,
    _release_job,
    _slug,
)
from cacheaudit.installs import explicit_inputs, install_inputs
from cacheaudit.model import Fix
from cacheaudit.parsing import requirements as reqs
from cacheaudit.parsing.yaml import item_line, key_column, key_line, value_line
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


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
    if cache.kind == "docker-build":
        tags = _lines_of(step.inputs.get("tags", "").replace(",", "\n"))
        repo = _image_repository(tags) or "REGISTRY/IMAGE"
        return Fix(
            "Use a registry cache in a publishing job: only runs that may push the image can "
            "write it, so pull requests cannot poison what is released.",
            _render_step(
                unit,
                step,
                {
                    "cache-from": [f"type=registry,ref={repo}:buildcache"],
                    "cache-to": [f"type=registry,ref={repo}:buildcache,mode=max"],
                },
            ),
        )
    if cache.kind in ("cache", "cache-restore"):
        return Fix(
            "Do not restore this cache in a publishing job (`lookup-only: true` checks "
            "the entry without restoring it), or remove the step.",
            _render_step(unit, step, {"lookup-only": ["true"]}),
        )
    return Fix("Turn this action's cache off in publishing jobs.", "")


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


def _read_files(ctx: RepoContext, install: Install) -> list[str]:
    """Existing files an install reads: its inputs and every file their ``-r``/``-c`` lines
    include, so a key or ``cache-dependency-path`` built from them misses none (CA503)."""
    if install.workdir is None:
        return []
    inputs = [f for f in install_inputs(install.cmd, ctx, install.workdir) if ctx.exists(f)]
    explicit = set(explicit_inputs(install.cmd, install.workdir))
    constraints = set(
        explicit_inputs(dataclasses.replace(install.cmd, requirement_files=()), install.workdir)
    )
    resolution = reqs.resolve(
        ctx,
        [f for f in inputs if f in explicit and f not in constraints],
        [f for f in inputs if f in constraints],
    )
    return list(dict.fromkeys([*inputs, *(f.path for f in resolution.files)]))


def _fix_ca101(ctx: RepoContext, unit: Unit, install: Install, todo: list[Install]) -> Fix:
    tool = install.cmd.cache_tool
    files: list[str] = []
    for item in todo:
        if item.workdir is not None:
            files += _read_files(ctx, item)
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
    if tool == "bun":
        # oven-sh/setup-bun caches only the bun executable: the install cache needs its own step.
        base = install.workdir or ""
        locks = [
            f for n in ("bun.lock", "bun.lockb") if (f := normalize(n, base) or n) and ctx.exists(f)
        ] or [p for n in ("bun.lock", "bun.lockb") for p in ctx.glob(f"**/{n}")][:3]
        return Fix(
            f"Add an actions/cache step {where} on bun's install cache, keyed on the lock file "
            "(oven-sh/setup-bun caches only the bun executable).",
            _new_cache_step(unit, step, "bun", ["~/.bun/install/cache"], locks or ["**/bun.lock*"]),
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


def _image_repository(tags: Sequence[str]) -> str | None:
    """The repository of the first tag (``ghcr.io/acme/app:1.2`` → ``ghcr.io/acme/app``)."""
    for tag in tags:
        tag = tag.strip()
        if not tag or "$" in tag:
            return None
        name = tag.split("@", 1)[0]
        head, _, last = name.rpartition("/")
        return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    return None


def _layer_cache_inputs(unit: Unit, tags: Sequence[str], scope: str) -> list[tuple[str, list[str]]]:
    """``cache-from``/``cache-to`` for a build. A job that publishes (or runs only for
    releases) gets a registry cache: only runs allowed to push the image can write it, so
    pull requests cannot poison it and restoring it is no CA110; other jobs get the GitHub
    Actions cache, one scope per image."""
    if _release_job(unit):
        repo = _image_repository(tags) or "REGISTRY/IMAGE"
        return [
            ("cache-from", [f"type=registry,ref={repo}:buildcache"]),
            ("cache-to", [f"type=registry,ref={repo}:buildcache,mode=max"]),
        ]
    return [
        ("cache-from", [f"type=gha,scope={scope}"]),
        ("cache-to", [f"type=gha,scope={scope},mode=max"]),
    ]


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
    inputs += _layer_cache_inputs(unit, tags, scope)
    _, _, dash_col = _step_span(step)
    pad = " " * dash_col
    build = _new_step(unit, step, step.name or "Build image", "docker/build-push-action@v6", inputs)
    return f"{pad}- uses: docker/setup-buildx-action@v3\n{build}"


def _bake_snippet(
    unit: Unit,
    step: Step,
    files: Sequence[str],
    services: Sequence[str],
    workdir: str,
    build_args: Sequence[str] = (),
) -> str:
    """docker/bake-action building the compose services with a layer cache, one scope per
    service (images sharing the default scope overwrite each other's cache)."""
    if _release_job(unit):
        kind = "type=registry,ref=REGISTRY/IMAGE:buildcache-{0}"
        to = kind + ",mode=max"
    else:
        kind = "type=gha,scope={0}"
        to = kind + ",mode=max"
    sets = [
        line
        for name in services or ["*"]
        for line in (
            f"{name}.cache-from={kind.format(_slug(name) if name != '*' else 'images')}",
            f"{name}.cache-to={to.format(_slug(name) if name != '*' else 'images')}",
        )
    ]
    inputs: list[tuple[str, Sequence[str]]] = [("source", ["."])]
    if files:
        rel = [
            f[len(workdir) + 1 :] if workdir and f.startswith(workdir + "/") else f for f in files
        ]
        inputs.append(("files", ["|", *rel] if len(rel) > 1 else rel))
    if workdir:
        inputs.append(("workdir", [workdir]))
    sets += [f"*.args.{arg}" for arg in build_args if "=" in arg]
    inputs += [("load", ["true"]), ("set", ["|", *sets])]
    _, _, dash_col = _step_span(step)
    build = _new_step(unit, step, step.name or "Build images", "docker/bake-action@v6", inputs)
    return f"{' ' * dash_col}- uses: docker/setup-buildx-action@v3\n{build}"


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

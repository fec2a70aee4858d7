"""CA303: the source is copied before a dependency install, so any source edit reinstalls every
dependency; with its fix.

A copy is the install's source copy when it copies the whole build context (``COPY . .``) or
the project directory the install reads its manifests from (``COPY ./web ./`` before ``npm
ci``, ``COPY backend/ /app/`` before ``pip install -r /app/requirements.txt``), and brings more
than manifests and lock files. Installing the dependencies of the same tool before the copy
(the two-step pattern) excuses it.

The fix is computed from the stage: the files the install reads (requirements files and their
``-r``/``-c`` includes, pyproject and lock, package.json, lock and ``.npmrc``...), copied to
where the install reads them, the install, then the source copy. Where that cannot be done
safely (the install reads something unknown, builds the project, runs lifecycle scripts, or
other instructions sit in between), the fix is advice: a snippet to adapt, no edit."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

from cacheaudit.analyzers.dockerfile.context import _brings_source_tree, _has_source
from cacheaudit.analyzers.dockerfile.facts import CA301_TOOLS
from cacheaudit.analyzers.dockerfile.installs import (
    DEPS_FIRST_FLAGS,
    STDIN,
    _copied_from,
    _downloads,
    _repo_dir,
    _repo_path,
    _toml,
    _workdir_of,
)
from cacheaudit.analyzers.dockerfile.model import (
    CopyEntry,
    DockerfileModel,
    RunInfo,
    _abs,
    _covers,
    _fold_text,
    _indent,
    _is_dir,
    _join,
    _relative_to,
    _short,
)
from cacheaudit.analyzers.dockerfile.rewrite import _append_to_install
from cacheaudit.installs import LOCKFILES_BY_TOOL, MANIFESTS_BY_TOOL
from cacheaudit.model import Finding, Fix, LineEdit, Location
from cacheaudit.parsing import requirements
from cacheaudit.parsing.dockerfile import expand, split_words
from cacheaudit.parsing.shell import Command, InstallCommand
from cacheaudit.rules import RULES

_EXTRA_FILES: dict[str, tuple[str, ...]] = {
    "uv": (".python-version",),
    "npm": (".npmrc",),
    "yarn": (".npmrc", ".yarnrc"),
    "pnpm": (".npmrc", "pnpm-workspace.yaml", ".pnpmfile.cjs"),
    "bun": (".npmrc", "bunfig.toml"),
    "pipenv": (),
}
"""Files next to the manifests that the install also reads, copied when they exist."""

_NODE = frozenset({"npm", "yarn", "pnpm", "bun"})
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare")
_HARMLESS_SCRIPT = re.compile(
    r"^\s*(?:npx\s+)?(?:only-allow\b|husky\b|is-ci\b|echo\b|exit 0\s*$|true\s*$)"
)
"""Lifecycle scripts that do not read the project's source (``npx only-allow pnpm``, husky)."""
_SETUP_COMMANDS = frozenset(
    {"cd", "set", "echo", "true", "mkdir", "corepack", "export", "virtualenv"}
)
"""Commands that may share a RUN with an install that moves before the source copy."""
_MOVABLE_BETWEEN = frozenset({"LABEL", "EXPOSE", "ENV", "ARG", "WORKDIR", "USER", "MAINTAINER"})
"""Instructions that may sit between the source copy and the install when the copy moves after
the install (they do not read the copied files)."""


def rule_ca303(dc: DockerfileModel) -> list[Finding]:
    affected: dict[int, list[tuple[RunInfo, InstallCommand]]] = {}
    for run in dc.runs:
        for install in run.installs:
            if not _dependency_install(install) or not _downloads(dc, run, install):
                continue
            for entry in _source_copies(dc, run, install):
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
        what = "the whole source tree" if entry.whole_tree else "the project's source"
        findings.append(
            RULES["CA303"].finding(
                Location(dc.path, entry.instruction.line, _indent(dc, entry.instruction.line)),
                f"{entry.stage.label}: `{_short(copy_text)}` (line {entry.instruction.line}) "
                f"copies {what} before `{_short(install.command.text)}` "
                f"(line {install.line}){stage_note}{more}: any source edit invalidates the "
                "install layer and reinstalls every dependency.",
                subject=f"stage {entry.stage.key} / {entry.instruction.keyword} #{entry.ordinal}",
                fix=_fix_reorder(dc, entry, victims),
            )
        )
    return findings


def _dependency_install(install: InstallCommand) -> bool:
    """An install of the project's dependencies, which can run before the source is copied: an
    installer (not a runner such as tox or ``pre-commit run``, which need the source) reading
    manifests, or naming several packages (one named package is a tool)."""
    if install.tool not in CA301_TOOLS and install.tool not in ("conda", "mamba", "micromamba"):
        return False
    if install.requirement_files or install.local_targets or install.groups:
        return True
    if install.packages:
        return len(install.packages) >= 2
    return install.action not in ("update", "add")


def _source_copies(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> list[CopyEntry]:
    """The copies before this install that bring the source it depends on."""
    found: list[CopyEntry] = []
    for entry in run.copies:
        if install.cache_tool in entry.tools_before:
            continue
        if entry.whole_tree:
            found.append(entry)
    for image_path in _image_inputs(dc, run, install):
        provider = _provider(dc, run, image_path)
        if provider is None:
            continue
        entry, directory = provider
        if install.cache_tool in entry.tools_before or entry.whole_tree or entry in found:
            continue
        if directory is not None and _has_source(dc, directory):
            found.append(entry)
    for project in _projects(run):
        for entry in run.copies:
            if install.cache_tool in entry.tools_before or entry in found:
                continue
            inside = _covers(project, entry.dest)
            if inside and any(_brings_source_tree(dc, s) for s in entry.sources):
                found.append(entry)  # the project's own files: building it reads them all
    return found


def _projects(run: RunInfo) -> list[str]:
    """Image directories of the local projects the RUN installs (``pip install .``, ``pip install
    --no-deps -e /app``): the RUN reads their whole source, so a copy of it must come first."""
    return [
        _abs(target.split("[", 1)[0], _workdir_of(run, other))
        for other in run.installs
        if other.tool in ("pip", "uv")
        for target in other.local_targets
    ]


def _image_inputs(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> list[str]:
    """Absolute image paths of the files the install reads."""
    workdir = _workdir_of(run, install)
    paths: list[str] = []
    for name in (*install.requirement_files, *install.constraint_files):
        value = expand(name, run.variables)
        if value and value not in STDIN:
            paths.append(_abs(value, workdir))
    tool = install.tool
    if install.groups and tool in ("pip", "uv"):
        paths.append(_abs("pyproject.toml", workdir))
    if tool in MANIFESTS_BY_TOOL and not (tool == "uv" and install.action != "sync"):
        for name in (*MANIFESTS_BY_TOOL[tool], *LOCKFILES_BY_TOOL.get(tool, ())):
            paths.append(_abs(name, workdir))
    for target in install.local_targets:
        base = _abs(target.split("[", 1)[0], workdir)
        paths.extend(posixpath.join(base, n) for n in ("pyproject.toml", "setup.py", "setup.cfg"))
    return paths


def _provider(
    dc: DockerfileModel, run: RunInfo, image_path: str
) -> tuple[CopyEntry, str | None] | None:
    """The copy that put ``image_path`` in the image, and the context-relative directory it
    copied it with (None when the file was named on its own or by a glob)."""
    for _, target in run.binds:
        if image_path == target or image_path.startswith(target.rstrip("/") + "/"):
            return None  # bind-mounted for the RUN, not copied
    for entry in reversed(run.copies):
        for source in entry.sources:
            if _copied_from(dc, entry, source, image_path) is None:
                continue
            directory = source == "" or _is_dir(dc.ctx, source, dc.build_context)
            return entry, (source if directory else None)
    return None


# --- the fix -----------------------------------------------------------------------------------


@dataclass
class _Plan:
    files: dict[str, str]
    """Context-relative file → absolute image path where the install reads it."""
    problems: list[str]
    """Why the fix cannot be an edit."""


def _fix_reorder(
    dc: DockerfileModel, entry: CopyEntry, victims: list[tuple[RunInfo, InstallCommand]]
) -> Fix:
    """COPY what the installs read, install, then COPY the source (and install the project)."""
    plan = _Plan({}, [])
    runs: list[RunInfo] = []
    for run, install in victims:
        _plan_install(dc, run, install, plan)
        if run not in runs:
            runs.append(run)
    for run in runs:
        if run.instruction.exec_form is not None:
            plan.problems.append(f"the RUN at line {run.instruction.line} is in exec form")
        elif not _install_only(run):
            plan.problems.append(
                f"the RUN at line {run.instruction.line} runs more than the install"
            )
        elif _projects(run):
            plan.problems.append(
                f"the RUN at line {run.instruction.line} also installs the project from its source"
            )
    if len({r.workdir for r in runs}) > 1:
        plan.problems.append("the installs run in different working directories")
    first_steps = [_deps_first(run, [i for r, i in victims if r is run]) for run in runs]
    later_steps = [s for run in runs if (s := _project_step(run, victims))]
    last = runs[-1]
    copy_lines = _manifest_copies(dc, entry, plan.files, last.workdir)
    source_copy = _moved_copy(dc, entry, last.workdir)
    if source_copy is None:
        plan.problems.append("the source copy's destination cannot be rewritten")
    between = [
        i
        for i in dc.parsed.instructions
        if entry.instruction.line < i.line < last.instruction.line
        and all(i is not r.instruction for r in runs)
    ]
    if any(i.keyword == "FROM" for i in between):
        plan.problems.append("the install runs in a later stage")
    moving = [i for i in between if i.keyword not in _MOVABLE_BETWEEN]
    if moving:
        plan.problems.append(
            f"the {moving[0].keyword} at line {moving[0].line} sits between the copy and the "
            "install"
        )
    block = [*copy_lines, *first_steps, source_copy or entry.instruction.text, *later_steps]
    listed = ", ".join(plan.files) or "nothing"
    if plan.problems:
        return Fix(
            "Advice, not applied: copy only the files the install reads, install, then copy "
            f"the source, so source edits reuse the cached dependency layer. Check by hand: "
            f"{'; '.join(dict.fromkeys(plan.problems))}.",
            "\n".join(block),
        )
    edits = [LineEdit(entry.instruction.line, entry.instruction.end_line, "")]
    edits.extend(LineEdit(r.instruction.line, r.instruction.end_line, "") for r in runs[:-1])
    edits.append(LineEdit(last.instruction.line, last.instruction.end_line, "\n".join(block)))
    return Fix(
        f"Copy only what the install reads ({listed}) before installing, then copy the "
        "source, so source edits reuse the cached dependency layer.",
        "\n".join(block),
        line_edits=tuple(edits),
    )


def _plan_install(dc: DockerfileModel, run: RunInfo, install: InstallCommand, plan: _Plan) -> None:
    workdir = _workdir_of(run, install)
    repo_dir = _repo_dir(dc, run, install)
    tool = install.tool
    if install.local_targets:
        plan.problems.append(
            f"`{_short(install.command.text, 50)}` builds the project itself: pip cannot "
            "install only its dependencies; export them to a requirements file (uv export, "
            "pip-compile), install that first, then the project with --no-deps"
        )
        return
    names = [*install.requirement_files, *install.constraint_files]
    for name in names:
        value = expand(name, run.variables)
        if not value or value in STDIN:
            plan.problems.append(f"`{name}` is not a file in the repository")
            continue
        pip = tool in ("pip", "uv", "pipenv")
        _add_requirements(dc, run, _abs(value, workdir), plan, pip=pip)
    if install.groups and tool in ("pip", "uv") and install.action != "sync":
        pyproject = _join(repo_dir, "pyproject.toml")
        if pyproject in dc.ctx.paths:
            _add(dc, plan, pyproject, _abs("pyproject.toml", workdir))
        else:
            plan.problems.append(f"{pyproject} is not in the repository")
    if tool in MANIFESTS_BY_TOOL and not (tool == "uv" and install.action != "sync"):
        manifests = MANIFESTS_BY_TOOL[tool]
        for name in (*manifests, *LOCKFILES_BY_TOOL.get(tool, ()), *_EXTRA_FILES.get(tool, ())):
            repo_path = _join(repo_dir, name)
            if repo_path in dc.ctx.paths:
                _add(dc, plan, repo_path, _abs(name, workdir))
            elif name in manifests:
                plan.problems.append(f"{repo_path or name} is not in the repository")
        _check_project(dc, tool, repo_dir, plan)
    elif tool not in ("pip", "uv", "conda", "mamba", "micromamba") and not names:
        plan.problems.append(f"cacheaudit does not know which files `{tool}` reads")


def _add(dc: DockerfileModel, plan: _Plan, repo_path: str, image_path: str) -> None:
    rel = _relative_to(repo_path, dc.build_context)
    if rel is None:
        plan.problems.append(f"{repo_path} is outside the build context")
        return
    plan.files.setdefault(rel, image_path)


def _add_requirements(
    dc: DockerfileModel, run: RunInfo, image_path: str, plan: _Plan, *, pip: bool
) -> None:
    repo_path = _repo_path(dc, run, image_path)
    if repo_path is None or repo_path not in dc.ctx.paths:
        plan.problems.append(f"{image_path} does not come from a file in the repository")
        return
    if not pip:  # conda environment files and the like: the file itself
        _add(dc, plan, repo_path, image_path)
        return
    resolution = requirements.resolve(dc.ctx, [repo_path])
    if resolution.missing:
        plan.problems.append(f"{resolution.missing[0][1].target} is missing")
    for parsed in resolution.files:
        offset = posixpath.relpath(parsed.path, posixpath.dirname(repo_path))
        image = posixpath.normpath(posixpath.join(posixpath.dirname(image_path), offset))
        _add(dc, plan, parsed.path, image)
        if any(i.path is None for i in parsed.includes):
            plan.problems.append(f"{parsed.path} includes a file by URL or variable")
        if any(r.local or r.editable for r in parsed.requirements):
            plan.problems.append(f"{parsed.path} installs a local path")
        local_links = [
            o
            for o in parsed.options
            if o.name == "--find-links" and not requirements.is_url(o.value or "")
        ]
        if local_links:
            plan.problems.append(f"{parsed.path} finds links in a local directory")


def _check_project(dc: DockerfileModel, tool: str, repo_dir: str, plan: _Plan) -> None:
    """Project layouts whose dependencies cannot be installed from the manifests alone."""
    if tool in _NODE:
        text = dc.ctx.read_text(_join(repo_dir, "package.json")) or ""
        data = _json(text)
        scripts = data.get("scripts")
        if isinstance(scripts, dict) and any(
            not all(_HARMLESS_SCRIPT.match(part) for part in str(scripts[k]).split("&&"))
            for k in _LIFECYCLE
            if k in scripts
        ):
            plan.problems.append("package.json runs install scripts that may need the source")
        workspace = dc.ctx.read_text(_join(repo_dir, "pnpm-workspace.yaml")) or ""
        if "workspaces" in data or _workspace_members(workspace):
            plan.problems.append("the project is a workspace: every member's manifest is needed")
        if "patchedDependencies" in text or "patchedDependencies" in workspace:
            plan.problems.append("the install applies patches from the source tree")
        if tool == "yarn" and _join(repo_dir, ".yarnrc.yml") in dc.ctx.paths:
            plan.problems.append("yarn berry also needs .yarnrc.yml and .yarn/releases")
        return
    if tool in ("uv", "poetry", "pdm"):
        data = _toml(dc.ctx.read_text(_join(repo_dir, "pyproject.toml")) or "")
        tables = data.get("tool") if isinstance(data.get("tool"), dict) else {}
        uv = tables.get("uv") if isinstance(tables, dict) else None
        if isinstance(uv, dict) and "workspace" in uv:
            plan.problems.append("the project is a uv workspace: every member's manifest is needed")
        if _local_dependencies(data):
            plan.problems.append("pyproject.toml depends on local paths")


def _local_dependencies(data: dict[str, object]) -> bool:
    """Dependencies on paths in the source tree: poetry ``{path = ...}``, uv sources with
    ``path``/``workspace``, ``name @ file:...`` requirements."""
    tables = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    assert isinstance(tables, dict)
    candidates: list[object] = []
    poetry = tables.get("poetry")
    if isinstance(poetry, dict):
        candidates.append(poetry.get("dependencies"))
        groups = poetry.get("group")
        if isinstance(groups, dict):
            candidates.extend(g.get("dependencies") for g in groups.values() if isinstance(g, dict))
    uv = tables.get("uv")
    if isinstance(uv, dict):
        candidates.append(uv.get("sources"))
    for table in candidates:
        if not isinstance(table, dict):
            continue
        for spec in table.values():
            specs = spec if isinstance(spec, list) else [spec]
            if any(isinstance(s, dict) and ("path" in s or "workspace" in s) for s in specs):
                return True
    project = data.get("project")
    deps = project.get("dependencies") if isinstance(project, dict) else None
    return isinstance(deps, list) and any("file:" in str(d) for d in deps)


def _workspace_members(text: str) -> bool:
    """Whether a pnpm-workspace.yaml lists packages other than the project itself."""
    members = re.search(r"(?m)^packages:\s*\n((?:[ \t]+-.*\n?|[ \t]*#.*\n?)*)", text)
    if members is None:
        return False
    names = re.findall(r"-\s*['\"]?([^'\"\s#]+)", members.group(1))
    return any(n not in (".", "./") for n in names)


def _json(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _install_only(run: RunInfo) -> bool:
    """Every command of the RUN is an install or harmless set-up, so it can move before the
    source copy."""
    install_commands = {id(i.command) for i in run.installs}
    return all(id(c) in install_commands or _setup(c) for c in run.commands)


def _setup(command: Command) -> bool:
    args = list(command.argv[1:3])
    if command.program in _SETUP_COMMANDS:
        return True
    if command.program.startswith("python") and args == ["-m", "venv"]:
        return True
    return command.program == "uv" and args[:1] == ["venv"]


def _deps_first(run: RunInfo, installs: list[InstallCommand]) -> str:
    text = run.instruction.text
    for install in installs:
        flags = DEPS_FIRST_FLAGS.get(install.tool, ())
        if flags and not any(f in install.options for f in flags):
            text = _append_to_install(text, install, flags[0])
    return text


def _project_step(run: RunInfo, victims: list[tuple[RunInfo, InstallCommand]]) -> str | None:
    """The original RUN again after the source copy, where the tool installs the project itself
    (uv sync, poetry install, pdm install); None where the dependencies were all it installed."""
    for r, install in victims:
        if r is not run or install.tool not in DEPS_FIRST_FLAGS:
            continue
        if any(f in install.options for f in DEPS_FIRST_FLAGS[install.tool]):
            continue
        return run.instruction.text
    return None


def _manifest_copies(
    dc: DockerfileModel, entry: CopyEntry, files: dict[str, str], workdir: str
) -> list[str]:
    flags = " ".join(
        f"--{k}={v}" if v is not None else f"--{k}"
        for k, v in entry.instruction.flags
        if k in ("chown", "chmod", "link")
    )
    keyword = f"COPY {flags} " if flags else "COPY "
    by_dir: dict[str, list[str]] = {}
    for rel, image_path in files.items():
        by_dir.setdefault(posixpath.dirname(image_path), []).append(rel)
    lines = []
    for directory, rels in by_dir.items():
        if directory == workdir:
            dest = "./"
        elif directory.startswith(workdir.rstrip("/") + "/"):
            dest = directory[len(workdir.rstrip("/")) + 1 :] + "/"
        else:
            dest = directory.rstrip("/") + "/"
        lines.append(keyword + " ".join(rels) + " " + dest)
    return lines


def _moved_copy(dc: DockerfileModel, entry: CopyEntry, workdir: str) -> str | None:
    """The source copy as it must read after the install: the same text, with a relative
    destination made absolute when the working directory changed in between."""
    text = entry.instruction.text
    if entry.workdir == workdir:
        return text
    if entry.instruction.exec_form is not None:
        return None
    words = split_words(entry.instruction.args)
    dest = words[-1] if words else ""
    if not dest or dest.startswith("/") or "$" in dest:
        return text if dest.startswith("/") else None
    index = text.rfind(dest)
    if index < 0:
        return None
    absolute = entry.dest + ("/" if dest.endswith("/") or dest in (".", "./") else "")
    return text[:index] + absolute + text[index + len(dest) :]

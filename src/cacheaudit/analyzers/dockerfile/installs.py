"""Install sites: which ``RUN`` installs download from a registry, the repository files each
reads (image paths mapped back through COPY and bind mounts), and the site recorded for the
install map."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from cacheaudit.analyzers.dockerfile.model import (
    CopyEntry,
    DockerfileModel,
    RunInfo,
    _abs,
    _is_dir,
    _is_glob,
    _join,
    _location,
    _mount_target,
)
from cacheaudit.analyzers.dockerfile.mounts import SiteCache, _site_cache
from cacheaudit.installs import implicit_inputs
from cacheaudit.model import InstallSite
from cacheaudit.parsing.dockerfile import expand
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import glob_match, normalize


def install_sites(dc: DockerfileModel) -> list[InstallSite]:
    """Every registry install of the file, in order, with its cache state."""
    return [
        _site(dc, run, install, _site_cache(dc, run, install))
        for run in dc.runs
        for install in run.installs
        if _downloads(dc, run, install)
    ]


def _downloads(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> bool:
    """A registry download worth judging: not a bootstrap, not local wheels, not a project
    install of a project without dependencies (RULES.md)."""
    if not install.downloads_from_registry:
        return False
    if _repeats_earlier(dc, run, install):
        return False
    if _tool_bootstrap(dc, run, install):
        return False
    global_ = {"-g", "--global"} & set(install.options) or install.action.startswith("global")
    if install.tool in ("npm", "pnpm", "yarn", "bun") and len(install.packages) <= 1 and global_:
        return False  # one global tool (`npm i -g @go-task/cli`): a bootstrap (RULES.md)
    if install.tool not in ("pip", "uv") or install.packages or install.requirement_files:
        return True
    if install.groups or not install.local_targets:
        return True
    if "--no-deps" in install.options or "--no-dependencies" in install.options:
        return False
    if all(_is_glob(t) or t.endswith(_ARCHIVES) for t in install.local_targets):
        return False  # built wheels (`pip install /wheels/*`): nothing left to download
    workdir = _workdir_of(run, install)
    for target in install.local_targets:
        image_dir = _abs(target.split("[", 1)[0], workdir)
        base = _repo_dir_of(dc, run, image_dir)
        if base is None or _project_has_dependencies(dc, base):
            return True
    return False


_ARCHIVES = (".whl", ".tar.gz", ".zip")

PYTHON_TOOLS = frozenset(
    {"pip", "setuptools", "wheel", "poetry", "poetry-plugin-export", "poetry-plugin-bundle",
     "pipenv", "pdm", "uv", "hatch", "hatchling", "tox", "nox", "pre-commit", "virtualenv",
     "pip-tools", "build", "twine", "pipx", "flit", "cython"}
)  # fmt: skip
"""Installers and build tools: installing them alone is a bootstrap, like ``pip install -U pip``
(RULES.md), not the project's dependencies."""


def _tool_bootstrap(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> bool:
    """``pip install poetry==1.8.3``, ``pip install --upgrade pip build``: tools only, installed
    to be used after (``poetry install``, ``python -m build``, any later install) in this RUN,
    later in the stage or in a stage built FROM it. Where nothing uses them, the tools are what
    the image is for (``RUN pip install pipenv==$VERSION`` in pipenv's own image) and their
    download is judged like any other."""
    if install.tool not in ("pip", "uv") or not install.packages:
        return False
    if install.requirement_files or install.local_targets or install.groups:
        return False
    names = {re.split(r"[\[<>=!~;@ ]", p, maxsplit=1)[0].lower() for p in install.packages}
    return names <= PYTHON_TOOLS and _used_later(dc, run, install, names)


def _used_later(
    dc: DockerfileModel, run: RunInfo, install: InstallCommand, names: set[str]
) -> bool:
    """Whether a command after ``install`` in its stage chain runs one of the tools (by name or
    ``python -m``) or installs from a registry (which a build tool or backend serves)."""
    programs = names | {p for n in names for p in _TOOL_PROGRAMS.get(n, ())}
    for later in dc.runs:
        if later.instruction.line < run.instruction.line:
            continue
        if all(s is not run.stage for s in later.stage.chain()):
            continue
        commands = later.commands
        if later is run:
            index = next((i for i, c in enumerate(commands) if c is install.command), None)
            commands = commands[index + 1 :] if index is not None else []
        installs = {id(i.command): i for i in later.installs}
        for command in commands:
            module = command.argv[2] if command.argv[1:2] == ("-m",) else None
            if command.program in programs or (module and module.lower() in programs):
                return True
            other = installs.get(id(command))
            if other is not None and other.tool not in ("apt", "apk"):
                return True
    return False


_TOOL_PROGRAMS: dict[str, tuple[str, ...]] = {
    "pip-tools": ("pip-compile", "pip-sync", "piptools"),
    "poetry-plugin-export": ("poetry",),
    "poetry-plugin-bundle": ("poetry",),
    "hatchling": ("hatch",),
    "cython": ("cythonize",),
}
"""Programs a tool package provides under another name."""


DEPS_FIRST_FLAGS: dict[str, tuple[str, ...]] = {
    "uv": ("--no-install-project", "--no-install-workspace", "--no-install-local"),
    "poetry": ("--no-root",),
    "pdm": ("--no-self",),
}
"""Flags that install only a project's dependencies (the first step of the two-step pattern)."""


def _repeats_earlier(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> bool:
    """Whether this is the project step of the two-step pattern: the same install ran earlier in
    the stage chain with a dependencies-only flag (``uv sync`` after ``uv sync
    --no-install-project``), a local project after a requirements install, or ``poetry install
    --only-root``: every dependency is already installed, nothing is downloaded."""
    if install.tool == "poetry" and "--only-root" in install.options:
        return True
    if _project_after_requirements(dc, run, install) or _after_pnpm_fetch(dc, run, install):
        return True
    flags = DEPS_FIRST_FLAGS.get(install.tool, ())
    if not flags or any(f in install.options for f in flags):
        return False
    chain = {id(s) for s in run.stage.chain()}
    mine = _signature(run, install)
    for other in dc.runs:
        if other is run:
            break
        if id(other.stage) not in chain:
            continue
        for earlier in other.installs:
            if (
                earlier.tool == install.tool
                and any(f in earlier.options for f in flags)
                and _signature(other, earlier) == mine
            ):
                return True
    return False


def _project_after_requirements(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> bool:
    """``pip install -e .`` (only local projects) after ``pip install -r requirements.txt`` in the
    stage chain, or ``uv pip install .`` after ``uv sync --no-install-project`` (any
    dependencies-only install) of that project: the earlier install brought the dependencies,
    this installs the project."""
    if install.tool not in ("pip", "uv") or install.packages or install.requirement_files:
        return False
    if not install.local_targets or install.groups:
        return False
    workdir = _workdir_of(run, install)
    projects = {_abs(t.split("[", 1)[0], workdir) for t in install.local_targets}
    chain = {id(s) for s in run.stage.chain()}
    for other in dc.runs:
        if id(other.stage) not in chain or other.instruction.line > run.instruction.line:
            continue
        for earlier in other.installs:
            if earlier is install:
                return False
            if earlier.cache_tool == install.cache_tool and earlier.requirement_files:
                return True
            flags = DEPS_FIRST_FLAGS.get(earlier.tool, ())
            deps_first = any(f in earlier.options for f in flags)
            if deps_first and projects == {_workdir_of(other, earlier)}:
                return True
    return False


def _after_pnpm_fetch(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> bool:
    """``pnpm install`` after ``pnpm fetch`` in the stage chain installs from the store the fetch
    filled (pnpm's Docker recipe), unless the fetch filled a cache mount this RUN lacks."""
    fetch = _pnpm_fetch_before(dc, run, install)
    if fetch is None:
        return False
    fetched_into = _cache_ids(fetch)
    return not fetched_into or bool(fetched_into & _cache_ids(run))


def _pnpm_fetch_before(
    dc: DockerfileModel, run: RunInfo, install: InstallCommand
) -> RunInfo | None:
    """The RUN with the ``pnpm fetch`` whose store this ``pnpm install`` reads, if any."""
    if install.tool != "pnpm" or install.action == "fetch" or install.packages:
        return None
    chain = {id(s) for s in run.stage.chain()}
    for other in dc.runs:
        if other is run:
            break
        if id(other.stage) not in chain:
            continue
        if any(i.tool == "pnpm" and i.action == "fetch" for i in other.installs):
            return other
    return None


def _cache_ids(run: RunInfo) -> set[str]:
    """The caches a RUN mounts, by BuildKit's identity (``id``, which defaults to the target)."""
    ids = set()
    for mount in run.instruction.mounts:
        if mount.type == "cache":
            target = _mount_target(mount, run.variables, run.workdir)
            ident = mount.get("id") or target
            if ident:
                ids.add(ident)
    return ids


def followups(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> list[RunInfo]:
    """Later RUNs (in this stage or stages built FROM it) whose install reads what this one
    fetched: ``pnpm install --offline`` after ``pnpm fetch``, ``uv sync`` after ``uv sync
    --no-install-project``. A cache mount added to this RUN moves what it fetched into the
    mount, so they need the same mount."""
    flags = DEPS_FIRST_FLAGS.get(install.tool, ())
    deps_first = bool(flags) and any(f in install.options for f in flags)
    if not (install.tool == "pnpm" and install.action == "fetch") and not deps_first:
        return []
    found: list[RunInfo] = []
    for later in dc.runs:
        if later.instruction.line <= run.instruction.line:
            continue
        if all(s is not run.stage for s in later.stage.chain()):
            continue
        for other in later.installs:
            if install.tool == "pnpm":
                hit = _pnpm_fetch_before(dc, later, other) is run
            else:
                hit = (
                    other.tool == install.tool
                    and not any(f in other.options for f in flags)
                    and _signature(later, other) == _signature(run, install)
                )
            if hit and all(r is not later for r in found):
                found.append(later)
    return found


def _signature(run: RunInfo, install: InstallCommand) -> tuple[object, ...]:
    flags = DEPS_FIRST_FLAGS.get(install.tool, ())
    return (
        install.action,
        _workdir_of(run, install),
        tuple(sorted(o for o in install.options if o not in flags)),
        tuple(sorted((o, v) for o, v in install.option_values if o not in flags)),
        install.requirement_files,
        install.constraint_files,
        install.packages,
        install.local_targets,
        install.groups,
    )


def _project_has_dependencies(dc: DockerfileModel, base: str) -> bool:
    """From the project's pyproject.toml; True when it cannot be told."""
    text = dc.ctx.read_text(posixpath.join(base, "pyproject.toml") if base else "pyproject.toml")
    if text is None:
        return True  # setup.py or unknown: assume it has dependencies
    data = _toml(text)
    project = data.get("project")
    if not isinstance(project, dict):
        tool = data.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        deps = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
        return not isinstance(deps, dict) or any(k != "python" for k in deps)
    dynamic = project.get("dynamic", [])
    if isinstance(dynamic, list) and "dependencies" in dynamic:
        return True
    return bool(project.get("dependencies"))


def _toml(text: str) -> dict[str, Any]:
    import tomli

    try:
        data: dict[str, Any] = tomli.loads(text)
    except (tomli.TOMLDecodeError, ValueError):
        return {}
    return data


def _workdir_of(run: RunInfo, install: InstallCommand) -> str:
    """The directory the install runs in: WORKDIR, moved by ``cd`` earlier in the RUN."""
    workdir = run.workdir
    for command in run.commands:
        if command.line > install.line or command is install.command:
            break
        if command.program == "cd" and len(command.argv) > 1:
            value = expand(command.argv[1], run.variables)
            if value:
                workdir = _abs(value, workdir)
    return workdir


def _repo_path(dc: DockerfileModel, run: RunInfo, image_path: str) -> str | None:
    """The repository file an image path was copied (or bind-mounted) from, if any."""
    for source, target in run.binds:
        if image_path == target:
            return _join(dc.build_context, source)
        if image_path.startswith(target.rstrip("/") + "/"):
            return _join(dc.build_context, source, image_path[len(target.rstrip("/")) + 1 :])
    for entry in reversed(run.copies):
        for source in entry.sources:
            found = _copied_from(dc, entry, source, image_path)
            if found is not None:
                return found
    return None


def _copied_from(dc: DockerfileModel, entry: CopyEntry, source: str, image_path: str) -> str | None:
    if not entry.dest_is_dir:
        return _join(dc.build_context, source) if image_path == entry.dest else None
    prefix = entry.dest.rstrip("/") + "/"
    if not image_path.startswith(prefix):
        return None
    rest = image_path[len(prefix) :]
    if source == "" or _is_dir(dc.ctx, source, dc.build_context):
        candidate = _join(dc.build_context, source, rest)
        return candidate if candidate in dc.ctx.paths else None
    if _is_glob(source):
        if "/" in rest or not glob_match(posixpath.basename(source), rest):
            return None
        candidate = _join(dc.build_context, posixpath.dirname(source), rest)
        return candidate if candidate in dc.ctx.paths else None
    return _join(dc.build_context, source) if rest == posixpath.basename(source) else None


def _repo_dir(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> str:
    """The repository directory that plays the role of the install's working directory."""
    found = _repo_dir_of(dc, run, _workdir_of(run, install))
    return dc.build_context if found is None else found


def _repo_dir_of(dc: DockerfileModel, run: RunInfo, image_dir: str) -> str | None:
    """The repository directory whose files were copied (or bind-mounted) into ``image_dir``."""
    for source, target in run.binds:
        if posixpath.dirname(target) == image_dir:
            return posixpath.dirname(_join(dc.build_context, source))
    for entry in reversed(run.copies):
        for source in entry.sources:
            if not entry.dest_is_dir:
                if posixpath.dirname(entry.dest) == image_dir:
                    return posixpath.dirname(_join(dc.build_context, source))
                continue
            dest = entry.dest.rstrip("/") or "/"
            directory = source == "" or _is_dir(dc.ctx, source, dc.build_context)
            inside = image_dir == dest or image_dir.startswith(dest.rstrip("/") + "/")
            if directory and inside:
                return _join(dc.build_context, source, image_dir[len(dest) :].strip("/"))
            if image_dir == dest:
                return posixpath.dirname(_join(dc.build_context, source))
    return None


def _inputs(dc: DockerfileModel, run: RunInfo, install: InstallCommand) -> tuple[str, ...]:
    repo_dir = _repo_dir(dc, run, install)
    workdir = _workdir_of(run, install)
    files: list[str] = []
    for name in (*install.requirement_files, *install.constraint_files):
        value = expand(name, run.variables)
        if not value or value in STDIN:
            continue
        mapped = _repo_path(dc, run, _abs(value, workdir))
        if mapped is None and not value.startswith("/"):
            mapped = normalize(value, repo_dir)
        if mapped:
            files.append(mapped)
    files.extend(implicit_inputs(install, dc.ctx, repo_dir))
    if install.groups and install.tool in ("pip", "uv"):  # `pip install --group dev` reads it
        pyproject = _join(repo_dir, "pyproject.toml")
        if pyproject in dc.ctx.paths:
            files.append(pyproject)
    return tuple(dict.fromkeys(files))


STDIN = frozenset({"-", "/dev/stdin"})
"""``pip install -r -``: the requirements come from a pipe, not a file."""


def _site(
    dc: DockerfileModel, run: RunInfo, install: InstallCommand, cache: SiteCache
) -> InstallSite:
    return InstallSite(
        location=_location(dc, install),
        platform="dockerfile",
        context=f"{dc.path} / {run.stage.label} / RUN #{run.ordinal}",
        tool=install.tool,
        command=install.command.text,
        inputs=_inputs(dc, run, install),
        cached=cache.cached,
        cache_key_inputs=(),  # a cache mount has no key: BuildKit keys it by id/target
        cache=cache.state,
        cache_reason=cache.reason,
    )

"""Dependency files on their own: requirements files and pyproject.toml.

Per-file facts only: lines pip rejects (CA001), ``-r``/``-c`` includes that name a missing file
(CA504) or loop, compiled requirements without hashes (CA404). What needs to know how CI and
Docker install these files (CA401, CA402, CA403, CA5xx) lives in
:mod:`cacheaudit.analyzers.cross`, which shares the parses made here through ``ctx.memo`` and
builds CA402 findings with :func:`source_findings` for installed files only.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from packaging.utils import canonicalize_name

from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.model import Analysis, Finding, Fix, Location
from cacheaudit.notices import parse_error
from cacheaudit.parsing import requirements as reqs
from cacheaudit.parsing.lockfiles import load_toml, locks_for
from cacheaudit.pathindex import children
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_COMMIT_PLACEHOLDER = "<full 40-character commit sha>"
PROJECT_LOCK_TOOLS = ("uv", "poetry", "pdm")
"""Lock files that pin a pyproject.toml project's dependencies (Pipfile.lock pins a Pipfile)."""


@dataclass(frozen=True)
class Dependency:
    """One dependency declared in pyproject.toml."""

    requirement: reqs.Requirement
    table: str
    """Where it is declared: ``project.dependencies``, ``project.optional-dependencies.dev``,
    ``dependency-groups.test``, ``tool.poetry.dependencies``, ``tool.uv.dev-dependencies``..."""


@dataclass(frozen=True)
class Project:
    """What cacheaudit reads from one pyproject.toml."""

    path: str
    name: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    dynamic_dependencies: bool = False
    """``dynamic = ["dependencies"]``: the list comes from the build backend, unknowable here."""
    managers: frozenset[str] = frozenset()
    """``poetry``, ``uv``, ``pdm`` when their ``[tool.*]`` table or build backend is present."""
    errors: tuple[reqs.LineError, ...] = ()
    valid: bool = True
    """False when the TOML itself does not parse."""

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(d.requirement.name for d in self.dependencies if d.requirement.name)

    @property
    def dependencies_line(self) -> int:
        """The line to point at for the project's dependencies as a whole."""
        return self.dependencies[0].requirement.line if self.dependencies else 1

    @property
    def dependencies_column(self) -> int | None:
        return self.dependencies[0].requirement.column if self.dependencies else None


def analyze(ctx: RepoContext, file: SourceFile) -> Analysis:
    if file.kind is FileKind.REQUIREMENTS:
        return Analysis(findings=_requirements_findings(ctx, file.path))
    if file.kind is FileKind.PYPROJECT:
        return Analysis(findings=_pyproject_findings(ctx, file.path))
    return Analysis()


def load_project(ctx: RepoContext, path: str) -> Project | None:
    """The pyproject.toml at ``path``, parsed once per run; None when unreadable."""

    def compute() -> Project | None:
        text = ctx.read_text(path)
        return None if text is None else parse_project(text, path)

    return ctx.memo("pyproject", path, compute)


def parse_project(text: str, path: str) -> Project:
    data = load_toml(text)
    if isinstance(data, str):
        match = _TOML_POSITION.search(data)
        line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 0)
        message = _TOML_POSITION.sub("", data).strip()
        return Project(path, errors=(reqs.LineError(line, column, message),), valid=False)
    locator = _Locator(text)
    found: list[Dependency] = []
    errors: list[reqs.LineError] = []
    project = _table(data, "project")
    tool = _table(data, "tool")
    for table, header, values in _pep508_lists(data, project, tool):
        for value in values:
            if not isinstance(value, str):
                continue  # {include-group = "..."} and the like
            line, column = locator.find(value, header)
            result = reqs.parse_requirement(value, line, column)
            if isinstance(result, reqs.LineError):
                errors.append(result)
            else:
                found.append(Dependency(result, table))
    poetry = _table(tool, "poetry")
    for table, entries in _poetry_tables(poetry):
        for name, spec in entries.items():
            if name.lower() == "python":
                continue
            line, column = locator.key(name, table)
            found.append(Dependency(_poetry_requirement(name, spec, line, column), table))
    dynamic = project.get("dynamic")
    managers = {name for name in ("poetry", "uv", "pdm") if name in tool}
    backend = _table(data, "build-system").get("build-backend")
    if isinstance(backend, str):
        managers.update(m for m in ("poetry", "pdm") if backend.startswith(m))
    project_name = project.get("name") or poetry.get("name")
    return Project(
        path=path,
        name=project_name if isinstance(project_name, str) else None,
        dependencies=tuple(found),
        dynamic_dependencies=isinstance(dynamic, list) and "dependencies" in dynamic,
        managers=frozenset(managers),
        errors=tuple(errors),
    )


def project_locks(ctx: RepoContext, project: Project) -> list[str]:
    """Lock files pinning ``project``'s dependencies (uv.lock also at a workspace root)."""
    return [lock.path for lock in locks_for(ctx, project.directory, PROJECT_LOCK_TOOLS)]


# --- requirements files ----------------------------------------------------------------------


def _requirements_findings(ctx: RepoContext, path: str) -> list[Finding]:
    parsed = reqs.load(ctx, path)
    if parsed is None:
        return []
    findings = [parse_error(path, e.message, e.line, e.column) for e in parsed.errors]
    for inc in reqs.cycle_closing_includes(ctx, path):
        findings.append(
            parse_error(
                path,
                f"{_flag(inc)} {inc.target} leads back to {path}: pip cannot install a "
                "requirements file that includes itself",
                inc.line,
                inc.column,
            )
        )
    findings.extend(_missing_includes(ctx, parsed))
    findings.extend(_hash_findings(parsed))
    return findings


def _flag(inc: reqs.Include) -> str:
    return "-c" if inc.constraint else "-r"


def _missing_includes(ctx: RepoContext, parsed: reqs.RequirementsFile) -> list[Finding]:
    findings = []
    base = posixpath.dirname(parsed.path)
    for inc in parsed.includes:
        if inc.path is None or inc.path in ctx.paths:
            continue
        kind = "constraints" if inc.constraint else "requirements"
        message = (
            f"{parsed.path} line {inc.line} includes `{_flag(inc)} {inc.target}`, but {inc.path} "
            f'does not exist: pip stops with "Could not open requirements file" before '
            f"installing anything (the path is relative to {parsed.path}'s directory)"
        )
        candidate = closest_existing(ctx, inc.path)
        if candidate is not None:
            target = posixpath.relpath(candidate, base or ".")
            fix = Fix(
                f"Point the include at the existing {posixpath.basename(candidate)} ({candidate}).",
                f"{_flag(inc)} {target}",
            )
        else:
            fix = Fix(
                f"Add the missing {kind} file {inc.path}, or remove the include.",
                f"# {parsed.path}: remove or correct this line\n{_flag(inc)} {inc.target}",
            )
        findings.append(
            RULES["CA504"].finding(
                Location(parsed.path, inc.line, inc.column),
                message,
                subject=f"include {inc.target}",
                fix=fix,
            )
        )
    return findings


def closest_existing(ctx: RepoContext, missing: str) -> str | None:
    """The file ``missing`` probably meant: one with the same name nearest to it in the tree,
    else a similarly named file in the same directory (``tests.txt`` → ``test.txt``)."""
    return ctx.memo("closest-existing", missing, lambda: _closest_existing(ctx, missing))


def _closest_existing(ctx: RepoContext, missing: str) -> str | None:
    name = posixpath.basename(missing)
    directory = posixpath.dirname(missing)
    if ctx.named(name):
        return _nearest_named(ctx, name, directory)
    extension = posixpath.splitext(name)[1]
    siblings = sorted(
        posixpath.basename(p)
        for p in children(ctx, directory)
        if posixpath.splitext(p)[1] == extension
    )
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.8)
    return posixpath.join(directory, close[0]) if close else None


def _nearest_named(ctx: RepoContext, name: str, directory: str) -> str:
    """The path named ``name`` at the fewest steps (up, then down) from ``directory``, the
    smallest path among equals.

    A candidate whose directory shares ``k`` leading parts with ``directory`` lies below the
    ancestor made of those parts, at ``len(home) - k + depth - k`` steps; so the answer is
    the best, over each ancestor of ``directory``, of the ancestor's shallowest named path
    (smallest first) at that count. Taking an ancestor above the true meeting point only
    overcounts, so the minimum is exact."""
    shallowest = ctx.memo("closest-existing:below", name, lambda: _shallowest_below(ctx, name))
    home = directory.split("/") if directory else []
    best: tuple[int, str] | None = None
    for k in range(len(home), -1, -1):
        found = shallowest.get(tuple(home[:k]))
        if found is not None:
            depth, path = found
            candidate = (len(home) - k + depth - k, path)
            if best is None or candidate < best:
                best = candidate
    assert best is not None  # the root is every path's ancestor
    return best[1]


def _shallowest_below(ctx: RepoContext, name: str) -> dict[tuple[str, ...], tuple[int, str]]:
    """For each directory (as its parts) holding a path named ``name`` at any depth, the
    smallest (directory depth, path) of those paths."""
    index: dict[tuple[str, ...], tuple[int, str]] = {}
    for path in ctx.named(name):
        parent = posixpath.dirname(path)
        parts = tuple(parent.split("/")) if parent else ()
        entry = (len(parts), path)
        for i in range(len(parts) + 1):
            key = parts[:i]
            known = index.get(key)
            if known is None or entry < known:
                index[key] = entry
    return index


def has_compiled_sibling(ctx: RepoContext, path: str) -> bool:
    """``requirements.in`` with a ``requirements.txt`` beside it: findings belong to the compiled
    file, which is what gets installed."""
    return path.endswith(".in") and f"{path[:-3]}.txt" in ctx.paths


_EGG_INFO = re.compile(r"([a-z0-9_.]+)-([a-z0-9_.!+-]+)", re.I)
"""pip's ``_contains_egg_info``: a built wheel is cached only when the link's file name (without
its extension) carries ``name-version``."""
_ARCHIVE_EXT = re.compile(r"\.(tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tar|zip)$", re.I)


def archive_problem(req: reqs.Requirement) -> str | None:
    """Why pip rebuilds a direct archive URL on every install (``name @ https://.../v1.2.zip``,
    ``https://github.com/o/r/archive/main.tar.gz``), or None when pip can cache its wheel.

    pip's wheel builder caches a wheel built from a URL only when the file name looks
    immutable, i.e. carries ``name-version`` (``pkg-1.2.tar.gz``); a wheel URL is not built."""
    url = req.url
    if url is None or req.vcs is not None or req.local or not re.match(r"https?://", url, re.I):
        return None
    path = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    filename = path.rsplit("/", 1)[-1]
    match = _ARCHIVE_EXT.search(filename)
    if match is None or _EGG_INFO.search(filename[: match.start()]):
        return None
    return (
        f"is installed from the archive URL {url}, whose file name `{filename}` does not carry "
        "`name-version`: pip caches a wheel built from a URL only when the file name looks "
        "immutable, so it downloads and builds it again on every install"
    )


def source_findings(
    path: str, requirements: Iterable[reqs.Requirement], *, locked: bool = False
) -> list[Finding]:
    """CA402 for the VCS and archive-URL requirements of one installed file (requirements file
    or pyproject.toml; ``table`` names are not needed here)."""
    findings = []
    for req in requirements:
        vcs = req.vcs
        problem = vcs_problem(vcs) if vcs is not None and not vcs.immutable else None
        problem = problem or archive_problem(req)
        if problem is None:
            continue
        label = req.name or (_repo_label(vcs.url) if vcs else req.url or req.text)
        if vcs is not None:
            advice = f"Pin {label} to a full commit hash (or install a published release)."
            fix = Fix(advice, pin_vcs(req))
        else:
            fix = Fix(
                f"Install a published release of {label} from the index, or point at an "
                "archive whose file name carries name-version (or a commit-pinned VCS URL).",
                f"{label}==<version>",
            )
        findings.append(
            RULES["CA402"].finding(
                Location(path, req.line, req.column),
                f"{path} line {req.line}: {label} {problem}",
                subject=f"vcs {label}" if vcs is not None else f"url {label}",
                fix=fix,
            )
        )
    return findings


def vcs_problem(vcs: reqs.VcsRef) -> str:
    """Why a VCS requirement defeats pip's wheel cache, for messages."""
    if vcs.vcs != "git":
        return (
            f"comes from a {vcs.vcs} checkout ({vcs.url}): pip caches wheels built from VCS "
            "only for git commits, so it checks out and rebuilds it on every install"
        )
    if vcs.ref is None:
        where = "the default branch (no revision)"
    elif vcs.short_hash:
        where = f"the abbreviated commit `{vcs.ref}` (pip only trusts a full 40-character hash)"
    else:
        where = f"the branch or tag `{vcs.ref}`"
    return (
        f"is installed from git at {where}: pip caches wheels built from VCS only for a full "
        "commit hash, so it clones and rebuilds it on every install, and the result can change "
        "between runs"
    )


def pin_vcs(req: reqs.Requirement) -> str:
    """The requirement rewritten with a commit placeholder in place of its ref."""
    vcs = req.vcs
    if vcs is None:
        return req.text
    url, hash_mark, fragment = vcs.url.partition("#")
    if vcs.ref is not None:
        url = url[: -(len(vcs.ref) + 1)]
    pinned = f"{url}@{_COMMIT_PLACEHOLDER}{hash_mark}{fragment}"
    if not reqs.is_url(req.text):  # PEP 508 `name @ url`
        pinned = f"{req.text.split('@', 1)[0].strip()} @ {pinned}"
    if req.marker:
        pinned += f" ; {req.marker}"
    return ("-e " if req.editable else "") + pinned


def _repo_label(url: str) -> str:
    path = url.split("#", 1)[0].rstrip("/")
    tail = path.rsplit("/", 1)[-1].split("@", 1)[0]
    return tail.removesuffix(".git") or url


def _hash_findings(parsed: reqs.RequirementsFile) -> list[Finding]:
    hashed = parsed.hashed
    if hashed or parsed.require_hashes:
        missing = [r for r in parsed.requirements if not r.hashes and not r.editable]
        if not missing:
            return []
        first = missing[0]
        names = ", ".join(r.name or r.text for r in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        why = "some requirements have `--hash`" if hashed else "the file sets --require-hashes"
        return [
            RULES["CA404"].finding(
                Location(parsed.path, first.line, first.column),
                f"{parsed.path}: {why}, which puts pip in hash-checking mode for the whole "
                f"install, but {names}{more} have none: the install fails",
                subject="partial hashes",
                fix=Fix(
                    "Regenerate the file with hashes for every requirement.",
                    _hash_command(parsed),
                ),
            )
        ]
    if not (parsed.compiled and parsed.fully_pinned):
        return []
    line = parsed.generator_line or parsed.registry_requirements[0].line
    tool = parsed.generator or "a compiler"
    return [
        RULES["CA404"].finding(
            Location(parsed.path, line),
            f"{parsed.path} pins every requirement ({tool} output) but has no `--hash` lines: "
            "pip cannot verify that the files it downloads or restores from a cache are the "
            "ones that were locked",
            subject="no hashes",
            fix=Fix("Regenerate the file with hashes.", _hash_command(parsed)),
        )
    ]


def _hash_command(parsed: reqs.RequirementsFile) -> str:
    command = parsed.generator_command
    generator = parsed.generator
    if command and generator == "uv export":
        return re.sub(r"\s+--no-hashes\b", "", command)
    if command and generator in ("pip-compile", "uv pip compile"):
        head = "uv pip compile" if command.startswith("uv pip compile") else "pip-compile"
        if command.startswith(head) and "--generate-hashes" not in command:
            return f"{head} --generate-hashes{command[len(head) :]}"
        if "--generate-hashes" in command:
            return command
    if generator == "pdm export":
        return f"pdm export --format requirements -o {posixpath.basename(parsed.path)}"
    source = posixpath.basename(parsed.path).removesuffix(".txt") + ".in"
    return f"pip-compile --generate-hashes --output-file={parsed.path} {source}"


# --- pyproject.toml --------------------------------------------------------------------------


def _pyproject_findings(ctx: RepoContext, path: str) -> list[Finding]:
    project = load_project(ctx, path)
    if project is None:
        return []
    return [parse_error(path, e.message, e.line, e.column) for e in project.errors]


def project_source_findings(project: Project, dependencies: Iterable[Dependency]) -> list[Finding]:
    """CA402 for the VCS and archive-URL dependencies an install of ``project`` reads (the
    caller checks that it is installed and has no lock file, which would record the commit)."""
    findings = []
    path = project.path
    for dep in dependencies:
        req, vcs = dep.requirement, dep.requirement.vcs
        problem = vcs_problem(vcs) if vcs is not None and not vcs.immutable else None
        problem = problem or archive_problem(req)
        if problem is None:
            continue
        label = req.name or (_repo_label(vcs.url) if vcs else req.url or req.text)
        if vcs is not None:
            fix = Fix(
                f"Pin {label} to a full commit hash, or commit a lock file (uv lock, "
                "poetry lock, pdm lock) that records the commit.",
                _pin_pyproject(dep),
            )
        else:
            fix = Fix(
                f"Depend on a published release of {label}, or commit a lock file that records "
                "the archive's hash.",
                f'"{label}>=<version>",',
            )
        findings.append(
            RULES["CA402"].finding(
                Location(path, req.line, req.column),
                f"{path} ({dep.table}): {label} {problem}; no lock file pins it",
                subject=f"vcs {label}" if vcs is not None else f"url {label}",
                fix=fix,
            )
        )
    return findings


def _pin_pyproject(dep: Dependency) -> str:
    req = dep.requirement
    if dep.table.startswith("tool.poetry"):
        return f'{req.name} = {{ git = "{_strip_ref(req)}", rev = "{_COMMIT_PLACEHOLDER}" }}'
    return f'"{pin_vcs(req)}",'


def _strip_ref(req: reqs.Requirement) -> str:
    vcs = req.vcs
    if vcs is None:
        return req.text
    url = vcs.url.split("#", 1)[0]
    url = url[len(vcs.vcs) + 1 :] if url.startswith(vcs.vcs + "+") else url
    return url[: -(len(vcs.ref) + 1)] if vcs.ref else url


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _pep508_lists(
    data: dict[str, Any], project: dict[str, Any], tool: dict[str, Any]
) -> list[tuple[str, str, list[Any]]]:
    """(table name, TOML header it sits under, values) of every PEP 508 dependency list."""
    out: list[tuple[str, str, list[Any]]] = []
    deps = project.get("dependencies")
    if isinstance(deps, list):
        out.append(("project.dependencies", "project", deps))
    for extra, values in _table(project, "optional-dependencies").items():
        if isinstance(values, list):
            header = "project.optional-dependencies"
            out.append((f"{header}.{extra}", header, values))
    for group, values in _table(data, "dependency-groups").items():
        if isinstance(values, list):
            out.append((f"dependency-groups.{group}", "dependency-groups", values))
    uv_dev = _table(tool, "uv").get("dev-dependencies")
    if isinstance(uv_dev, list):
        out.append(("tool.uv.dev-dependencies", "tool.uv", uv_dev))
    for group, values in _table(_table(tool, "pdm"), "dev-dependencies").items():
        if isinstance(values, list):
            header = "tool.pdm.dev-dependencies"
            out.append((f"{header}.{group}", header, values))
    return out


def _poetry_tables(poetry: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [("tool.poetry.dependencies", _table(poetry, "dependencies"))]
    out.append(("tool.poetry.dev-dependencies", _table(poetry, "dev-dependencies")))
    for group, body in _table(poetry, "group").items():
        out.append((f"tool.poetry.group.{group}.dependencies", _table(body, "dependencies")))
    return [(t, e) for t, e in out if e]


def _poetry_requirement(name: str, spec: Any, line: int, column: int) -> reqs.Requirement:
    base = reqs.Requirement(line, column, f"{name} = {spec!r}", name=canonicalize_name(name))
    if isinstance(spec, list):  # several constraints by marker: take the first for its form
        spec = spec[0] if spec else ""
    if isinstance(spec, str):
        exact = re.fullmatch(r"=?=?\s*(\d[\w.+!-]*)", spec.strip())
        return _replace(base, specifier=f"=={exact.group(1)}" if exact else spec.strip())
    if not isinstance(spec, dict):
        return base
    for vcs in ("git", "hg"):
        url = spec.get(vcs)
        if isinstance(url, str):
            ref = next(
                (spec[k] for k in ("rev", "tag", "branch") if isinstance(spec.get(k), str)), None
            )
            full = f"{vcs}+{url}" + (f"@{ref}" if ref else "")
            return _replace(base, url=full, vcs=reqs.VcsRef(vcs, full, ref))
    if isinstance(spec.get("path"), str) or isinstance(spec.get("url"), str):
        return _replace(base, local=isinstance(spec.get("path"), str), url=spec.get("url"))
    version = spec.get("version")
    if isinstance(version, str):
        return _poetry_requirement(name, version, line, column)
    return base


def _replace(base: reqs.Requirement, **changes: Any) -> reqs.Requirement:
    return replace(base, **changes)


class _Locator:
    """Finds the line of a value or key inside a TOML table, for finding locations (tomllib
    keeps no positions). Falls back to the table header, then line 1."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def _section(self, table: str) -> tuple[int, int]:
        """Line range (0-based, end exclusive) of ``[table]``; the whole file when absent."""
        start = next((i for i, ln in enumerate(self.lines) if _header(ln) == table), None)
        if start is None:
            return 0, len(self.lines)
        end = next(
            (i for i in range(start + 1, len(self.lines)) if _header(self.lines[i]) is not None),
            len(self.lines),
        )
        return start, end

    def find(self, value: str, table: str) -> tuple[int, int]:
        start, end = self._section(table)
        for needle in (f'"{value}"', f"'{value}'"):
            for i in range(start, end):
                col = self.lines[i].find(needle)
                if col >= 0:
                    return i + 1, col + 2
        return start + 1, 1

    def key(self, name: str, table: str) -> tuple[int, int]:
        start, end = self._section(table)
        pattern = re.compile(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=")
        for i in range(start, end):
            if pattern.match(self.lines[i]):
                return i + 1, len(self.lines[i]) - len(self.lines[i].lstrip()) + 1
        return start + 1, 1


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]\[]+?)\s*\]\]?\s*(#.*)?$")


def _header(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group(1).replace('"', "").replace("'", "") if match else None

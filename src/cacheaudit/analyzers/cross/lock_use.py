"""Lock-file use: CA501 lockfile-not-used (a lock exists but the install resolves without
it) and CA502 locked-install-not-enforced (a lock-aware install that may rewrite the lock)."""

from __future__ import annotations

import posixpath
import re

from packaging.version import InvalidVersion, Version

from cacheaudit.analyzers.cross.sites import (
    CI_PLATFORMS,
    PIP_FORMAT_TOOLS,
    Site,
    indented,
    installs_project_deps,
    project_inputs,
    projects_installed,
    requirement_inputs,
    short,
    site_location,
    workflow,
)
from cacheaudit.analyzers.dependencies import (
    load_project,
    project_locks,
)
from cacheaudit.installs import LOCKFILES_BY_TOOL
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing import requirements as reqs
from cacheaudit.parsing.lockfiles import (
    NODE_LOCK_TOOLS,
    TOOL_BY_LOCKFILE,
    LockFile,
    load_toml,
    locked_versions,
    locks_for,
    yarn_flavour,
)
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

LOCK_EXPORTERS: dict[str, str] = {"uv": "uv export", "pdm": "pdm export"}
"""The requirements-file header that proves a file was exported from a tool's lock."""

LOCK_COMMANDS: dict[str, str] = {
    "uv": "uv sync --locked",
    "poetry": "poetry install --no-interaction",
    "pdm": "pdm sync",
    "pipenv": "pipenv sync",
    "npm": "npm ci",
    "yarn": "yarn install --frozen-lockfile",
    "pnpm": "pnpm install --frozen-lockfile",
}
"""The install that honours each tool's lock file (yarn Berry: ``--immutable``)."""

ENFORCE_FLAGS: dict[str, tuple[str, ...]] = {
    "uv": ("--locked", "--frozen"),
    "pipenv": ("--deploy", "--ignore-pipfile"),
    "yarn": ("--immutable", "--frozen-lockfile"),
}
"""Options that make a lock-aware install fail (or ignore the manifest) instead of rewriting the
lock. RULES CA502: ``uv sync``, ``pipenv install``, ``yarn install``."""

ENFORCE_ENV: dict[str, tuple[str, ...]] = {
    "uv": ("UV_LOCKED", "UV_FROZEN"),
    "yarn": ("YARN_ENABLE_IMMUTABLE_INSTALLS",),
}
"""Env vars with the same effect; when the file that holds the install sets one anywhere, the
install is given the benefit of the doubt."""


# --- CA501 lockfile-not-used -----------------------------------------------------------------


def lockfile_not_used(ctx: RepoContext, sites: list[Site]) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    ignored: set[str] = set()
    for site in sites:
        if site.install is None:
            continue
        if site.pip_like and installs_project_deps(site):
            findings.extend(_project_lock_ignored(ctx, site))
        if site.site.tool in PIP_FORMAT_TOOLS:
            for finding, path in _requirements_lock_ignored(ctx, site):
                findings.append(finding)
                ignored.add(path)
        if site.site.tool in NODE_LOCK_TOOLS:
            findings.extend(_node_lock_ignored(ctx, site))
    return findings, ignored


def _project_lock_ignored(ctx: RepoContext, site: Site) -> list[Finding]:
    findings = []
    installed, constraints = requirement_inputs(ctx, site)
    for pyproject in projects_installed(ctx, site, installed):
        project = load_project(ctx, pyproject)
        if project is None or not project.valid or not project.dependencies:
            continue
        locks = project_locks(ctx, project)
        if not locks:
            continue
        lock = locks[0]
        if any(exported_from(ctx, path, lock) for path in (*installed, *constraints)):
            continue  # versions come from the lock through an exported file
        tool = TOOL_BY_LOCKFILE[posixpath.basename(lock)]
        message = (
            f"{site.site.context} runs `{site.command}`, which installs {pyproject}'s "
            f"dependencies without reading {lock}: pip resolves the version ranges again on "
            f"every run, so the job does not install what the lock pins and download caches "
            f"keyed on the lock do not match what is fetched"
        )
        findings.append(
            RULES["CA501"].finding(
                site_location(site),
                message,
                subject=f"{site.site.context} / {lock}",
                fix=Fix(
                    f"Install from {lock} with {tool} (install {tool} in the image first if it "
                    "lacks it), or export the lock and install the export.",
                    indented(ctx, site, lock_command(ctx, tool, site)),
                ),
            )
        )
    return findings


def _requirements_lock_ignored(ctx: RepoContext, site: Site) -> list[tuple[Finding, str]]:
    """``pip install -r requirements.txt`` beside a project lock, where the file repeats the
    project's dependencies but does not come from the lock."""
    out = []
    installed, _ = requirement_inputs(ctx, site)
    for path in installed:
        owner = _owning_lock(ctx, path)
        if owner is None:
            continue
        lock, declared = owner
        resolution = reqs.resolve(ctx, [path])
        names = {r.name for f in resolution.installed for r in f.registry_requirements}
        overlap = sorted(n for n in names if n is not None and n in declared)
        if not overlap or exported_from(ctx, path, lock.path, resolution):
            continue
        shown = ", ".join(overlap[:4]) + (
            f" and {len(overlap) - 4} more" if len(overlap) > 4 else ""
        )
        message = (
            f"{site.site.context} installs {path} with `{site.command}`, but {lock.path} "
            f"already locks {shown}: {path} is not exported from the lock, so the job installs "
            f"other versions than the lock pins and the lock's cache never matches"
        )
        finding = RULES["CA501"].finding(
            site_location(site),
            message,
            subject=f"{site.site.context} / {lock.path} / {path}",
            fix=Fix(
                f"Install from {lock.path} with {lock.tool}, or generate {path} from it.",
                indented(ctx, site, _export_or_sync(ctx, lock, path, site)),
            ),
        )
        out.append((finding, path))
    return out


def _owning_lock(ctx: RepoContext, path: str) -> tuple[LockFile, frozenset[str]] | None:
    """The nearest Python lock file above ``path`` whose manifest declares dependencies, with
    the names it declares."""
    directory = posixpath.dirname(path)
    while True:
        for lock in locks_for(ctx, directory, ("uv", "poetry", "pdm", "pipenv")):
            if lock.directory != directory:
                continue
            declared = _declared_names(ctx, lock)
            if declared:
                return lock, declared
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def _declared_names(ctx: RepoContext, lock: LockFile) -> frozenset[str]:
    if lock.tool == "pipenv":
        return _pipfile_names(ctx, posixpath.join(lock.directory, "Pipfile"))
    project = load_project(ctx, posixpath.join(lock.directory, "pyproject.toml"))
    return project.names if project is not None else frozenset()


def _pipfile_names(ctx: RepoContext, path: str) -> frozenset[str]:
    def compute() -> frozenset[str]:
        from packaging.utils import canonicalize_name

        text = ctx.read_text(path)
        data = load_toml(text) if text is not None else None
        if not isinstance(data, dict):
            return frozenset()
        names: set[str] = set()
        for section in ("packages", "dev-packages"):
            table = data.get(section)
            if isinstance(table, dict):
                names.update(canonicalize_name(str(n)) for n in table)
        return frozenset(names)

    return ctx.memo("pipfile-names", path, compute)


def exported_from(
    ctx: RepoContext, path: str, lock: str, resolution: reqs.Resolution | None = None
) -> bool:
    """True when requirements file ``path`` was generated from ``lock``: its header says so, or
    every requirement it installs is pinned to the version the lock pins. Unknown lock contents
    count as agreement (never guess a disagreement)."""
    parsed = reqs.load(ctx, path)
    if parsed is None:
        return True
    tool = TOOL_BY_LOCKFILE.get(posixpath.basename(lock))
    if tool in LOCK_EXPORTERS and parsed.generator == LOCK_EXPORTERS[tool]:
        return True
    versions = locked_versions(ctx, lock)
    if versions is None:
        return True
    files = (resolution or reqs.resolve(ctx, [path])).files
    registry = [r for f in files for r in f.registry_requirements]
    if not registry:
        return False
    for req in registry:
        locked = versions.get(req.name or "")
        pinned = _pinned_version(req)
        if locked is None or pinned is None or not _same_version(locked, pinned):
            return False
    return True


def _pinned_version(req: reqs.Requirement) -> str | None:
    for spec in (s.strip() for s in req.specifier.split(",")):
        if spec.startswith("==="):
            return spec[3:].strip()
        if spec.startswith("==") and not spec.endswith(".*"):
            return spec[2:].strip()
    return None


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _node_lock_ignored(ctx: RepoContext, site: Site) -> list[Finding]:
    install = site.install
    if install is None or install.packages or {"-g", "--global"} & site.options:
        return []
    directory = _node_directory(ctx, site)
    if directory is None:
        return []
    locks = locks_for(ctx, directory, NODE_LOCK_TOOLS)
    own = [lock for lock in locks if lock.tool == site.site.tool]
    others = [lock for lock in locks if lock.tool != site.site.tool]
    tool = site.site.tool
    if own:
        # `npm install` may rewrite package-lock.json; in Dockerfiles CA307 already says so.
        if tool != "npm" or install.action != "install" or site.site.platform == "dockerfile":
            return []
        lock = own[0]
        message = (
            f"{site.site.context} runs `{site.command}` although {lock.path} exists: npm install "
            f"resolves package.json's ranges and may rewrite the lock, where `npm ci` installs "
            f"exactly what it pins"
        )
        return [
            RULES["CA501"].finding(
                site_location(site),
                message,
                subject=f"{site.site.context} / {lock.path}",
                fix=Fix(
                    "Install with npm ci (same options).",
                    indented(ctx, site, _with_action(install, "ci")),
                ),
            )
        ]
    if not others:
        return []
    lock = others[0]
    message = (
        f"{site.site.context} installs with {tool} (`{site.command}`), but the project's lock "
        f"file is {lock.path}, which {tool} does not read: every run resolves afresh and the "
        f"lock pins nothing"
    )
    return [
        RULES["CA501"].finding(
            site_location(site),
            message,
            subject=f"{site.site.context} / {lock.path}",
            fix=Fix(
                f"Install with {lock.tool}, which reads {lock.name}.",
                indented(ctx, site, lock_command(ctx, lock.tool, site, lock.directory)),
            ),
        )
    ]


def _node_directory(ctx: RepoContext, site: Site) -> str | None:
    for path in site.site.inputs:
        if posixpath.basename(path) == "package.json":
            return posixpath.dirname(path)
    if site.site.platform in CI_PLATFORMS and "package.json" in ctx.paths:
        return ""
    return None


def lock_command(ctx: RepoContext, tool: str, site: Site, directory: str = "") -> str:
    if tool == "yarn" and yarn_flavour(ctx, directory) == "berry":
        return "yarn install --immutable"
    command = LOCK_COMMANDS.get(tool, f"{tool} install")
    if tool == "uv" and site.site.platform == "dockerfile":
        command += " --no-dev"
    extras = _extras(site)
    groups = [g for raw in (site.install.groups if site.install else ()) for g in raw.split(",")]
    if tool == "uv":
        command += "".join(f" --extra {e}" for e in extras)
        command += "".join(f" --group {g}" for g in groups)
    elif tool == "poetry":
        command += f' --extras "{" ".join(extras)}"' if extras else ""
        command += f" --with {','.join(groups)}" if groups else ""
    elif tool == "pdm":
        command += "".join(f" -G {g}" for g in (*extras, *groups))
    return command


def _extras(site: Site) -> list[str]:
    if site.install is None:
        return []
    out: list[str] = []
    for target in site.install.local_targets:
        match = re.search(r"\[([^\]]+)\]$", target)
        if match:
            out.extend(e.strip() for e in match.group(1).split(",") if e.strip())
    return out


def _export_or_sync(ctx: RepoContext, lock: LockFile, path: str, site: Site) -> str:
    if lock.tool == "uv":
        return f"uv export --frozen --no-emit-project -o {path}\n{site.command}"
    if lock.tool == "poetry":
        return f"poetry export --format requirements.txt --output {path}\n{site.command}"
    if lock.tool == "pdm":
        return f"pdm export --format requirements -o {path}\n{site.command}"
    return lock_command(ctx, lock.tool, site, lock.directory)


# --- CA502 locked-install-not-enforced -------------------------------------------------------


def locked_not_enforced(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    findings = []
    for site in sites:
        install = site.install
        tool = site.site.tool
        if install is None or tool not in ENFORCE_FLAGS:
            continue
        if tool == "uv" and install.action != "sync":
            continue
        if tool in ("pipenv", "yarn") and (install.action != "install" or install.packages):
            continue
        if set(ENFORCE_FLAGS[tool]) & site.options:
            continue
        expanded = _variable_options(ctx, site)
        if expanded is None or set(ENFORCE_FLAGS[tool]) & expanded:
            continue  # options from a variable: enforced, or unknowable
        if _env_enforces(ctx, site, tool) or _resolves_on_purpose(ctx, site):
            continue
        lock = _site_lock(ctx, site, tool)
        if lock is None:
            continue
        flag = ENFORCE_FLAGS[tool][0]
        if tool == "yarn":
            flavour = yarn_flavour(ctx, posixpath.dirname(lock))
            if flavour == "berry" and site.site.platform in CI_PLATFORMS:
                continue  # Yarn 2+ turns on --immutable by itself when CI is set
            flag = "--immutable" if flavour == "berry" else "--frozen-lockfile"
        consequence = {
            "uv": "uv sync re-locks when pyproject.toml changed and installs the new resolution",
            "pipenv": "pipenv install re-locks when the Pipfile changed instead of failing",
            "yarn": "yarn install updates yarn.lock when package.json changed instead of failing",
        }[tool]
        message = (
            f"{site.site.context} runs `{site.command}` without {flag}: {consequence}, so a "
            f"stale {posixpath.basename(lock)} goes unnoticed and the job installs something "
            f"the lock does not record"
        )
        findings.append(
            RULES["CA502"].finding(
                site_location(site),
                message,
                subject=f"{site.site.context} / {tool}",
                fix=Fix(
                    f"Add {flag} so the install fails when {posixpath.basename(lock)} is stale.",
                    indented(ctx, site, _with_flag(install, flag)),
                ),
            )
        )
    return findings


def _env_enforces(ctx: RepoContext, site: Site, tool: str) -> bool:
    names = ENFORCE_ENV.get(tool, ())
    if not names:
        return False
    if site.install is not None and any(n in names for n, _ in site.install.command.env):
        return True
    text = _scope_text(ctx, site)
    if any(re.search(rf"\b{name}\b", text) for name in names):
        return True
    if tool == "yarn":
        rc = ctx.read_text(".yarnrc.yml") or ""
        return "enableImmutableInstalls" in rc
    return False


_UV_UPGRADE = re.compile(r"\buv\s+lock\b[^\n]*?(\s--upgrade\b|\s-U\b|\s--upgrade-package\b|\s-P\b)")


_VAR_WORD = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _variable_options(ctx: RepoContext, site: Site) -> frozenset[str] | None:
    """Options that ``$VARS`` in the install's words stand for, from their assignments in the
    install's scope (``ARG UV_OPTIONS="--frozen ..."``, ``UV_OPTIONS: --locked``, ``X=...``);
    None when a variable's value cannot be found (then nothing is claimed)."""
    if site.install is None:
        return frozenset()
    names = [m.group(1) for w in site.install.command.argv[1:] for m in _VAR_WORD.finditer(w)]
    if not names:
        return frozenset()
    scope = _scope_text(ctx, site)
    words: set[str] = set()
    for name in names:
        found = re.findall(
            rf"(?:^|[\s;])(?:ARG\s+|ENV\s+|export\s+)?{name}\s*[=:]\s*(.*)$", scope, re.M
        )
        if not found:
            return None
        for value in found:
            words.update(w.strip("\"'") for w in value.split())
    return frozenset(w for w in words if w.startswith("-"))


def _resolves_on_purpose(ctx: RepoContext, site: Site) -> bool:
    """The job means to resolve afresh, so ``--locked`` would make it fail: ``uv sync
    --resolution lowest`` / ``--upgrade``, ``UV_RESOLUTION`` set for it, or a ``uv lock
    --upgrade`` step in the same job (or Dockerfile stage) — not anywhere in the file."""
    install = site.install
    if install is None or site.site.tool != "uv":
        return False
    if {"--resolution", "--upgrade", "-U", "--upgrade-package", "-P"} & site.options:
        return True
    if any(name in ("UV_RESOLUTION", "UV_UPGRADE") for name, _ in install.command.env):
        return True
    text = _scope_text(ctx, site)
    return bool(re.search(r"\bUV_(RESOLUTION|UPGRADE)\b", text) or _UV_UPGRADE.search(text))


def _scope_text(ctx: RepoContext, site: Site) -> str:
    """The text whose settings reach the install: in a workflow or pipeline, the job that holds
    it plus the file's global ``env:``/``variables:``; in a Dockerfile, the stage up to it plus
    the global ``ARG``s; else the whole file (a script)."""
    text = ctx.read_text(site.path) or ""
    lines = text.split("\n")
    line = site.site.location.line
    if site.site.platform == "dockerfile" or posixpath.basename(site.path).lower().startswith(
        ("dockerfile", "containerfile")
    ):
        starts = [n for n, t in enumerate(lines, 1) if re.match(r"\s*FROM\s", t, re.I)]
        start = max((n for n in starts if n <= line), default=1)
        head = lines[: starts[0] - 1] if starts else []
        return "\n".join([*head, *lines[start - 1 : line]])
    doc = workflow(ctx, site.path) if site.path.endswith((".yml", ".yaml")) else None
    if not isinstance(doc, dict):
        return text
    from cacheaudit.parsing.yaml import key_line

    github = isinstance(doc.get("jobs"), dict)
    jobs = doc["jobs"] if github else doc
    starts = sorted(key_line(jobs, key) for key in jobs)
    job = max((n for n in starts if n <= line), default=None)
    if job is None:
        return text
    end = min((n for n in starts if n > job), default=len(lines) + 1)
    scoped = list(lines[job - 1 : end - 1])
    top = sorted(key_line(doc, key) for key in doc)
    for key in ("env",) if github else ("variables", "default"):
        if key in doc:
            first = key_line(doc, key)
            last = min((n for n in top if n > first), default=len(lines) + 1)
            scoped.extend(lines[first - 1 : last - 1])
    return "\n".join(scoped)


def _site_lock(ctx: RepoContext, site: Site, tool: str) -> str | None:
    names = LOCKFILES_BY_TOOL.get(tool, ())
    for path in site.site.inputs:
        if posixpath.basename(path) in names and path in ctx.paths:
            return path
    if tool == "uv":  # a workspace member's lock sits at the workspace root
        for pyproject in project_inputs(site):
            found = locks_for(ctx, posixpath.dirname(pyproject), ("uv",))
            if found:
                return found[0].path
    return None


def _with_action(install: InstallCommand, action: str) -> str:
    """The install's command text with its subcommand replaced (``npm install`` → ``npm ci``)."""
    text = short(install.command.text)
    argv = install.command.argv
    if len(argv) > 1 and argv[1] in ("install", "i", "add"):
        match = re.search(rf"\b{re.escape(argv[1])}\b", text)
        if match is not None:
            return f"{text[: match.start()]}{action}{text[match.end() :]}"
    return f"{install.tool} {action}"


def _with_flag(install: InstallCommand, flag: str) -> str:
    text = short(install.command.text)
    words = {"uv": "sync", "pipenv": "install", "yarn": "install"}
    word = words.get(install.tool, "install")
    match = re.search(rf"\b{re.escape(word)}\b", text)
    if match is None:
        if install.tool == "yarn":  # bare `yarn`
            bare = re.search(r"\byarn\b", text)
            if bare:
                return f"{text[: bare.end()]} install {flag}{text[bare.end() :]}"
        return f"{text} {flag}"
    return f"{text[: match.end()]} {flag}{text[match.end() :]}"

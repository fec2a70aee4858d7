"""Facts about installers shared by every analyzer: which files an install reads, where each
tool keeps its download cache, which env vars move or disable it.

Keep installer knowledge here, not in the analyzers, so GitHub, GitLab and Docker agree.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from cacheaudit.analyzers.scripts import session_inputs
from cacheaudit.parsing.shell import InstallCommand
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext


@dataclass(frozen=True)
class CacheFacts:
    """Where one tool's download cache lives and how it is configured."""

    tool: str
    home_dir: str
    """Default location relative to ``$HOME`` (``.cache/pip``)."""
    root_dir: str
    """Default location for root in a container (``/root/.cache/pip``)."""
    dir_envs: tuple[str, ...]
    """Env vars that move the cache, strongest first; fixes set the first."""
    env_disable: str | None
    """Env var that disables it (``PIP_NO_CACHE_DIR``); any value counts for pip."""
    dir_options: tuple[str, ...] = ()
    """Command-line options that move the cache for one command (``--cache-dir``)."""


CACHE_FACTS: dict[str, CacheFacts] = {
    "pip": CacheFacts("pip", ".cache/pip", "/root/.cache/pip", ("PIP_CACHE_DIR",),
                      "PIP_NO_CACHE_DIR", ("--cache-dir",)),
    "uv": CacheFacts("uv", ".cache/uv", "/root/.cache/uv", ("UV_CACHE_DIR",), "UV_NO_CACHE",
                     ("--cache-dir",)),
    "poetry": CacheFacts("poetry", ".cache/pypoetry", "/root/.cache/pypoetry",
                         ("POETRY_CACHE_DIR",), None),
    "pdm": CacheFacts("pdm", ".cache/pdm", "/root/.cache/pdm", ("PDM_CACHE_DIR",), None),
    "pre-commit": CacheFacts("pre-commit", ".cache/pre-commit", "/root/.cache/pre-commit",
                             ("PRE_COMMIT_HOME",), None),
    # npm reads npm_config_* case-insensitively.
    "npm": CacheFacts("npm", ".npm", "/root/.npm", ("npm_config_cache", "NPM_CONFIG_CACHE"),
                      None, ("--cache",)),
    # yarn classic as root on Linux swaps home for /usr/local/share (RULES.md).
    "yarn": CacheFacts("yarn", ".cache/yarn", "/usr/local/share/.cache/yarn",
                       ("YARN_CACHE_FOLDER",), None, ("--cache-folder",)),
    "pnpm": CacheFacts("pnpm", ".local/share/pnpm/store", "/root/.local/share/pnpm/store",
                       ("npm_config_store_dir", "pnpm_config_store_dir", "PNPM_STORE_DIR"),
                       None, ("--store-dir",)),
    "bun": CacheFacts("bun", ".bun/install/cache", "/root/.bun/install/cache",
                      ("BUN_INSTALL_CACHE_DIR",), None, ("--cache-dir",)),
    "conda": CacheFacts("conda", ".conda/pkgs", "/opt/conda/pkgs", ("CONDA_PKGS_DIRS",), None),
    "apt": CacheFacts("apt", "/var/cache/apt", "/var/cache/apt", (), None),
    "apk": CacheFacts("apk", "/var/cache/apk", "/var/cache/apk", (), None),
}  # fmt: skip
"""The one table of where caches live and what moves them: the GitHub, GitLab and Dockerfile
analyzers derive their own tables from it, so they cannot drift apart."""

LOCKFILES_BY_TOOL: dict[str, tuple[str, ...]] = {
    "uv": ("uv.lock",),
    "poetry": ("poetry.lock",),
    "pipenv": ("Pipfile.lock",),
    "pdm": ("pdm.lock",),
    "npm": ("package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("yarn.lock",),
    "pnpm": ("pnpm-lock.yaml",),
    "bun": ("bun.lock", "bun.lockb"),
}

MANIFESTS_BY_TOOL: dict[str, tuple[str, ...]] = {
    "uv": ("pyproject.toml",),
    "poetry": ("pyproject.toml",),
    "pipenv": ("Pipfile",),
    "pdm": ("pyproject.toml",),
    "npm": ("package.json",),
    "yarn": ("package.json",),
    "pnpm": ("package.json",),
    "bun": ("package.json",),
}

PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
"""What makes a directory an installable Python project (``pip install .``)."""


def explicit_inputs(install: InstallCommand, workdir: str = "") -> tuple[str, ...]:
    """``-r``/``-c`` files named by the command, relative to the root (whether or not they
    exist: a missing one is CA504's business). Absolute or escaping paths are dropped."""
    files = []
    for name in (*install.requirement_files, *install.constraint_files):
        if "$" in name:  # ${VAR} or $(...): unknowable statically
            continue
        rel = normalize(name, workdir)
        if rel:
            files.append(rel)
    return tuple(files)


def implicit_inputs(
    install: InstallCommand, ctx: RepoContext, workdir: str = ""
) -> tuple[str, ...]:
    """Existing manifest and lock files the command reads without naming them: ``uv sync`` →
    ``pyproject.toml`` and ``uv.lock``; ``npm ci`` → ``package.json`` and
    ``package-lock.json``; ``pip install .`` → the project's ``pyproject.toml``/``setup.py``;
    ``tox``/``nox`` → their config and the requirements files its sessions install."""
    tool = "uv" if install.tool == "uv" and install.action in ("sync",) else install.tool
    names: list[str] = []
    if tool in LOCKFILES_BY_TOOL and not (install.tool == "uv" and install.action != "sync"):
        names.extend(MANIFESTS_BY_TOOL.get(tool, ()))
        names.extend(LOCKFILES_BY_TOOL[tool])
    found = [rel for name in names if (rel := normalize(name, workdir)) and rel in ctx.paths]
    if install.tool in ("tox", "nox"):  # tox.ini / noxfile.py and the -r files they name
        found.extend(session_inputs(ctx, install, workdir))
    for target in install.local_targets:
        if target.endswith((".whl", ".tar.gz", ".zip")) or "$" in target:
            continue
        base = normalize(target.split("[", 1)[0], workdir)
        if base is None:
            continue
        for name in PROJECT_FILES:
            candidate = posixpath.join(base, name) if base else name
            if candidate in ctx.paths:
                found.append(candidate)
                break
    return tuple(dict.fromkeys(found))


def install_inputs(install: InstallCommand, ctx: RepoContext, workdir: str = "") -> tuple[str, ...]:
    """Every file an install reads, explicit first; what InstallSite.inputs records."""
    return tuple(
        dict.fromkeys((*explicit_inputs(install, workdir), *implicit_inputs(install, ctx, workdir)))
    )


def env_disables_cache(tool: str, env: dict[str, str]) -> str | None:
    """The env var in ``env`` that turns the tool's cache off, or None. For pip any value of
    ``PIP_NO_CACHE_DIR`` disables the cache (even ``0``/``false``); ``UV_NO_CACHE`` likewise
    unless empty."""
    facts = CACHE_FACTS.get(tool)
    if facts is None or facts.env_disable is None:
        return None
    if facts.env_disable in env:
        value = env[facts.env_disable]
        if tool == "uv" and value.strip().lower() in ("", "0", "false", "no", "off"):
            return None
        return facts.env_disable
    return None

"""Installer facts for GitLab: where each tool's download cache goes and how a job moves it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cacheaudit.installs import CACHE_FACTS

# --- installer facts for GitLab (where each tool's download cache goes) ---------------------


@dataclass(frozen=True)
class ToolCache:
    """Where one installer keeps its download cache and how a GitLab job moves it."""

    tool: str
    env: tuple[str, ...]
    """Variables that move the cache; the first is the one fixes set."""
    flags: tuple[str, ...]
    """Command-line options that move it (``npm ci --cache .npm``)."""
    config_keys: tuple[str, ...]
    """Keys of ``<tool> config set KEY VALUE`` (or ``poetry config KEY VALUE``) that move it."""
    xdg: str | None
    """Subdirectory of ``$XDG_CACHE_HOME`` the tool honours."""
    home: str
    """Default location below ``$HOME`` (or absolute)."""
    project_dir: str
    """The directory inside the project that fixes use."""
    names: re.Pattern[str]
    """Cached path components that are meant for this tool's cache (``.cache/pip``, ``.npm``)."""
    family: str
    """``python``, ``node`` or ``conda``: which installed-environment caches also hold it."""
    fix_command: str | None = None
    """A command fixes add to ``before_script`` instead of a variable (pnpm's documented way)."""


def _tool(
    tool: str,
    home: str,
    project_dir: str,
    names: str,
    family: str,
    *,
    config_keys: tuple[str, ...] = (),
    xdg: str | None = None,
    fix_command: str | None = None,
) -> ToolCache:
    # Env vars and options that move the cache come from the shared installer facts.
    facts = CACHE_FACTS[tool]
    return ToolCache(
        tool, facts.dir_envs, facts.dir_options, config_keys, xdg, home, project_dir,
        re.compile(names), family, fix_command,
    )  # fmt: skip


TOOLS: dict[str, ToolCache] = {
    t.tool: t
    for t in (
        _tool("pip", ".cache/pip", ".cache/pip", r"(^|[._-])pip([._-]|$)",
              "python", xdg="pip",
              config_keys=("global.cache-dir", "user.cache-dir", "site.cache-dir", "cache-dir")),
        _tool("uv", ".cache/uv", ".cache/uv",
              r"^\.?uv([._-]cache)?$|(^|[._-])uv[._-]cache", "python",
              xdg="uv"),
        _tool("poetry", ".cache/pypoetry", ".cache/pypoetry", r"poetry",
              "python", config_keys=("cache-dir",), xdg="pypoetry"),
        _tool("pdm", ".cache/pdm", ".cache/pdm", r"(^|[._-])pdm([._-]|$)",
              "python", config_keys=("cache_dir", "cache-dir"), xdg="pdm"),
        _tool("pre-commit", ".cache/pre-commit", ".cache/pre-commit",
              r"pre-?commit", "python", xdg="pre-commit"),
        _tool("npm", ".npm", ".npm",
              r"(^|[._-])npm([._-]|$)", "node", config_keys=("cache",)),
        _tool("yarn", ".cache/yarn", ".yarn-cache", r"yarn", "node",
              config_keys=("cache-folder",), xdg="yarn"),
        _tool("pnpm", ".local/share/pnpm/store",
              ".pnpm-store", r"pnpm", "node", config_keys=("store-dir",),
              fix_command="pnpm config set store-dir .pnpm-store"),
        _tool("conda", "/opt/conda/pkgs", ".conda/pkgs", r"conda|^pkgs$",
              "conda"),
    )
}  # fmt: skip
"""Where each installer's download cache goes and how a job moves it into the project.
Sources: pip "Caching", uv "Caching", Poetry/PDM configuration, npm ``cache`` config, Yarn
classic ``cache-folder``, pnpm ``store-dir`` (pnpm.io "Continuous Integration", GitLab CI),
GitLab "Caching in GitLab CI/CD" examples."""

CONFIG_PROGRAMS: dict[str, str] = {
    "pip": "pip", "pip3": "pip", "npm": "npm", "yarn": "yarn", "pnpm": "pnpm",
    "poetry": "poetry", "pdm": "pdm",
}  # fmt: skip
"""Programs whose ``config`` subcommand can move the cache (program → tool)."""

ENV_DIRS: dict[str, re.Pattern[str]] = {
    "python": re.compile(r"^\.?venv[\w.-]*$|^\.?virtualenvs?$|^\.tox$|^\.nox$"),
    "node": re.compile(r"^node_modules$"),
    "conda": re.compile(r"^\.?conda[\w.-]*$|^envs$"),
}  # fmt: skip
"""Installed-environment directories: caching one keeps installs from downloading again."""

XDG_PARENT = ".cache"

JOB_CONSTANT_VARS = frozenset(
    {
        "CI_JOB_NAME", "CI_JOB_NAME_SLUG", "CI_JOB_STAGE", "CI_PROJECT_NAME", "CI_PROJECT_PATH",
        "CI_PROJECT_PATH_SLUG", "CI_PROJECT_ID", "CI_PROJECT_NAMESPACE", "CI_DEFAULT_BRANCH",
        "CI_SERVER_HOST", "CI_SERVER_URL", "CI_REGISTRY", "CI_REGISTRY_IMAGE", "CI_RUNNER_TAGS",
    }
)  # fmt: skip
"""Predefined variables that do not change between pipelines: a key made only of these is
still constant (CA203)."""

SKIP_TOOLS = frozenset({"apt", "apk"})
"""System package managers: their cache lives outside the project; the fix is an image."""

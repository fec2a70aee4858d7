"""What the Dockerfile rules know about tools inside a build container: where each tool's cache
is mounted, which flags and env vars turn it off, apt's cache recipe, which files are manifests.
Derived from :data:`cacheaudit.installs.CACHE_FACTS` so GitHub, GitLab and Docker agree."""

from __future__ import annotations

from dataclasses import dataclass

from cacheaudit.discovery import FileKind
from cacheaudit.installs import CACHE_FACTS


@dataclass(frozen=True)
class DockerCache:
    """How to find and mount one tool's download cache inside a build container."""

    tool: str
    """The cache owner (``InstallCommand.cache_tool``)."""
    xdg_subdir: str | None
    """Directory under ``$XDG_CACHE_HOME`` when that is set (platformdirs tools, yarn)."""
    dir_options: tuple[str, ...]
    """Command-line options naming the cache directory."""
    dir_envs: tuple[str, ...]
    """Env vars naming the cache directory, strongest first."""
    keywords: frozenset[str]
    """Words in a mount's target or id that show it was meant for this tool."""
    mount_id: str | None = None
    """``id=`` used in the suggested mount (pnpm's documented recipe)."""


def _docker_cache(
    tool: str, xdg: str | None, keywords: frozenset[str], mount_id: str | None = None
) -> DockerCache:
    facts = CACHE_FACTS[tool]
    return DockerCache(tool, xdg, facts.dir_options, facts.dir_envs, keywords, mount_id)


DOCKER_CACHES: dict[str, DockerCache] = {
    "pip": _docker_cache("pip", "pip", frozenset({"pip"})),
    "uv": _docker_cache("uv", "uv", frozenset({"uv"})),
    "poetry": _docker_cache("poetry", "pypoetry", frozenset({"poetry", "pypoetry"})),
    "pdm": _docker_cache("pdm", "pdm", frozenset({"pdm"})),
    "npm": _docker_cache("npm", None, frozenset({"npm"})),
    "yarn": _docker_cache("yarn", "yarn", frozenset({"yarn"})),
    # pnpm's store: $PNPM_HOME/store, else $XDG_DATA_HOME/pnpm/store, else ~/.local/share/...
    "pnpm": _docker_cache("pnpm", None, frozenset({"pnpm"}), mount_id="pnpm"),
    # bun: $BUN_INSTALL_CACHE_DIR, else $BUN_INSTALL/install/cache, else under $XDG_CACHE_HOME
    "bun": _docker_cache("bun", ".bun/install/cache", frozenset({"bun"})),
}
"""Tools CA301/CA302/CA304 judge, keyed by the cache owner."""

CA301_TOOLS = frozenset({"pip", "uv", "poetry", "pipenv", "pdm", "npm", "yarn", "pnpm", "bun"})
"""Installers CA301 names (RULES.md); environment runners (tox, nox...) are only recorded."""

CACHE_DISABLING_OPTIONS: dict[str, tuple[str, ...]] = {
    "pip": ("--no-cache-dir", "--no-cache-di", "--no-cache-d", "--no-cache"),
    "uv": ("--no-cache-dir", "--no-cache", "-n"),
    "poetry": ("--no-cache",),
    "bun": ("--no-cache",),
}
"""Option spellings removed from a RUN when a cache mount is added (longest first)."""

DISABLING_ENVS = ("PIP_NO_CACHE_DIR", "UV_NO_CACHE")

APT_DIRS = ("/var/cache/apt", "/var/lib/apt")
APT_NEEDS = ("/var/cache/apt/archives", "/var/lib/apt/lists")
"""What apt actually reuses: downloaded .debs and the package lists."""
APT_MOUNTS = tuple(f"type=cache,target={d},sharing=locked" for d in APT_DIRS)
APT_KEEP = (
    "rm -f /etc/apt/apt.conf.d/docker-clean; "
    "echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > "
    "/etc/apt/apt.conf.d/keep-cache"
)
"""Debian and Ubuntu images ship docker-clean, which deletes downloaded .debs after each install
(Docker's RUN --mount reference recipe)."""

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})
LEAN_FILES = frozenset(
    {"README.md", "README.rst", "README", "LICENSE", ".python-version", ".nvmrc"}
)
"""Files that may ride along with manifests in a dependency-only copy."""
DEPENDENCY_KINDS = frozenset(
    {
        FileKind.REQUIREMENTS, FileKind.PYPROJECT, FileKind.SETUP_CFG, FileKind.SETUP_PY,
        FileKind.PIPFILE, FileKind.LOCKFILE, FileKind.PACKAGE_JSON,
    }
)  # fmt: skip
MAX_LINE = 100
"""Longest line a fix writes before breaking a RUN's flags onto continuation lines."""

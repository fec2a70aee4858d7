"""The inputs each action accepts, per major version: an edit generator may only write inputs
listed here (``tests/fix`` checks every edit against it).

Sources: each action's ``action.yml`` at the tag of that major (setup-python ``cache`` and
``cache-dependency-path`` since v4 at the latest; setup-node ``package-manager-cache`` from v5;
setup-uv ``enable-cache`` and ``cache-dependency-glob`` from v1 — it has no
``cache-dependency-path``; actions/cache ``lookup-only`` from v3.4/v4).
"""

from __future__ import annotations

_SETUP_PYTHON = frozenset(
    {
        "python-version", "python-version-file", "cache", "architecture", "check-latest",
        "token", "cache-dependency-path", "update-environment", "allow-prereleases",
    }
)  # fmt: skip
_SETUP_NODE = frozenset(
    {
        "node-version", "node-version-file", "architecture", "check-latest", "registry-url",
        "scope", "token", "cache", "cache-dependency-path",
    }
)  # fmt: skip
_SETUP_UV = frozenset(
    {
        "version", "enable-cache", "cache-dependency-glob", "cache-suffix", "cache-local-path",
        "github-token", "checksum",
    }
)  # fmt: skip
_CACHE = frozenset(
    {"path", "key", "restore-keys", "upload-chunk-size", "enableCrossOsArchive",
     "fail-on-cache-miss", "lookup-only"}
)  # fmt: skip

ACTION_INPUTS: dict[tuple[str, int], frozenset[str]] = {
    ("actions/setup-python", 4): _SETUP_PYTHON,
    ("actions/setup-python", 5): _SETUP_PYTHON | {"freethreaded"},
    ("actions/setup-python", 6): _SETUP_PYTHON | {"freethreaded", "pip-version", "pip-install"},
    ("actions/setup-node", 3): _SETUP_NODE | {"always-auth"},
    ("actions/setup-node", 4): _SETUP_NODE | {"always-auth", "mirror", "mirror-token"},
    ("actions/setup-node", 5): _SETUP_NODE | {"mirror", "mirror-token", "package-manager-cache"},
    ("actions/setup-node", 6): _SETUP_NODE | {"mirror", "mirror-token", "package-manager-cache"},
    **{("astral-sh/setup-uv", major): _SETUP_UV for major in range(1, 8)},
    ("actions/cache", 3): _CACHE,
    ("actions/cache", 4): _CACHE,
}
"""``(action, major) → inputs``. An action/major not listed gets no edit (advice only)."""


def accepts(action: str, major: int | None, inputs: set[str] | frozenset[str]) -> bool:
    """True when ``action`` at ``major`` has every one of ``inputs``."""
    if major is None:
        return False
    known = ACTION_INPUTS.get((action.lower(), major))
    return known is not None and set(inputs) <= known

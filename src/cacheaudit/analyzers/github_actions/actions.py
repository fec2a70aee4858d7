"""What cacheaudit knows about GitHub Actions: one table of actions, their cache inputs, defaults
by major version and broken versions, plus where each tool keeps its cache on a runner.

Read by the modules of this package; keep facts here, not in the rules. Sources: the actions'
``action.yml`` and docs (setup-python ``docs/advanced-usage.md`` and ``src/cache-distributions``,
setup-node v5/v6 release notes and ``src/main.ts``, setup-uv ``docs/caching.md``, actions/cache
release notes of v3.4.0/v4.2.0), zizmor's ``cache-poisoning`` audit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cacheaudit.installs import CACHE_FACTS

# --- refs and versions ------------------------------------------------------------------------

_SHA = re.compile(r"[0-9a-f]{40}")
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_COMMENT_VERSION = re.compile(r"(?:^|[\s=@:])v?(\d+)\.(\d+)\.(\d+)\b")


@dataclass(frozen=True)
class Ref:
    """What an ``@ref`` says about the version it runs."""

    kind: str
    """``sha``, ``major`` (a floating ``v4``), ``minor`` (``v4.1``), ``exact`` (``v4.1.2``) or
    ``other`` (a branch such as ``main`` or ``release/v1``)."""
    version: tuple[int, ...] = ()


def parse_ref(ref: str, comment: str = "") -> Ref:
    """Classify a ref; a SHA with a trailing ``# v4.2.0`` comment counts as that exact version."""
    ref = ref.strip()
    if _SHA.fullmatch(ref.lower()):
        named = _COMMENT_VERSION.search(comment)
        if named:
            return Ref("exact", tuple(int(g) for g in named.groups()))
        return Ref("sha")
    m = _VERSION.fullmatch(ref)
    if not m:
        return Ref("other")
    parts = tuple(int(g) for g in m.groups() if g is not None)
    return Ref({1: "major", 2: "minor", 3: "exact"}[len(parts)], parts)


@dataclass(frozen=True)
class VersionFloor:
    """Which versions still work with the cache service introduced in 2025-02."""

    floating_fine_from: int
    """Floating major tags from this major up were moved to a fixed release."""
    min_by_major: tuple[tuple[int, tuple[int, int, int]], ...]
    """Per major: the first release that works; exact pins below it fail."""
    fine_from_major: int
    """Every release of this major and later works."""
    only_with_cache: bool
    """Only a problem when the action's caching is turned on."""
    fixed: str
    """What to pin instead, as shown in the fix."""

    def broken(self, ref: Ref) -> bool | None:
        """True/False when the ref's version is known to fail/work; None when it cannot be
        told offline (a SHA without a version comment)."""
        if ref.kind == "sha":
            return None
        if ref.kind == "other" or not ref.version:
            return False
        major = ref.version[0]
        if ref.kind == "major":
            return major < self.floating_fine_from
        if major >= self.fine_from_major:
            return False
        floors = dict(self.min_by_major)
        if major not in floors:
            return True
        # A floating minor tag (v4.1) moves within its minor only: judge its last patch.
        version = ref.version if ref.kind == "exact" else (*ref.version, 10**6)
        return version < floors[major]


# --- the action table -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One action cacheaudit understands."""

    kind: str
    """What the analyzer does with it: ``setup-python``, ``setup-node``, ``setup-uv``,
    ``setup-pdm``, ``cache`` (actions/cache and drop-ins), ``cache-restore``, ``cache-save``,
    ``pre-commit``, ``micromamba``, ``checkout``, ``download-artifact``, ``docker-build``,
    ``buildx``, ``remote-builder``, ``publisher``, ``other-cache`` (caches of other ecosystems,
    only relevant to CA110/CA112), ``apt-cache``."""
    floor: VersionFloor | None = None
    cache_input: str | None = None
    """The input that turns caching on (``cache``, ``enable-cache``...)."""
    cache_default_on_from: int | None = None
    """Caching is on by default from this major version (None: off unless asked)."""
    opt_out_input: str | None = None
    """An input that turns caching off when true (``lookup-only``, ``no-cache``)."""
    covers: tuple[str, ...] = ()
    """The download caches it restores when caching is on, by tool (``pip``, ``uv``...); for
    setup-python/setup-node the ``cache:`` value decides, for actions/cache its ``path``."""


_CACHE_FLOOR = VersionFloor(3, ((3, (3, 4, 0)), (4, (4, 2, 0))), 5, False, "actions/cache@v4")

KNOWN_ACTIONS: dict[str, ActionSpec] = {
    "actions/cache": ActionSpec("cache", _CACHE_FLOOR, opt_out_input="lookup-only"),
    "actions/cache/restore": ActionSpec("cache-restore", _CACHE_FLOOR, opt_out_input="lookup-only"),
    "actions/cache/save": ActionSpec("cache-save", _CACHE_FLOOR),
    # The new cache client was also released on older majors (setup-python v4.9.0, PR #1073;
    # setup-node v3.9.0, PR #1270) and their floating tags moved there; earlier pins fail.
    "actions/setup-python": ActionSpec(
        "setup-python",
        VersionFloor(4, ((4, (4, 9, 0)), (5, (5, 4, 0))), 6, True, "actions/setup-python@v5"),
        cache_input="cache",
        covers=("pip", "pipenv", "poetry"),
    ),
    "actions/setup-node": ActionSpec(
        "setup-node",
        VersionFloor(3, ((3, (3, 9, 0)), (4, (4, 2, 0))), 5, True, "actions/setup-node@v4"),
        cache_input="cache",
        covers=("npm", "yarn", "pnpm"),
    ),
    # Forks of setup-python/setup-node/cache that take the same inputs (their own cache backend).
    "buildjet/setup-python": ActionSpec(
        "setup-python", cache_input="cache", covers=("pip", "pipenv", "poetry")
    ),
    "buildjet/setup-node": ActionSpec(
        "setup-node", cache_input="cache", covers=("npm", "yarn", "pnpm")
    ),
    "buildjet/cache": ActionSpec("cache", opt_out_input="lookup-only"),
    "astral-sh/setup-uv": ActionSpec(
        "setup-uv", cache_input="enable-cache", cache_default_on_from=5, covers=("uv",)
    ),
    "hynek/setup-cached-uv": ActionSpec("setup-uv", cache_default_on_from=1, covers=("uv",)),
    "pdm-project/setup-pdm": ActionSpec("setup-pdm", cache_input="cache", covers=("pdm",)),
    "pre-commit/action": ActionSpec("pre-commit", cache_default_on_from=1, covers=("pre-commit",)),
    "mamba-org/setup-micromamba": ActionSpec(
        "micromamba", cache_input="cache-downloads", covers=("conda",)
    ),
    "actions/checkout": ActionSpec("checkout"),
    "actions/download-artifact": ActionSpec("download-artifact"),
    "docker/build-push-action": ActionSpec("docker-build"),
    "docker/setup-buildx-action": ActionSpec("buildx"),
    "depot/build-push-action": ActionSpec("remote-builder"),
    "depot/setup-action": ActionSpec("remote-builder"),
    "useblacksmith/build-push-action": ActionSpec("remote-builder"),
    "useblacksmith/setup-docker-builder": ActionSpec("remote-builder"),
    "namespacelabs/nscloud-setup-buildx-action": ActionSpec("remote-builder"),
    "awalsh128/cache-apt-pkgs-action": ActionSpec(
        "apt-cache", cache_default_on_from=0, covers=("apt",)
    ),
    # Caches of other ecosystems: they matter to cache poisoning (CA110) and PR-only caches.
    "actions/setup-go": ActionSpec("other-cache", cache_input="cache", cache_default_on_from=4),
    "actions/setup-java": ActionSpec("other-cache", cache_input="cache"),
    "actions/setup-dotnet": ActionSpec("other-cache", cache_input="cache"),
    "ruby/setup-ruby": ActionSpec("other-cache", cache_input="bundler-cache"),
    "swatinem/rust-cache": ActionSpec(
        "other-cache", cache_default_on_from=0, opt_out_input="lookup-only"
    ),
    "oven-sh/setup-bun": ActionSpec(
        "other-cache", cache_default_on_from=0, opt_out_input="no-cache"
    ),
    "gradle/actions/setup-gradle": ActionSpec(
        "other-cache", cache_default_on_from=0, opt_out_input="cache-disabled"
    ),
    "actions-rust-lang/setup-rust-toolchain": ActionSpec(
        "other-cache", cache_input="cache", cache_default_on_from=0
    ),
    "jdx/mise-action": ActionSpec("other-cache", cache_input="cache", cache_default_on_from=0),
}
"""Keyed by lower-case ``owner/repo[/path]``. The only actions that count as a cache for an
install: an action not listed here covers nothing, however it is named (RULES CA101)."""

DOCKER_LAYER_CACHE_ACTIONS: frozenset[str] = frozenset({
    "satackey/action-docker-layer-caching", "jpribyl/action-docker-layer-caching",
})  # fmt: skip
"""Actions that save and restore the Docker engine's layers between runs, so `docker build` and
`docker compose build` in later `run:` steps reuse them (CA111 stays silent)."""

OTHER_CACHE_WHAT: dict[str, str] = {
    "oven-sh/setup-bun": "its cache of the bun executable (oven-sh/setup-bun; `no-cache: true` "
    "turns it off)",
}
"""How to name what an action of another ecosystem caches, where "the cache of ..." would
mislead (setup-bun caches the executable, not installs; zizmor counts it as cache-aware)."""

PUBLISHER_ACTIONS: frozenset[str] = frozenset({
    "pypa/gh-action-pypi-publish", "softprops/action-gh-release", "ncipollo/release-action",
    "svenstaro/upload-release-action", "actions/upload-release-asset",
    "goreleaser/goreleaser-action", "rubygems/release-gem", "redhat-actions/push-to-registry",
    "js-devtools/npm-publish", "jreleaser/release-action",
})  # fmt: skip
"""Actions that publish what the job built (docker/build-push-action counts with ``push``)."""

PUBLISH_COMMANDS: frozenset[tuple[str, ...]] = frozenset({
    ("twine", "upload"), ("uv", "publish"), ("poetry", "publish"), ("flit", "publish"),
    ("hatch", "publish"), ("pdm", "publish"), ("npm", "publish"), ("pnpm", "publish"),
    ("yarn", "publish"), ("yarn", "npm", "publish"), ("bun", "publish"),
    ("npm", "stage", "publish"),
    ("gh", "release", "create"), ("gh", "release", "upload"), ("docker", "push"),
    ("docker", "image", "push"), ("podman", "push"), ("cargo", "publish"), ("gem", "push"),
    ("semantic-release",), ("changeset", "publish"), ("lerna", "publish"),
    ("pkg-pr-new", "publish"), ("maturin", "publish"),
})  # fmt: skip
"""Commands in ``run:`` that publish what the job built, as their words without options
(``docker build --push`` and ``git push --tags`` too). Also matched behind the launchers of
:data:`PUBLISH_LAUNCHERS` (``npx semantic-release``, ``python -m twine upload``, ``pnpm changeset
publish``, ``uv run twine upload``); a ``--dry-run`` publishes nothing."""

PREVIEW_PUBLISH_COMMANDS: frozenset[tuple[str, ...]] = frozenset({("pkg-pr-new", "publish")})
"""Publishes of preview builds (pkg.pr.new), run for pull requests too: the job is still a
publishing job (its installs are not CA101's business), but not a privileged release whose
caches CA110 guards."""

PUBLISH_LAUNCHERS: frozenset[str] = frozenset({
    "npx", "bunx", "pnpx", "uvx", "npm", "pnpm", "yarn", "bun", "uv", "pipx", "poetry", "pdm",
    "hatch", "exec", "dlx", "x", "run", "tool", "python", "python3",
})  # fmt: skip
"""Words that may stand before a publishing command and run it (``npx``, ``npm exec``,
``pnpm dlx``, ``uv tool run``, ``python -m``)."""

RELEASE_VERBS = ("release", "publish", "deploy", "upload", "push")
"""A step or job whose name starts with one of these (``Publish to PyPI``, ``deploy-docs``)
releases something; names that merely contain them (``Get release version``,
``prepare-release``) do not."""

# --- setup-python / setup-node / setup-uv facts ------------------------------------------------

SETUP_PYTHON_DEFAULT_GLOBS: dict[str, tuple[str, ...]] = {
    "pip": ("**/requirements.txt",),
    "pipenv": ("**/Pipfile.lock",),
    "poetry": ("**/poetry.lock",),
}
SETUP_PYTHON_PIP_FALLBACK = "**/pyproject.toml"
"""pip mode hashes ``**/pyproject.toml`` when its dependency path matches nothing."""

SETUP_PYTHON_COVERS: dict[str, frozenset[str]] = {
    "pip": frozenset({"pip"}),
    "pipenv": frozenset({"pipenv"}),
    "poetry": frozenset({"poetry"}),
}
"""Which installs (by tool or cache tool) each ``cache:`` value caches."""

SETUP_NODE_LOCKFILES: dict[str, tuple[str, ...]] = {
    "npm": ("package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("yarn.lock",),
    "pnpm": ("pnpm-lock.yaml",),
}
"""Lock files setup-node looks for at the workspace root when no cache-dependency-path is set."""

SETUP_NODE_AUTO_MANAGERS: dict[int, frozenset[str]] = {
    5: frozenset({"npm", "yarn", "pnpm"}),
    6: frozenset({"npm"}),
}
"""setup-node caches by itself when root package.json names a package manager: any in v5, only
npm from v6 on (the highest listed major applies to later ones)."""

SETUP_UV_DEFAULT_GLOBS: tuple[str, ...] = (
    "**/*requirements*.txt", "**/*requirements*.in", "**/*constraints*.txt",
    "**/*constraints*.in", "**/pyproject.toml", "**/uv.lock", "**/*.py.lock",
)  # fmt: skip

# --- where tools keep their caches on a runner ------------------------------------------------

TOOL_CACHE_DIRS: dict[str, tuple[str, ...]] = {
    "pip": ("~/.cache/pip", "~/Library/Caches/pip", "~/AppData/Local/pip/Cache"),
    "uv": ("~/.cache/uv", "~/AppData/Local/uv/cache", "/tmp/setup-uv-cache"),
    "poetry": ("~/.cache/pypoetry", "~/Library/Caches/pypoetry", "~/AppData/Local/pypoetry/Cache"),
    "pipenv": ("~/.local/share/virtualenvs",),
    "pdm": ("~/.cache/pdm", "~/Library/Caches/pdm"),
    "npm": ("~/.npm", "~/AppData/npm-cache", "~/AppData/Local/npm-cache",
            "~/AppData/Roaming/npm-cache"),
    "yarn": ("~/.cache/yarn", "~/Library/Caches/Yarn", "~/AppData/Local/Yarn/Cache",
             ".yarn/cache", "~/.yarn/berry/cache"),
    "pnpm": ("~/.local/share/pnpm/store", "~/.pnpm-store", "~/Library/pnpm/store",
             "~/AppData/Local/pnpm/store"),
    "pre-commit": ("~/.cache/pre-commit",),
    "tox": (".tox",),
    "nox": (".nox",),
    "hatch": ("~/.local/share/hatch",),
    "apt": ("/var/cache/apt", "/var/cache/apt/archives"),
    # setup-bun caches only the bun executable, never this directory.
    "bun": ("~/.bun/install/cache",),
}  # fmt: skip
"""Default cache locations (``~`` is the runner user's home); a cached parent covers them."""

CACHE_DIR_ENV: dict[str, tuple[str, ...]] = {
    tool: facts.dir_envs for tool, facts in CACHE_FACTS.items() if facts.dir_envs
}
"""Env vars that move a tool's cache (from the shared installer facts)."""

CACHE_DIR_OPTIONS: dict[str, tuple[str, ...]] = {
    tool: facts.dir_options for tool, facts in CACHE_FACTS.items() if facts.dir_options
}
"""Install options that move the cache for that one command."""

PYTHON_ENV_NAMES = frozenset({".venv", "venv", "site-packages", "virtualenvs"})
"""Directory names that are installed Python environments, not download caches."""
PYTHON_ENV_TOOLS = frozenset({"pip", "uv", "poetry", "pipenv", "pdm", "hatch"})
"""Installs a restored Python environment makes (nearly) free."""
NODE_ENV_NAMES = frozenset({"node_modules"})
NODE_TOOLS = frozenset({"npm", "yarn", "pnpm"})
"""Package managers setup-node's ``cache:`` input takes."""
NODE_ENV_TOOLS = NODE_TOOLS | {"bun"}
"""Installs a restored ``node_modules`` makes (nearly) free; ``-g`` installs of them are
bootstraps."""

CA101_TOOLS = frozenset({
    "pip", "uv", "poetry", "pipenv", "pdm", "npm", "yarn", "pnpm", "bun", "tox", "nox", "hatch",
    "pre-commit",
})  # fmt: skip
"""Installs CA101 reports. conda's package cache location depends on how conda was set up
(setup-miniconda's ``pkgs-dirs``, micromamba's root): not modelled; apt is CA114's business."""

# --- runners ----------------------------------------------------------------------------------

GITHUB_HOSTED = re.compile(r"(ubuntu|windows|macos)-[\w.-]+", re.I)
EPHEMERAL_THIRD_PARTY = re.compile(
    r"(blacksmith|buildjet|depot|namespace-profile|warp|ubicloud|runs-on)[\w=,./-]*", re.I
)
"""Third-party hosted runners: fresh machines each job, so caching matters as on GitHub's."""

RUNNER_CONFIG_FILES: dict[str, tuple[str, ...]] = {
    "tox": ("tox.ini", "tox.toml"),
    "nox": ("noxfile.py",),
    "pre-commit": (".pre-commit-config.yaml",),
    "hatch": ("hatch.toml", "pyproject.toml"),
}
"""Files that decide what an environment runner installs: what its cache key should hash."""

CACHE_DIR_COMMANDS: dict[tuple[str, ...], str] = {
    ("pip", "cache", "dir"): "pip", ("pip3", "cache", "dir"): "pip",
    ("python", "-m", "pip", "cache", "dir"): "pip", ("python3", "-m", "pip", "cache", "dir"): "pip",
    ("yarn", "cache", "dir"): "yarn", ("yarn", "config", "get", "cacheFolder"): "yarn",
    ("npm", "config", "get", "cache"): "npm", ("pnpm", "store", "path"): "pnpm",
    ("uv", "cache", "dir"): "uv", ("poetry", "config", "cache-dir"): "poetry",
    ("pdm", "config", "cache_dir"): "pdm", ("bun", "pm", "cache"): "bun",
}  # fmt: skip
"""Commands that print a tool's cache directory: the documented idiom writes their output to
``$GITHUB_OUTPUT`` (or ``::set-output``) and caches ``steps.<id>.outputs.<name>``."""

RUNNER_HOMES: tuple[str, ...] = (
    "$HOME", "${HOME}", "%USERPROFILE%", "$env:USERPROFILE", "/home/runner", "/Users/runner",
    "C:/Users/runneradmin", "/github/home",
)  # fmt: skip
"""Ways a cache path spells the runner user's home (``/github/home`` in container jobs)."""

# --- action inputs, by major version ------------------------------------------------------------

ACTION_INPUTS: dict[str, tuple[tuple[int, frozenset[str]], ...]] = {
    "actions/setup-python": (
        (1, frozenset({"python-version", "architecture", "token"})),
        (3, frozenset({"cache", "cache-dependency-path", "check-latest", "python-version-file"})),
        (4, frozenset({"update-environment", "allow-prereleases"})),
        (5, frozenset({"freethreaded"})),
        (6, frozenset({"pip-version", "pip-install"})),
    ),
    "actions/setup-node": (
        (1, frozenset({"node-version", "registry-url", "scope", "always-auth", "token"})),
        (2, frozenset({"architecture", "check-latest", "cache", "cache-dependency-path"})),
        (3, frozenset({"node-version-file"})),
        (4, frozenset({"mirror", "mirror-token"})),
        (5, frozenset({"package-manager-cache"})),
        (6, frozenset()),
    ),
    "astral-sh/setup-uv": (
        (1, frozenset({"version", "checksum", "github-token", "enable-cache",
                       "cache-dependency-glob", "cache-suffix", "cache-local-path"})),
        (3, frozenset({"python-version", "working-directory", "prune-cache",
                       "ignore-nothing-to-cache", "tool-dir", "tool-bin-dir"})),
        (5, frozenset({"ignore-empty-workdir", "version-file", "server-url"})),
        (6, frozenset({"activate-environment", "cache-python", "restore-cache", "save-cache",
                       "manifest-file", "add-problem-matchers", "resolution-strategy",
                       "venv-path"})),
        (7, frozenset()),
    ),
    "actions/cache": (
        (1, frozenset({"path", "key", "restore-keys"})),
        (3, frozenset({"upload-chunk-size", "enableCrossOsArchive", "fail-on-cache-miss",
                       "lookup-only"})),
        (4, frozenset({"save-always"})),
    ),
    "actions/cache/restore": (
        (3, frozenset({"path", "key", "restore-keys", "enableCrossOsArchive",
                       "fail-on-cache-miss", "lookup-only"})),
    ),
    "actions/cache/save": (
        (3, frozenset({"path", "key", "upload-chunk-size", "enableCrossOsArchive"})),
    ),
    "actions/setup-java": (
        (1, frozenset({"java-version", "java-package", "architecture", "jdkFile", "server-id",
                       "server-username", "server-password", "settings-path", "gpg-private-key",
                       "gpg-passphrase"})),
        (2, frozenset({"distribution", "check-latest", "overwrite-settings", "cache",
                       "job-status", "token"})),
        (3, frozenset({"java-version-file", "mvn-toolchain-id", "mvn-toolchain-vendor"})),
        (4, frozenset({"cache-dependency-path"})),
    ),
    "pdm-project/setup-pdm": (
        (3, frozenset({"python-version", "architecture", "version", "prerelease",
                       "enable-pep582", "allow-python-prereleases", "update-python", "cache",
                       "cache-dependency-path"})),
    ),
    "docker/build-push-action": (
        (2, frozenset({"add-hosts", "allow", "build-args", "builder", "cache-from", "cache-to",
                       "cgroup-parent", "context", "file", "labels", "load", "network",
                       "no-cache", "outputs", "platforms", "pull", "push", "secrets",
                       "secret-files", "shm-size", "ssh", "tags", "target", "ulimit",
                       "github-token"})),
        (4, frozenset({"attests", "build-contexts", "no-cache-filters", "provenance", "sbom"})),
        (5, frozenset({"annotations", "secret-envs"})),
        (6, frozenset({"call"})),
    ),
    "docker/setup-buildx-action": (
        (1, frozenset({"version", "driver", "driver-opts", "buildkitd-flags", "install", "use",
                       "endpoint", "config", "config-inline"})),
        (2, frozenset({"platforms", "append", "cleanup", "name", "buildkitd-config",
                       "buildkitd-config-inline", "keep-state", "cache-binary"})),
    ),
}  # fmt: skip
"""Inputs each action takes, by the major version that introduced them (from the actions'
``action.yml``): every fix that writes a ``with:`` input writes only inputs listed here for the
action and major version it edits. An entry with no inputs records a major that added none:
the last entry is the newest major known, and ``cacheaudit fix`` edits no later one."""


def action_inputs(action: str, major: int | None) -> frozenset[str] | None:
    """The inputs ``action`` takes at ``major`` (every major when None); None when the action
    is not in the table."""
    table = ACTION_INPUTS.get(action.lower())
    if table is None:
        return None
    return frozenset().union(
        *(inputs for since, inputs in table if major is None or since <= major)
    )


DEPENDENCY_PATH_INPUT: dict[str, str] = {
    "actions/setup-python": "cache-dependency-path",
    "actions/setup-node": "cache-dependency-path",
    "actions/setup-java": "cache-dependency-path",
    "pdm-project/setup-pdm": "cache-dependency-path",
    "astral-sh/setup-uv": "cache-dependency-glob",
}
"""The input that names the files a setup action's cache key hashes (setup-uv's differs)."""

# --- installs that are not the dependency set ---------------------------------------------------

BOOTSTRAP_PACKAGES = frozenset({
    "pip", "setuptools", "wheel", "build", "twine", "uv", "poetry", "pipenv", "pdm", "hatch",
    "tox", "nox", "virtualenv", "pipx", "pre-commit", "cibuildwheel", "tox-uv", "tox-gh-actions",
    "tox-gh", "nox-uv", "nox-poetry", "poetry-plugin-export", "poetry-dynamic-versioning",
    "hatch-vcs", "setuptools-scm", "setuptools_scm", "flit", "maturin", "npm", "yarn", "pnpm",
    "corepack",
})  # fmt: skip
"""Installers and build tools: installing one of them (``pip install -U pip build``, ``npm i
-g pnpm``) bootstraps the install that follows; CA101 points at that install, and a job that
only bootstraps is not told to cache."""

CACHE_CLEAN_COMMANDS: dict[tuple[str, ...], str] = {
    ("npm", "cache", "clean"): "npm", ("npm", "cache", "clear"): "npm",
    ("pip", "cache", "purge"): "pip", ("pip3", "cache", "purge"): "pip",
    ("pip", "cache", "remove"): "pip", ("pip3", "cache", "remove"): "pip",
    ("uv", "cache", "clean"): "uv", ("yarn", "cache", "clean"): "yarn",
    ("poetry", "cache", "clear"): "poetry", ("pnpm", "store", "clear"): "pnpm",
}  # fmt: skip
"""Commands that empty a tool's download cache (``uv cache prune``, which keeps what is in use,
is the documented CI idiom and not listed)."""

"""Simple commands → recognised dependency installs, with per-tool option tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeAlias

from cacheaudit.parsing.shell.args import _Args, _spec, _walk
from cacheaudit.parsing.shell.commands import Command


@dataclass(frozen=True)
class InstallCommand:
    """A command that installs dependencies, with what matters for caching."""

    tool: str
    """pip | uv | poetry | pipenv | pdm | conda | mamba | micromamba | npm | yarn | pnpm | bun |
    apt | apk | tox | nox | hatch | pre-commit."""
    action: str
    """The subcommand as normalised: ``install``, ``sync``, ``ci``, ``add`` (apk, pnpm, yarn,
    bun), ``wheel`` / ``download`` (pip), ``workspaces focus`` (yarn), ``pip install``
    / ``pip sync`` / ``tool install`` (uv), ``create`` / ``env create`` / ``env update`` (conda),
    ``fetch`` (pnpm), ``update`` (``apt-get update``, ``apk update``: index refreshes, recorded so
    analyzers can see them), ``run`` / ``test`` / ``env create`` / ``install-hooks`` for the
    environment runners."""
    command: Command
    options: tuple[str, ...]
    """Options as written, without their values (``-r``, ``--requirement``); long pip option
    prefixes expanded (``--no-cache`` → ``--no-cache-dir``); short clusters split (``-Ur`` →
    ``-U``, ``-r``)."""
    no_cache: bool
    """The tool's cache is disabled by a flag or an inline env var (``--no-cache-dir``,
    ``PIP_NO_CACHE_DIR=<any>``, ``uv --no-cache``, ``UV_NO_CACHE``, ``apk --no-cache``...)."""
    requirement_files: tuple[str, ...] = ()
    """``-r``/``--requirement`` files (pip, uv pip), in order; also ``uv pip sync`` operands,
    ``uv tool install --with-requirements``, ``pipenv install -r``, conda ``--file``/``-f``."""
    constraint_files: tuple[str, ...] = ()
    """``-c``/``--constraint`` files."""
    packages: tuple[str, ...] = ()
    """Registry requirements named on the command line (``requests==2.31``, ``pip``); VCS and
    URL requirements (``git+https://...``, ``name @ url``) count as packages."""
    local_targets: tuple[str, ...] = ()
    """Local paths and archives (``.``, ``-e .``'s ``.``, ``./pkg``, ``/wheels/*.whl``)."""
    groups: tuple[str, ...] = ()
    """Dependency groups asked for: pip/uv ``--group``, uv ``--only-group``, poetry
    ``--with``/``--only``, pdm ``-G``/``--group`` (values as written, e.g. ``dev,test``)."""
    option_values: tuple[tuple[str, str], ...] = ()
    """``(option, value)`` for options given a value, in order: ``("--index-url", URL)``,
    ``("--cache", ".npm")``, ``("-r", "requirements.txt")``."""
    backend: str = ""
    """For the environment runners (tox, nox): ``uv`` when the command line says they install
    with uv (nox ``--default-venv-backend uv``/``-db uv``, ``NOX_DEFAULT_VENV_BACKEND=uv``, tox
    ``--runner uv-venv-runner``, ``uvx --with tox-uv tox``); ``pip`` when it names another
    backend (``--force-venv-backend virtualenv``); ``""`` when it says nothing (pip, unless the
    repository's configuration says otherwise). A
    repository's own configuration (``requires = tox-uv``) is read by
    :func:`cacheaudit.analyzers.scripts.runner_backend`."""

    @property
    def line(self) -> int:
        return self.command.line

    @property
    def cache_tool(self) -> str:
        """Whose download cache this install fills: ``pip`` for pip/pipenv/tox/nox/hatch/
        pre-commit (``uv`` for a runner whose ``backend`` is uv), ``conda`` for
        mamba/micromamba, otherwise the tool itself."""
        if self.backend == "uv" and self.tool in _RUNNERS:
            return "uv"
        return _CACHE_TOOL.get(self.tool, self.tool)

    @property
    def bootstrap(self) -> bool:
        """Installs the installer or one tool, not a project's dependencies: ``pip install -U
        pip``, ``pip install --upgrade pip setuptools wheel``, ``pip install uv``, a global
        install of one package (``npm i -g yarn``, ``npm install -g npm@10``, ``pnpm add -g
        pnpm``, ``yarn global add x``). Analyzers do not point CA101/CA201 at these; they are
        also not counted by :attr:`downloads_from_registry`."""
        if self.tool in ("pip", "uv") and self.action in ("install", "pip install"):
            if self.requirement_files or self.groups or self.local_targets:
                return False
            if "xargs" in self.command.wrappers or not self.packages:
                return False
            return all(_bare_name(p) in _BOOTSTRAP for p in self.packages)
        if self.tool in _NODE_TOOLS and self.global_install and self.packages:
            names = {_npm_name(p) for p in self.packages}
            return len(self.packages) == 1 or names <= _NODE_TOOLS | {"corepack"}
        return False

    @property
    def global_install(self) -> bool:
        """npm/pnpm/bun ``-g``/``--global``/``--location=global``, ``yarn global add``."""
        if self.tool not in _NODE_TOOLS:
            return False
        if {"-g", "--global"} & set(self.options) or self.action == "global add":
            return True
        return ("--location", "global") in self.option_values

    @property
    def downloads_from_registry(self) -> bool:
        """Whether the install is a registry download worth caching. False for bootstraps
        (:attr:`bootstrap`), local wheel/sdist files and globs only (``pip install
        /wheels/*``, ``pip install dist/*.whl``), ``--no-index``/``--offline`` installs, a
        wheelhouse install (``pip install --find-links /wheels -r requirements.txt``: the
        builder stage downloaded them), and ``apt-get update``; True otherwise (``pip install
        .`` counts as True: the analyzer decides with the repository whether the project has
        dependencies)."""
        if self.action == "update" or self.bootstrap:
            return False
        if ("--no-index" in self.options or "--offline" in self.options) and not any(
            "://" in p or "@" in p for p in self.packages
        ):
            return False
        if self.tool not in ("pip", "uv") or self.action not in _PIP_DOWNLOADS:
            return True
        if self._local_wheelhouse() and not self.packages:
            return False
        if "xargs" in self.command.wrappers or self.requirement_files or self.groups:
            return True  # requirements come from a file or stdin
        if any(_bare_name(p) not in _BOOTSTRAP for p in self.packages):
            return True
        return any(not _local_archive(t) for t in self.local_targets)

    def _local_wheelhouse(self) -> bool:
        """``--find-links`` to a local directory, as a final image stage installs the wheels
        a builder stage made (pip takes a local candidate before an equal one from the index)."""
        if self.tool != "pip" or self.action != "install":
            return False
        links = [v for o, v in self.option_values if o in ("-f", "--find-links")]
        return bool(links) and all(
            v.startswith(("/", "./", "../", "file:")) and "://" not in v.removeprefix("file:")
            for v in links
        )


def find_installs(commands: list[Command]) -> list[InstallCommand]:
    """The dependency installs among ``commands``, in order."""
    found = (_recognise(c) for c in commands)
    return [i for i in found if i is not None]


# fmt: off
_PIP = _spec("rcetifCwd", (
    "--abi --all-releases --build-constraint --cache-dir --cert --client-cert --config-settings "
    "--constraint --default-timeout --editable --exists-action --extra-index-url --find-links "
    "--group --implementation --index-url --keyring-provider --local-log --log --log-file "
    "--no-binary --only-binary --only-final --platform --prefix --progress-bar --proxy --pypi-url "
    "--python --python-version --refresh-package --report --requirement --requirements-from-script "
    "--resume-retries --retries --root --root-user-action --source --source-dir --source-directory "
    "--src --target --timeout --trusted-host --upgrade-strategy --uploaded-prior-to "
    "--use-deprecated --use-feature --global-option --install-option --wheel-dir --dest "
    "--build-option"), flags=(
    "--break-system-packages --check-build-dependencies --compile --debug "
    "--disable-pip-version-check --dry-run --force-reinstall --help --ignore-installed "
    "--ignore-requires-python --isolated --no-build-isolation --no-cache-dir --no-clean "
    "--no-color --no-compile --no-dependencies --no-deps --no-index --no-input --no-proxy-env "
    "--no-python-version-warning --no-require-hashes --no-user --no-warn-conflicts "
    "--no-warn-script-location --only-dependencies --only-deps --pre --prefer-binary --quiet "
    "--require-hashes --require-venv --require-virtualenv --upgrade --use-pep517 --user --verbose "
    "--no-use-pep517 --version"))
_UV = _spec("rcepifCPbw", (
    "--requirements --requirement --constraints --constraint --overrides --override --excludes "
    "--build-constraints --editable --extra --group --only-group --no-group --index "
    "--default-index --index-url --extra-index-url --find-links --upgrade-package "
    "--reinstall-package --no-build-isolation-package --index-strategy --keyring-provider "
    "--resolution --prerelease --fork-strategy --exclude-newer --link-mode --config-setting "
    "--python --target --prefix "
    "--no-binary --only-binary --python-version --python-platform --torch-backend "
    "--refresh-package --cache-dir --color --directory --project --config-file "
    "--allow-insecure-host --trusted-host --package --no-install-package --with "
    "--with-requirements --with-editable --from --script"))
_TOOL_SPECS = {
    "poetry": _spec("CPE", "--directory --project --with --without --only --extras"),
    "pipenv": _spec("re", (
        "--python --requirements --categories --pypi-mirror --extra-pip-args --editable")),
    "pdm": _spec("GLpk", "--group --lockfile --project --skip --venv --without"),
    "conda": _spec("npcf", "--name --prefix --channel --file --solver --repodata-fn"),
    "npm": _spec("Cw", (
        "--prefix --cache --registry --workspace --omit --include --loglevel --tag --userconfig "
        "--globalconfig --before --install-strategy --location --fetch-retries --fetch-timeout")),
    "yarn": _spec("", (
        "--cwd --modules-folder --cache-folder --mutex --network-timeout --registry "
        "--network-concurrency --link-folder --global-folder --preferred-cache-folder")),
    "pnpm": _spec("CF", (
        "--dir --filter --store-dir --reporter --loglevel --virtual-store-dir --modules-dir")),
    "bun": _spec("c", (
        "--config --cwd --cache-dir --registry --backend --filter --network-concurrency "
        "--concurrent-scripts --omit --linker --cpu --os")),
    "apt": _spec("otc", "--option --target-release --default-release --config-file"),
    "apk": _spec("tXp", (
        "--virtual --repository --root --arch --keys-dir --repositories-file --cache-dir "
        "--cache-max-age --timeout")),
    "tox": _spec("ecmfx", (
        "--conf --root --workdir --override --installpkg --hashseed --runner --skip-env")),
    "nox": _spec("sepktf", (
        "--session --sessions --python --pythons --keywords --tags --noxfile --envdir "
        "--default-venv-backend --force-venv-backend")),
    "hatch": _spec("ep", "--env --project --data-dir --cache-dir --config --color"),
    "pre-commit": _spec("ct", (
        "--config --hook-stage --from-ref --to-ref --hook-type --source --origin")),
}
# Options that make a bare runner invocation print something instead of installing.
_INFO = {
    "yarn": {"-h", "--help", "-v", "--version"},
    "tox": {"-h", "--help", "--version", "-l", "-a", "--listenvs", "--listenvs-all",
            "--showconfig"},
    "nox": {"-h", "--help", "--version", "-l", "--list", "--list-sessions", "--usage"},
    "hatch": {"-h", "--help", "--version"},
    "pre-commit": {"-h", "--help", "-V", "--version"},
}
_NPM_ACTIONS = {
    **dict.fromkeys(("install", "add", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta",
                     "isntal", "isntall", "install-test", "it"), "install"),
    **dict.fromkeys(("ci", "clean-install", "ic", "install-clean", "isntall-clean",
                     "install-ci-test", "cit"), "ci"),
}
_TOX_ACTIONS = {"run": "run", "r": "run", "run-parallel": "run-parallel", "p": "run-parallel",
                "exec": "exec", "e": "exec", "devenv": "devenv", "d": "devenv",
                "legacy": "legacy", "le": "legacy"}
_TOX_OTHER = frozenset({"list", "l", "config", "c", "depends", "de", "quickstart", "q", "schema"})
# `python -m MODULE` → the program it stands for.
_MODULES = {"pip": "pip", "uv": "uv", "pipenv": "pipenv", "poetry": "poetry", "pdm": "pdm",
            "tox": "tox", "nox": "nox", "hatch": "hatch", "pre_commit": "pre-commit",
            "conda": "conda"}
_CACHE_TOOL = {"pipenv": "pip", "tox": "pip", "nox": "pip", "hatch": "pip", "pre-commit": "pip",
               "mamba": "conda", "micromamba": "conda"}
_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel", "uv"})
"""Python packages whose install alone is installing the installer."""
_NODE_TOOLS = frozenset({"npm", "yarn", "pnpm", "bun"})
_RUNNERS = frozenset({"tox", "nox"})
_PIP_DOWNLOADS = frozenset({"install", "pip install", "wheel", "download"})
_PIP_PROGRAM = re.compile(r"pip(-?[\d.]+)?")
_PYTHON_PROGRAM = re.compile(r"(python|pypy)[\d.]*|py")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|(git|hg|svn|bzr)\+")
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|tar|zip)$", re.I)
_EXTRAS = re.compile(r"\[[^\]]*\]$")
_FALSE = frozenset({"", "0", "false", "no", "off", "n", "f"})  # clap's BoolishValueParser
# fmt: on


def _bare_name(requirement: str) -> str:
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return re.sub(r"[-_.]+", "-", m.group()).lower() if m and not _SCHEME.match(requirement) else ""


def _is_path(arg: str) -> bool:
    return arg.startswith((".", "/", "~", "file:"))


def _is_local_python(arg: str) -> bool:
    """Paths and archives are local; names, ``name @ url``, VCS and remote URLs are not."""
    if arg.startswith("file:"):
        return True
    if _SCHEME.match(arg) or ("@" in arg and not _is_path(arg)):
        return False
    core = _EXTRAS.sub("", arg)  # .[dev]
    return _is_path(core) or bool(_ARCHIVE.search(core)) or "/" in core or "\\" in core


def _npm_name(spec: str) -> str:
    """``yarn@1.22`` → ``yarn``, ``@scope/pkg@2`` → ``@scope/pkg``."""
    head = spec[1:].split("@", 1)[0]
    return (spec[0] + head if spec else "").lower()


def _local_archive(target: str) -> bool:
    """A wheel/sdist file or a glob of them (``/wheels/*``, ``dist/*.whl``): built files, not a
    project directory whose dependencies pip resolves."""
    return bool(_ARCHIVE.search(target)) or "*" in target or "?" in target


def _is_local_npm(arg: str) -> bool:
    return not _SCHEME.match(arg) and (_is_path(arg) or arg.endswith((".tgz", ".tar.gz", ".tar")))


def _is_local_conda(arg: str) -> bool:
    return _is_path(arg) or arg.endswith((".tar.bz2", ".conda"))


def _is_local_deb(arg: str) -> bool:
    return _is_path(arg) or arg.endswith(".deb")


def _is_local_apk(arg: str) -> bool:
    return arg.endswith(".apk") or "/" in arg


def _install(
    tool: str,
    action: str,
    command: Command,
    a: _Args,
    no_cache: bool = False,
    *,
    reqs: Sequence[str] = (),
    targets: Sequence[str] = (),
    groups: Sequence[str] = (),
    is_local: Callable[[str], bool] = _is_local_python,
) -> InstallCommand:
    split: dict[bool, list[str]] = {False: [], True: []}
    for target in targets:
        split[is_local(target)].append(target)
    return InstallCommand(
        tool=tool,
        action=action,
        command=command,
        options=tuple(a.options),
        no_cache=no_cache,
        requirement_files=tuple(reqs),
        constraint_files=tuple(a.get("-c", "--constraint", "--constraints"))
        if tool in ("pip", "uv")
        else (),
        packages=tuple(split[False]),
        local_targets=tuple(split[True]),
        groups=tuple(groups),
        option_values=tuple(a.values),
    )


def _pip_off(command: Command) -> bool:
    # pip reads any value of PIP_NO_CACHE_DIR, even 0 or false, as "disable" (RULES CA104).
    return any(name == "PIP_NO_CACHE_DIR" for name, _ in command.env)


def _pip(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """``pip install``, and ``pip wheel`` / ``pip download``, which fetch the same files
    through the same cache."""
    a = _walk(args, _PIP)
    action = a.operands[0] if a.operands[:1] in (["install"], ["wheel"], ["download"]) else None
    if action is None:
        return None
    no_cache = _pip_off(command) or "--no-cache-dir" in a.options
    targets = a.get("-e", "--editable") + a.operands[1:]
    reqs, groups = a.get("-r", "--requirement"), a.get("--group")
    return _install("pip", action, command, a, no_cache, reqs=reqs, targets=targets, groups=groups)


def _uv(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    a = _walk(args, _UV)
    ops = a.operands
    no_cache = bool({"-n", "--no-cache", "--no-cache-dir"} & set(a.options))
    no_cache |= dict(command.env).get("UV_NO_CACHE", "").strip().lower() not in _FALSE
    reqs = a.get("-r", "--requirements", "--requirement", "--with-requirements")
    groups = a.get("--group", "--only-group")
    if ops[:2] == ["pip", "install"]:
        targets = a.get("-e", "--editable") + ops[2:]
    elif ops[:2] == ["tool", "install"]:
        targets = ops[2:] + a.get("-w", "--with", "--with-editable")
    elif ops[:2] == ["pip", "sync"]:
        reqs, targets = reqs + ops[2:], []
    elif ops[:1] == ["sync"]:
        targets = []
    else:
        return None
    action = " ".join(ops[:1] if ops[0] == "sync" else ops[:2])
    return _install("uv", action, command, a, no_cache, reqs=reqs, targets=targets, groups=groups)


def _python_project(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """poetry, pipenv, pdm: ``install`` and ``sync`` from the project's lock file."""
    a = _walk(args, _TOOL_SPECS[prog])
    if a.operands[:1] not in (["install"], ["sync"]):
        return None
    action = a.operands[0]
    if prog == "poetry":
        groups = a.get("--with", "--only")
        return _install(prog, action, command, a, "--no-cache" in a.options, groups=groups)
    if prog == "pipenv":
        reqs, targets = a.get("-r", "--requirements"), a.get("-e", "--editable") + a.operands[1:]
        return _install(prog, action, command, a, _pip_off(command), reqs=reqs, targets=targets)
    return _install(prog, action, command, a, groups=a.get("-G", "--group"))


def _conda(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    a = _walk(args, _TOOL_SPECS["conda"])
    ops = a.operands
    n = 2 if ops[:2] in (["env", "create"], ["env", "update"]) else 1
    if n == 1 and ops[:1] not in (["install"], ["create"]):
        return None
    reqs = a.get("--file", "-f")
    return _install(
        prog, " ".join(ops[:n]), command, a, reqs=reqs, targets=ops[n:], is_local=_is_local_conda
    )


def _node(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """npm, pnpm, yarn, bun. Not installs: ``npm install --package-lock-only`` (writes the lock
    from metadata, fetches no tarball), ``yarn build`` and other scripts."""
    a = _walk(args, _TOOL_SPECS[prog])
    ops = a.operands
    first = ops[0] if ops else ""
    skip = 1
    if prog == "npm":
        action = _NPM_ACTIONS.get(first)
        if "--package-lock-only" in a.options or ("--package-lock-only", "true") in a.values:
            return None
    elif prog == "pnpm":
        action = {"install": "install", "i": "install", "fetch": "fetch", "add": "add"}.get(first)
    elif prog == "bun":
        # `bun ci` (Bun 1.2+) is `bun install --frozen-lockfile`
        action = {"install": "install", "i": "install", "ci": "ci", "add": "add", "a": "add"}.get(
            first
        )
        if "--lockfile-only" in a.options:
            return None
    elif ops[:2] == ["workspaces", "focus"]:  # yarn berry: install some workspaces' deps
        action, skip = "workspaces focus", len(ops)
    elif ops[:2] == ["global", "add"]:
        action, skip = "global add", 2
    elif first == "add":
        action = "add"
    else:  # bare `yarn` installs; `yarn build` does not
        info = _INFO["yarn"] & set(a.options)
        action = "install" if first in ("", "install") and not info else None
    if action is None:
        return None
    no_cache = prog == "bun" and "--no-cache" in a.options
    targets = ops[skip:]
    return _install(prog, action, command, a, no_cache, targets=targets, is_local=_is_local_npm)


def _system(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    tool = "apk" if prog == "apk" else "apt"
    a = _walk(args, _TOOL_SPECS[tool])
    if a.operands[:1] not in ([("add" if tool == "apk" else "install")], ["update"]):
        return None
    action, targets = a.operands[0], a.operands[1:]
    if tool == "apk":
        no_cache = "--no-cache" in a.options
        return _install(tool, action, command, a, no_cache, targets=targets, is_local=_is_local_apk)
    return _install(tool, action, command, a, targets=targets, is_local=_is_local_deb)


def _runner(command: Command, prog: str, args: list[str]) -> InstallCommand | None:
    """tox, nox, hatch, pre-commit build environments with pip: an install each run."""
    if prog == "nox":  # argparse's two-letter short options
        args = [_NOX_SHORT.get(arg, arg) for arg in args]
    a = _walk(args, _TOOL_SPECS[prog])
    ops = a.operands
    if _INFO[prog] & set(a.options):
        return None
    action: str | None = None
    if prog == "tox":
        first = ops[0] if ops else "run"
        action = None if first in _TOX_OTHER else _TOX_ACTIONS.get(first, "run")
    elif prog == "nox":
        action = "run"
    elif prog == "hatch" and ops[:2] == ["env", "create"]:
        action = "env create"
    elif prog == "hatch":
        action = ops[0] if ops[:1] in (["run"], ["test"]) else None
    elif not args or ops[:1] in (["run"], ["install-hooks"]):
        action = ops[0] if ops else "run"
    elif ops[:1] == ["install"] and "--install-hooks" in a.options:
        action = "install"
    if not action:
        return None
    found = _install(prog, action, command, a, _pip_off(command))
    backend = _cli_backend(prog, a, command)
    return replace(found, backend=backend) if backend else found


_NOX_SHORT = {"-db": "--default-venv-backend", "-fb": "--force-venv-backend"}


def _cli_backend(prog: str, a: _Args, command: Command) -> str:
    """The backend tox/nox are told on their command line (or by env) to build environments
    with: ``uv``; ``pip`` when told to use another one (nox ``--force-venv-backend
    virtualenv``, tox ``--runner virtualenv``), which overrides the repository's config;
    ``""`` when not told."""
    values: list[str] = []
    if prog == "nox":
        env = dict(command.env)
        values = [
            *a.get("--force-venv-backend"),
            env.get("NOX_FORCE_VENV_BACKEND", ""),
            *a.get("--default-venv-backend"),
            env.get("NOX_DEFAULT_VENV_BACKEND", ""),
        ]
    elif prog == "tox":
        values = list(a.get("--runner"))
    for value in (v.strip().lower() for v in values):
        if value:  # `uv|virtualenv`: uv when it is installed
            return "uv" if value.startswith(("uv", "uv-venv")) else "pip"
    return ""


# `uvx TOOL`, `uv tool run TOOL`, `pipx run TOOL`: the tool's own download is a bootstrap; the
# command it runs is recognised (``uvx nox -s tests`` is a nox run). `uv run`, `poetry run`,
# `pdm run`, `pipenv run` of tox or nox likewise (the environment sync `uv run` does itself is
# not recorded here: after a `uv sync` it downloads nothing).
_UV_RUN_SPEC = _spec("w", (
    "--from --with --with-editable --with-requirements --python --index --default-index "
    "--index-url --extra-index-url --find-links --cache-dir --directory --project "
    "--constraints --overrides --build-constraints --resolution --prerelease --exclude-newer "
    "--refresh-package --upgrade-package --reinstall-package --config-file --color "
    "--link-mode --extra --group --only-group --no-group --package --env-file"))  # fmt: skip
_PIPX_RUN_SPEC = _spec("", "--spec --python --pip-args --index-url --backend")


def _tool_runner(prog: str, args: list[str]) -> tuple[list[str], tuple[str, ...]] | None:
    """(the command an ephemeral tool runner runs, the packages it adds with ``--with``)."""
    if prog == "uv" and args[:2] == ["tool", "run"]:
        prog, args = "uvx", args[2:]
    elif prog == "uv" and args[:1] == ["run"]:  # `uv run tox`: the project env's tox
        prog, args = "uvx", args[1:]
    elif prog in ("poetry", "pdm", "pipenv") and args[:1] == ["run"]:
        prog, args = "pipx", args[1:]  # no options of their own before the command
    elif prog == "pipx" and args[:1] == ["run"]:
        args = args[1:]
    elif prog != "uvx":
        return None
    spec = _PIPX_RUN_SPEC if prog == "pipx" else _UV_RUN_SPEC
    i, withs = 0, list[str]()
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        name, eq, value = args[i].partition("=")
        i += 1
        if not eq and (name in spec.long_values or name[1:] in spec.short_values) and i < len(args):
            value = args[i]
            i += 1
        if name in ("--with", "-w"):
            withs.extend(v.strip() for v in value.split(","))
    i += i < len(args) and args[i] == "--"
    if i >= len(args):
        return None
    inner = args[i].split("@", 1)[0]  # `uvx tox@4`
    return [inner, *args[i + 1 :]], tuple(withs)


_Handler: TypeAlias = Callable[[Command, str, list[str]], InstallCommand | None]
_HANDLERS: dict[str, _Handler] = {
    "uv": _uv,
    **dict.fromkeys(("poetry", "pipenv", "pdm"), _python_project),
    **dict.fromkeys(("conda", "mamba", "micromamba"), _conda),
    **dict.fromkeys(("npm", "yarn", "pnpm", "bun"), _node),
    **dict.fromkeys(("apt-get", "apt", "apk"), _system),
    **dict.fromkeys(("tox", "nox", "hatch", "pre-commit"), _runner),
}


def _recognise(command: Command) -> InstallCommand | None:
    if not command.argv:
        return None
    prog, args = command.program.lower().removesuffix(".exe"), list(command.argv[1:])
    if prog == "corepack" and args[:1] in (["npm"], ["yarn"], ["pnpm"]):
        prog, args = args[0], args[1:]
    ran = _tool_runner(prog, args)
    if ran is not None:
        argv, withs = ran
        found = _recognise(replace(command, argv=tuple(argv)))
        if found is None or found.tool not in _RUNNERS:
            return None  # `uvx ruff check`: one tool, a bootstrap
        if any(_bare_name(w) == f"{found.tool}-uv" for w in withs):
            found = replace(found, backend="uv")
        return found
    if _PYTHON_PROGRAM.fullmatch(prog) or "$" in prog:  # also `$PYTHON -m pip`
        module = _python_module(args)
        if module is None or module[0] not in _MODULES:
            return None
        prog, args = _MODULES[module[0]], module[1]
    handler = _pip if _PIP_PROGRAM.fullmatch(prog) else _HANDLERS.get(prog)
    return handler(command, prog, args) if handler else None


def _python_module(args: Sequence[str]) -> tuple[str, list[str]] | None:
    """``python [options] -m MODULE args``: (MODULE, args); None for scripts and ``-c``."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            return None
        if arg.startswith("--"):
            i += arg == "--check-hash-based-pycs"
            continue
        for k, ch in enumerate(arg[1:], 2):  # -Im pip, -mpip, -X dev, -W error
            if ch in "mcXW":
                value = arg[k:] if k < len(arg) else (args[i] if i < len(args) else "")
                i += k >= len(arg)
                if ch == "m" and value:
                    return value, list(args[i:])
                if ch in "mc":
                    return None
                break
    return None


# --- image builds ----------------------------------------------------------------------------

"""Shell text → commands → recognised dependency installs.

Shared by every analyzer: workflow ``run:``, GitLab ``script:``, Dockerfile ``RUN`` (shell form,
exec form, heredoc bodies). Pure functions, no I/O. INTERFACE STUB: implementation pending.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One simple command, after splitting on ``&&``, ``||``, ``;``, ``|``, newlines and subshells."""

    argv: tuple[str, ...]
    """Words with quotes removed, after stripping env prefixes, ``sudo``/``env``/``time``/``exec``
    wrappers and shell keywords (``if``, ``then``, ``do``...)."""
    env: tuple[tuple[str, str], ...]
    """Inline assignments: ``PIP_NO_CACHE_DIR=1 pip ...`` and ``env A=b cmd``."""
    line: int
    """1-based line where the command starts, offset by ``start_line``."""
    text: str
    """The command's source text, continuations folded into single spaces."""

    @property
    def program(self) -> str:
        """Basename of ``argv[0]`` (``/opt/venv/bin/pip`` → ``pip``), or ``""``."""
        raise NotImplementedError


@dataclass(frozen=True)
class InstallCommand:
    """A command that installs dependencies, with what matters for caching."""

    tool: str
    """pip | uv | poetry | pipenv | pdm | conda | mamba | npm | yarn | pnpm | apt | apk |
    tox | nox | hatch | pre-commit."""
    action: str
    """The subcommand as normalised: ``install``, ``sync``, ``ci``, ``add``, ``pip install`` (uv),
    ``tool install`` (uv), ``update`` (apt-get update, recorded so analyzers can see it)."""
    command: Command
    options: tuple[str, ...]
    """Options as written, long pip option prefixes expanded (``--no-cache`` → ``--no-cache-dir``)."""
    no_cache: bool
    """The tool's cache is disabled by a flag or an inline env var (``--no-cache-dir``,
    ``PIP_NO_CACHE_DIR=<any>``, ``uv --no-cache``, ``UV_NO_CACHE``, ``apk --no-cache``...)."""
    requirement_files: tuple[str, ...] = ()
    """``-r``/``--requirement`` files (pip, uv pip), in order."""
    constraint_files: tuple[str, ...] = ()
    """``-c``/``--constraint`` files."""
    packages: tuple[str, ...] = ()
    """Registry requirements named on the command line (``requests==2.31``, ``pip``)."""
    local_targets: tuple[str, ...] = ()
    """Local paths and archives (``.``, ``-e .``'s ``.``, ``./pkg``, ``/wheels/*.whl``)."""

    @property
    def line(self) -> int:
        return self.command.line

    @property
    def cache_tool(self) -> str:
        """Whose download cache this install fills: ``pip`` for pip/pipenv/tox/nox/hatch/
        pre-commit, otherwise the tool itself."""
        raise NotImplementedError

    @property
    def downloads_from_registry(self) -> bool:
        """False for ``pip install --upgrade pip`` (or pip/setuptools/wheel alone), local wheel
        files only, and ``apt-get update``; True otherwise (``pip install .`` counts as True: the
        analyzer decides with the repository whether the project has dependencies)."""
        raise NotImplementedError


def parse_script(text: str, *, start_line: int = 1) -> list[Command]:
    """Split shell text into simple commands with their lines."""
    raise NotImplementedError


def parse_exec_form(argv: list[str], *, line: int) -> list[Command]:
    """Dockerfile exec form: ``["pip", "install", "x"]``; ``["sh", "-c", "script"]`` is parsed as
    the script."""
    raise NotImplementedError


def find_installs(commands: list[Command]) -> list[InstallCommand]:
    """The dependency installs among ``commands``, in order."""
    raise NotImplementedError

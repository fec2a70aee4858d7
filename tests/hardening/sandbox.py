"""Run the real CLI in a child process under watch.

Measures wall time and peak RSS (``wait4`` rusage, which also covers the child's own waited-for
children such as pool workers), kills the whole process group at a deadline, and records every
file the child opens or lists and every network connection it attempts. The recording is an
audit hook (PEP 578) installed by a ``sitecustomize`` module placed on ``PYTHONPATH``, so it runs
in every Python process started with that environment, including spawned pool workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cacheaudit.cache import directory as cache_directory

LOG_ENV = "CACHEAUDIT_TEST_ACCESS_LOG"
BOOM_ENV = "CACHEAUDIT_TEST_BOOM"
ADDRESS_SPACE_LIMIT = 4 * 1024**3
"""A safety net only: a runaway child is stopped before it can hurt the machine. The asserted
memory bound (peak RSS) is much lower and is checked by the tests."""

SITECUSTOMIZE = r'''
"""Installed by tests/hardening/sandbox.py: records file and network access of this process."""
import os
import sys


def _install_access_log(log):
    fd = os.open(f"{log}.{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    write, fspath, getcwd, join = os.write, os.fspath, os.getcwd, os.path.join
    watched = {"open", "os.listdir", "os.scandir", "socket.connect", "socket.getaddrinfo",
               "urllib.Request", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.system"}

    def record(event, target):
        # NUL ends a record: paths may hold newlines and tabs, never NUL.
        write(fd, os.fsencode(f"{event}\t{target}") + b"\0")

    def hook(event, args):
        if event not in watched:
            return
        if event in ("open", "os.listdir", "os.scandir"):
            path = args[0] if args else None
            if path is None or isinstance(path, int):
                return
            try:
                path = os.fsdecode(fspath(path))
                record(event, path if path.startswith("/") else join(getcwd(), path))
            except Exception:
                record(event, f"<unrecordable {path!r}>")
        elif event in ("subprocess.Popen", "os.exec", "os.posix_spawn"):
            program = args[0] if args[0] is not None else (list(args[1]) or [None])[0]
            try:
                record("spawn", os.fsdecode(fspath(program)))
            except Exception:
                record("spawn", repr(program))
        else:
            record(event, repr(args)[:500])

    for entry in sys.path:
        record("sys.path", entry)
    sys.addaudithook(hook)


def _install_boom(spec):
    # "<analyzer module>:<substring>": that analyzer raises on files whose path contains it.
    import importlib

    module_name, _, needle = spec.partition(":")
    module = importlib.import_module(f"cacheaudit.analyzers.{module_name}")
    original = module.analyze

    def analyze(ctx, file):
        if needle in file.path:
            raise RuntimeError(f"injected failure on {file.path}")
        return original(ctx, file)

    module.analyze = analyze


if os.environ.get("CACHEAUDIT_TEST_ACCESS_LOG"):
    _install_access_log(os.environ["CACHEAUDIT_TEST_ACCESS_LOG"])
if os.environ.get("CACHEAUDIT_TEST_BOOM"):
    _install_boom(os.environ["CACHEAUDIT_TEST_BOOM"])
'''


@dataclass(frozen=True)
class Access:
    event: str
    target: str


@dataclass(frozen=True)
class Run:
    """What one watched child did."""

    args: tuple[str, ...]
    returncode: int
    stdout_bytes: bytes
    stdout: str
    """Decoded leniently; ``stdout_bytes`` is what was written."""
    stderr: str
    seconds: float
    max_rss_mb: float
    timed_out: bool
    accesses: tuple[Access, ...]
    sys_path: tuple[str, ...]

    def report(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(
                f"stdout is not a JSON report ({exc}); exit {self.returncode}\n"
                f"stderr:\n{self.stderr[-3000:]}"
            ) from None
        return data

    def describe(self) -> str:
        return (
            f"exit {self.returncode}, {self.seconds:.1f} s, {self.max_rss_mb:.0f} MB peak"
            f"{', TIMED OUT' if self.timed_out else ''}\nstderr tail:\n{self.stderr[-3000:]}"
        )


class Sandbox:
    """A directory holding the ``sitecustomize`` hook and the access logs of the runs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        self._runs = 0

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> Run:
        """``python -m cacheaudit ARGS`` with the hook, killed after ``timeout`` seconds.

        ``preexec`` runs in the child before exec (drop capabilities, pin CPUs). The child's
        working directory is the sandbox, never the audited repository, so nothing
        in the repository can shadow a module (``python -m`` puts the cwd on ``sys.path``)."""
        self._runs += 1
        stem = self.directory / f"run{self._runs}"
        log = f"{stem}.access"
        child_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(self.directory), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NO_COLOR": "1",
            LOG_ENV: log,
            **(env or {}),
        }

        def prepare() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
            if preexec is not None:
                preexec()

        command = (sys.executable, "-m", "cacheaudit", *args)
        out_path, err_path = Path(f"{stem}.out"), Path(f"{stem}.err")
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                command,
                cwd=self.directory,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=prepare,
            )
            status, usage, timed_out = _wait(proc, start + timeout)
            seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        _kill_group(proc.pid)  # stray pool workers must not outlive a test
        accesses, sys_path = _read_log(self.directory, Path(log).name)
        stdout = out_path.read_bytes()
        return Run(
            args=tuple(args),
            returncode=proc.returncode,
            stdout_bytes=stdout,
            stdout=stdout.decode("utf-8", "replace"),
            stderr=err_path.read_bytes().decode("utf-8", "replace"),
            seconds=seconds,
            max_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            timed_out=timed_out,
            accesses=accesses,
            sys_path=sys_path,
        )


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, Any, bool]:
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return status, usage, False
        if time.monotonic() > deadline:
            _kill_group(proc.pid)
            _, status, usage = os.wait4(proc.pid, 0)
            return status, usage, True
        time.sleep(0.005)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _read_log(directory: Path, prefix: str) -> tuple[tuple[Access, ...], tuple[str, ...]]:
    accesses: list[Access] = []
    sys_path: list[str] = []
    for log in sorted(directory.glob(f"{prefix}.*")):
        for record in log.read_bytes().split(b"\0"):
            if not record:
                continue
            event, _, target = os.fsdecode(record).partition("\t")
            if event == "sys.path":
                sys_path.append(target)
            else:
                accesses.append(Access(event, target))
    return tuple(accesses), tuple(sys_path)


class _RealPaths:
    """``os.path.realpath`` with a cache per directory: a walk 1,000 directories deep records
    1,000 paths of 1,000 components, and resolving each from scratch is quadratic."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {"/": "/"}

    def __call__(self, path: str) -> str:
        pending: list[str] = []
        current = path
        while current not in self._cache:
            pending.append(current)
            parent = os.path.dirname(current)
            if parent == current:  # a relative path: no cache applies
                return os.path.realpath(path)
            current = parent
        resolved = self._cache[current]
        for item in reversed(pending):
            name = os.path.basename(item)
            if name == "..":
                resolved = os.path.dirname(resolved)
            elif name and name != ".":
                candidate = os.path.join(resolved, name)
                resolved = os.path.realpath(candidate) if os.path.islink(candidate) else candidate
            self._cache[item] = resolved
        return resolved


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def escapes(run: Run, root: Path, sandbox: Sandbox) -> list[str]:
    """Every file or directory the child touched outside ``root`` that is not part of the Python
    installation, plus every network or process-spawn attempt. Paths are compared after
    resolving symlinks, so opening ``root/x`` where ``x`` links outside counts as an escape."""
    real_root = os.path.realpath(root)
    interpreter = {
        os.path.realpath(p)
        for p in (
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            *sysconfig.get_paths().values(),
            *(entry for entry in run.sys_path if entry and os.path.isabs(entry)),
            str(sandbox.directory),
            str(cache_directory()),  # the result cache: outside the root by design
        )
    }
    system = ("/dev", "/proc", "/sys")
    realpath = _RealPaths()
    problems: list[str] = []
    for access in run.accesses:
        if access.event in ("open", "os.listdir", "os.scandir"):
            if access.target.startswith("<unrecordable"):
                problems.append(f"{access.event} {access.target}")
                continue
            real = realpath(access.target)
            if _under(real, [real_root]) or _under(real, interpreter) or _under(real, system):
                continue
            problems.append(f"{access.event} {access.target!r} (resolves to {real!r})")
        elif access.event == "spawn":
            # A process pool re-running the interpreter is fine; anything else is not.
            if os.path.basename(access.target).startswith("python") or os.path.realpath(
                access.target
            ) == os.path.realpath(sys.executable):
                continue
            problems.append(f"spawned {access.target!r}")
        else:
            problems.append(f"{access.event} {access.target}")
    return problems

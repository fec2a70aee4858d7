"""Named-file runs byte-identical across two source trees: for EVERY file of every fixture and
real-world repository, ``cacheaudit FILE -f json --no-cache`` (as pre-commit runs it), from the
tree before a change and from the tree after it.

    python benchmarks/compare_named.py /work/base-7d12993/src src [--limit N] [--jobs 2]

Each repository is copied outside any git repository (so the root falls back to the current
directory, the copy); one worker process per tree and repository runs every file through the
CLI in-process (typer's runner), so the comparison takes minutes, not hours. Exit 0 when every
output is identical; otherwise the first differences are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from compare_outputs import repositories  # the same repositories, found the same way

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, os, sys
from typer.testing import CliRunner
from cacheaudit.cli import app
runner = CliRunner()
out = {}
for name in json.loads(sys.stdin.read()):
    result = runner.invoke(app, [name, "-f", "json", "--no-cache"])
    out[name] = [result.exit_code, result.stdout]
print(json.dumps(out))
"""


def files_of(repo: Path) -> list[str]:
    return sorted(
        p.relative_to(repo).as_posix()
        for p in repo.rglob("*")
        if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(repo).parts
    )


def run(src: Path, copy: Path, names: list[str]) -> dict[str, list[object]]:
    env = {**os.environ, "PYTHONPATH": str(src.resolve()), "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-c", WORKER],
        input=json.dumps(names),
        capture_output=True,
        text=True,
        env=env,
        cwd=copy,
        check=False,
    )
    if done.returncode != 0:
        return {"<worker>": [done.returncode, done.stderr[-2000:]]}
    result: dict[str, list[object]] = json.loads(done.stdout)
    return result


def compare(before: Path, after: Path, repo: Path) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory(prefix="cacheaudit-named-") as tmp:
        copy = Path(tmp) / repo.name
        shutil.copytree(repo, copy, symlinks=True)
        names = files_of(copy)
        old, new = run(before, copy, names), run(after, copy, names)
    diffs = [
        f"{repo.relative_to(ROOT)}/{name}" for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]  # fmt: skip
    return len(names), diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="the src/ directory before the change")
    parser.add_argument("after", type=Path, help="the src/ directory after the change")
    parser.add_argument("--limit", type=int, default=0, help="only the first N repositories")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    repos = repositories()[: args.limit or None]
    total, differing = 0, []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for count, diffs in pool.map(lambda r: compare(args.before, args.after, r), repos):
            total += count
            differing.extend(diffs)
    for name in differing[:20]:
        print(f"differs: {name}")
    print(f"{len(repos)} repositories, {total} named files, {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

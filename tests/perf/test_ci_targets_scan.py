"""The Dockerfile analyzer's scan of the CI files for ``--target`` builds parses only the files
from which a text that may write a stage is reachable (cacheaudit.analyzers.reach): on every
fixture and real-world repository its answer is the one the scan of every CI file gives. And
a file the filter peeks at but cannot read is reported only where an analyzer reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheaudit.analyzers.dockerfile import ci_targets
from cacheaudit.config import build_config
from cacheaudit.discovery import FileKind, discover_for
from cacheaudit.repo import RepoContext

TESTS = Path(__file__).parents[1]
REPOS = sorted(p.parent for p in (TESTS / "fixtures").glob("*/*/expected.txt")) + sorted(
    p for base in ("realworld", "realworld-holdout") for p in (TESTS / base).iterdir() if p.is_dir()
)
CI_KINDS = (FileKind.WORKFLOW, FileKind.COMPOSITE_ACTION, FileKind.GITLAB_CI)


def _context(root: Path) -> RepoContext:
    config = build_config(root)
    return RepoContext.from_discovery(config.root, discover_for(config), config.max_file_bytes)


def _scans(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, int, int]:
    """(filtered scan, scan of every CI file, CI files, CI files the filter let through)."""
    parsed: list[str] = []
    real_load = ci_targets.load_path

    def counting_load(ctx: RepoContext, path: str) -> object:
        parsed.append(path)
        return real_load(ctx, path)

    monkeypatch.setattr(ci_targets, "load_path", counting_load)
    ctx = _context(root)
    filtered = ci_targets._scan(ctx)
    let_through = len(parsed)
    with monkeypatch.context() as every:
        every.setattr(ci_targets, "reaching", lambda ctx, start, test: set(start))
        unfiltered = ci_targets._scan(_context(root))
    return filtered, unfiltered, len(ctx.files_of(*CI_KINDS)), let_through


@pytest.mark.parametrize("root", REPOS, ids=[f"{r.parent.name}/{r.name}" for r in REPOS])
def test_filtered_scan_equals_the_scan_of_every_ci_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filtered, unfiltered, _, _ = _scans(root, monkeypatch)
    assert filtered == unfiltered


def test_the_filter_skips_files_and_keeps_the_ones_that_build_stages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not vacuous: across the corpus some CI files are skipped, and some scans find stages,
    including one only reachable through a Makefile (the workflow never says "target")."""
    skipped = found = 0
    for root in REPOS:
        filtered, _, total, let_through = _scans(root, monkeypatch)
        skipped += total - let_through
        found += bool(filtered)
    assert skipped > 100
    assert found >= 3
    via_make = TESTS / "fixtures/docker/apt-ci-target-via-make"
    filtered, _, total, let_through = _scans(via_make, monkeypatch)
    assert filtered == {"Dockerfile": {"e2e": ".github/workflows/e2e-image.yml"}}
    assert (total, let_through) == (1, 1)


def test_an_unreadable_script_is_peeked_silently_and_reported_when_read(tmp_path: Path) -> None:
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / ".github/workflows/ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./build.sh\n"
    )
    (tmp_path / "build.sh").write_bytes(b"\xff\xfe\x00binary")
    ctx = _context(tmp_path)
    assert ctx.peek_text("build.sh") is None
    assert ctx.notices == []
    assert ctx.read_digests() == {"build.sh": "-"}
    assert ctx.read_text("build.sh") is None
    assert [n.rule_id for n in ctx.notices] == ["CA002"]
    assert ctx.read_digests() == {"build.sh": "-"}

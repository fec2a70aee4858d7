"""The fast paths never change the output: on every fixture repository and every real-world
repository, the JSON report of the parallel pool, of a result-cache miss and of a cache hit is
byte-identical to the serial, uncached run."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheaudit import audit as audit_module
from cacheaudit.cli import main

TESTS = Path(__file__).parents[1]
CASES = sorted(p.parent for p in (TESTS / "fixtures").glob("*/*/expected.txt")) + sorted(
    p for p in (TESTS / "realworld").iterdir() if p.is_dir()
)


def json_of(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit):
        main([str(root), "-f", "json", *args])
    return capsys.readouterr().out


@pytest.mark.parametrize("root", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_json_identical_serial_parallel_cached(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CACHEAUDIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 10**9)
    serial = json_of(root, capsys, "--no-cache")
    monkeypatch.setattr(audit_module, "PARALLEL_MIN_BYTES", 0)
    assert json_of(root, capsys, "--no-cache") == serial  # the pool
    miss = json_of(root, capsys)
    assert list(tmp_path.glob("*.pickle")), "the miss stored an entry"
    assert miss == serial
    assert json_of(root, capsys) == serial  # the hit

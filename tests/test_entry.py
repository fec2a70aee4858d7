"""The console script (``cacheaudit.entry``): it recognises a plain audit invocation without
typer and runs the audit command itself; a result-cache hit writes the stored outputs. Whatever
it recognises must mean exactly what typer makes of it, and whatever it writes must be the bytes,
files, stderr and exit code the typer CLI gives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cacheaudit import cli, entry
from cacheaudit.command import AuditOptions
from tests.conftest import FIXTURES

CASE = FIXTURES / "gitlab" / "install-without-cache"


def typer_options(args: list[str], monkeypatch: pytest.MonkeyPatch) -> AuditOptions | None:
    """The options typer parses from ``args`` (None when it rejects them or runs another
    command)."""
    seen: list[AuditOptions] = []

    def capture(options: AuditOptions) -> int:
        seen.append(options)
        return 0

    monkeypatch.setattr(cli, "run", capture)
    try:
        cli.app(args=args, prog_name="cacheaudit", standalone_mode=False)
    except Exception:
        return None
    return seen[0] if seen else None


PLAIN = [
    [],
    ["."],
    ["audit"],
    ["audit", "src"],
    ["src", "docs/x.yml"],
    ["-f", "json"],
    ["--format", "sarif", "."],
    ["--format=sarif", "."],
    [".", "-f", "console", "--color", "ALWAYS"],
    ["--color=never", "--no-color"],
    ["-q"],
    ["--quiet", "-o", "out.txt"],
    ["--output", "report.json", "-f", "json"],
    ["--output-format", "json"],
    ["--output-format", "sarif=cacheaudit.sarif", "--output-format=json=-"],
    ["--badge", "badge.svg"],
    ["--statistics"],
    ["--statistics", "--no-statistics"],
    ["--fail-under", "80"],
    ["--fail-under=99.5", "--fail-under-coverage", "0"],
    ["--fail-on", "warning"],
    ["--fail-on=Error", "--strict"],
    ["--no-strict", "--strict"],
    ["--select", "CA1,CA201", "--select", "CA3"],
    ["--ignore", "CA101", "--exclude", "vendor/**", "--exclude=docs/*"],
    ["--no-respect-gitignore"],
    ["--respect-gitignore"],
    ["--config", "ci/cacheaudit.toml"],
    ["--baseline", "baseline.json"],
    ["-f", "json", "-f", "sarif"],
    ["--fail-under", "10", "--fail-under", "20"],
]
"""Invocations the fast path recognises (pre-commit's, CI's, a person's)."""

OTHER = [
    ["rules"],
    ["explain", "CA101"],
    ["fix", "--diff"],
    ["--help"],
    ["-h"],
    ["--version"],
    ["-V"],
    ["--no-cache"],
    ["--show-settings"],
    ["--write-baseline", "b.json"],
    ["-qf", "json"],
    ["-fjson"],
    ["--", "."],
    ["--format"],
    ["--format", ""],
    ["--fail-under", "nan"],
    ["--fail-under", "101"],
    ["--fail-under", "1e1"],
    ["--fail-on", "fatal"],
    ["--color", "sometimes"],
    ["--strict=yes"],
    ["--frobnicate"],
    ["-o", "-"],
    [""],
]
"""Invocations left to typer: other commands, help, options the fast path does not serve, and
values it is not sure typer reads the same way."""


@pytest.mark.parametrize("args", PLAIN, ids=" ".join)
def test_plain_invocations_parse_as_typer_parses_them(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = entry.parse(args)
    assert parsed is not None
    assert AuditOptions(**parsed) == typer_options(args, monkeypatch)


@pytest.mark.parametrize("args", OTHER, ids=" ".join)
def test_everything_else_is_left_to_typer(args: list[str]) -> None:
    assert entry.parse(args) is None


TOKENS = st.sampled_from(
    [
        "audit", "rules", ".", "src", "a b", "-", "--", "-f", "--format", "json", "console",
        "sarif", "bogus", "-o", "--output", "out.txt", "--output-format", "sarif=x.sarif",
        "json", "badge=-", "--badge", "--statistics", "--no-statistics", "--fail-under",
        "--fail-under-coverage", "50", "0", "100", "100.5", "-1", "--fail-on", "error", "INFO",
        "--strict", "--no-strict", "--select", "CA1", "--ignore", "CA101,CA2", "--exclude",
        "**/x", "--respect-gitignore", "--no-respect-gitignore", "--config", "--baseline",
        "--color", "always", "Never", "--no-color", "-q", "--quiet", "--format=json",
        "--color=auto", "--fail-under=7", "--select=CA3", "--no-cache", "--help",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=7))
def test_whatever_the_fast_path_recognises_typer_reads_the_same(args: list[str]) -> None:
    parsed = entry.parse(args)
    if parsed is None:
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert AuditOptions(**parsed) == typer_options(args, monkeypatch)


# ---- end to end: the stored outputs are what the typer CLI writes ------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(CASE, target)
    (target / "expected.txt").unlink()
    return target


def cacheaudit(
    args: list[str], cwd: Path, env: dict[str, str], *, via: str = "entry"
) -> tuple[int, str, str, list[str]]:
    """(exit code, stdout, stderr, the modules a hit must not import that it imported)."""
    code = (
        "import atexit, sys\n"
        "def modules():\n"
        "    bad = ('typer', 'click', 'rich', 'ruamel', 'yaml', 'cacheaudit.analyzers.',"
        " 'cacheaudit.parsing', 'cacheaudit.installmap', 'cacheaudit.audit', 'cacheaudit.cli',"
        " 'cacheaudit.report.console', 'cacheaudit.report.json')\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith(bad))\n"
        "    print('MODULES', ' '.join(loaded), file=sys.stderr)\n"
        "atexit.register(modules)\n"
        f"from cacheaudit.{via} import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    err, _, loaded = done.stderr.rpartition("MODULES")
    return done.returncode, done.stdout, err, loaded.split()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI")}
    keep["CACHEAUDIT_CACHE_DIR"] = str(tmp_path / "cache")
    keep["COLUMNS"] = "90"
    keep["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parents[1] / "src"), keep.get("PYTHONPATH", "")]
    )
    return keep


INVOCATIONS: list[tuple[list[str], dict[str, str]]] = [
    ([], {}),
    (["-f", "json"], {}),
    (["--format", "sarif", "--fail-under", "100"], {}),
    (["-f", "console", "--color", "always"], {}),
    (["-f", "concise", "--fail-on", "warning"], {"FORCE_COLOR": "1"}),
    (["-q"], {"NO_COLOR": "1"}),
    (["--statistics"], {}),
    (["--output-format", "sarif=out/x.sarif", "--badge", "out/b.svg", "-f", "markdown"], {}),
    (["-o", "report.json", "-f", "json", "--strict"], {}),
    (["--select", "CA2", "--ignore", "CA201", "-f", "github"], {}),
    (["--no-respect-gitignore", "--exclude", "ci/**", "-f", "gitlab"], {}),
    (["-f", "console"], {"COLUMNS": "60", "PYTHONIOENCODING": "ascii"}),
]


@pytest.mark.parametrize(("args", "extra"), INVOCATIONS, ids=lambda v: " ".join(v) or "-")
def test_a_hit_writes_what_the_typer_cli_writes(
    repo: Path, tmp_path: Path, env: dict[str, str], args: list[str], extra: dict[str, str]
) -> None:
    env = {**env, **extra}
    work = tmp_path / "work"

    def outcome(via: str, *more: str) -> tuple[Any, ...]:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(repo, work, symlinks=True)
        code, out, err, loaded = cacheaudit([*args, *more], work, env, via=via)
        written = {
            p.relative_to(work).as_posix(): p.read_bytes()
            for p in sorted(work.rglob("*"))
            if p.is_file() and not (repo / p.relative_to(work)).exists()
        }
        return (code, out, err, written), loaded

    fresh, _ = outcome("cli", "--no-cache")
    miss, loaded = outcome("entry")
    assert miss == fresh
    assert not any(m.startswith(("typer", "click")) for m in loaded)
    hit, loaded = outcome("entry")
    assert hit == fresh
    assert loaded == [], "a hit imports only what it needs"
    typer_hit, _ = outcome("cli")
    assert typer_hit == fresh  # the typer CLI serves the stored outputs too


def test_a_result_hit_renders_an_output_not_stored_yet(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    cacheaudit(["-f", "json"], repo, env)
    entries = sorted((tmp_path / "cache").glob("*.pickle"))
    stamp = entries[0].stat().st_mtime_ns
    for columns in ("70", "120"):
        wide = {**env, "COLUMNS": columns}
        code, out, err, loaded = cacheaudit([], repo, wide)
        assert "cacheaudit.report.console" in loaded  # rendered from the stored report...
        assert not any(m.startswith(("cacheaudit.analyzers.", "yaml")) for m in loaded)  # only
        assert (code, out, err) == cacheaudit(["--no-cache"], repo, wide, via="cli")[:3]
        assert cacheaudit([], repo, wide)[3] == []  # and stored for next time
    assert sorted((tmp_path / "cache").glob("*.pickle")) == entries
    assert entries[0].stat().st_mtime_ns == stamp
    assert len(list((tmp_path / "cache").glob("*.out"))) == 3


def test_corrupt_or_foreign_outputs_are_ignored(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    expected = cacheaudit(["-f", "json", "--no-cache"], repo, env, via="cli")[:3]
    cacheaudit(["-f", "json"], repo, env)
    (stored,) = (tmp_path / "cache").glob("*.out")
    good = stored.read_bytes()
    for junk in (b"", good[:-1], b"x" + good, good + b"\n"):  # empty, truncated, foreign, longer
        stored.write_bytes(junk)
        assert cacheaudit(["-f", "json"], repo, env)[:3] == expected
        assert stored.read_bytes() == good  # re-rendered and stored again


def test_a_run_discovers_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cacheaudit import discovery

    monkeypatch.setenv("CACHEAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(repo)
    calls: list[object] = []
    real = discovery.discover  # every walk, by the cache lookup or the audit

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(discovery, "discover", counting)
    with pytest.raises(SystemExit):
        entry.main(["-f", "json"])
    miss = capsys.readouterr().out
    assert len(calls) == 1
    with pytest.raises(SystemExit):
        entry.main(["-f", "json"])
    assert capsys.readouterr().out == miss
    assert len(calls) == 2


def test_errors_are_the_typer_clis(repo: Path, env: dict[str, str]) -> None:
    for args in (["missing-dir"], ["--config", "nope.toml"], ["--select", "CA999"], ["-f", "x"]):
        assert cacheaudit(args, repo, env)[:3] == cacheaudit(args, repo, env, via="cli")[:3]
        assert cacheaudit(args, repo, env)[0] == 2


def test_an_unwritable_output_file_is_a_usage_error_on_a_hit_too(
    repo: Path, env: dict[str, str]
) -> None:
    (repo / "blocked").write_text("a file, not a directory\n")
    args = ["-f", "json", "-o", "blocked/report.json"]
    first = cacheaudit(args, repo, env)[:3]
    assert first[0] == 2 and "cannot write" in first[2]
    assert cacheaudit(args, repo, env)[:3] == first


def test_a_file_name_that_is_not_utf8_is_written_the_same_on_a_hit(
    repo: Path, env: dict[str, str]
) -> None:
    (repo / os.fsdecode(b"requirements-\xff.txt")).write_text("flask\n", encoding="utf-8")
    expected = cacheaudit(["-f", "json", "--no-cache"], repo, env, via="cli")[:3]
    assert "requirements-\ufffd.txt" in expected[1]
    assert cacheaudit(["-f", "json"], repo, env)[:3] == expected
    code, out, err, loaded = cacheaudit(["-f", "json"], repo, env)
    assert ((code, out, err), loaded) == (expected, [])


@pytest.mark.parametrize("stored", [False, True], ids=["miss", "hit"])
def test_a_closed_pipe_exits_as_under_typer(
    repo: Path,
    stored: bool,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``cacheaudit | head``: typer's main exits 1 without a traceback; so does the entry."""
    monkeypatch.setenv("CACHEAUDIT_CACHE_DIR", str(tmp_path / "cache"))

    class ClosedPipe:
        encoding = "utf-8"

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def isatty(self) -> bool:
            return False

    if stored:
        with pytest.raises(SystemExit):
            entry.main([str(repo), "-f", "json"])
    outcomes = []
    for main in (cli.main, entry.main) if stored else (entry.main, cli.main):
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdout", ClosedPipe())
        monkeypatch.setattr(sys, "stderr", sys.stderr)
        with pytest.raises(SystemExit) as info:
            main([str(repo), "-f", "json"])
        sys.stdout.flush()  # the interpreter's last flush must not raise either
        outcomes.append((info.value.code, capsys.readouterr().err))
    assert outcomes[0] == outcomes[1] == (1, "")


def test_shell_completion_is_typers(repo: Path, env: dict[str, str]) -> None:
    for instruction in ("bash_complete", "complete_bash"):
        completing = {**env, "_CACHEAUDIT_COMPLETE": instruction}
        via_entry = cacheaudit([], repo, completing)
        assert via_entry[:3] == cacheaudit([], repo, completing, via="cli")[:3]
        assert "score" not in via_entry[1] + via_entry[2]  # typer answered, nothing was audited


@pytest.mark.parametrize(
    "args",
    [
        ["-f", "json"],
        ["--format", "sarif", "--fail-under", "100"],
        ["-o", "out/report.json", "-f", "json", "--badge", "out/b.svg"],
        ["--fail-under", "200"],
        ["explain", "CA101"],
        ["no/such/path"],
    ],
    ids=lambda v: " ".join(v),
)
def test_the_console_script_exits_like_main(
    repo: Path, tmp_path: Path, env: dict[str, str], args: list[str]
) -> None:
    """``console`` (the installed script, ``python -m cacheaudit``) skips the interpreter's
    teardown: the same bytes on both streams, the same files (complete), the same exit code
    (0, 1, 2) as :func:`main`."""
    outcomes = []
    for command in (
        [sys.executable, "-c", "import sys\nfrom cacheaudit.entry import main\nmain()\n"],
        [sys.executable, "-m", "cacheaudit"],
    ):
        work = tmp_path / "work"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(repo, work)
        done = subprocess.run(
            [*command, "--no-cache", *args] if args[0] != "explain" else [*command, *args],
            cwd=work,
            env=env,
            capture_output=True,
        )
        written = {
            p.relative_to(work).as_posix(): p.read_bytes()
            for p in sorted(work.rglob("*"))
            if p.is_file() and not (repo / p.relative_to(work)).exists()
        }
        outcomes.append((done.returncode, done.stdout, done.stderr, written))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] in (0, 1, 2)


def test_the_console_script_into_a_closed_pipe(repo: Path, env: dict[str, str]) -> None:
    """``cacheaudit | head -c 1``: the script still ends quietly with typer's code for it."""
    for command in ("main()", "console()"):
        reader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import sys\nfrom cacheaudit.entry import main, console\n{command}\n",
                "--no-cache",
                "-f",
                "json",
            ],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.read(1)
        reader.stdout.close()
        err = reader.stderr.read()
        assert reader.wait() in (0, 1), (command, err)
        assert b"Traceback" not in err, (command, err)

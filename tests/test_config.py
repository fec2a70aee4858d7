"""Config discovery, validation (clear errors) and merging with the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cacheaudit.config import build_config
from cacheaudit.errors import UsageError
from cacheaudit.model import Severity

Repo = Callable[[dict[str, str]], Path]


def test_pyproject_table_is_read(make_repo: Repo) -> None:
    root = make_repo(
        {
            "pyproject.toml": """
[project]
name = "demo"

[tool.cacheaudit]
select = ["CA1", "docker-copy-before-install"]
ignore = ["CA113"]
exclude = ["legacy/**"]
fail-under = 75
fail-on = "error"
severity = { CA112 = "warning" }
per-path-ignores = { "docker/dev.Dockerfile" = ["CA301"] }
"""
        }
    )
    config = build_config(root)
    assert config.select is not None
    assert "CA101" in config.select and "CA303" in config.select and "CA201" not in config.select
    assert config.ignore == {"CA113"}
    assert config.exclude == ("legacy/**",)
    assert config.fail_under == 75.0
    assert config.fail_on is Severity.ERROR
    assert config.severity == {"CA112": Severity.WARNING}
    assert config.per_path_ignores == (("docker/dev.Dockerfile", frozenset({"CA301"})),)


def test_dedicated_file_wins_over_pyproject(make_repo: Repo) -> None:
    root = make_repo(
        {
            ".cacheaudit.toml": "fail-under = 90\n",
            "pyproject.toml": "[tool.cacheaudit]\nfail-under = 10\n",
        }
    )
    assert build_config(root).fail_under == 90.0


def test_command_line_overrides_and_extends_file(make_repo: Repo) -> None:
    root = make_repo({".cacheaudit.toml": 'fail-under = 90\nignore = ["CA113"]\n'})
    config = build_config(root, fail_under=50, ignore=["CA112"], select=["CA3"])
    assert config.fail_under == 50
    assert config.ignore == {"CA112", "CA113"}
    assert config.select is not None and all(r.startswith("CA3") for r in config.select)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fail-undr = 80\n", "unknown key(s) fail-undr"),
        ("fail-under = 120\n", "`fail-under` must be a number from 0 to 100"),
        ('fail-under = "high"\n', "`fail-under` must be a number"),
        ('fail-on = "fatal"\n', "`fail-on` must be one of error, warning, info"),
        ('select = ["CA999"]\n', "unknown rule or prefix 'CA999'"),
        ('ignore = ["no-such-rule"]\n', "unknown rule 'no-such-rule'"),
        ("ignore = 3\n", "`ignore` must be a list of strings"),
        ('severity = { CA101 = "severe" }\n', "`severity.CA101` must be one of"),
        ("max-file-size = -1\n", "`max-file-size` must be a positive"),
        ("fail-under = [\n", "invalid TOML"),
    ],
)
def test_bad_config_is_a_clear_usage_error(make_repo: Repo, text: str, message: str) -> None:
    root = make_repo({".cacheaudit.toml": text})
    with pytest.raises(UsageError, match=r"\.cacheaudit\.toml") as info:
        build_config(root)
    assert message in str(info.value)


def test_explicit_config_file_must_exist(make_repo: Repo) -> None:
    root = make_repo({"README.md": "x"})
    with pytest.raises(UsageError, match="config file not found"):
        build_config(root, config_file=root / "missing.toml")


def test_broken_pyproject_without_our_table_does_not_stop_the_run(make_repo: Repo) -> None:
    # Without [tool.cacheaudit] it is not a config file: its syntax is the analyzer's CA001.
    root = make_repo({"pyproject.toml": "[project\nname = 'x'\n"})
    assert build_config(root).fail_under is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("pyproject.toml", b"[tool.cacheaudit]\nfail-under = 80\n[project\n", "invalid TOML"),
        ("pyproject.toml", b"[tool.cacheaudit]\nfail-under = 80 # \xe9t\xe9\n", "not valid UTF-8"),
        (".cacheaudit.toml", b"fail-under = 80\n\xff\n", "not valid UTF-8"),
        (".cacheaudit.toml", b"fail-under = [\n", "invalid TOML"),
    ],
)
def test_a_config_file_that_cannot_be_read_is_exit_2(
    tmp_path: Path, name: str, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from cacheaudit.cli import main

    (tmp_path / name).write_bytes(content)
    (tmp_path / "Dockerfile").write_text("FROM python:3.12\nRUN pip install requests\n")
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and name in err


def _monorepo(make_repo: Repo) -> Path:
    root = make_repo(
        {
            "pyproject.toml": (
                "[tool.cacheaudit]\n"
                "fail-under = 90\n"
                'exclude = ["frontend/legacy/**", "*.bak"]\n'
                'per-path-ignores = { "frontend/docker/**" = ["CA301"] }\n'
            ),
            "frontend/Dockerfile": "FROM node:20\nCOPY . .\nRUN npm ci\n",
            "frontend/docker/dev.Dockerfile": "FROM python:3.12\nRUN pip install requests\n",
            "frontend/legacy/Dockerfile": "FROM python:3.12\nRUN pip install flask\n",
        }
    )
    (root / ".git").mkdir()
    return root


@pytest.mark.parametrize("how", ["from-root", "subdirectory-argument", "cwd-subdirectory", "file"])
def test_config_is_found_the_same_way_however_called(
    make_repo: Repo, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    from cacheaudit.audit import audit, resolve_targets

    root = _monorepo(make_repo)
    cwd, args = {
        "from-root": (root, ["."]),
        "subdirectory-argument": (root, ["frontend"]),
        "cwd-subdirectory": (root / "frontend", []),
        "file": (root, ["frontend/docker/dev.Dockerfile"]),
    }[how]
    monkeypatch.chdir(cwd)
    top, targets = resolve_targets([Path(a) for a in args], cwd)
    config = build_config(top, targets=targets, cwd=cwd)
    assert config.config_file == root / "pyproject.toml"
    assert config.fail_under == 90
    report = audit(config)
    assert report.config_file == str(root / "pyproject.toml")
    paths = {f.location.path for f in report.findings} | set(report.files_audited)
    # The file's globs are relative to its directory, wherever the audit starts.
    assert not any("legacy" in p for p in paths)
    assert not any(f.rule_id == "CA301" and "docker/" in f.location.path for f in report.findings)
    assert [
        s.finding.rule_id for s in report.suppressed if "dev.Dockerfile" in s.finding.location.path
    ]


def test_the_closest_config_wins(make_repo: Repo) -> None:
    root = make_repo(
        {
            ".cacheaudit.toml": "fail-under = 90\n",
            "services/api/pyproject.toml": "[tool.cacheaudit]\nfail-under = 50\n",
            "services/web/pyproject.toml": "[project]\nname = 'web'\n",  # not ours: skipped
        }
    )
    (root / ".git").mkdir()
    assert build_config(root / "services" / "api", cwd=root).fail_under == 50
    assert build_config(root / "services" / "web", cwd=root).fail_under == 90


def test_a_directory_named_explicitly_is_audited_even_if_the_file_excludes_it(
    make_repo: Repo,
) -> None:
    root = make_repo(
        {
            ".cacheaudit.toml": 'exclude = ["examples/**"]\n',
            "examples/demo/Dockerfile": "FROM python:3.12\nRUN pip install requests\n",
        }
    )
    (root / ".git").mkdir()
    from cacheaudit.audit import audit

    report = audit(build_config(root / "examples" / "demo", cwd=root))
    assert report.files_audited == ("Dockerfile",)
    assert audit(build_config(root, cwd=root)).files_audited == ()


def test_no_config_above_a_directory_outside_any_repository(
    make_repo: Repo, tmp_path: Path
) -> None:
    root = make_repo({"pyproject.toml": "[tool.cacheaudit]\nfail-under = 10\n", "sub/x": ""})
    # Outside a repository, discovery stops at the current directory.
    assert build_config(root / "sub", cwd=root).fail_under == 10
    assert build_config(root / "sub", cwd=root / "sub").fail_under is None

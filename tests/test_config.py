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


def test_broken_pyproject_does_not_stop_the_run(make_repo: Repo) -> None:
    # Without [tool.cacheaudit] we only peek at pyproject.toml; its syntax is not our business here.
    root = make_repo({"pyproject.toml": "[project\nname = 'x'\n"})
    assert build_config(root).fail_under is None

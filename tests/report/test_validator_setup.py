"""The validator set-up never lets CI pass without validating: missing npm under CI=true fails."""

from __future__ import annotations

import pytest

from tests.report import conftest


def _no_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "_installed_version", lambda: None)
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    monkeypatch.setattr(conftest.platform, "system", lambda: "Linux")
    monkeypatch.setattr(conftest.platform, "machine", lambda: "x86_64")


def test_missing_validator_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_validator(monkeypatch)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unavailable under CI=true: npm"):
        conftest.install_validator()


def test_missing_validator_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_validator(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm is not on PATH"):
        conftest.install_validator()


def test_unsupported_platform_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest.platform, "system", lambda: "Darwin")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        conftest.install_validator()

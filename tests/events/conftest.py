"""Fixtures for registry tests: a project folder and a clean git environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import GIT_ENV, Repo


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or user git configuration, and an identity, as on a fresh machine."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def repo(tmp_path: Path, git_env: None) -> Repo:
    """An empty bare repository with a working clone."""
    return Repo(tmp_path / "remote")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, made the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    for key in ("VOLNUX_CONFIG", "VOLNUX_STORE", "VOLNUX_STRICT", "VOLNUX_EVENTS"):
        monkeypatch.delenv(key, raising=False)
    return root

"""Fixtures for workflow unit tests: a project made the working directory, and git."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..events.support import GIT_ENV, Repo


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, made the working directory, with no Volnux settings
    from the environment."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    for key in (
        "VOLNUX_CONFIG",
        "VOLNUX_STORE",
        "VOLNUX_STRICT",
        "VOLNUX_EVENTS",
        "VOLNUX_REGISTRY_CACHE",
    ):
        monkeypatch.delenv(key, raising=False)
    return root


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """An empty bare repository with a working clone; git without the machine's settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    return Repo(tmp_path / "remote")

"""Fixtures for the sub-workflow tests: a project of units made the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import project as make_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with units (see support.project), made the working directory."""
    root = make_project(tmp_path / "project")
    monkeypatch.chdir(root)
    for key in ("VOLNUX_CONFIG", "VOLNUX_STORE", "VOLNUX_STRICT", "VOLNUX_EVENTS"):
        monkeypatch.delenv(key, raising=False)
    return root

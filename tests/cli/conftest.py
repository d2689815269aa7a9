"""Fixtures for CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import EVENTS, Project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A folder holding events.py, made the working directory."""
    (tmp_path / "events.py").write_text(EVENTS, encoding="utf-8")
    # The default journal is .volnux/volnux.db under the working directory.
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)

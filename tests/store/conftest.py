"""Fixtures for the journal tests: a journal of each kind, a path for a new one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from volnux.store.base import Journal
from volnux.store.memory import MemoryJournal
from volnux.store.sqlite import SQLiteJournal


@pytest.fixture(params=["memory", "sqlite"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    """A fresh journal of each kind."""
    made: Journal = (
        MemoryJournal() if request.param == "memory" else SQLiteJournal(tmp_path / "j.db")
    )
    yield made
    made.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a new SQLite journal."""
    return tmp_path / "journal.db"

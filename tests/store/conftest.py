"""Fixtures for the journal tests: a journal of each kind and a path for a new one
(the PostgreSQL server and its schemas are the whole suite's: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from volnux.store.base import Journal
from volnux.store.memory import MemoryJournal
from volnux.store.sqlite import SQLiteJournal


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    """A fresh journal of each kind (PostgreSQL: in a schema of this test's own)."""
    made: Journal
    if request.param == "memory":
        made = MemoryJournal()
    elif request.param == "sqlite":
        made = SQLiteJournal(tmp_path / "j.db")
    else:
        from volnux.store.postgres import PostgresJournal

        made = PostgresJournal(request.getfixturevalue("postgres_url"))
    yield made
    made.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a new SQLite journal."""
    return tmp_path / "journal.db"

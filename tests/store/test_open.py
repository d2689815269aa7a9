"""open_store: which URL opens which journal, and the errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from volnux.errors import StoreError
from volnux.store.base import Journal
from volnux.store.memory import MemoryJournal
from volnux.store.open import STORE_ENV, open_store
from volnux.store.sqlite import SQLiteJournal


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)


def sqlite_path(journal: Journal) -> Path:
    """The file of a SQLite journal (and close it)."""
    assert isinstance(journal, SQLiteJournal)
    journal.close()
    return journal.path


def test_default_is_in_the_working_directory_of_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        assert sqlite_path(open_store(None)) == tmp_path / name / ".volnux" / "volnux.db"
        assert (tmp_path / name / ".volnux" / "volnux.db").exists()


def test_the_environment_names_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV, f"sqlite://{tmp_path}/from-env.db")
    assert sqlite_path(open_store()) == tmp_path / "from-env.db"
    monkeypatch.setenv(STORE_ENV, "memory:")
    assert isinstance(open_store(None), MemoryJournal)
    # An explicit URL wins over the environment.
    assert sqlite_path(open_store(str(tmp_path / "explicit.db"))) == tmp_path / "explicit.db"


@pytest.mark.parametrize("url", ["memory:", "memory://", "MEMORY:"])
def test_memory(url: str) -> None:
    assert isinstance(open_store(url), MemoryJournal)


def test_sqlite_urls_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_path(open_store(f"sqlite://{tmp_path}/abs.db")) == tmp_path / "abs.db"
    # SQLAlchemy's spelling of an absolute path: four slashes.
    assert sqlite_path(open_store(f"sqlite:///{tmp_path}/abs.db")) == tmp_path / "abs.db"
    assert sqlite_path(open_store("sqlite:rel.db")) == tmp_path / "rel.db"
    assert sqlite_path(open_store("sqlite:sub/rel.db")) == tmp_path / "sub" / "rel.db"
    for name in ("plain.db", "plain.sqlite", "plain.sqlite3", "dir/x.DB"):
        assert sqlite_path(open_store(name)) == tmp_path / name
    assert sqlite_path(open_store(str(tmp_path / "absolute.db"))) == tmp_path / "absolute.db"


def test_synchronous_option(tmp_path: Path) -> None:
    journal = open_store(f"sqlite://{tmp_path}/full.db?synchronous=FULL")
    assert isinstance(journal, SQLiteJournal) and journal.synchronous == "FULL"
    journal.close()
    journal = open_store(f"sqlite:{tmp_path}/normal.db?synchronous=normal")
    assert isinstance(journal, SQLiteJournal) and journal.synchronous == "NORMAL"
    journal.close()
    with pytest.raises(StoreError, match="unknown option 'mode=ro'"):
        open_store(f"sqlite:{tmp_path}/x.db?mode=ro")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_postgres_urls_open_the_postgres_journal(scheme: str) -> None:
    """(Against a server: tests/store/test_postgres.py; here, a port nothing listens on.)"""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match="cannot connect to the journal at ") as info:
        open_store(f"{scheme}://u:secret-pw@127.0.0.1:{port}/db?schema=s")
    assert f"://u@127.0.0.1:{port}/db?schema=s: " in str(info.value)
    assert "secret-pw" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["mysql://host/db", "journal.txt", "", "sqlite:", "sqlite://host/x.db", "memory:x"]
)
def test_anything_else_is_refused_with_the_accepted_forms(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = str(info.value)
    assert repr(url) in message
    assert "sqlite:" in message


def test_nothing_is_created_by_importing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    import importlib

    import volnux.store.open

    importlib.reload(volnux.store.open)
    assert list(tmp_path.iterdir()) == []


def test_reading_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from volnux.errors import JournalNotFound

    monkeypatch.chdir(tmp_path)
    for url in (None, "runs.db", f"sqlite:///{tmp_path}/x/y.db", "sqlite:rel.db"):
        with pytest.raises(JournalNotFound, match="no journal at "):
            open_store(url, create=False)
    assert list(tmp_path.iterdir()) == []
    assert isinstance(open_store("memory:", create=False), MemoryJournal)


def test_a_journal_this_process_may_not_write_is_read_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from volnux.states import RunState
    from volnux.store.base import RunRecord
    from volnux.store.sqlite import file

    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        journal.create_run(RunRecord("r", "w", "A", "f", {}, {}, RunState.RUNNING, 1.0, 1.0))
    # (Tests run as root, who may write anything: the check is what is faked.)
    monkeypatch.setattr(file, "_writable", lambda path: False)
    with SQLiteJournal(path, create=False) as journal:
        assert [r.id for r in journal.list_runs()] == ["r"]
        with pytest.raises(StoreError, match="readonly"):
            journal.set_run_state("r", RunState.FAILED, 2.0)
    assert [r.state for r in SQLiteJournal(path).list_runs()] == [RunState.RUNNING]

"""Hostile input, for real: foreign and damaged files, killed writers, concurrent writers."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from volnux.errors import CorruptStoreError, StoreError
from volnux.states import TaskState
from volnux.store.sqlite import SQLiteJournal
from volnux.store.sqlite.migrations import LATEST_VERSION

from .factories import file_hash, make_run, make_task, old_journal

CHILD = Path(__file__).with_name("journal_child.py")


def filled_journal(path: Path, records: int = 400) -> None:
    """A closed journal with a run and ``records`` task records (several pages)."""
    with SQLiteJournal(path) as journal:
        journal.create_run(make_run())
        journal.record([make_task(f"n{i}", result="y" * 200) for i in range(records)])


def assert_refused(path: Path, *needles: str) -> CorruptStoreError:
    """Opening ``path`` raises CorruptStoreError naming it, and leaves its bytes alone."""
    before = file_hash(path)
    with pytest.raises(CorruptStoreError) as info:
        SQLiteJournal(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert file_hash(path) == before
    return info.value


# -- files that are not Volnux journals ------------------------------------


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.db"
    path.write_bytes(random.Random(7).randbytes(8192))
    assert_refused(path, "not a SQLite database")


def test_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some notes\n" * 100)
    assert_refused(path, "not a SQLite database")


def test_a_sqlite_header_over_garbage(tmp_path: Path) -> None:
    path = tmp_path / "fake.db"
    path.write_bytes(b"SQLite format 3\x00" + random.Random(3).randbytes(8192))
    assert_refused(path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_journal(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "cut.db"
    filled_journal(path)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(int(size * keep) // 4096 * 4096 + 100)
    assert_refused(path, "truncated", f"the file has {int(size * keep) // 4096 * 4096 + 100}")


def test_a_journal_cut_inside_its_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.db"
    filled_journal(path, 10)
    with path.open("r+b") as fh:
        fh.truncate(60)
    assert_refused(path, "truncated SQLite database (60 bytes)")


def test_a_damaged_page_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    filled_journal(path)
    with path.open("r+b") as fh:
        for page in range(2, path.stat().st_size // 4096):
            fh.seek(page * 4096)
            fh.write(random.Random(page).randbytes(4096))
    with pytest.raises(CorruptStoreError) as info, SQLiteJournal(path) as journal:
        journal.load("run-1")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
def test_a_database_of_another_program(tmp_path: Path, wal: bool) -> None:
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE runs (id TEXT)")  # a name clash must not fool it
    conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    assert_refused(path, "another program", "customers", "will not write")
    conn = sqlite3.connect(path)
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == {"customers", "runs"}


def test_an_empty_database_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("DROP TABLE t")
    conn.commit()
    conn.close()
    assert_refused(path, "application id 0x4d2")


def test_a_journal_from_a_newer_volnux(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    filled_journal(path, 5)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.commit()
    conn.close()
    assert_refused(path, f"schema version {LATEST_VERSION + 1}", "upgrade Volnux")


def test_a_journal_missing_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "gutted.db"
    filled_journal(path, 5)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE run_notes")
    conn.commit()
    conn.close()
    assert_refused(path, "lacks the tables run_notes")


def test_an_empty_file_becomes_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with SQLiteJournal(path) as journal:
        journal.create_run(make_run())
        assert journal.load("run-1").run.id == "run-1"


def test_a_folder_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        SQLiteJournal(tmp_path)


# -- processes -------------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen[str]:
    """Start journal_child.py with ``args``; stdin and stdout are pipes."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("kill_after", [40, 700, 5000, 12000])
def test_a_writer_killed_with_sigkill_loses_nothing_it_returned(
    tmp_path: Path, kill_after: int
) -> None:
    path = tmp_path / "killed.db"
    # 4 KB results make the WAL pass its checkpoint size (16 MiB: about every
    # 4,000 records), so the kill may also land in a checkpoint, which runs
    # on a thread of its own beside the writes; batch sizes 1..4 check that
    # batches are whole.
    child = spawn(str(path), "run-1", "1000000", "--payload", "4000", "--batches", "1,3,2,4")
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    returned = 0
    for line in child.stdout:
        returned = int(line)
        if returned >= kill_after:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    for line in child.stdout:  # lines printed between the break and the kill
        if line.strip().isdigit():
            returned = int(line)
    child.stdout.close()
    assert child.stdin is not None and child.stderr is not None
    child.stdin.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    with SQLiteJournal(path) as journal:
        tasks = journal.load("run-1").tasks
    assert len(tasks) >= returned
    assert len(tasks) - returned <= 4  # at most the batch committed before its print
    assert [t.node_id for t in tasks] == [f"n{i}" for i in range(len(tasks))]
    assert all(t.state is TaskState.SUCCEEDED and t.result == "x" * 4000 for t in tasks)
    sizes: dict[str, int] = {}
    for task in tasks:
        assert task.note is not None
        sizes[task.note] = sizes.get(task.note, 0) + 1
    for note, seen in sizes.items():
        assert seen == int(note.split("/")[1]), f"batch {note} is not whole"


def test_two_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # new: both processes also race to create it
    children = [spawn(str(path), run_id, "500", "--wait") for run_id in ("run-a", "run-b")]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.communicate()[1]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out.split()[-1] == "500"
    with SQLiteJournal(path) as journal:
        for run_id in ("run-a", "run-b"):
            tasks = journal.load(run_id).tasks
            assert [t.node_id for t in tasks] == [f"n{i}" for i in range(500)]
        assert {r.id for r in journal.list_runs()} == {"run-a", "run-b"}


MIGRATE = r"""
import sys
from volnux.store import SQLiteJournal
print("opening", flush=True)
SQLiteJournal(sys.argv[1]).close()
print("done", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_process_killed_while_upgrading_a_journal_leaves_it_whole(tmp_path: Path) -> None:
    """Migration 3 rewrites every task record; a kill at any moment of it loses none."""
    batches = {f"run-{i:03d}": 400 for i in range(250)}  # 100,000 batches
    original = tmp_path / "v2.db"
    old_journal(original, 2, batches)
    # How long an upgrade takes here, to spread the kills over it.
    probe = tmp_path / "probe.db"
    shutil.copy(original, probe)
    began = time.perf_counter()
    SQLiteJournal(probe).close()
    upgrade_s = time.perf_counter() - began
    cut_short = 0
    for trial, share in enumerate((0.1, 0.3, 0.5, 0.7, 0.9, 1.5)):
        path = tmp_path / f"trial-{trial}.db"
        shutil.copy(original, path)
        child = subprocess.Popen(
            [sys.executable, "-c", MIGRATE, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "opening"
        time.sleep(upgrade_s * share)
        os.kill(child.pid, signal.SIGKILL)
        finished = child.stdout.read().strip() == "done"
        child.stdout.close()
        child.wait(timeout=30)
        # What the killed process left: version 2 untouched, or version 3 whole.
        version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
        assert version in (2, LATEST_VERSION)
        cut_short += version == 2 and not finished
        with SQLiteJournal(path) as journal:
            for run_id in ("run-000", "run-137", "run-249"):
                tasks = journal.load(run_id).tasks
                assert [(t.node_id, t.result) for t in tasks] == [
                    (f"n{i}", i) for i in range(1, 401)
                ]
            count = journal._conn.execute("SELECT count(*) FROM task_records").fetchone()[0]
            assert count == 100_000
    assert cut_short, "no kill landed inside the upgrade; the test proved nothing"


RACE = r"""
import sys, time
from volnux.store import SQLiteJournal
go = float(sys.argv[2])
while time.time() < go:
    pass
journal = SQLiteJournal(sys.argv[1])
journal.close()
"""


def test_processes_racing_to_create_one_journal_all_open_it(tmp_path: Path) -> None:
    # Each opener classifies, switches to WAL and migrates a file the others
    # are creating at the same instant; none may call it foreign or fail.
    for trial in range(3):
        path = tmp_path / f"new-{trial}.db"
        go = time.time() + 1.0  # after every child has started Python
        children = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, str(path), repr(go)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        for child in children:
            _, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
        with SQLiteJournal(path) as journal:
            assert journal.list_runs() == []


# -- damage found before writing, and by a full check ------------------------


def _pages_of(path: Path, table: str) -> list[int]:
    """The pages of ``table``'s B-tree (1-based), from its root down, read with a
    plain connection (SQLite's own page-walking, no dbstat needed)."""
    conn = sqlite3.connect(path)
    try:
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    data = path.read_bytes()
    pages, todo = [], [root]
    while todo:
        number = todo.pop()
        pages.append(number)
        at = (number - 1) * size + (100 if number == 1 else 0)
        kind = data[at]
        if kind in (2, 5):  # interior pages: children, then the right-most one
            cells = int.from_bytes(data[at + 3 : at + 5], "big")
            todo.append(int.from_bytes(data[at + 8 : at + 12], "big"))
            base = (number - 1) * size
            for i in range(cells):
                ptr = int.from_bytes(data[at + 12 + 2 * i : at + 14 + 2 * i], "big")
                todo.append(int.from_bytes(data[base + ptr : base + ptr + 4], "big"))
    return pages


def _scribble(path: Path, page: int) -> None:
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as fh:
        fh.seek((page - 1) * size + size // 2)
        fh.write(random.Random(page).randbytes(size // 2))


def test_damage_to_the_runs_table_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        for i in range(40):  # runs spill over several pages
            journal.create_run(make_run(f"run-{i}", created_at=float(i)))
    _scribble(path, _pages_of(path, "runs")[-1])
    error = assert_refused(path, "is damaged", "nothing was written", "volnux store check")
    assert "table runs" in str(error)


def test_damage_deep_in_the_task_records_is_found_by_a_full_check(tmp_path: Path) -> None:
    """The check made on opening reads the small tables and the newest records
    only (1.4-1.7 ms on a 1 GB journal); a page deep in the task records is found by
    ``Journal.check()`` (``volnux store check``), and by reading its run."""
    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        journal.create_run(make_run())
        for i in range(400):  # a batch (a row) each: many leaf pages
            journal.record([make_task(f"n{i}", result="y" * 200)])
    leaves = _pages_of(path, "task_records")
    assert len(leaves) > 10
    _scribble(path, leaves[len(leaves) // 2])
    with SQLiteJournal(path) as journal:  # opens: the damage is not on its path
        problems = journal.check()
        assert problems, "the full check found nothing"
        with pytest.raises(CorruptStoreError):
            journal.load("run-1")


def test_a_file_still_being_created_by_another_process_is_waited_for(tmp_path: Path) -> None:
    """SQLite extends a new file before it writes its header: a reader that comes
    in between sees zeros, and waits (up to a second) rather than refuse it."""
    import threading

    real = tmp_path / "real.db"
    with SQLiteJournal(real) as journal:
        journal.create_run(make_run())
    data = real.read_bytes()
    path = tmp_path / "new.db"
    path.write_bytes(bytes(len(data)))  # zeros, as the creator has only extended it
    writer = threading.Timer(0.2, path.write_bytes, (data,))
    writer.start()
    try:
        with SQLiteJournal(path) as journal:
            assert [r.id for r in journal.list_runs()] == ["run-1"]
    finally:
        writer.join()
    # Zeros that stay zeros are refused, as any file that is not a database.
    zeros = tmp_path / "zeros.db"
    zeros.write_bytes(bytes(4096))
    assert_refused(zeros, "not a SQLite database")


def test_batches_missing_from_a_run_are_damage_not_a_shorter_run(tmp_path: Path) -> None:
    """A run's batches are numbered with no gap: rows gone from the middle or the
    end (a page SQLite skipped, a hand edit) refuse the load rather than give a run
    that seems to have done less."""
    import sqlite3

    path = tmp_path / "j.db"
    with SQLiteJournal(path) as journal:
        journal.create_run(make_run())
        for i in range(8):
            journal.record([make_task(f"n{i}")])
    conn = sqlite3.connect(path)
    keys = [key for (key,) in conn.execute("SELECT key FROM task_records ORDER BY key")]
    conn.execute("DELETE FROM task_records WHERE key IN (?, ?)", (keys[3], keys[4]))
    conn.commit()
    with (
        SQLiteJournal(path) as journal,
        pytest.raises(CorruptStoreError, match="miss batches 4 to 5"),
    ):
        journal.load("run-1")
    conn.execute("DELETE FROM task_records WHERE key < ?", (keys[7],))
    conn.commit()
    conn.close()
    with (
        SQLiteJournal(path) as journal,
        pytest.raises(CorruptStoreError, match="miss batches 1 to 7"),
    ):
        journal.load("run-1")

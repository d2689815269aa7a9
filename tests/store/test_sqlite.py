"""What the SQLite journal does beyond the protocol: the file, pragmas, schema, codecs."""

from __future__ import annotations

import decimal
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from volnux.errors import CorruptStoreError, StoreError
from volnux.states import RunState, TaskState
from volnux.store.base import EventPin, UnencodableResult
from volnux.store.codec import PickleCodec
from volnux.store.sqlite import SQLiteJournal, checkpoint
from volnux.store.sqlite.checkpoint import SAFETY_FACTOR, Checkpointer, wal_pages
from volnux.store.sqlite.file import PAGE_SIZE
from volnux.store.sqlite.migrations import (
    APPLICATION_ID,
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    apply_migrations,
)

from .factories import make_run, make_task, old_journal


class DecimalCodec:
    """A custom codec: decimals as their string."""

    name = "decimal"

    def encode(self, value: Any) -> str:
        if not isinstance(value, decimal.Decimal):
            raise TypeError("only Decimal")
        return str(value)

    def decode(self, data: bytes | str) -> Any:
        return decimal.Decimal(data if isinstance(data, str) else data.decode())


def raw(path: Path, sql: str, *args: Any) -> list[Any]:
    """Rows of ``sql`` through a separate plain connection, committed (so it
    also writes: the tests that damage a journal by hand)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def test_creates_the_folders_and_a_wal_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "journal.db"
    with SQLiteJournal(path) as journal:
        journal.create_run(make_run())
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    assert raw(path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert raw(path, "PRAGMA application_id") == [(APPLICATION_ID,)]


def test_a_new_journal_has_small_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    SQLiteJournal(new).close()
    assert raw(new, "PRAGMA page_size") == [(PAGE_SIZE,)]
    old = tmp_path / "old.db"
    old_journal(old, 2, {"r": 2})  # SQLite's default 4,096
    with SQLiteJournal(old) as journal:
        journal.record([make_task("later", run_id="r")])
        assert [t.node_id for t in journal.load("r").tasks] == ["n1", "n2", "later"]
    assert raw(old, "PRAGMA page_size") == [(4096,)]


def wal_frames(db_path: Path) -> int:
    """How many frames the WAL file holds room for (it grows, and is reused after a restart)."""
    page = raw(db_path, "PRAGMA page_size")[0][0]
    wal = db_path.with_name(db_path.name + "-wal").stat().st_size
    return (wal - 32) // (page + 24)  # WAL header, then (frame header + page)s


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.mark.parametrize("old_file", [False, True], ids=["2 KiB pages", "4 KiB pages"])
def test_checkpoints_run_beside_the_commits_and_keep_the_wal_near_16_mib(
    db_path: Path, old_file: bool
) -> None:
    if old_file:
        old_journal(db_path, 2, {"old": 1})  # SQLite's default page size
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        page = raw(db_path, "PRAGMA page_size")[0][0]
        assert page == (4096 if old_file else PAGE_SIZE)
        pages = wal_pages(page)
        assert pages * page == 16 * 2**20
        commits = 3 * pages + 500  # one WAL page (at least) each
        for i in range(commits):
            journal.record([make_task(f"n{i}", at=1001.0 + i)])
        checkpointer = journal._checkpointer
        wait_for(lambda: checkpointer.completed >= 2, "two checkpoints")
        assert checkpointer.last is not None
        busy, frames, copied = checkpointer.last
        assert busy == 0 and copied == frames  # the locked round reached the WAL's end
        # Each checkpoint let the WAL start over: it never held them all.  How far
        # past one interval it grows is what was committed while the thread
        # copied (about 2x on this two-core machine, a little more under load:
        # 8,240-8,560 frames of 4 KiB were seen); the promise is the safety net.
        assert wal_frames(db_path) < min(commits, SAFETY_FACTOR * pages)
        assert len(journal.load("run-1").tasks) == commits
        threads = [t for t in threading.enumerate() if t.name == "volnux-checkpoint"]
        assert threads
    assert not any(t.is_alive() for t in threads)  # close() ended the thread
    # and what was checkpointed into the database file reads back from it alone
    rows = raw(db_path, "SELECT count(*) FROM task_records")[0][0]
    assert rows == commits + (1 if old_file else 0)


def test_commits_still_checkpoint_if_the_thread_never_runs(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net: past SAFETY_FACTOR x 16 MiB a commit checkpoints the WAL itself."""
    monkeypatch.setattr(Checkpointer, "request", lambda self: None)
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        limit = SAFETY_FACTOR * wal_pages(PAGE_SIZE)
        commits = limit + 1500  # one new WAL page (at least) each
        for i in range(commits):
            journal.record([make_task(f"n{i}", at=1001.0 + i)])
        # It grew to the safety limit (journal_size_limit trims a few frames
        # of 64 MiB after the checkpoint), and no further.
        assert 0.98 * limit <= wal_frames(db_path) < limit + 200
        assert journal._checkpointer.completed == 0
        assert len(journal.load("run-1").tasks) == commits


def test_an_idle_checkpoint_thread_ends_and_starts_again(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "IDLE_S", 0.05)
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        checkpointer = journal._checkpointer
        assert checkpointer._thread is None  # not started before it is needed
        for round_ in (1, 2):
            for i in range(wal_pages(PAGE_SIZE)):
                journal.record([make_task(f"r{round_}-{i}")])
            wait_for(lambda n=round_: checkpointer.completed == n, f"checkpoint {round_}")
            wait_for(lambda: checkpointer._thread is None, "the idle thread to end")
        assert len(journal.load("run-1").tasks) == 2 * wal_pages(PAGE_SIZE)


def test_relative_paths_are_resolved_when_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SQLiteJournal("rel.db") as journal:
        assert journal.path == tmp_path / "rel.db"
    assert (tmp_path / "rel.db").exists()


@pytest.mark.parametrize(("setting", "code"), [("NORMAL", 1), ("FULL", 2)])
def test_synchronous(db_path: Path, setting: Any, code: int) -> None:
    with SQLiteJournal(db_path, synchronous=setting) as journal:
        assert journal._conn.execute("PRAGMA synchronous").fetchone() == (code,)
        assert journal._conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_synchronous_off_is_refused(db_path: Path) -> None:
    with pytest.raises(ValueError, match="NORMAL"):
        SQLiteJournal(db_path, synchronous="OFF")  # type: ignore[arg-type]


def test_everything_survives_reopening(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        journal.record([make_task("a", result={"n": 1})])
        journal.set_run_state("run-1", RunState.SUCCEEDED, 5.0)
    with SQLiteJournal(db_path) as journal:
        snap = journal.load("run-1")
    assert snap.run.state is RunState.SUCCEEDED
    assert snap.tasks[0].result == {"n": 1}


def test_many_runs_in_one_file(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        for i in range(20):
            journal.create_run(make_run(f"r{i}", created_at=float(i)))
            journal.record([make_task("t", run_id=f"r{i}", result=i)])
        assert [t.result for t in journal.load("r7").tasks] == [7]
        assert len(journal.list_runs(limit=100)) == 20


def test_list_runs_puts_the_later_written_first_on_ties(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("first", created_at=5.0))
        journal.create_run(make_run("second", created_at=5.0))
        assert [r.id for r in journal.list_runs()] == ["second", "first"]
        with pytest.raises(ValueError):
            journal.list_runs(limit=-1)


def stored_records(db_path: Path) -> list[list[Any]]:
    """Every stored record, batch rows unpacked (see volnux.store.sqlite.records)."""
    rows = raw(db_path, "SELECT records FROM task_records ORDER BY key")
    return [record for (text,) in rows for record in json.loads(text)]


def test_codec_names_are_stored_per_record(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        journal.record([
            make_task("none"),
            make_task("json", result=[1, 2]),
            make_task("bytes", result=b"\x00\x01"),
            make_task("tuple", result=(1, "a")),
        ])  # fmt: skip
        # One write, one row; each record names the codec of its result.
        assert raw(db_path, "SELECT count(*) FROM task_records") == [(1,)]
        codecs = [(r[0], r[6], r[7]) for r in stored_records(db_path)]
        assert codecs == [
            ("none", None, None),
            ("json", "json", [1, 2]),
            ("bytes", "bytes", {"b64": "AAE="}),
            ("tuple", "json", [1, "a"]),
        ]
        tasks = journal.load("run-1").tasks
        assert tasks[2].result == b"\x00\x01" and tasks[3].result == [1, "a"]


@pytest.mark.parametrize("value", [{1, 2}, {1: "a"}, object(), {"k": b"nested bytes"}], ids=repr)
def test_unencodable_results_write_nothing(db_path: Path, value: Any) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        with pytest.raises(UnencodableResult) as info:
            journal.encode_result("bad", value)
        assert info.value.node_id == "bad"
        with pytest.raises(UnencodableResult):
            journal.record([make_task("ok"), make_task("bad", result=value)])
        assert raw(db_path, "SELECT count(*) FROM task_records") == [(0,)]


def test_pickle_only_when_turned_on(db_path: Path) -> None:
    with SQLiteJournal(db_path, allow_pickle=True) as journal:
        journal.create_run(make_run())
        journal.record([make_task("s", result={1, 2})])
        assert journal.load("run-1").tasks[0].result == {1, 2}
    assert [r[6] for r in stored_records(db_path)] == ["pickle"]
    with SQLiteJournal(db_path) as journal:
        with pytest.raises(StoreError, match="allow_pickle=True") as info:
            journal.load("run-1")
        assert "task 's'" in str(info.value) and str(db_path) in str(info.value)
        # The rest of the file is still usable.
        assert journal.list_runs()[0].id == "run-1"
    with SQLiteJournal(db_path, codec=PickleCodec()) as journal:
        assert journal.load("run-1").tasks[0].result == {1, 2}


def test_codec_and_allow_pickle_exclude_each_other(db_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        SQLiteJournal(db_path, codec=DecimalCodec(), allow_pickle=True)


def test_a_custom_codec(db_path: Path) -> None:
    with SQLiteJournal(db_path, codec=DecimalCodec()) as journal:
        journal.create_run(make_run())
        journal.record([make_task("d", result=decimal.Decimal("1.10"))])
        assert journal.load("run-1").tasks[0].result == decimal.Decimal("1.10")
        # The extra codec takes whole values only: a dict holding a Decimal
        # is neither JSON nor a Decimal.
        with pytest.raises(UnencodableResult, match=r"at \['p'\]: a decimal.Decimal"):
            journal.record([make_task("e", result={"p": decimal.Decimal("1")})])
    with SQLiteJournal(db_path) as journal, pytest.raises(StoreError, match="'decimal'"):
        journal.load("run-1")


def test_inputs_and_notes_that_cannot_be_stored(db_path: Path) -> None:
    from volnux.store.base import RunNote

    with SQLiteJournal(db_path) as journal:
        with pytest.raises(StoreError, match="inputs of run run-1"):
            journal.create_run(make_run(inputs={"when": {1, 2}}))
        journal.create_run(make_run())
        with pytest.raises(StoreError, match="note 'warned'"):
            journal.add_note(RunNote("run-1", "warned", 1.0, {"x": object()}))


def test_an_encoded_result_is_encoded_once(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        value = {"big": list(range(100))}
        encoded = journal.encode_result("t", value)
        calls: list[str] = []
        original = journal._codecs.encode

        def counting(node_id: str, value: Any) -> tuple[bytes | str | None, str | None]:
            calls.append(node_id)
            return original(node_id, value)

        monkeypatch.setattr(journal._codecs, "encode", counting)
        journal.record([make_task("t", result=value), make_task("u", result=[1])], {0: encoded})
        assert calls == ["u"]
        assert journal.load("run-1").tasks[0].result == value


def test_cancel_is_seen_by_another_connection(db_path: Path) -> None:
    with SQLiteJournal(db_path) as runner, SQLiteJournal(db_path) as cli:
        runner.create_run(make_run())
        assert not runner.cancel_requested("run-1")
        cli.request_cancel("run-1")
        assert runner.cancel_requested("run-1")


def test_a_closed_journal_says_so(db_path: Path) -> None:
    journal = SQLiteJournal(db_path)
    journal.close()
    journal.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        journal.load("run-1")


def test_usable_from_another_thread(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        errors: list[BaseException] = []

        def write(name: str) -> None:
            try:
                for i in range(50):
                    journal.record([make_task(f"{name}{i}", TaskState.RUNNING)])
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in "abc"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(journal.load("run-1").tasks) == 150


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len(MIGRATIONS) == LATEST_VERSION


def test_migrations_apply_in_order_inside_the_callers_transaction(tmp_path: Path) -> None:
    steps = (
        *MIGRATIONS,
        Migration(LATEST_VERSION + 1, "add a column", ("ALTER TABLE runs ADD COLUMN x TEXT",)),
        Migration(LATEST_VERSION + 2, "fill it", ("UPDATE runs SET x = 'filled'",)),
    )
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert apply_migrations(conn, 0, MIGRATIONS) == LATEST_VERSION
    conn.execute("COMMIT")
    conn.execute(
        "INSERT INTO runs (id, workflow, filename, text, fingerprint, events, state,"
        " created_at, updated_at) VALUES ('r', 'w', 'f', 't', 'p', '{}', 'running', 1, 1)"
    )
    conn.execute("BEGIN IMMEDIATE")
    assert apply_migrations(conn, LATEST_VERSION, steps) == LATEST_VERSION + 2
    conn.execute("COMMIT")
    assert conn.execute("SELECT x FROM runs").fetchall() == [("filled",)]
    assert conn.execute("PRAGMA user_version").fetchone() == (LATEST_VERSION + 2,)
    conn.close()


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    SQLiteJournal(path).close()
    broken = (*MIGRATIONS,
              Migration(LATEST_VERSION + 1, "ok", ("CREATE TABLE extra (x)",)),
              Migration(LATEST_VERSION + 2, "broken", ("NOT SQL",)))  # fmt: skip
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn, LATEST_VERSION, broken)
    conn.execute("ROLLBACK")
    conn.close()
    assert raw(path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert raw(path, "SELECT name FROM sqlite_master WHERE name = 'extra'") == []


def test_two_journals_initialise_one_new_file(db_path: Path) -> None:
    with SQLiteJournal(db_path) as first, SQLiteJournal(db_path) as second:
        first.create_run(make_run())
        assert second.load("run-1").run.id == "run-1"


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_journal_is_upgraded_and_keeps_its_runs(tmp_path: Path, version: int) -> None:
    from volnux.store.base import LogEntry

    path = tmp_path / f"v{version}.db"
    old_journal(path, version, {"b-run": 3, "a-run": 2})
    with SQLiteJournal(path) as journal:
        for run_id, count in (("b-run", 3), ("a-run", 2)):
            tasks = journal.load(run_id).tasks
            assert [(t.node_id, t.result) for t in tasks] == [
                (f"n{i}", i) for i in range(1, count + 1)
            ]
        # An upgraded run goes on numbering its batches after its old ones.
        journal.record([make_task("later", run_id="a-run")])
        assert [t.node_id for t in journal.load("a-run").tasks] == ["n1", "n2", "later"]
        # A new run takes a number above the old ones.
        journal.create_run(make_run("new-run"))
        journal.record([make_task("first", run_id="new-run")])
        assert [t.node_id for t in journal.load("new-run").tasks] == ["first"]
        assert len(journal.load("b-run").tasks) == 3
        journal.add_logs([LogEntry("a-run", "n1", 1, 1.0, 20, "hello")])
        assert [e.message for e in journal.logs("a-run")] == ["hello"]
        journal.record_durations({"Nap@1": 0.2}, 5.0)
        assert journal.durations(["Nap@1"]) == {"Nap@1": 0.2}
    assert raw(path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert raw(path, "SELECT id, num FROM runs ORDER BY num") == [
        ("b-run", 1), ("a-run", 2), ("new-run", 3)
    ]  # fmt: skip
    keys = [key for (key,) in raw(path, "SELECT key FROM task_records ORDER BY key")]
    assert keys == [(1 << 32) + s for s in (1, 2, 3)] + [(2 << 32) + s for s in (1, 2, 3)] + [
        (3 << 32) + 1
    ]


def test_batches_are_keyed_by_run_number_then_write_order(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("one"))
        journal.create_run(make_run("two"))
        journal.record([make_task("a", run_id="two")])
        journal.record([make_task("b", run_id="one"), make_task("c", run_id="two")])
        journal.record([make_task("d", run_id="one")])
    with SQLiteJournal(db_path) as journal:  # a new process counts on from the file
        journal.record([make_task("e", run_id="two")])
        assert [t.node_id for t in journal.load("one").tasks] == ["b", "d"]
        assert [t.node_id for t in journal.load("two").tasks] == ["a", "c", "e"]
    assert raw(db_path, "SELECT key >> 32, key & 4294967295 FROM task_records ORDER BY key") == [
        (1, 1), (1, 2), (2, 1), (2, 2), (2, 3)
    ]  # fmt: skip


def test_a_run_number_is_never_reused_after_a_run_is_deleted_by_hand(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("gone"))
        journal.record([make_task("old", run_id="gone")])
    raw(db_path, "DELETE FROM runs WHERE id = 'gone'")
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("new"))
        assert journal.load("new").tasks == []  # not the deleted run's batches
    assert raw(db_path, "SELECT num FROM runs") == [(2,)]


def test_a_run_with_no_batch_numbers_left_is_refused_before_writing(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("full"))
        journal.create_run(make_run("next"))
        journal.record([make_task("x", run_id="next")])
        # As if "full" had written 2**32 - 1 batches already.
        journal._conn.execute(
            "INSERT INTO task_records (key, records) VALUES (?, '[]')", ((1 << 32) + (1 << 32) - 1,)
        )
    # Read by a journal that did not create the run (as a resume's would).
    with SQLiteJournal(db_path) as journal:
        with pytest.raises(StoreError, match="no batch numbers left"):
            journal.record([make_task("y", run_id="full")])
        assert [t.node_id for t in journal.load("next").tasks] == ["x"]


@pytest.mark.parametrize("num", [None, 0, -1, "seven", 1.5, 1 << 31])
def test_a_damaged_run_number_is_a_corrupt_store_error(db_path: Path, num: Any) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
    raw(db_path, "UPDATE runs SET num = ?", num)
    with SQLiteJournal(db_path) as journal:
        with pytest.raises(CorruptStoreError, match="number"):
            journal.load("run-1")
        with pytest.raises(CorruptStoreError, match="number"):
            journal.record([make_task("a")])


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '[["n", 0, 1, "running"]]', "{}"])
def test_a_damaged_batch_is_a_clear_corrupt_store_error(db_path: Path, text: str) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        journal.record([make_task("a")])
    raw(db_path, "UPDATE task_records SET records = ?", text)
    with SQLiteJournal(db_path) as journal, pytest.raises(CorruptStoreError) as info:
        journal.load("run-1")
    assert "batch 1" in str(info.value) and "malformed" in str(info.value)


def test_times_and_results_come_back_exactly(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
        values = ['é \u2603 "quoted"\n', -0.0, 1e308, float("nan"), {"a": [None, True]}]
        journal.record([make_task(f"t{i}", result=v, at=0.1 + i / 3) for i, v in enumerate(values)])
        tasks = journal.load("run-1").tasks
    assert [t.at for t in tasks] == [0.1 + i / 3 for i in range(len(values))]
    assert tasks[0].result == values[0] and tasks[4].result == values[4]
    assert str(tasks[1].result) == "-0.0" and tasks[2].result == 1e308
    assert tasks[3].result != tasks[3].result  # NaN stays NaN


def test_each_event_pin_is_stored_once_however_many_nodes_run_it(db_path: Path) -> None:
    shared = EventPin("Step", "1.0", "module:steps", "sha256:s1")
    other = EventPin("Check", "2.0", "module:steps", "sha256:c2")
    events = {f"Step#{i}": shared for i in range(1000)} | {"Check": other}
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run(events=events))
    (stored,) = raw(db_path, "SELECT events FROM runs")[0]
    assert stored.count("sha256:s1") == 1 and len(stored) < 20_000
    with SQLiteJournal(db_path) as journal:
        assert journal.load("run-1").run.events == events


def test_pins_shared_by_runs_are_encoded_once_and_a_changed_dict_again(db_path: Path) -> None:
    from types import MappingProxyType

    pin = EventPin("Step", "1.0", "module:steps", "sha256:s1")
    shared = MappingProxyType({"a": pin, "b": pin})  # what Plan.pins() hands every run
    plain = {"a": pin}
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("r1", events=shared))
        journal.create_run(make_run("r2", events=shared))
        journal.create_run(make_run("r3", events=plain))
        plain["b"] = EventPin("Other", "2.0", "module:steps", "sha256:o2")
        journal.create_run(make_run("r4", events=plain))  # the same dict, changed
        assert journal.load("r2").run.events == dict(shared)
        assert journal.load("r3").run.events == {"a": pin}
        assert journal.load("r4").run.events == plain
    stored = raw(db_path, "SELECT events FROM runs ORDER BY num")
    assert stored[0] == stored[1] and stored[2] != stored[3]


def test_event_pins_written_one_per_node_still_load(db_path: Path) -> None:
    """The first journals stored {node_id: pin} objects; they read back the same."""
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
    old = {
        "fetch": {"name": "Fetch", "version": "1.0", "origin": "m", "fingerprint": "f"},
        "price": {"name": "Price", "version": "2.1", "origin": "m", "fingerprint": "p"},
    }
    raw(db_path, "UPDATE runs SET events = ?", json.dumps(old))
    with SQLiteJournal(db_path) as journal:
        pins = journal.load("run-1").run.events
    assert pins == {node: EventPin(**pin) for node, pin in old.items()}


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '[[["A", "1", "o"]], {"a": 0}]',  # three fields
        '[[["A", "1", "o", 5]], {"a": 0}]',  # not a string
        '[[["A", "1", "o", "f"]], {"a": 1}]',  # no pin 1
        '[[["A", "1", "o", "f"]], {"a": -1}]',  # no negative indexes either
        '[[["A", "1", "o", "f"]], ["a"]]',
        '{"a": {"name": "A"}}',
    ],
)
def test_damaged_event_pins_are_a_clear_corrupt_store_error(db_path: Path, text: str) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run())
    raw(db_path, "UPDATE runs SET events = ?", text)
    with SQLiteJournal(db_path) as journal, pytest.raises(CorruptStoreError, match="the events"):
        journal.load("run-1")


def test_a_damaged_batch_fails_a_tasks_history_read_naming_it(db_path: Path) -> None:
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("r"))
        journal.record([make_task("a", TaskState.RUNNING, run_id="r")])
        journal.record([make_task("a", run_id="r", at=1002.0)])
    raw(db_path, "UPDATE task_records SET records = '[[\"a\",0,1,' WHERE key & 4294967295 = 2")
    with SQLiteJournal(db_path) as journal, pytest.raises(StoreError, match="reading task 'a'"):
        journal.task_history("r", "a")


def test_notes_can_be_read_without_the_items_of_an_iterables_batches(db_path: Path) -> None:
    from volnux.notes import RunNote

    begun = {"batch": 0, "child": "c0", "position": {"kind": "iterable"}, "size": 2}
    with SQLiteJournal(db_path) as journal:
        journal.create_run(make_run("p"))
        journal.add_note(RunNote("p", "batch-begun", 1.0, {**begun, "items": [1, 2]}))
        journal.add_note(RunNote("p", "custom", 2.0, {"items": ["kept"]}))
        whole = journal.load_notes_from("p", 0)
        lean = journal.load_notes_from("p", 0, batch_items=False)
        assert [n.detail for n in whole] == [{**begun, "items": [1, 2]}, {"items": ["kept"]}]
        assert [n.detail for n in lean] == [begun, {"items": ["kept"]}]
        assert [n.detail for n in journal.load_notes_from("p", 1, batch_items=False)] == [
            {"items": ["kept"]}
        ]
    raw(db_path, 'UPDATE run_notes SET detail = \'{"batch": 0, "items": [\' WHERE seq = 1')
    with (
        SQLiteJournal(db_path) as journal,
        pytest.raises(CorruptStoreError, match="not valid JSON"),
    ):
        journal.load_notes_from("p", 0, batch_items=False)

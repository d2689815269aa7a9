"""Moving runs between journals: ``volnux runs export``, ``runs import``, ``store copy``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from volnux.errors import StoreError
from volnux.notes import RunNote
from volnux.states import RunState, TaskState
from volnux.store import MemoryJournal, SQLiteJournal
from volnux.store.base import ErrorInfo, EventPin, Journal, LogEntry, RunRecord, TaskRecord
from volnux.store.transfer import export_run, import_runs, read_run

from .test_runs import EVENTS, WORKFLOW, marks, only_run, volnux

HOSTILE = "n'; DROP TABLE runs; -- \u00e9\u6f22 $$"


def recorded(journal: Journal, run_id: str = "r-1") -> None:
    """A run with every kind of value a journal keeps, and hostile text."""
    pin = EventPin("Fetch", "1.0.0", "/tmp/events.py", "abc123")
    journal.create_run(
        RunRecord(
            id=run_id,
            workflow="flow",
            text="Fetch -> Store",
            fingerprint="fp",
            events={"Fetch": pin, HOSTILE: pin},
            inputs={"who": HOSTILE, "n": 3, "xs": [1, 2.5, None]},
            state=RunState.RUNNING,
            created_at=100.0,
            updated_at=100.0,
            filename="flow.pty",
        )
    )
    journal.record(
        [
            TaskRecord(run_id, "Fetch", TaskState.RUNNING, 1, 100.5),
            TaskRecord(
                run_id,
                "Fetch",
                TaskState.SUCCEEDED,
                1,
                101.0,
                descriptor=1,
                result={"rows": [1, 2], "raw": "x"},
            ),
            TaskRecord(run_id, HOSTILE, TaskState.RUNNING, 1, 101.5),
            TaskRecord(
                run_id,
                HOSTILE,
                TaskState.RETRYING,
                1,
                102.0,
                descriptor=0,
                error=ErrorInfo("OSError", HOSTILE, "Traceback ..."),
                next_attempt_at=103.0,
            ),
            TaskRecord(run_id, HOSTILE, TaskState.RUNNING, 2, 103.0, round=1, note="on gpu 0"),
            TaskRecord(
                run_id,
                HOSTILE,
                TaskState.SUCCEEDED,
                2,
                104.0,
                round=1,
                descriptor=1,
                result=b"\x00\xffbytes",
                note="on gpu 0",
            ),
        ]
    )
    journal.add_note(RunNote(run_id, "started", 100.0, {"host": HOSTILE, "pid": 7}))
    journal.add_logs(
        [
            LogEntry(run_id, "Fetch", 1, 100.7, 20, "fetched 2 rows"),
            LogEntry(run_id, HOSTILE, 2, 103.5, 30, HOSTILE + "\nsecond line"),
        ]
    )
    journal.set_run_state(run_id, RunState.FAILED, 105.0, "Store failed")


def same_run(one: Journal, other: Journal, run_id: str = "r-1") -> None:
    a, b = one.load(run_id), other.load(run_id)
    assert b.run == a.run
    assert list(b.tasks) == list(a.tasks)
    assert list(b.notes) == list(a.notes)
    assert other.logs(run_id) == one.logs(run_id)


def test_a_run_comes_back_exactly_in_another_journal(tmp_path: Path) -> None:
    source = SQLiteJournal(tmp_path / "a.db")
    recorded(source)
    line = export_run(source, "r-1")
    assert "\n" not in line
    for destination in (MemoryJournal(), SQLiteJournal(tmp_path / "b.db")):
        assert list(import_runs(destination, [line, ""])) == ["r-1"]
        same_run(source, destination)
        again = destination.load("r-1").run
        assert again.owner is None and again.state is RunState.FAILED
        destination.close()
    source.close()


def test_pickled_results_move_only_when_pickle_is_allowed(tmp_path: Path) -> None:
    source = SQLiteJournal(tmp_path / "a.db", allow_pickle=True)
    recorded(source)
    source.record([TaskRecord("r-1", "Late", TaskState.SUCCEEDED, 1, 106.0, descriptor=1,
                              result={1, 2, 3})])  # fmt: skip
    with pytest.raises(StoreError, match=r"the result of Late of run r-1 cannot be exported"):
        export_run(source, "r-1")
    line = export_run(source, "r-1", allow_pickle=True)
    with pytest.raises(StoreError, match="stored with pickle, which this journal does not load"):
        read_run(line, "line 1 of runs.jsonl")
    destination = SQLiteJournal(tmp_path / "b.db", allow_pickle=True)
    list(import_runs(destination, [line], allow_pickle=True))
    same_run(source, destination)
    assert destination.load("r-1").tasks[-1].result == {1, 2, 3}
    source.close()
    destination.close()


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("not json", "line 1 of runs.jsonl is not JSON"),
        ('{"volnux": "run", "format": 99}', "is in format 99; this Volnux reads format 1"),
        ('{"some": "thing"}', "is not a Volnux run"),
        ('{"volnux": "run", "format": 1, "run": {}}', "is not a valid run: KeyError"),
    ],
)
def test_a_bad_line_is_refused_before_anything_is_written(line: str, said: str) -> None:
    journal = MemoryJournal()
    with pytest.raises(StoreError, match=said):
        list(import_runs(journal, [line], name="runs.jsonl"))
    assert journal.list_runs() == []


def test_a_tampered_line_writes_nothing_of_its_run(tmp_path: Path) -> None:
    source = MemoryJournal()
    recorded(source)
    body = json.loads(export_run(source, "r-1"))
    body["records"][1][1] = "exploded"  # a state no Volnux has
    destination = SQLiteJournal(tmp_path / "b.db")
    with pytest.raises(StoreError, match="is not a valid run: ValueError: 'exploded'"):
        list(import_runs(destination, [json.dumps(body)]))
    assert destination.list_runs() == []
    destination.close()


def test_a_failed_run_moves_to_another_machine_is_retried_there_and_comes_back(
    tmp_path: Path,
) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    for folder in (here, there):
        folder.mkdir()
        (folder / "events.py").write_text(EVENTS)
    (here / "flow.pty").write_text(WORKFLOW)
    volnux(here, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"}, check=1)
    run_id = str(only_run(here)["id"])
    exported = volnux(here, "runs", "export", run_id, "-o", "runs.jsonl", check=0)
    assert "exported 1 run(s)" in exported.stderr
    # "There" shares no file with "here": the workflow comes from the journal.
    shutil.move(here / "runs.jsonl", there / "runs.jsonl")
    imported = volnux(there, "runs", "import", "runs.jsonl", "--store", "team.db", check=0)
    assert imported.stdout.split() == [run_id]
    shown = volnux(there, "runs", "show", run_id, "--store", "team.db", check=0).stdout
    assert "RuntimeError: disk full" in shown and "runs again: Store" in shown
    volnux(there, "runs", "retry", run_id, "--store", "team.db", "-e", "events.py", check=0)
    assert marks(there) == ["Store"]  # Fetch and Slow were not run again
    # ... and back: the finished run replaces nothing here (same id: refused) but
    # goes to a new journal whole.
    back = volnux(there, "runs", "export", "--all", "--store", "team.db", check=0).stdout
    (here / "back.jsonl").write_text(back)
    refused = volnux(here, "runs", "import", "back.jsonl", check=2)
    assert f"run {run_id} already exists" in refused.stderr
    volnux(here, "runs", "import", "back.jsonl", "--store", "back.db", check=0)
    status = json.loads(
        volnux(here, "runs", "show", run_id, "--store", "back.db", "--json", check=0).stdout
    )
    assert status["status"] == "succeeded"
    copied = volnux(here, "store", "copy", "back.db", "sqlite:copy.db", check=0)
    assert copied.stdout.split() == [run_id] and "copied 1 run(s)" in copied.stderr


def test_export_needs_runs_or_all(tmp_path: Path) -> None:
    out = volnux(tmp_path, "runs", "export", "--store", "memory:", check=2)
    assert "name the runs to export, or pass --all" in out.stderr


def test_a_run_moves_to_postgresql_and_back_exactly(tmp_path: Path, postgres_url: str) -> None:
    from volnux.store.postgres import PostgresJournal

    source = SQLiteJournal(tmp_path / "a.db")
    recorded(source)
    shared = PostgresJournal(postgres_url)
    assert list(import_runs(shared, [export_run(source, "r-1")])) == ["r-1"]
    same_run(source, shared)
    back = SQLiteJournal(tmp_path / "back.db")
    assert list(import_runs(back, [export_run(shared, "r-1")])) == ["r-1"]
    same_run(source, back)
    for journal in (source, shared, back):
        journal.close()


def test_store_copy_sqlite_to_postgresql_then_a_retry_there(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "events.py").write_text(EVENTS)
    (tmp_path / "flow.pty").write_text(WORKFLOW)
    volnux(tmp_path, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"}, check=1)
    run_id = str(only_run(tmp_path)["id"])
    copied = volnux(tmp_path, "store", "copy", ".volnux/volnux.db", postgres_url, check=0)
    assert copied.stdout.split() == [run_id]
    assert "password" not in copied.stderr
    volnux(tmp_path, "runs", "retry", run_id, "--store", postgres_url, "-e", "events.py", check=0)
    assert marks(tmp_path) == ["Fetch", "Slow", "Store", "Store"]
    shown = json.loads(
        volnux(tmp_path, "runs", "show", run_id, "--store", postgres_url, "--json", check=0).stdout
    )
    assert shown["status"] == "succeeded"

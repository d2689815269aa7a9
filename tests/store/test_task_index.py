"""The SQLite journal's task index (the pages of big runs read it) says what a
whole fold of the run's records says, however often and whenever it is folded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux.query import describe_run
from volnux.store import SQLiteJournal

STATE = {"fails": 2}


@volnux.event
def Ok() -> str:
    return "ok"


@volnux.event
def Flaky(ctx: volnux.Context) -> str:
    if ctx.attempt < 2:
        raise ValueError("first try fails")
    return "second try"


@volnux.event
def Gate(marker: str = "") -> str:
    if marker and not Path(marker).exists():
        raise RuntimeError(f"{Path(marker).name} is closed")
    return "open"


EVENTS = [Ok, Flaky, Gate]


def agrees(journal: Any, run_id: str) -> None:
    """The index's counts and rows equal the whole fold's views (started tasks)."""
    views = {
        node: view
        for node, view in describe_run(journal, run_id).run.tasks.items()
        if view.state.value != "pending" or view.attempts
    }
    counts = journal.task_counts(run_id)
    assert counts is not None
    expected: dict[str, int] = {}
    for view in views.values():
        expected[view.state.value] = expected.get(view.state.value, 0) + 1
    assert counts == expected
    rows = journal.task_rows(run_id, None, 0, 10_000)
    assert rows is not None
    assert {r.node_id: (r.state, r.attempt, r.round) for r in rows} == {
        n: (v.state, v.attempts, v.round) for n, v in views.items()
    }
    for row in rows:
        view = views[row.node_id]
        if view.error is not None and row.state.value in ("failed", "retrying"):
            assert row.error == f"{view.error.type}: {view.error.message}"
    starts = [r.started_at for r in rows]
    assert starts == sorted(starts)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A journal with a task index: SQLite, and PostgreSQL in a schema of its own."""
    if request.param == "sqlite":
        made: Any = SQLiteJournal(tmp_path / "volnux.db")
    else:
        from volnux.store.postgres import PostgresJournal

        made = PostgresJournal(request.getfixturevalue("postgres_url"))
    yield made
    made.close()


def test_a_run_with_retries_and_a_failure_indexes_as_it_folds(journal: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    text = "Ok -> Flaky * 2 -> Ok || Gate -> Ok"
    with volnux.Workflow.from_text(text, EVENTS) as flow:
        run = flow.run({"marker": str(gate)}, store=journal)
    assert run.state.value == "failed"
    agrees(journal, run.id)
    assert journal.task_rows(run.id, "failed", 0, 10)[0].error == "RuntimeError: gate is closed"  # type: ignore[index]
    gate.touch()
    volnux.Workflow.retry(run.id, store=journal, events=EVENTS)
    agrees(journal, run.id)  # folded again: only the retry's batches are new
    assert journal.task_counts(run.id) == {"succeeded": 5}


def test_folding_while_the_run_writes_gives_what_one_fold_at_the_end_gives(journal: Any) -> None:
    text = " -> ".join(["Ok"] * 300)
    folds = 0
    done = threading.Event()
    with volnux.Workflow.from_text(text, EVENTS) as flow:
        thread = threading.Thread(
            target=lambda: (flow.run(store=journal, run_id="live"), done.set())
        )
        thread.start()
        while not done.is_set():
            try:
                journal.task_counts("live")
                folds += 1
            except volnux.errors.RunNotFound:
                pass
        thread.join()
    assert folds > 1
    agrees(journal, "live")
    assert journal.task_counts("live") == {"succeeded": 300}


def test_pages_by_state_hold_each_task_once(journal: Any) -> None:
    with volnux.Workflow.from_text(" || ".join(["Ok"] * 120), EVENTS) as flow:
        run = flow.run(store=journal)
    pages = [journal.task_rows(run.id, "succeeded", k, 50) for k in (0, 50, 100)]
    nodes = [row.node_id for page in pages for row in page or []]
    assert len(nodes) == 120 and len(set(nodes)) == 120
    assert journal.task_rows(run.id, "failed", 0, 50) == []


def test_a_journal_this_process_may_not_write_answers_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "volnux.db"
    writer = SQLiteJournal(path)
    with volnux.Workflow.from_text("Ok -> Ok", EVENTS) as flow:
        run = flow.run(store=writer)
    writer.close()
    # As for a file of another user (root may write any file, so say it is not ours).
    monkeypatch.setattr("volnux.store.sqlite.file._writable", lambda path: False)
    reader = SQLiteJournal(path, create=False)
    try:
        assert reader.task_counts(run.id) is None
        assert reader.task_rows(run.id, None, 0, 10) is None
        assert describe_run(reader, run.id).run.state.value == "succeeded"
    finally:
        reader.close()

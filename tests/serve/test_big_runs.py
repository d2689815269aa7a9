"""The page of a big run is read from the journal's task index (counts and one
page of rows) and says what the whole fold says."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux.serve import api
from volnux.store import SQLiteJournal

from . import serve_events


def fields(line: dict[str, Any]) -> tuple[Any, ...]:
    return line["node"], line["event"], line["state"], line["attempts"], line["error"]


def a_journal(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """A new journal of ``kind``: SQLite, or PostgreSQL in a schema of the test's own."""
    if kind == "sqlite":
        return SQLiteJournal(tmp_path / "volnux.db")
    from volnux.store.postgres import PostgresJournal

    return PostgresJournal(request.getfixturevalue("postgres_url"))


def both(
    journal: Any, run_id: str, monkeypatch: pytest.MonkeyPatch, **query: str
) -> tuple[Any, Any]:
    """The run's page data the index way (BIG_RUN lowered) and the whole-fold way."""
    monkeypatch.setattr(api, "BIG_RUN", 3)
    fast = api.run_json(journal, run_id, **query)
    monkeypatch.setattr(api, "BIG_RUN", 10**9)
    whole = api.run_json(journal, run_id, **query)
    assert fast.get("indexed") is True and "indexed" not in whole
    return fast, whole


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_succeeded_big_run_pages_alike_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, kind: str
) -> None:
    journal = a_journal(kind, tmp_path, request)
    with volnux.Workflow.from_text(
        "Fetch -> " + " || ".join(["Store"] * 12), [serve_events]
    ) as flow:
        run_id = flow.run(store=journal).id
    for query in ({}, {"state": "succeeded", "offset": "5", "limit": "4"}, {"state": "failed"}):
        fast, whole = both(journal, run_id, monkeypatch, **query)
        assert (
            fast["counts"]
            == whole["counts"]
            == ({"succeeded": 13} if not query else fast["counts"])
        )
        assert fast["tasks_total"] == whole["tasks_total"] == 13
        assert fast["tasks_shown"] == whole["tasks_shown"]
        assert sorted(map(fields, fast["tasks"])) == sorted(map(fields, whole["tasks"]))
    journal.close()


def test_a_running_big_run_counts_its_pending_tasks_and_pages_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = SQLiteJournal(tmp_path / "volnux.db")
    hold = tmp_path / "hold"
    hold.touch()
    text = "Fetch -> Hold -> " + " -> ".join(["Store"] * 6)
    events = [serve_events, __import__("tests.schedules.schedule_events", fromlist=["Hold"])]
    with volnux.Workflow.from_text(text, events) as flow:
        thread = threading.Thread(
            target=flow.run,
            kwargs={"inputs": {"hold": str(hold)}, "store": journal, "run_id": "big"},
        )
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    if journal.task_counts("big") == {"succeeded": 1, "running": 1}:
                        break
                except volnux.errors.RunNotFound:  # not made yet
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.02)
            for query in (
                {},
                {"state": "pending", "offset": "2", "limit": "3"},
                {"state": "running"},
                {"offset": "1", "limit": "3"},
            ):
                fast, whole = both(journal, "big", monkeypatch, **query)
                assert (
                    fast["counts"]
                    == whole["counts"]
                    == {"pending": 6, "running": 1, "succeeded": 1}
                )
                assert fast["tasks_shown"] == whole["tasks_shown"]
                assert [t["state"] for t in fast["tasks"]] == [
                    t["state"] for t in whole["tasks"]
                ], query
                assert {fields(t) for t in fast["tasks"]} == {fields(t) for t in whole["tasks"]}
        finally:
            hold.unlink()
            thread.join()
    journal.close()


def test_the_indexer_folds_the_newest_big_runs_once_they_ended(tmp_path: Path) -> None:
    from volnux.serve.indexer import Indexer

    journal = SQLiteJournal(tmp_path / "volnux.db")
    with volnux.Workflow.from_text(" || ".join(["Store"] * 8), [serve_events]) as flow:
        big = flow.run(store=journal).id
    with volnux.Workflow.from_text("Store", [serve_events]) as flow:
        flow.run(store=journal)  # small: read whole, never folded
    indexer = Indexer(journal, big=5)
    assert indexer.fold_once() == [big]
    upto = journal._conn.execute("SELECT count(*) FROM task_index_upto").fetchone()[0]
    assert upto == 1  # only the big run was folded
    assert indexer.fold_once() == []  # ended and folded: nothing more to do
    indexer.start()
    indexer.stop()
    journal.close()


def test_the_indexer_folds_older_big_runs_once_and_a_later_server_finds_them_done(
    tmp_path: Path,
) -> None:
    from volnux.serve import indexer as indexing

    journal = SQLiteJournal(tmp_path / "volnux.db")
    with volnux.Workflow.from_text(" || ".join(["Store"] * 8), [serve_events]) as flow:
        old = flow.run(store=journal).id
    with volnux.Workflow.from_text("Store", [serve_events]) as flow:
        for _ in range(3):
            flow.run(store=journal)  # newer and small
    was = indexing.NEWEST
    indexing.NEWEST = 2  # the big run is older than the newest
    try:
        indexer = indexing.Indexer(journal, big=5)
        assert indexer.fold_once() == []
        assert indexer.backfill() == [old]
        assert indexer.backfill() == []  # done once, this server
        # Kept in the journal: another server's first view reads the index,
        # with nothing left to fold (the fold's mark is where the run's records end).
        upto = journal._conn.execute("SELECT count(*) FROM task_index_upto").fetchone()[0]
        assert upto == 1
        with SQLiteJournal(tmp_path / "volnux.db") as later:
            marks = "SELECT upto FROM task_index_upto"
            before = later._conn.execute(marks).fetchall()
            assert later.task_counts(old) == {"succeeded": 8}
            assert later._conn.execute(marks).fetchall() == before
    finally:
        indexing.NEWEST = was
    journal.close()


@pytest.mark.parametrize("collapse", [10, None])
def test_a_big_runs_picture_from_the_index_is_the_whole_runs_picture(
    tmp_path: Path, collapse: int | None
) -> None:
    from volnux.observability.pictures import run_dot
    from volnux.query import describe_run
    from volnux.serve import graphs
    from volnux.serve.indexer import ALL

    journal = SQLiteJournal(tmp_path / "volnux.db")
    marker = tmp_path / "open"
    text = f"Fetch -> {' || '.join(['Store'] * 12)} -> Gate (0 -> Store, 1 -> Nap)"
    with volnux.Workflow.from_text(text, [serve_events]) as flow:
        run_id = flow.run({"marker": str(marker)}, store=journal).id  # Gate fails: handled
    record = journal.load_run(run_id)
    assert record.state.value == "succeeded"
    fast = graphs.big_run_dot(journal, record, collapse, ALL, api.unhandled(journal, record))
    run = describe_run(journal, run_id)
    run.graph()
    whole = run_dot(
        run.run.graph,
        run.run.tasks,
        title=f"{record.workflow}: run {run_id} succeeded",
        failed_nodes=run.run.unhandled(),
        collapse=collapse,
    )
    assert fast == whole
    assert ("\u00d712" in fast) is (collapse == 10) and "failed (handled)" in fast
    again = graphs.big_run_dot(journal, record, collapse, ALL, ())
    assert again is fast  # kept: it ended
    journal.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_failed_big_run_is_explained_from_its_failed_tasks_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, kind: str
) -> None:
    from volnux.observability.pictures import run_dot
    from volnux.query import describe_run
    from volnux.serve import graphs
    from volnux.serve.indexer import ALL

    journal = a_journal(kind, tmp_path, request)
    marker = tmp_path / "open"
    # One Gate fails the run; the other's failure its 0 branch handles.
    text = f"Fetch -> {' || '.join(['Store'] * 12)} -> Gate (0 -> Store, 1 -> Nap) -> Gate -> Nap"
    with volnux.Workflow.from_text(text, [serve_events]) as flow:
        run_id = flow.run({"marker": str(marker)}, store=journal).id
    record = journal.load_run(run_id)
    assert record.state.value == "failed"
    fast, whole = both(journal, run_id, monkeypatch)
    assert fast["counts"] == whole["counts"]
    assert sorted((*fields(t), t["label"]) for t in fast["tasks"]) == sorted(
        (*fields(t), t["label"]) for t in whole["tasks"]
    )
    assert "failed (handled)" in {t["label"] for t in fast["tasks"]}
    said = "\n".join(fast["explanation"])
    assert fast["explanation"][0] == whole["explanation"][0]  # the headline
    assert fast["explanation"][1] == whole["explanation"][1]  # the counts
    assert "Gate#2 (Gate@1.0.0) failed after 1 attempt" in said and "is closed" in said
    assert f"retry with: volnux runs retry {run_id}" in said and "path:" not in said
    assert fast["resume"]["rerun"] == whole["resume"]["rerun"] == ["Gate#2"]
    # Its picture from the index is the whole run's.
    monkeypatch.setattr(api, "BIG_RUN", 3)
    dot = graphs.big_run_dot(journal, record, 10, ALL, api.unhandled(journal, record))
    detail = describe_run(journal, run_id)
    detail.graph()
    assert dot == run_dot(
        detail.run.graph,
        detail.run.tasks,
        title=f"{record.workflow}: run {run_id} failed",
        failed_nodes=detail.run.unhandled(),
        collapse=10,
    )
    journal.close()


def test_a_cancelled_big_run_is_summed_up_from_its_counts() -> None:
    from volnux.engine import Run
    from volnux.query.explain import explain_counted
    from volnux.states import RunState

    run = Run(id="r1", workflow="w", state=RunState.CANCELLED, tasks={}, error="cancelled by ann")
    counts = {"succeeded": 40_000, "running": 3, "pending": 59_997}
    asked: list[str] = []

    def first(state: str) -> list[str]:
        asked.append(state)
        return [f"{state}-{i}" for i in range(min(2, counts.get(state, 0)))]

    lines = explain_counted(run, counts, first, store="j.db")
    assert lines[0] == "run r1 cancelled by ann"
    assert lines[1] == "tasks: 40000 succeeded, 3 running, 59997 pending"
    assert "resume with: volnux runs resume r1 --store j.db" in lines
    assert "  runs again (cut off while running): running-0, running-1 and 1 more" in lines
    assert "  keeps: succeeded-0, succeeded-1 and 39,998 more" in lines
    assert "  not started yet: 59,997" in lines
    assert set(asked) == {"succeeded", "running"}

"""Chains: tasks in a row on the process pool, sent to a worker in one call.

Real worker processes and a real SQLite journal; the executor given to the
runs is the process executor itself, counting what it is sent.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine import chain_events
from volnux import RunState, TaskState, Workflow
from volnux.executors.processes import ProcessExecutor
from volnux.store import SQLiteJournal, TaskRecord


class Counting(ProcessExecutor):
    """The process executor, counting the calls it is sent (``submit`` is
    ``submit_timed`` without a timeout)."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls = 0

    def submit_timed(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Any, timeout_s: float | None
    ) -> None:
        self.calls += 1
        super().submit_timed(fn, args, done, timeout_s)


class CountingJournal(SQLiteJournal):
    """A SQLite journal counting its transactions of task records, and the records
    written with the run's end."""

    writes = 0
    with_end = 0

    def record(self, *args: Any, **kwargs: Any) -> None:
        self.writes += 1
        super().record(*args, **kwargs)

    def set_run_state(self, *args: Any, **kwargs: Any) -> None:
        self.with_end += len(kwargs.get("records", ()))
        super().set_run_state(*args, **kwargs)


@pytest.fixture
def pool() -> Iterator[Counting]:
    executor = Counting()
    yield executor
    executor.shutdown()


def _run(
    text: str, tmp: Path, pool: Counting, *, fuse: bool = True, store: str = "j.db"
) -> tuple[Any, CountingJournal, list[str]]:
    wf = Workflow.from_text(text, [chain_events], default_executor="process")
    journal = CountingJournal(tmp / store)
    effects = tmp / "effects"
    run = wf.run(
        {"effects": str(effects), "n": 4},
        store=journal,
        executors={"process": pool},
        fuse=fuse,
    )
    ran = effects.read_text().splitlines() if effects.exists() else []
    return run, journal, ran


def _records(journal: SQLiteJournal, run_id: str) -> list[TaskRecord]:
    return list(journal.load(run_id).tasks)


def test_a_chain_goes_in_one_call_and_is_journaled_as_it_ran(
    tmp_path: Path, pool: Counting
) -> None:
    run, journal, ran = _run("Start |-> Double |-> Describe", tmp_path, pool)
    assert run.state is RunState.SUCCEEDED
    assert run.tasks["Describe"].result == "got 10"
    assert pool.calls == 1
    # All three in the one worker, once each.
    assert [line.split()[0] for line in ran] == ["Start", "Double", "Describe"]
    assert len({line.split()[1] for line in ran}) == 1
    # Start's start before the call; the rest when it returned, with the run's end.
    assert (journal.writes, journal.with_end) == (1, 5)
    records = _records(journal, run.id)
    assert [(r.node_id, r.state, r.attempt) for r in records] == [
        ("Start", TaskState.RUNNING, 1),
        ("Start", TaskState.SUCCEEDED, 1),
        ("Double", TaskState.RUNNING, 1),
        ("Double", TaskState.SUCCEEDED, 1),
        ("Describe", TaskState.RUNNING, 1),
        ("Describe", TaskState.SUCCEEDED, 1),
    ]
    times = [r.at for r in records]
    assert times == sorted(times), "the records bear the times the tasks ran, in order"
    assert [r.result for r in records if r.state is TaskState.SUCCEEDED] == [5, 10, "got 10"]


def test_without_fuse_each_task_is_its_own_call(tmp_path: Path, pool: Counting) -> None:
    run, journal, _ = _run("Start |-> Double |-> Describe", tmp_path, pool, fuse=False)
    assert run.state is RunState.SUCCEEDED
    assert run.tasks["Describe"].result == "got 10"
    assert pool.calls == 3
    # Each task's start written before it is sent (with the end of the one before).
    assert (journal.writes, journal.with_end) == (3, 1)


def test_a_failed_task_ends_the_call_and_its_retry_takes_the_rest(
    tmp_path: Path, pool: Counting
) -> None:
    run, _, ran = _run("Start |-> FlakyOnce |-> Describe", tmp_path, pool)
    assert run.state is RunState.SUCCEEDED
    assert run.tasks["Describe"].result == "got 105"
    assert run.tasks["FlakyOnce"].attempts == 2
    assert run.tasks["Describe"].attempts == 1
    # The first call ran Start and FlakyOnce's failed attempt; the retry went with Describe.
    assert pool.calls == 2
    assert collections.Counter(line.split()[0] for line in ran) == {
        "Start": 1,
        "FlakyOnce": 2,
        "Describe": 1,
    }
    states = [(r.node_id, r.state) for r in _records(SQLiteJournal(tmp_path / "j.db"), run.id)]
    assert ("FlakyOnce", TaskState.RETRYING) in states


def test_a_call_that_fails_whole_is_sent_again_a_task_at_a_time(
    tmp_path: Path, pool: Counting
) -> None:
    """A worker that dies in the second task: the failure is that task's, not the first's."""
    run, _, ran = _run("Start |-> Dies |-> Describe", tmp_path, pool)
    assert run.state is RunState.FAILED
    assert run.failed_nodes == ("Dies",)
    assert run.tasks["Start"].state is TaskState.SUCCEEDED
    assert run.tasks["Start"].attempts == 1
    error = run.tasks["Dies"].error
    assert error is not None and error.type.endswith("WorkerLost")
    assert run.tasks["Describe"].state is TaskState.PENDING
    # Start ran in the chain's call and again alone (its first run had no record).
    assert collections.Counter(line.split()[0] for line in ran) == {"Start": 2, "Dies": 2}
    assert pool.calls == 3  # the chain, then Start alone, then Dies alone


@pytest.mark.parametrize(
    ("text", "calls"),
    [
        # A timeout stops one attempt's worker: Timed goes alone, and so do its
        # neighbours (a chain has no timeout anywhere in it).
        ("Start |-> Timed |-> Describe", 3),
        # Pick chooses a branch: it may end a chain, not lead one.
        ("Start |-> Pick (1 |-> Describe)", 2),
        # A parallel group is no chain.
        ("Start |-> (Double || Describe)", 3),
    ],
)
def test_no_chain_through_what_the_engine_must_tend(
    tmp_path: Path, pool: Counting, text: str, calls: int
) -> None:
    run, _, _ = _run(text, tmp_path, pool)
    assert run.state is RunState.SUCCEEDED
    assert pool.calls == calls


@pytest.mark.parametrize("fuse", [True, False])
def test_a_batch_run_sends_each_batch_in_one_call_unless_told(
    tmp_path: Path, pool: Counting, fuse: bool
) -> None:
    from volnux.batch.summary import summarize

    wf = Workflow.from_text("Size |-> Twice", [chain_events], default_executor="process")
    journal = SQLiteJournal(tmp_path / "j.db")
    options = {} if fuse else {"fuse": False}
    run = wf.run_batches(
        list(range(20)), batch_size=5, store=journal, executors={"process": pool}, **options
    )
    assert run.succeeded, run.error
    assert pool.calls == (4 if fuse else 8)
    # Recorded with the run: its resume sends batches the same way.
    summary = summarize(journal.load_notes(run.id), running=False)
    assert summary is not None and summary.spec.fuse is fuse
    children = [b.child for b in summary.batches.values()]
    assert {journal.load(c).tasks[-1].result for c in children} == {10}

"""Runs whose results are large: kept in the result store, piped and resumed transparently."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import volnux
from volnux.store.memory import MemoryJournal
from volnux.store.results import ResultRef, ResultStore
from volnux.store.sqlite import SQLiteJournal

from . import results_events

N = 100_000  # float64: 800,000 bytes, over the 256 KiB threshold
TOTAL = float(sum(range(N)))


def stored(journal: SQLiteJournal, run_id: str) -> dict[str, object]:
    """Node -> its last result as the journal holds it (a ResultRef when kept outside)."""
    found: dict[str, object] = {}
    for record in journal.load(run_id).tasks:
        if record.result is not None:
            found[record.node_id] = record.result
    return found


@pytest.fixture
def journal(tmp_path: Path):
    made = SQLiteJournal(tmp_path / "state" / "volnux.db")
    yield made
    made.close()


def run(text: str, journal: object, **inputs: object) -> volnux.Run:
    with volnux.Workflow.from_text(text, [results_events]) as flow:
        return flow.run(inputs, store=journal)  # type: ignore[arg-type]


def test_a_large_array_is_kept_outside_the_journal_and_piped_as_an_array(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    done = run("MakeArray |-> SumArray", journal)
    assert done.succeeded, done.error
    assert done.result("SumArray") == TOTAL
    ref = stored(journal, done.id)["MakeArray"]
    assert isinstance(ref, ResultRef) and ref.codec == "npy" and ref.size > 800_000
    assert ref.location.startswith(str(tmp_path / "state" / "results" / "sha256"))
    assert (ref.run, ref.node) == (done.id, "MakeArray")
    assert np.array_equal(done.result("MakeArray"), np.arange(N, dtype=np.float64))
    assert np.array_equal(done.results["MakeArray"], np.arange(N, dtype=np.float64))
    assert stored(journal, done.id)["SumArray"] == TOTAL  # small: in the journal


def test_a_worker_process_writes_and_reads_the_store_itself(journal: SQLiteJournal) -> None:
    done = run("MakeArrayElsewhere |-> SumArrayElsewhere", journal)
    assert done.succeeded, done.error
    total, pid = done.result("SumArrayElsewhere")
    assert total == TOTAL and int(pid) != os.getpid()
    # What came back from the worker was the reference, not the array.
    assert type(done.tasks["MakeArrayElsewhere"].result) is ResultRef
    assert isinstance(stored(journal, done.id)["MakeArrayElsewhere"], ResultRef)


def test_data_whose_encoding_is_large_is_kept_outside_by_the_engine(
    journal: SQLiteJournal,
) -> None:
    done = run("BigList |-> Length", journal)
    assert done.succeeded, done.error
    assert done.result("Length") == 50_000
    ref = stored(journal, done.id)["BigList"]
    assert isinstance(ref, ResultRef) and ref.codec == "json"
    assert ref.load() == list(range(50_000))
    assert done.tasks["BigList"].result == list(range(50_000))  # this run kept its value


def test_an_event_chooses_where_its_results_are_kept(journal: SQLiteJournal) -> None:
    done = run("AlwaysOutside -> NeverOutside", journal)
    assert done.succeeded, done.error
    results = stored(journal, done.id)
    assert isinstance(results["AlwaysOutside"], ResultRef)
    assert results["AlwaysOutside"].load() == {"a": 1}  # type: ignore[union-attr]
    assert results["NeverOutside"] == b"x" * 100_000
    with pytest.raises(volnux.EventDefinitionError, match="store_result must be one of"):
        volnux.event(name="Somewhere", store_result="elsewhere")(lambda: None)


def test_the_threshold_is_the_stores_to_set(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db", results=ResultStore(tmp_path / "r", "1MB"))
    try:
        done = run("MakeArray |-> SumArray", journal)
        assert done.succeeded, done.error
        inline = stored(journal, done.id)["MakeArray"]
        assert isinstance(inline, np.ndarray) and inline.size == N  # 800 KB < 1 MB: journaled
        assert not (tmp_path / "r").exists()
    finally:
        journal.close()


def test_without_a_result_store_results_stay_in_the_journal(tmp_path: Path) -> None:
    done = run("MakeArray |-> SumArray", MemoryJournal())
    assert done.succeeded and type(done.tasks["MakeArray"].result) is np.ndarray
    journal = SQLiteJournal(tmp_path / "j.db", results=None)
    try:
        done = run("MakeArray |-> SumArray", journal)
        assert isinstance(stored(journal, done.id)["MakeArray"], np.ndarray)
    finally:
        journal.close()


def test_a_resumed_run_reads_a_kept_result_back_without_making_it_again(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    counter, gate = tmp_path / "count", tmp_path / "gate"
    first = run("Counted |-> FailsUntil", journal, counter=str(counter), gate=str(gate))
    assert first.state is volnux.RunState.FAILED
    gate.touch()
    resumed = volnux.Workflow.retry(first.id, store=journal, events=[results_events])
    assert resumed.succeeded, resumed.error
    assert resumed.result("FailsUntil") == TOTAL
    assert counter.read_text() == "1"  # made once, read back from the store


def test_a_missing_result_fails_the_reader_and_a_retry_from_its_maker_makes_it_again(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    counter, gate = tmp_path / "count", tmp_path / "gate"
    first = run("Counted |-> FailsUntil * 3", journal, counter=str(counter), gate=str(gate))
    assert first.tasks["FailsUntil"].attempts == 3
    ref = stored(journal, first.id)["Counted"]
    assert isinstance(ref, ResultRef)
    os.unlink(ref.location)
    gate.touch()
    resumed = volnux.Workflow.retry(first.id, store=journal, events=[results_events])
    assert resumed.state is volnux.RunState.FAILED
    error = resumed.tasks["FailsUntil"].error
    assert error is not None and error.type.endswith("ResultMissing")
    assert resumed.tasks["FailsUntil"].attempts == 1  # of 3 allowed: retrying cannot help
    assert f"the result of Counted in run {first.id} is missing" in error.message
    assert ref.location in error.message
    retried = volnux.Workflow.retry(
        first.id, store=journal, events=[results_events], from_node="Counted"
    )
    assert retried.succeeded, retried.error
    assert retried.result("FailsUntil") == TOTAL and counter.read_text() == "2"
    assert Path(ref.location).exists()  # the same content, at the same place again


def test_a_reference_is_kept_as_it_is_whatever_the_threshold(tmp_path: Path) -> None:
    # Threshold 0: the attempt keeps its result outside; the reference it hands
    # the engine is journaled itself, not kept outside in turn.
    journal = SQLiteJournal(tmp_path / "j.db", results=ResultStore(tmp_path / "r", 0))
    try:
        done = run("AlwaysOutside -> BigList", journal, n=3)
        assert done.succeeded, done.error
        results = stored(journal, done.id)
        for node, value in (("AlwaysOutside", {"a": 1}), ("BigList", [0, 1, 2])):
            ref = results[node]
            assert isinstance(ref, ResultRef) and ref.codec == "json", ref
            assert ref.load() == value and done.result(node) == value
    finally:
        journal.close()

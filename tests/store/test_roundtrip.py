"""Property: any sequence of record batches loads back from SQLite as written."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volnux.states import TaskState
from volnux.store.base import ErrorInfo, TaskRecord
from volnux.store.memory import MemoryJournal
from volnux.store.sqlite import SQLiteJournal

from .factories import make_run

# JSON data that comes back exactly: no tuples (they come back as lists).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
results = json_values | st.binary(max_size=64)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)

task_records = st.builds(
    lambda node_id, state, attempt, at, rnd, descriptor, result, error, next_at, note: (
        node_id, state, attempt, at, rnd, descriptor, result, error, next_at, note
    ),
    st.text(min_size=1, max_size=12),
    st.sampled_from(TaskState),
    st.integers(min_value=1, max_value=10),
    times,
    st.integers(min_value=0, max_value=5),
    st.none() | st.integers(min_value=-1, max_value=5),
    results,
    st.none() | st.builds(ErrorInfo, st.text(max_size=20), st.text(max_size=40), st.text()),
    st.none() | times,
    st.none() | st.text(max_size=20),
)  # fmt: skip

_ids = itertools.count()


@pytest.fixture(scope="module")
def sqlite_journal() -> Iterator[SQLiteJournal]:
    """One file for every example; each example writes a run of its own."""
    with tempfile.TemporaryDirectory() as folder, SQLiteJournal(Path(folder) / "p.db") as j:
        yield j


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(task_records, max_size=5), max_size=8))
def test_batches_round_trip(sqlite_journal: SQLiteJournal, batches: list[list[Any]]) -> None:
    run_id = f"run-{next(_ids)}"
    memory = MemoryJournal()
    written: list[TaskRecord] = []
    for journal in (sqlite_journal, memory):
        journal.create_run(make_run(run_id))
    for batch in batches:
        records = [TaskRecord(run_id, *fields) for fields in batch]
        written.extend(records)
        for journal in (sqlite_journal, memory):
            journal.record(records)
    loaded = sqlite_journal.load(run_id)
    assert list(loaded.tasks) == written
    assert loaded == memory.load(run_id)

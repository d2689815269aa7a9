"""Proof by crashing it: SIGKILL a batch run after a journal write, resume, compare.

A child process runs a batch run (6 batches, 2 at once, each batch a run of
three tasks, on threads, or on worker processes where a batch's three tasks
go to a worker in one call) on a real SQLite journal and SIGKILLs itself right after its
k-th journal write, for kill points spread over the whole run
(``VOLNUX_BATCH_CRASH_ALL=1``: every write).  A fresh process resumes the
batch run from the journal alone.  In every case:

* the batch run ends succeeded with every batch's result equal to an
  uninterrupted run's;
* no batch is lost or run twice: one child run per batch, each batch's
  child the one noted before the kill;
* no task whose success was journaled before the kill executes again
  (executions are counted in a side-effect file).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest

from volnux import RunState, TaskState
from volnux.batch import summarize
from volnux.engine import rehydrate
from volnux.store import open_store

CHILD = Path(__file__).with_name("batch_child.py")
PARENT = "batchparent1"
LINES = 30  # 6 batches of 5


def child(executor: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The child on ``executor`` (``thread``, ``process``)."""
    return subprocess.run(
        [sys.executable, str(CHILD), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VOLNUX_BATCH_CRASH_EXECUTOR": executor},
    )


class Clean(NamedTuple):
    """An uninterrupted run: its executor, its journal writes, batch -> digest."""

    executor: str
    writes: int
    digests: dict[int, str]


def _data(folder: Path) -> Path:
    path = folder / "data.txt"
    path.write_text("".join(f"{i},row-{i}\n" for i in range(LINES)))
    return path


def _effects(path: Path) -> Counter[tuple[str, ...]]:
    if not path.exists():
        return Counter()
    return Counter(tuple(line.split()) for line in path.read_text().splitlines())


def _digests(store: str) -> dict[int, str]:
    journal = open_store(store)
    try:
        summary = summarize(journal.load_notes(PARENT), running=False)
        assert summary is not None
        out = {}
        for index, b in summary.batches.items():
            views = rehydrate(journal.load(b.child)).views
            out[index] = views["Count"].result["digest"]
        return out
    finally:
        journal.close()


@pytest.fixture(scope="module", params=["thread", "process"])
def clean(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Clean:
    """The uninterrupted run on the param's executor."""
    executor = request.param
    folder = tmp_path_factory.mktemp("clean")
    store = str(folder / "j.db")
    done = child(executor, "run", store, PARENT, str(_data(folder)), str(folder / "fx"), "0")
    assert done.returncode == 0, done.stderr
    writes, state = done.stdout.split()
    assert state == "succeeded"
    digests = _digests(store)
    assert sorted(digests) == list(range(6))
    return Clean(executor, int(writes), digests)


def _points(writes: int) -> list[int]:
    if os.environ.get("VOLNUX_BATCH_CRASH_ALL"):
        return list(range(1, writes))
    step = max(1, writes // 10)
    return sorted({1, 2, 3, 4, *range(5, writes, step), writes - 1})


def test_kill_points_cover_the_run(clean: Clean) -> None:
    writes = clean.writes
    # The parent's notes, and six children: each begun in one write (with its note
    # here), its records, and ended in one write (with its last records and note).
    assert writes >= 20
    assert len(_points(writes)) >= 10


@pytest.mark.parametrize("share", [i / 12 for i in range(12)])
def test_a_batch_run_killed_anywhere_resumes_to_the_same_results(
    tmp_path: Path, clean: Clean, share: float
) -> None:
    writes = clean.writes
    points = _points(writes)
    # This case's kill points: a twelfth of them (all twelve cases cover every point).
    mine = points[int(share * len(points)) : int((share + 1 / 12) * len(points))]
    for k in mine:
        _kill_and_resume(tmp_path / f"k{k}", k, clean)


def _kill_and_resume(folder: Path, k: int, clean: Clean) -> None:
    folder.mkdir()
    store, effects = str(folder / "j.db"), folder / "fx"
    killed = child(clean.executor, "run", store, PARENT, str(_data(folder)), str(effects), str(k))
    if killed.returncode == 0:
        # Writes group differently from run to run (records written together):
        # a point near the end may lie past this run's last write.
        assert killed.stdout.split()[1] == "succeeded" and int(killed.stdout.split()[0]) < k + 3
        return
    assert killed.returncode == -signal.SIGKILL, (k, killed.stdout, killed.stderr)
    journal = open_store(store)
    try:
        notes = journal.load_notes(PARENT)
        before = summarize(notes, running=False)
        ended = journal.load_run(PARENT).state
        done_before = set()
        for run in journal.child_runs(PARENT):  # type: ignore[attr-defined]
            for node, view in rehydrate(journal.load(run.id)).views.items():
                if view.state is TaskState.SUCCEEDED:
                    done_before.add((run.id, node))
    finally:
        journal.close()
    ran_before = _effects(effects)
    resumed = child(clean.executor, "resume", store, PARENT)
    if before is None:
        # Cut off before it recorded its source: nothing of it ran, and a
        # resume says so rather than guessing.
        assert resumed.returncode != 0 and "before it recorded its source" in resumed.stderr, (
            k,
            resumed.stderr,
        )
        assert not ran_before
        return
    if ended is RunState.SUCCEEDED:  # killed after its last write: nothing is left
        assert resumed.returncode != 0 and "already succeeded" in resumed.stderr, k
    else:
        assert resumed.returncode == 0, (k, resumed.stderr)
        assert resumed.stdout.split() == ["succeeded"], (k, resumed.stdout)
    assert _digests(store) == clean.digests, k
    journal = open_store(store)
    try:
        after = summarize(journal.load_notes(PARENT), running=False)
        children = [r.id for r in journal.child_runs(PARENT)]  # type: ignore[attr-defined]
    finally:
        journal.close()
    assert after is not None and after.total == 6
    assert sorted(children) == sorted(b.child for b in after.batches.values()), k
    for index, b in before.batches.items():
        assert after.batches[index].child == b.child, (k, index)  # the same child, taken up
    ran_after = _effects(effects) - ran_before
    repeated = [task for task in ran_after if task in done_before]
    assert repeated == [], (k, repeated)

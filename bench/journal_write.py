"""Cost of SQLiteJournal.record() next to a plain SQLite insert-and-commit loop.

    python bench/journal_write.py [--n 1000] [--repeat 5] [--synchronous NORMAL]

Prints microseconds per record() call (and per record for the batch case),
each the best of ``--repeat`` runs on a fresh file (the cases take turns),
and the ratio to the baseline measured in the same run:

* baseline: a plain loop that inserts one row into a table of the same shape
  and commits, per iteration (WAL, the same ``synchronous``);
* one record per call: what the engine does for each task transition;
* the same with a small JSON result (``{"i": i}``);
* one call of n records: one transaction for the lot.

The requirement this watches: "one record per call" stays within 2x of the
baseline.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from volnux.states import RunState, TaskState
from volnux.store.base import RunRecord, TaskRecord
from volnux.store.migrations import MIGRATIONS
from volnux.store.sqlite import SQLiteJournal

RUN_ID = "bench-run"


def _run() -> RunRecord:
    now = time.time()
    return RunRecord(
        id=RUN_ID,
        workflow="chain",
        text="a -> b",
        fingerprint="f",
        events={},
        inputs={},
        state=RunState.RUNNING,
        created_at=now,
        updated_at=now,
    )


def _records(n: int, result: bool) -> list[TaskRecord]:
    now = time.time()
    return [
        TaskRecord(
            RUN_ID,
            f"task{i}",
            TaskState.SUCCEEDED,
            attempt=1,
            at=now + i,
            descriptor=0,
            result={"i": i} if result else None,
        )
        for i in range(n)
    ]


def baseline(path: Path, n: int, synchronous: str) -> float:
    """Seconds for n iterations of: insert one row, commit."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    # The journal's own table and index, so only the journal's layer differs.
    for statement in MIGRATIONS[0].statements:
        if "task_records" in statement:
            conn.execute(statement.replace("REFERENCES runs (id)", ""))
    conn.commit()
    sql = (
        "INSERT INTO task_records (run_id, node_id, round, attempt, state, at, descriptor,"
        " result, result_codec, error, next_attempt_at, note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    now = time.time()
    rows = [
        (RUN_ID, f"task{i}", 0, 1, "succeeded", now + i, 0, None, None, None, None, None)
        for i in range(n)
    ]
    start = time.perf_counter()
    for row in rows:
        conn.execute(sql, row)
        conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def one_per_call(path: Path, n: int, synchronous: str, result: bool) -> float:
    """Seconds for n record() calls of one record each."""
    journal = SQLiteJournal(path, synchronous=synchronous)  # type: ignore[arg-type]
    journal.create_run(_run())
    records = [[rec] for rec in _records(n, result)]
    record = journal.record
    start = time.perf_counter()
    for batch in records:
        record(batch)
    elapsed = time.perf_counter() - start
    journal.close()
    return elapsed


def one_call(path: Path, n: int, synchronous: str) -> float:
    """Seconds for one record() call of n records."""
    journal = SQLiteJournal(path, synchronous=synchronous)  # type: ignore[arg-type]
    journal.create_run(_run())
    records = _records(n, False)
    start = time.perf_counter()
    journal.record(records)
    elapsed = time.perf_counter() - start
    journal.close()
    return elapsed


def best_of(
    repeat: int, folder: Path, measures: dict[str, Callable[[Path], float]]
) -> dict[str, float]:
    """The fastest of ``repeat`` runs of each measure, each run on a fresh file.

    The measures take turns (round-robin) rather than running back to back,
    so that a slow spell of the machine hits all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in measures}
    for i in range(repeat):
        for j, (name, measure) in enumerate(measures.items()):
            sub = folder / f"{i}-{j}"
            sub.mkdir()
            times[name].append(measure(sub / "journal.db"))
    return {name: min(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL")
    args = parser.parse_args(argv)
    n, sync = args.n, args.synchronous

    def plain(path: Path) -> float:
        return baseline(path, n, sync)

    def single(path: Path) -> float:
        return one_per_call(path, n, sync, result=False)

    def single_result(path: Path) -> float:
        return one_per_call(path, n, sync, result=True)

    def batch(path: Path) -> float:
        return one_call(path, n, sync)

    with tempfile.TemporaryDirectory() as tmp:
        results = best_of(
            args.repeat,
            Path(tmp),
            {
                "baseline: insert + commit per row": plain,
                "record(): 1 record per call": single,
                "record(): 1 record per call, small result": single_result,
                f"record(): {n} records in 1 call (per record)": batch,
            },
        )
    base = results["baseline: insert + commit per row"]
    print(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous={sync}, n={n}, best of {args.repeat}")
    for name, seconds in results.items():
        micros = seconds / n * 1e6
        print(f"  {name:<46} {micros:8.2f} us   {seconds / base:5.2f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The SQLite journal's write path on its own, next to the plain-SQLite baseline.

    python bench/journal_write.py [--n 1000] [--repeat 7] [--synchronous NORMAL] [--json]

Prints microseconds per task, each the best of ``--repeat`` passes on a
fresh file (the cases take turns, so a slow spell hits them all alike),
and the ratio to the baseline measured in the same run:

* ``baseline``: insert and commit one small row per task (``bench/baseline.py``);
* ``chain step``: one ``record()`` call per task holding the task's
  SUCCEEDED record and the next task's RUNNING record, as the engine writes
  a chain;
* ``chain step, JSON result``: the same with a small dict as the result;
* ``group``: one ``record()`` of n RUNNING records, then one of n SUCCEEDED
  records, as the engine writes a parallel group whose members finish
  together.

What the engine adds on top of these is ``bench/engine.py``'s business.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from baseline import sqlite_rows  # noqa: E402

from volnux.states import RunState, TaskState  # noqa: E402
from volnux.store import RunRecord, SQLiteJournal, TaskRecord  # noqa: E402

RUN_ID = "bench-run"


def _journal(path: Path, synchronous: str) -> SQLiteJournal:
    journal = SQLiteJournal(path, synchronous=synchronous)  # type: ignore[arg-type]
    now = time.time()
    journal.create_run(
        RunRecord(
            id=RUN_ID,
            workflow="bench",
            text="",
            fingerprint="",
            events={},
            inputs={},
            state=RunState.RUNNING,
            created_at=now,
            updated_at=now,
        )
    )
    return journal


def _record(i: int, state: TaskState, result: object = None) -> TaskRecord:
    ok = state is TaskState.SUCCEEDED
    return TaskRecord(
        RUN_ID, f"Task{i}", state, 1, time.time(), 0, 1 if ok else None, result if ok else None
    )


def chain(path: Path, n: int, synchronous: str, result: object) -> float:
    """Seconds for n record() calls of [SUCCEEDED i, RUNNING i+1]."""
    journal = _journal(path, synchronous)
    batches = [
        [_record(i, TaskState.SUCCEEDED, result), _record(i + 1, TaskState.RUNNING)]
        for i in range(n)
    ]
    record = journal.record
    start = time.perf_counter()
    for batch in batches:
        record(batch)
    elapsed = time.perf_counter() - start
    journal.close()
    return elapsed


def group(path: Path, n: int, synchronous: str) -> float:
    """Seconds for one record() of n RUNNING records and one of n SUCCEEDED."""
    journal = _journal(path, synchronous)
    running = [_record(i, TaskState.RUNNING) for i in range(n)]
    done = [_record(i, TaskState.SUCCEEDED, 1) for i in range(n)]
    start = time.perf_counter()
    journal.record(running)
    journal.record(done)
    elapsed = time.perf_counter() - start
    journal.close()
    return elapsed


def baseline(path: Path, n: int, synchronous: str) -> float:
    """Seconds for the baseline loop on a fresh file."""
    go = sqlite_rows(str(path), n, synchronous)
    start = time.perf_counter()
    go()
    return time.perf_counter() - start


def best_of(
    repeat: int, folder: Path, measures: dict[str, Callable[[Path], float]]
) -> dict[str, float]:
    """The fastest of ``repeat`` passes of each measure, each on a fresh file."""
    times: dict[str, list[float]] = {name: [] for name in measures}
    for i in range(repeat):
        for j, (name, measure) in enumerate(measures.items()):
            sub = folder / f"{i}-{j}"
            sub.mkdir()
            times[name].append(measure(sub / "journal.db"))
    return {name: min(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table, or JSON with ``--json``."""
    parser = argparse.ArgumentParser(description="The SQLite journal's write path.")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    n, sync = args.n, args.synchronous
    measures: dict[str, Callable[[Path], float]] = {
        "baseline": lambda p: baseline(p, n, sync),
        "chain step": lambda p: chain(p, n, sync, 1),
        "chain step, JSON result": lambda p: chain(p, n, sync, {"rows": 12, "ok": True}),
        "group": lambda p: group(p, n, sync),
    }
    with tempfile.TemporaryDirectory(prefix="volnux-bench-") as tmp:
        results = best_of(args.repeat, Path(tmp), measures)
    per_task = {name: seconds / n * 1e6 for name, seconds in results.items()}
    base = per_task["baseline"]
    if args.json:
        print(json.dumps({"n": n, "synchronous": sync, "us_per_task": per_task}, indent=2))
        return 0
    print(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous={sync}, n={n}, best of {args.repeat}")
    for name, micros in per_task.items():
        print(f"  {name:<26} {micros:8.2f} us per task   {micros / base:5.2f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())

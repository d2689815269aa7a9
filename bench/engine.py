"""Per-task overhead of the engine, next to baselines measured in the same run.

    python bench/engine.py [--tasks 1000] [--repeat 5] [--json]

Shapes: a chain of N no-op events and an N-wide parallel group.  For each,
the best of ``--repeat`` runs, in microseconds per task:

* ``loop``: a plain Python loop calling the no-op function;
* ``threadpool``: a plain ``ThreadPoolExecutor`` doing the same no-op work
  (the chain submits and waits one by one; the group submits all, then waits);
* ``volnux``: the engine with the in-memory journal;
* ``sqlite-row``: a plain loop inserting and committing one row per task into
  SQLite (WAL, synchronous=NORMAL, as the journal uses);
* ``volnux+sqlite``: the engine with the durable SQLite journal.

Also prints ``import volnux`` time (in a fresh interpreter) and the peak
memory of the engine run (tracemalloc) for each shape.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import volnux  # noqa: E402
from volnux.executors import ThreadExecutor  # noqa: E402


def noop() -> int:
    return 1


@volnux.event(name="Noop")
def noop_event() -> int:
    return 1


def best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def sqlite_rows(path: str, n: int) -> Callable[[], None]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (run TEXT, node TEXT, state TEXT, at REAL)")

    def go() -> None:
        for i in range(n):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (?, ?, ?, ?)", ("r", f"n{i}", "ok", time.time()))
            conn.execute("COMMIT")

    return go


def measure(n: int, repeat: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    pool = ThreadPoolExecutor(max_workers=32)
    executor = ThreadExecutor()
    tmp = tempfile.mkdtemp(prefix="volnux-bench-")
    open_store = _store_opener()
    for shape, joiner in (("chain", " -> "), ("group", " || ")):
        wf = volnux.Workflow.from_text(joiner.join(["Noop"] * n), [noop_event])
        wf.plan  # noqa: B018  (parse and resolve outside the timed part)
        row: dict[str, float] = {}
        row["loop"] = best(lambda: [noop() for _ in range(n)] and None, repeat)
        if shape == "chain":
            row["threadpool"] = best(lambda: [pool.submit(noop).result() for _ in range(n)] and None, repeat)
        else:
            def fan() -> None:
                for f in [pool.submit(noop) for _ in range(n)]:
                    f.result()
            row["threadpool"] = best(fan, repeat)

        def engine(store: object = None) -> None:
            r = wf.run(executors={"thread": executor}, store=store)  # type: ignore[arg-type]
            assert r.status == "succeeded", r.error

        row["volnux"] = best(engine, repeat)
        row["sqlite-row"] = best(sqlite_rows(os.path.join(tmp, f"{shape}-rows.db"), n), repeat)
        if open_store is not None:
            journal = open_store(os.path.join(tmp, f"{shape}-journal.db"))
            row["volnux+sqlite"] = best(lambda: engine(journal), repeat)
            journal.close()
        tracemalloc.start()
        engine()
        row["peak-MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out[shape] = row
    pool.shutdown()
    executor.shutdown()
    return out


def _store_opener() -> Callable[[str], object] | None:
    try:
        from volnux.store.sqlite import SQLiteJournal
    except ImportError:
        return None
    return SQLiteJournal


def import_time() -> float:
    code = "import time; t=time.perf_counter(); import volnux; print(time.perf_counter()-t)"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout)
        for _ in range(3)
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    n = args.tasks
    results = measure(n, args.repeat)
    imp = import_time()
    if args.json:
        print(json.dumps({"tasks": n, "shapes": results, "import_s": imp}, indent=2))
        return
    cols = ["loop", "threadpool", "volnux", "sqlite-row", "volnux+sqlite"]
    print(f"per-task cost in microseconds, {n} no-op tasks, best of {args.repeat}")
    print(f"{'shape':8}" + "".join(f"{c:>15}" for c in cols) + f"{'vs pool':>10}{'vs sqlite':>11}")
    for shape, row in results.items():
        cells = "".join(
            f"{row[c] / n * 1e6:15.1f}" if c in row else f"{'-':>15}" for c in cols
        )
        ratio_pool = row["volnux"] / row["threadpool"]
        ratio_sql = (
            f"{row['volnux+sqlite'] / row['sqlite-row']:11.2f}" if "volnux+sqlite" in row
            else f"{'-':>11}"
        )
        print(f"{shape:8}{cells}{ratio_pool:10.2f}{ratio_sql}")
    print(f"import volnux: {imp * 1000:.0f} ms")
    for shape, row in results.items():
        print(f"peak traced memory, {shape} run: {row['peak-MiB']:.1f} MiB")


if __name__ == "__main__":
    main()

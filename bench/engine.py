"""Per-task overhead of the engine, next to baselines measured in the same run.

    python bench/engine.py [--tasks 1000] [--repeat 6] [--span 8] [--synchronous NORMAL] [--json]

Two shapes: a chain of N no-op events and an N-wide parallel group.  Each
variant is timed ``--repeat`` times, the variants taking turns so that a busy
moment on the machine hits them all alike; the best time counts.  Each
timing is the mean of ``--span`` runs in a row, so that it includes the WAL
checkpoints each variant pays now and then.  The journal checkpoints every
16 MiB of WAL: about every 7 runs of the 1,000-chain (1,200 pages of 2 KiB
a run), so a timing of the default 8 runs includes one; the plain SQLite
loop checkpoints every 1,000 pages, in every run.  (Taking the best single
run left the journal's checkpoint out every time: 2.5-4.5 us a chain task
here, by page size.)  The group writes about a tenth as much and
checkpoints about every 70 runs, so its best timing usually includes none:
that leaves out about 0.3 us a task.
Printed in microseconds per task:

* ``loop``: a plain Python loop calling the no-op function;
* ``threadpool``: a plain ``ThreadPoolExecutor`` doing the same no-op work
  (the chain submits and waits one by one; the group submits all, then waits);
* ``volnux``: the engine with the in-memory journal;
* ``sqlite-row``: a plain loop inserting and committing one row per task into
  SQLite (WAL, with the journal's ``synchronous`` setting);
* ``volnux+sqlite``: the engine with the durable SQLite journal
  (``--synchronous``: NORMAL, the default, or FULL, an fsync per commit).

The ``vs sqlite`` ratio is ``volnux+sqlite`` over ``sqlite-row``.  Its floor,
printed below the table, is what a journal costing nothing but its commits
would reach: the in-memory engine plus one commit per chain step, and the
in-memory engine alone for a group (whose commits are shared).

Also: import times in fresh interpreters (best of 5), of ``volnux`` with the
events API a module of events uses and of the whole runtime, and the peak
memory the engine allocates for each shape (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from baseline import best_in_turns, sqlite_rows  # noqa: E402

import volnux  # noqa: E402
from volnux.executors import ThreadExecutor  # noqa: E402
from volnux.store import SQLiteJournal  # noqa: E402

COLUMNS = ("loop", "threadpool", "volnux", "sqlite-row", "volnux+sqlite")


def noop() -> int:
    return 1


@volnux.event(name="Noop")
def noop_event() -> int:
    return 1


def variants(shape: str, n: int, tmp: str, sync: str) -> dict[str, Callable[[], None]]:
    """The functions timed for one shape."""
    pool = ThreadPoolExecutor(max_workers=32)
    executor = ThreadExecutor()
    joiner = " -> " if shape == "chain" else " || "
    wf = volnux.Workflow.from_text(joiner.join(["Noop"] * n), [noop_event])
    wf.check()  # parse and resolve outside the timed part
    journal = SQLiteJournal(os.path.join(tmp, f"{shape}-journal.db"), synchronous=sync)  # type: ignore[arg-type]

    def loop() -> None:
        for _ in range(n):
            noop()

    def threadpool_chain() -> None:
        for _ in range(n):
            pool.submit(noop).result()

    def threadpool_group() -> None:
        for future in [pool.submit(noop) for _ in range(n)]:
            future.result()

    def engine() -> None:
        run = wf.run(executors={"thread": executor})
        assert run.succeeded, run.error

    def durable() -> None:
        run = wf.run(executors={"thread": executor}, store=journal)
        assert run.succeeded, run.error

    return {
        "loop": loop,
        "threadpool": threadpool_chain if shape == "chain" else threadpool_group,
        "volnux": engine,
        "sqlite-row": sqlite_rows(os.path.join(tmp, f"{shape}-rows.db"), n, sync),
        "volnux+sqlite": durable,
    }


def measure(n: int, repeat: int, sync: str, span: int = 1) -> dict[str, dict[str, float]]:
    """Best seconds per variant and shape, plus peak MiB of the engine run."""
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="volnux-bench-") as tmp:
        for shape in ("chain", "group"):
            fns = variants(shape, n, tmp, sync)
            best = best_in_turns(fns, repeat, span)
            tracemalloc.start()
            fns["volnux"]()
            best["peak-MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            out[shape] = best
    return out


def import_time(statement: str) -> float:
    """Seconds ``statement`` takes in a fresh interpreter (best of 5)."""
    code = f"import time; t=time.perf_counter(); {statement}; print(time.perf_counter()-t)"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    runs = []
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        runs.append(float(done.stdout))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-task overhead of the Volnux engine.")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--span", type=int, default=8, help="runs per timing (see above)")
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    n = args.tasks
    results = measure(n, args.repeat, args.synchronous, args.span)
    # The authoring API (what a module of events needs), then the whole runtime.
    imp = import_time("import volnux; volnux.event")
    imp_all = import_time("from volnux import Workflow")
    if args.json:
        report = {
            "tasks": n,
            "synchronous": args.synchronous,
            "span": args.span,
            "seconds": results,
            "import_s": imp,
            "import_runtime_s": imp_all,
        }
        print(json.dumps(report, indent=2))
        return
    print(
        f"per-task cost in microseconds, {n} no-op tasks, best of {args.repeat} timings "
        f"of {args.span} runs, SQLite synchronous={args.synchronous}"
    )
    header = "".join(f"{c:>15}" for c in COLUMNS)
    print(f"{'shape':8}{header}{'vs pool':>10}{'vs sqlite':>11}")
    for shape, row in results.items():
        cells = "".join(f"{row[c] / n * 1e6:15.1f}" for c in COLUMNS)
        vs_pool = row["volnux"] / row["threadpool"]
        vs_sqlite = row["volnux+sqlite"] / row["sqlite-row"]
        print(f"{shape:8}{cells}{vs_pool:10.2f}{vs_sqlite:11.2f}")
    chain, group = results["chain"], results["group"]
    # One commit per chain step is the write-ahead rule; a group's commits are
    # shared.  So even a journal costing nothing but those commits would
    # leave these ratios: the in-memory engine's own cost sets the floor.
    chain_floor = (chain["volnux"] + chain["sqlite-row"]) / chain["sqlite-row"]
    group_floor = group["volnux"] / group["sqlite-row"]
    print(
        "vs sqlite with a journal costing only its commits: "
        f"chain {chain_floor:.2f}, group {group_floor:.2f}"
    )
    print(
        f"import volnux and its events API: {imp * 1000:.0f} ms; "
        f"with the runtime (Workflow): {imp_all * 1000:.0f} ms"
    )
    for shape, row in results.items():
        print(f"peak traced memory of one {shape} run: {row['peak-MiB']:.1f} MiB")


if __name__ == "__main__":
    main()

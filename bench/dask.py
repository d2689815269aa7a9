"""The dask executor next to bare Dask, on the same LocalCluster, in the same run.

    python bench/dask.py [--tasks 500] [--workers 2] [--rounds 3] [--json]

* ``chain``: ``--tasks`` no-op events in a row (``A -> A -> ...``) on the dask
  executor, against bare ``client.submit`` of the same function, each submit
  made once the previous one's result arrived (what an orchestrator that
  acts on each result does).  The bare chain of dependent futures, which the
  scheduler runs without asking the client, is reported too.
* ``group``: ``--tasks`` no-op events side by side (``A || A || ...``), against
  ``--tasks`` bare submits waited for together.

Volnux runs with its in-memory journal and with SQLite (durable); every
variant takes turns for ``--rounds`` rounds and the best time counts.  The
cluster has ``--workers`` worker processes of one thread, on loopback, warm
before the clock starts.  Targets: the group within 1.3x of bare Dask, the
chain within 1.5x.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This file's folder is not a place to import from: this file would be `dask`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "src"))

import volnux  # noqa: E402

EVENTS = str(HERE / "dask_events.py")


def noop() -> None:
    """The work: nothing."""


def bare_chain(client: Any, tasks: int) -> float:
    """Submit, wait for the result, submit the next: ``tasks`` times."""
    started = time.perf_counter()
    for i in range(tasks):
        client.submit(noop, pure=False, key=f"bare-chain-{time.time_ns()}-{i}").result()
    return time.perf_counter() - started


def bare_linked(client: Any, tasks: int) -> float:
    """A chain of dependent futures: the scheduler runs it without asking the client."""

    def step(_previous: Any) -> None:
        return None

    started = time.perf_counter()
    future = client.submit(noop, pure=False)
    for _ in range(tasks - 1):
        future = client.submit(step, future, pure=False)
    future.result()
    return time.perf_counter() - started


def bare_group(client: Any, tasks: int) -> float:
    """``tasks`` submits at once, each heard through a callback, waited for together."""
    done = threading.Event()
    left = [tasks]
    lock = threading.Lock()

    def finished(_future: Any) -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                done.set()

    started = time.perf_counter()
    stamp = time.time_ns()
    futures = [client.submit(noop, pure=False, key=f"bare-group-{stamp}-{i}") for i in range(tasks)]
    for future in futures:
        future.add_done_callback(finished)
    done.wait()
    return time.perf_counter() - started


def volnux_run(text: str, executor: Any, journal: Any) -> float:
    flow = volnux.Workflow.from_text(text, [EVENTS])
    flow.plan  # parsed and planned before the clock starts  # noqa: B018
    started = time.perf_counter()
    run = flow.run(executors={"dask": executor}, store=journal)
    took = time.perf_counter() - started
    assert run.succeeded, run.error
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from volnux.executors.cluster import DaskExecutor

    executor = DaskExecutor(args.workers)
    client = executor._running_client()
    chain = " -> ".join(["Noop"] * args.tasks)
    group = " || ".join(["Noop"] * args.tasks)
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    with tempfile.TemporaryDirectory(prefix="volnux-bench-dask-") as tmp:
        volnux_run("Noop", executor, volnux.MemoryJournal())  # warm: workers load the event
        bare_chain(client, 10)
        for round_ in range(args.rounds):
            keep("chain bare", bare_chain(client, args.tasks))
            keep("chain bare-linked", bare_linked(client, args.tasks))
            keep("chain volnux", volnux_run(chain, executor, volnux.MemoryJournal()))
            db = volnux.SQLiteJournal(Path(tmp) / f"chain{round_}.db")
            keep("chain volnux+sqlite", volnux_run(chain, executor, db))
            db.close()
            keep("group bare", bare_group(client, args.tasks))
            keep("group volnux", volnux_run(group, executor, volnux.MemoryJournal()))
            db = volnux.SQLiteJournal(Path(tmp) / f"group{round_}.db")
            keep("group volnux+sqlite", volnux_run(group, executor, db))
            db.close()
    executor.shutdown()
    per_task = {name: seconds / args.tasks * 1e6 for name, seconds in best.items()}
    ratios = {
        "chain": best["chain volnux+sqlite"] / best["chain bare"],
        "chain_memory": best["chain volnux"] / best["chain bare"],
        "group": best["group volnux+sqlite"] / best["group bare"],
        "group_memory": best["group volnux"] / best["group bare"],
    }
    if args.json:
        print(json.dumps({"tasks": args.tasks, "us_per_task": per_task, "ratio": ratios}, indent=2))
        return
    print(f"{args.tasks} tasks on a {args.workers}-worker LocalCluster (best of {args.rounds}):")
    for name, us in per_task.items():
        print(f"  {name:22s} {us:9.0f} us/task")
    print(
        f"  chain: {ratios['chain']:.2f}x bare (durable; memory {ratios['chain_memory']:.2f}x;"
        " target <= 1.5)\n"
        f"  group: {ratios['group']:.2f}x bare (durable; memory {ratios['group_memory']:.2f}x;"
        " target <= 1.3)"
    )


if __name__ == "__main__":
    main()

"""The asyncio executor, next to the thread executor measured in the same run.

    python bench/coroutines.py [--tasks 1000] [--wide 10000] [--nap 0.2] [--rounds 5] [--json]

* ``noop``: a chain and a group of ``--tasks`` no-op ``async def`` events on
  the asyncio executor, per task, against the same shapes of no-op plain
  events on the thread executor; the in-memory journal.  The ratio is
  asyncio over threads.
* ``wide``: a ``--wide``-wide group of events that ``await
  asyncio.sleep(--nap)``, in wall time, with the number of threads the
  process had while it ran.

Each variant is timed ``--rounds`` times, the variants taking turns; the
best time counts.  Every workflow's pools are started before the clock runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

import volnux  # noqa: E402


@volnux.event
async def AsyncNoop() -> None:
    """Nothing, awaited."""


@volnux.event
def ThreadNoop() -> None:
    """Nothing, on a thread."""


@volnux.event
async def Nap(nap: float = 0.2) -> None:
    await asyncio.sleep(nap)


def timed(flow: volnux.Workflow, inputs: dict[str, float] | None = None) -> float:
    started = time.perf_counter()
    run = flow.run(inputs or {})
    took = time.perf_counter() - started
    if not run.succeeded:
        raise SystemExit(f"the benchmark's run failed: {run.error}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--wide", type=int, default=10_000)
    parser.add_argument("--nap", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    events = [AsyncNoop, ThreadNoop, Nap]
    n = args.tasks
    flows = {
        "async-chain": volnux.Workflow.from_text(" -> ".join(["AsyncNoop"] * n), events),
        "thread-chain": volnux.Workflow.from_text(" -> ".join(["ThreadNoop"] * n), events),
        "async-group": volnux.Workflow.from_text(" || ".join(["AsyncNoop"] * n), events),
        "thread-group": volnux.Workflow.from_text(" || ".join(["ThreadNoop"] * n), events),
    }
    wide = volnux.Workflow.from_text(" || ".join(["Nap"] * args.wide), events)
    # First, while no other workflow has threads that could still be starting.
    before = {thread.name for thread in threading.enumerate()}
    wide_s = timed(wide, {"nap": args.nap})
    threads = len({thread.name for thread in threading.enumerate()} - before)
    for flow in flows.values():
        timed(flow)  # start the pools
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, flow in flows.items():
            took = timed(flow)
            best[name] = min(best.get(name, took), took)
    for flow in (*flows.values(), wide):
        flow.close()

    report = {
        "tasks": n,
        "noop": {
            shape: {
                "async_us": best[f"async-{shape}"] / n * 1e6,
                "thread_us": best[f"thread-{shape}"] / n * 1e6,
                "ratio": best[f"async-{shape}"] / best[f"thread-{shape}"],
            }
            for shape in ("chain", "group")
        },
        "wide": {"tasks": args.wide, "nap_s": args.nap, "wall_s": wide_s, "new_threads": threads},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for shape, row in report["noop"].items():
        print(
            f"no-op {shape} of {n}: asyncio {row['async_us']:.1f} us/task, "
            f"threads {row['thread_us']:.1f} us/task, ratio {row['ratio']:.2f}"
        )
    print(
        f"{args.wide:,} events awaiting asyncio.sleep({args.nap:g}) at once: "
        f"{wide_s:.2f} s wall, {threads} new threads"
    )


if __name__ == "__main__":
    main()

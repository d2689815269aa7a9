"""Pools that size themselves, next to fixed pools measured in the same run.

    python bench/adaptive.py [--tasks 400] [--sleep 0.05] [--cpu-tasks 16] [--json]

* ``io``: a group of ``--tasks`` events that ``time.sleep(--sleep)`` on the
  thread executor: an adaptive pool (minimum 2, growing while calls wait, to
  its default maximum) against a fixed pool of 2.  The speed-up is fixed time
  over adaptive time; the largest size the adaptive pool reported is shown.
  ``remembered`` is the adaptive pool again, fresh, on a journal that has
  one earlier run of the same events: with waits of 50 ms or more it grows
  for them at once (``long-tasks``) rather than doubling as it measures.
* ``cpu``: a group of ``--cpu-tasks`` CPU-bound events on the process
  executor, sized by default: the sizes its ``pool_resized`` signals
  reported, against the CPUs this process may use.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

import volnux  # noqa: E402
from volnux.executors import ThreadExecutor  # noqa: E402
from volnux.executors.base import usable_cpus  # noqa: E402
from volnux.observability import signals  # noqa: E402
from volnux.store.memory import MemoryJournal  # noqa: E402


@volnux.event
def Wait(sleep: float = 0.05) -> None:
    """I/O, as far as a pool can tell: the thread waits."""
    time.sleep(sleep)


@volnux.event(executor="process")
def Crunch(loops: int = 2_000_000) -> int:
    """CPU-bound work in a worker process."""
    total = 0
    for i in range(loops):
        total += i
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--sleep", type=float, default=0.05)
    parser.add_argument("--cpu-tasks", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    io_text = " || ".join(["Wait"] * args.tasks)
    timings: dict[str, float] = {}
    largest: dict[str, int] = {}
    remembering = MemoryJournal()  # one untimed run first: it learns the waits are long
    for name, make in (
        ("fixed", lambda sizes: ThreadExecutor(2, on_resize=sizes)),
        ("adaptive", lambda sizes: ThreadExecutor(min_workers=2, on_resize=sizes)),
        ("learning", lambda sizes: ThreadExecutor(min_workers=2, on_resize=sizes)),
        ("remembered", lambda sizes: ThreadExecutor(min_workers=2, on_resize=sizes)),
    ):
        seen: list[int] = []
        pool = make(lambda workers, why, seen=seen: seen.append(workers))
        store = remembering if name in ("learning", "remembered") else MemoryJournal()
        with volnux.Workflow.from_text(io_text, [Wait, Crunch]) as flow:
            started = time.perf_counter()
            run = flow.run({"sleep": args.sleep}, executors={"thread": pool}, store=store)
            timings[name] = time.perf_counter() - started
        pool.shutdown()
        if not run.succeeded:
            raise SystemExit(f"the benchmark's run failed: {run.error}")
        largest[name] = max(seen, default=0)

    sizes: list[tuple[int, str]] = []

    def heard(sender: str, payload: signals.PoolResized) -> None:
        if payload.executor == "process":
            sizes.append((payload.workers, payload.reason))

    signals.pool_resized.connect(heard)
    try:
        with volnux.Workflow.from_text(" || ".join(["Crunch"] * args.cpu_tasks), [Crunch]) as flow:
            run = flow.run()
    finally:
        signals.pool_resized.disconnect(heard)
    if not run.succeeded:
        raise SystemExit(f"the benchmark's run failed: {run.error}")

    report: dict[str, Any] = {
        "io": {
            "tasks": args.tasks,
            "sleep_s": args.sleep,
            "fixed_s": timings["fixed"],
            "adaptive_s": timings["adaptive"],
            "speedup": timings["fixed"] / timings["adaptive"],
            "largest_pool": largest["adaptive"],
            "remembered_s": timings["remembered"],
            "remembered_speedup": timings["fixed"] / timings["remembered"],
            "remembered_largest_pool": largest["remembered"],
        },
        "cpu": {
            "tasks": args.cpu_tasks,
            "usable_cpus": usable_cpus(),
            "sizes": sizes,
            "most_workers": max((n for n, _ in sizes), default=0),
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    io, cpu = report["io"], report["cpu"]
    print(
        f"{args.tasks} waits of {args.sleep:g} s: fixed pool of 2 {io['fixed_s']:.2f} s, "
        f"adaptive (min 2) {io['adaptive_s']:.2f} s, speed-up {io['speedup']:.1f}x "
        f"(grew to {io['largest_pool']} threads); remembered from an earlier run "
        f"{io['remembered_s']:.2f} s, speed-up {io['remembered_speedup']:.1f}x "
        f"(grew to {io['remembered_largest_pool']} threads)"
    )
    print(
        f"{args.cpu_tasks} CPU-bound events on processes: at most {cpu['most_workers']} "
        f"workers for {cpu['usable_cpus']} usable CPUs (sizes heard: {cpu['sizes']})"
    )


if __name__ == "__main__":
    main()

"""The process executor, next to baselines measured in the same run.

    python bench/processes.py [--tasks 1000] [--workers 2] [--cpu-tasks 64] [--cpu-ms 50]
                              [--rounds 3] [--json]

* ``noop``: an N-wide group of no-op events on the process executor, per
  task, against a bare ``concurrent.futures.ProcessPoolExecutor`` given the
  same number of workers (started the same way, by a fork server) that
  submits the same no-op function N times with a completion callback.  Both
  pools are started and warm before the clock starts; the in-memory journal.
* ``cpu``: a group of ``--cpu-tasks`` CPU-bound events (a pure-Python loop of
  about ``--cpu-ms`` ms each) on the thread executor and on the process
  executor, in wall time; the speed-up is thread time over process time.

The variants take turns for ``--rounds`` rounds, so that a busy moment hits
them alike; the best time of each counts.  Events are defined in this file,
which the workers load by name (``__main__``, as multiprocessing hands it on).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

import volnux  # noqa: E402


def noop_call() -> None:
    """The bare pool's work: nothing."""


@volnux.event(executor="process")
def Noop() -> None:
    """The engine's work: nothing."""


def spin(loops: int) -> int:
    """Pure-Python work that holds the GIL: ``loops`` additions."""
    total = 0
    for i in range(loops):
        total += i
    return total


@volnux.event
def Spin(loops: int) -> int:
    """CPU-bound work, on whichever executor the workflow gives it."""
    return spin(loops)


def loops_for(ms: float) -> int:
    """How many ``spin`` loops take about ``ms`` milliseconds here."""
    probe = 200_000
    started = time.perf_counter()
    spin(probe)
    took = time.perf_counter() - started
    return max(1, int(probe * (ms / 1000) / took))


def bare_pool(tasks: int, workers: int) -> float:
    """Seconds for ``tasks`` submits and callbacks on a warm ProcessPoolExecutor."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for future in [pool.submit(noop_call) for _ in range(workers * 2)]:
            future.result()
        finished = threading.Event()
        left = [tasks]
        lock = threading.Lock()

        def done(future: Future[Any]) -> None:
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    finished.set()

        started = time.perf_counter()
        for _ in range(tasks):
            pool.submit(noop_call).add_done_callback(done)
        finished.wait()
        return time.perf_counter() - started


def volnux_group(flow: volnux.Workflow, workers: int, inputs: dict[str, Any]) -> float:
    """Seconds for one run of ``flow`` (its pools already warm)."""
    started = time.perf_counter()
    run = flow.run(inputs, max_workers=workers)
    took = time.perf_counter() - started
    if not run.succeeded:
        raise SystemExit(f"the benchmark's run failed: {run.error}")
    return took


def group(name: str, count: int) -> str:
    return " || ".join([name] * count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cpu-tasks", type=int, default=64)
    parser.add_argument("--cpu-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    events = [Noop, Spin]
    noop_flow = volnux.Workflow.from_text(group("Noop", args.tasks), events)
    cpu_text = group("Spin", args.cpu_tasks)
    on_threads = volnux.Workflow.from_text(cpu_text, events, default_executor="thread")
    on_processes = volnux.Workflow.from_text(cpu_text, events, default_executor="process")
    loops = loops_for(args.cpu_ms)
    spin = {"loops": loops}
    # Warm: start every pool before any clock runs.
    volnux_group(noop_flow, args.workers, {})
    volnux_group(on_processes, args.workers, spin)

    best: dict[str, float] = {}
    for _ in range(args.rounds):
        timings = {
            "bare": bare_pool(args.tasks, args.workers),
            "volnux": volnux_group(noop_flow, args.workers, {}),
            "thread": volnux_group(on_threads, args.workers, spin),
            "process": volnux_group(on_processes, args.workers, spin),
        }
        for name, seconds in timings.items():
            best[name] = min(best.get(name, seconds), seconds)
    for flow in (noop_flow, on_threads, on_processes):
        flow.close()

    report = {
        "workers": args.workers,
        "noop": {
            "tasks": args.tasks,
            "bare_us": best["bare"] / args.tasks * 1e6,
            "volnux_us": best["volnux"] / args.tasks * 1e6,
            "ratio": best["volnux"] / best["bare"],
        },
        "cpu": {
            "tasks": args.cpu_tasks,
            "loops": loops,
            "thread_s": best["thread"],
            "process_s": best["process"],
            "speedup": best["thread"] / best["process"],
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    noop, cpu = report["noop"], report["cpu"]
    print(f"{args.workers} workers")
    print(
        f"no-op group of {args.tasks}: bare ProcessPoolExecutor {noop['bare_us']:.0f} us/task, "
        f"volnux process executor {noop['volnux_us']:.0f} us/task, ratio {noop['ratio']:.2f}"
    )
    print(
        f"{args.cpu_tasks} CPU-bound events of ~{args.cpu_ms:g} ms: "
        f"threads {cpu['thread_s']:.2f} s, processes {cpu['process_s']:.2f} s, "
        f"speed-up {cpu['speedup']:.2f}x"
    )


if __name__ == "__main__":
    main()

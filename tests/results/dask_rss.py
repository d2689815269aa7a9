"""Run 50 MB arrays through a chain on a Dask LocalCluster; print the engine's memory.

    python -m tests.results.dask_rss FOLDER

Prints JSON: the run's state, its mean, the bytes kept in the result store, and
this (engine) process's resident memory before the run and at its peak.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import psutil

import volnux
from volnux.executors.cluster import DaskExecutor
from volnux.store.results import ResultRef
from volnux.store.sqlite import SQLiteJournal

from . import results_events


def own_peak() -> int:
    """This program's peak resident memory in bytes (VmHWM; not ru_maxrss, which
    carries over across exec the peak of the process it was forked from)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    folder = Path(sys.argv[1])
    executor = DaskExecutor(2)
    journal = SQLiteJournal(folder / "volnux.db")
    text = "FiftyMegabytes |-> Grow |-> Grow |-> Grow |-> Mean"
    try:
        with volnux.Workflow.from_text(text, [results_events]) as flow:
            flow.run({"seed": 0}, store=journal, executors={"dask": executor})  # warm up
            before = psutil.Process().memory_info().rss
            peak_before = own_peak()
            run = flow.run({"seed": 1}, store=journal, executors={"dask": executor})
            peak = own_peak()
        moved = sum(
            r.result.size for r in journal.load(run.id).tasks if type(r.result) is ResultRef
        )
        print(
            json.dumps(
                {
                    "state": run.status,
                    "error": run.error,
                    "mean": run.result("Mean"),
                    "kept_bytes": moved,
                    "rss_before": before,
                    "peak_before": peak_before,
                    "peak": peak,
                }
            )
        )
    finally:
        journal.close()
        executor.shutdown()


if __name__ == "__main__":
    main()

"""A child process for the journal tests: writes task records to a journal file.

    python journal_child.py PATH RUN_ID COUNT [--wait] [--payload BYTES] [--batches 1,2,3]

Creates run RUN_ID, prints "ready", waits for a line on stdin when --wait is
given, then calls record() until COUNT records are written, with batch sizes
cycling through --batches.  After each record() returns it prints the number
of records written so far and flushes, so a parent that kills it knows what
was committed.  Record i has node id "n{i}"; its note says which batch it was
in and how big that batch was ("b{batch}/{size}").
"""

from __future__ import annotations

import argparse
import sys
import time

from volnux.states import RunState, TaskState
from volnux.store.base import RunRecord, TaskRecord
from volnux.store.sqlite import SQLiteJournal


def main() -> int:
    """Parse the arguments and write."""
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("run_id")
    parser.add_argument("count", type=int)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--payload", type=int, default=0)
    parser.add_argument("--batches", default="1")
    args = parser.parse_args()
    sizes = [int(s) for s in args.batches.split(",")]
    journal = SQLiteJournal(args.path)
    now = time.time()
    journal.create_run(
        RunRecord(args.run_id, "w", "a -> b", "f", {}, {}, RunState.RUNNING, now, now)
    )
    print("ready", flush=True)
    if args.wait:
        sys.stdin.readline()
    written = batch = 0
    payload = "x" * args.payload if args.payload else None
    while written < args.count:
        size = min(sizes[batch % len(sizes)], args.count - written)
        journal.record(
            [
                TaskRecord(
                    args.run_id,
                    f"n{written + i}",
                    TaskState.SUCCEEDED,
                    1,
                    time.time(),
                    result=payload,
                    note=f"b{batch}/{size}",
                )
                for i in range(size)
            ]
        )
        written += size
        batch += 1
        print(written, flush=True)
    journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

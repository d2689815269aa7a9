"""How fast the engine could be: a minimal engine doing only the essential work.

    python bench/lean_bound.py [--tasks 1000] [--repeat 6] [--span 8] [--json]

For a chain and for a parallel group of no-op events this runs a
throwaway engine that does only what durability needs for each task.  That
means: record it RUNNING before submitting it, run the attempt on the real
``ThreadExecutor``, and record it SUCCEEDED, with its view updated and its
``Context`` built.  It has no frames, no observers, no retries, no
branches and no general dispatch.  It runs in memory and on the real
``SQLiteJournal``, next to the durable baseline of ``bench/engine.py``.

It is not Volnux: it is the bound that Volnux's own per-task cost
(``bench/engine.py``) is measured against.  It shows how much of a durable
task is the engine's generality and how much is the journal and its
commit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from baseline import best_in_turns, sqlite_rows  # noqa: E402

import volnux  # noqa: E402
from volnux.engine.attempt import AttemptResult, run_attempt  # noqa: E402
from volnux.events import Context, spec_of  # noqa: E402
from volnux.executors import ThreadExecutor  # noqa: E402
from volnux.states import RunState, TaskState  # noqa: E402
from volnux.store import RunRecord, SQLiteJournal, TaskRecord  # noqa: E402

RUNNING, SUCCEEDED = TaskState.RUNNING, TaskState.SUCCEEDED
_new_tuple = tuple.__new__
Write = Callable[[list[TaskRecord]], None]
Shape = Callable[[ThreadExecutor, Write, str, int], None]


@volnux.event(name="Noop")
def noop() -> int:
    return 1


SPEC = spec_of(noop)


class View:
    """The least a task view holds."""

    __slots__ = ("attempts", "ended", "result", "started", "state")

    def __init__(self) -> None:
        self.state, self.attempts = TaskState.PENDING, 0
        self.started = self.ended = self.result = None


def _running(run_id: str, node: str, view: View) -> TaskRecord:
    view.attempts += 1
    view.state = RUNNING
    view.started = now = time.time()
    return _new_tuple(TaskRecord, (run_id, node, RUNNING, view.attempts, now, 0,
                                   None, None, None, None, None))  # fmt: skip


def _succeeded(run_id: str, node: str, view: View, result: AttemptResult) -> TaskRecord:
    view.state = SUCCEEDED
    view.ended = now = time.time()
    view.result = result.result
    return _new_tuple(TaskRecord, (run_id, node, SUCCEEDED, view.attempts, now, 0,
                                   1, result.result, None, None, None))  # fmt: skip


def chain(executor: ThreadExecutor, write: Write, run_id: str, n: int) -> None:
    """n steps; each completion records the step and the next start in one write."""
    nodes = [f"Noop#{i}" for i in range(n)]
    views = {node: View() for node in nodes}
    lock, finished, at = threading.Lock(), threading.Event(), [0]

    def submit(node: str) -> None:
        ctx = Context(run_id, node, SPEC.key, views[node].attempts, {}, None, None)
        executor.submit(run_attempt, (SPEC, ctx), done)

    def done(result: Any, error: BaseException | None) -> None:
        with lock:
            i = at[0]
            records = [_succeeded(run_id, nodes[i], views[nodes[i]], result)]
            at[0] = i = i + 1
            if i == n:
                write(records)
                finished.set()
                return
            records.append(_running(run_id, nodes[i], views[nodes[i]]))
            write(records)
            submit(nodes[i])

    write([_running(run_id, nodes[0], views[nodes[0]])])
    submit(nodes[0])
    finished.wait()


def group(executor: ThreadExecutor, write: Write, run_id: str, n: int) -> None:
    """n members: all starts in one write, then all completions in one."""
    nodes = [f"Noop#{i}" for i in range(n)]
    views = {node: View() for node in nodes}
    lock, finished = threading.Lock(), threading.Event()
    completed: list[TaskRecord] = []
    write([_running(run_id, node, views[node]) for node in nodes])

    def member(node: str) -> Callable[[Any, BaseException | None], None]:
        def done(result: Any, error: BaseException | None) -> None:
            with lock:
                completed.append(_succeeded(run_id, node, views[node], result))
                if len(completed) == n:
                    write(completed)
                    finished.set()

        return done

    for node in nodes:
        ctx = Context(run_id, node, SPEC.key, 1, {}, None, None)
        executor.submit(run_attempt, (SPEC, ctx), member(node))
    finished.wait()


def measure(n: int, repeat: int, span: int = 1) -> dict[str, dict[str, float]]:
    """Best microseconds per task of each variant, per shape."""
    executor = ThreadExecutor()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="volnux-bench-") as tmp:
        journal = SQLiteJournal(os.path.join(tmp, "lean.db"))
        runs = iter(range(10**9))

        def durable(shape: Shape) -> None:
            run_id, now = f"r{next(runs)}", time.time()
            record = RunRecord(run_id, "lean", "", "", {}, {}, RunState.RUNNING, now, now)
            journal.create_run(record)
            shape(executor, journal.record, run_id, n)

        def in_memory(shape: Shape) -> Callable[[], None]:
            sink: list[TaskRecord] = []

            def go() -> None:
                sink.clear()
                shape(executor, sink.extend, "r", n)

            return go

        for name, shape in (("chain", chain), ("group", group)):
            variants = {
                "lean": in_memory(shape),
                "lean+sqlite": partial(durable, shape),
                "sqlite-row": sqlite_rows(os.path.join(tmp, f"{name}-rows.db"), n),
            }
            best = best_in_turns(variants, repeat, span)
            out[name] = {key: seconds / n * 1e6 for key, seconds in best.items()}
        journal.close()
    executor.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="A minimal engine's per-task cost.")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--span", type=int, default=8, help="runs per timing, as bench/engine.py")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = measure(args.tasks, args.repeat, args.span)
    if args.json:
        print(json.dumps({"tasks": args.tasks, "us_per_task": results}, indent=2))
        return
    print(f"a minimal engine, microseconds per task, {args.tasks} no-op tasks")
    print(f"{'shape':8}{'lean':>10}{'lean+sqlite':>14}{'sqlite-row':>12}{'vs sqlite':>11}")
    for shape, row in results.items():
        ratio = row["lean+sqlite"] / row["sqlite-row"]
        print(
            f"{shape:8}{row['lean']:10.1f}{row['lean+sqlite']:14.1f}"
            f"{row['sqlite-row']:12.1f}{ratio:11.2f}"
        )


if __name__ == "__main__":
    main()

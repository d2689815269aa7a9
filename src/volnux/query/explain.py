"""How a finished run is explained to people: what failed, why, and what to do.

:func:`explain` is the one explanation of a run that did not succeed, shared
by ``volnux run``, ``volnux runs show``, ``resume``, ``retry`` and the web
view of ``volnux serve``: which task
failed (node, event and version, attempt), the exception and the event's own
frames, its last log lines, the path that led there, what succeeded, and the
exact command that continues the run with what it would run again.
"""

from __future__ import annotations

import itertools
import logging
import os
import shlex
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..states import TaskState

if TYPE_CHECKING:  # the CLI imports the engine only when a command runs
    from ..engine import Run, TaskView
    from ..graph import Block, Graph
    from ..store import Journal, LogEntry
    from .runs import ResumePlan

__all__ = [
    "counts_line",
    "explain",
    "explain_counted",
    "explain_from_journal",
    "failure_summary",
    "format_log_line",
    "format_seconds",
    "graph_path",
    "next_steps",
    "state_label",
    "trimmed_traceback",
]

#: Innermost traceback frames shown per failed task: the event's own code.
FRAMES_SHOWN = 3
#: Frames from files under this folder are Volnux's, not the event author's.
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
#: How a failure that its ``0`` branch handled is shown.
HANDLED = "failed (handled)"
#: Failed tasks explained in full; more are listed by name (one screen).
TASKS_EXPLAINED = 3
#: Log lines shown per failed task (its last attempt's last lines).
LOG_LINES_SHOWN = 5
#: Tasks shown on a path before it is cut short with "...".
PATH_SHOWN = 8


def state_label(run: Run, view: TaskView) -> str:
    """The state; a failure its ``0`` branch handled reads ``failed (handled)``."""
    if view.state is TaskState.FAILED and view.node_id not in run.failed_nodes:
        return HANDLED
    return view.state.value


def counts_line(run: Run) -> str:
    """``3 succeeded, 1 failed and handled, 2 skipped`` in a fixed order."""
    counts = Counter(view.state.value for view in run.tasks.values())
    failed = [v for v in run.tasks.values() if v.state is TaskState.FAILED]
    handled = sum(1 for v in failed if v.node_id not in run.failed_nodes)
    return _tally(counts, handled)


def _tally(counts: Mapping[str, int], handled: int) -> str:
    """The counts line of tasks counted by state, ``handled`` of the failed ones handled."""
    tallies = Counter(counts)
    tallies["failed"] -= handled
    tallies[HANDLED] = handled
    order = ("succeeded", HANDLED, "failed", "skipped", "retrying", "running", "pending")
    words = {HANDLED: "failed and handled"}
    return ", ".join(f"{tallies[s]} {words.get(s, s)}" for s in order if tallies[s])


def failure_summary(run: Run) -> list[str]:
    """:func:`explain` without a journal: no log lines, no next step to offer."""
    return explain(run)


def explain_from_journal(run: Run, journal: Journal, store: str | None = None) -> list[str]:
    """:func:`explain` with the log lines and the resume plan read from ``journal``.

    ``store`` is the ``--store`` value the user gave, repeated in the command
    offered (None: the default store, nothing to repeat).
    """
    from .runs import describe_run

    if not journal.durable:  # gone with this process: nothing to resume
        return explain(run, logs=_logs_of(journal, run), resumable=False)
    plan = describe_run(journal, run.id).resume
    return explain(run, plan, logs=_logs_of(journal, run), store=store)


def _logs_of(journal: Journal, run: Run) -> dict[str, list[LogEntry]]:
    return {node: journal.logs(run.id, node) for node in run.failed_nodes}


def headline(run: Run) -> str:
    """``run ID failed: why``, or ``run ID cancelled by ann@web1 (pid 9) at ...``."""
    error = run.error
    if error is None:
        return f"run {run.id} {run.status}: " + (
            "no task error was recorded"
            if run.status == "failed"
            else "who and why were not recorded"
        )
    if error.startswith(f"{run.status} "):  # says it already: "cancelled by ..."
        return f"run {run.id} {error}"
    return f"run {run.id} {run.status}: {error}"


def explain(
    run: Run,
    plan: ResumePlan | None = None,
    *,
    logs: Mapping[str, Sequence[LogEntry]] | None = None,
    store: str | None = None,
    resumable: bool = True,
) -> list[str]:
    """One screen on a run that did not succeed: what failed, why, and what to do.

    ``plan`` is what resuming would do (:class:`volnux.query.ResumePlan`;
    without it no command is offered); ``logs`` holds the failed tasks' log lines.
    """
    lines = [headline(run)]
    lines.append(f"tasks: {counts_line(run)}")
    # A task that succeeded in a group its predicate failed has nothing of
    # its own to explain: the first line says why the group failed.
    failed = [
        view
        for view in (run.tasks[n] for n in run.failed_nodes if n in run.tasks)
        if view.state is not TaskState.SUCCEEDED or (view.descriptor or 0) >= 2
    ]
    for view in failed[:TASKS_EXPLAINED]:
        lines.append("")
        lines.extend(_explain_task(run, view, (logs or {}).get(view.node_id, ())))
    if len(failed) > TASKS_EXPLAINED:
        rest = ", ".join(v.node_id for v in failed[TASKS_EXPLAINED:])
        lines.append(f"... and {len(failed) - TASKS_EXPLAINED} more failed: {rest}")
    succeeded = [v.node_id for v in run.tasks.values() if v.state is TaskState.SUCCEEDED]
    lines.append("")
    lines.append(f"succeeded: {_names(succeeded)}")
    if plan is not None:
        lines.extend(next_steps(run, plan, store))
    elif not resumable:
        lines.append("the run was recorded in memory only: run it with --store PATH to retry it")
    return lines


def explain_counted(
    run: Run,
    counts: Mapping[str, int],
    first: Callable[[str], list[str]],
    *,
    logs: Mapping[str, Sequence[LogEntry]] | None = None,
    store: str | None = None,
) -> list[str]:
    """:func:`explain` of a run too big to load whole (a web view of a journal's task
    index): ``run.tasks`` holds only the tasks named in ``run.failed_nodes``,
    ``counts`` every task by state (those never started as pending), and
    ``first(state)`` the first few task names in a state.  The path to a failed
    task is not traced (its picture shows it); lists of tasks are counted.
    """
    lines = [headline(run)]
    culprits = [run.tasks[n] for n in run.failed_nodes if n in run.tasks]
    failing = sum(1 for v in culprits if v.state is TaskState.FAILED)
    lines.append(f"tasks: {_tally(counts, max(0, counts.get('failed', 0) - failing))}")
    failed = [v for v in culprits if v.state is not TaskState.SUCCEEDED or (v.descriptor or 0) >= 2]
    for view in failed[:TASKS_EXPLAINED]:
        lines.append("")
        lines.extend(_explain_task(run, view, (logs or {}).get(view.node_id, ()), path=False))
    if len(failed) > TASKS_EXPLAINED:
        rest = ", ".join(v.node_id for v in failed[TASKS_EXPLAINED:])
        lines.append(f"... and {len(failed) - TASKS_EXPLAINED} more failed: {rest}")

    def some(state: str) -> str:
        return _counted(first(state), counts.get(state, 0))

    succeeded = some("succeeded")
    lines.append("")
    lines.append(f"succeeded: {succeeded}")
    where = f" --store {shlex.quote(store)}" if store else ""
    if run.status == "failed":
        lines += [
            f"retry with: volnux runs retry {run.id}{where}",
            f"  runs again: {_names(list(run.failed_nodes))}, then what follows them",
            f"  keeps: {succeeded}",
        ]
    else:
        lines += [
            f"resume with: volnux runs resume {run.id}{where}",
            f"  runs again (cut off while running): {some('running')}",
            f"  keeps: {succeeded}",
            f"  not started yet: {counts.get('pending', 0):,}",
        ]
    return lines


def _counted(names: Sequence[str], total: int) -> str:
    """``A, B and 9,998 more``: the first names of ``total`` tasks."""
    if not total:
        return "nothing"
    text = ", ".join(names)
    return text + (f" and {total - len(names):,} more" if total > len(names) else "")


def _explain_task(
    run: Run, view: TaskView, logs: Sequence[LogEntry], *, path: bool = True
) -> list[str]:
    plural = "s" if view.attempts != 1 else ""
    if view.state is TaskState.SUCCEEDED and view.descriptor is not None:
        # It ran fine but chose a path the workflow does not have.
        lines = [
            f"{view.node_id} ({view.event}) chose descriptor {view.descriptor}, "
            f"which has no '{view.descriptor} ->' branch in the workflow"
        ]
    else:
        lines = [f"{view.node_id} ({view.event}) failed after {view.attempts} attempt{plural}"]
    if view.error is not None:
        lines.append(f"  {view.error.type}: {view.error.message}")
        lines.extend("    " + line for line in trimmed_traceback(view.error.traceback))
    last = [e for e in logs if e.attempt == view.attempts][-LOG_LINES_SHOWN:]
    if last:
        lines.append(f"  last log lines (attempt {view.attempts}):")
        lines.extend("    " + format_log_line(e).replace("\n", "\n      ") for e in last)
    if path:
        lines.append(f"  path: {' -> '.join(_path_to(run, view))}")
    return lines


def _path_to(run: Run, target: TaskView) -> list[str]:
    """How the run got to ``target``: through its graph if known, else by start time."""
    steps = graph_steps(run.graph, target.node_id) if run.graph is not None else None
    if steps is not None:
        path: list[Block | str] = [*steps, target.node_id]
        if len(path) > PATH_SHOWN:
            path = [*path[:3], "...", *path[3 - PATH_SHOWN :]]
        # Only the steps shown are described (a long chain has 100,000 before its end).
        return [step if isinstance(step, str) else _summary(step) for step in path]
    until = target.started_at if target.started_at is not None else float("inf")
    before = sorted(
        (
            v
            for v in run.tasks.values()
            if v.started_at is not None and v.started_at <= until and v is not target
        ),
        key=lambda v: v.started_at or 0.0,
    )
    names = [v.node_id for v in before] + [target.node_id]
    if len(names) > PATH_SHOWN:
        names = [*names[:3], "...", *names[3 - PATH_SHOWN :]]
    return names


def graph_path(graph: Graph, node_id: str) -> list[str] | None:
    """The steps that lead to ``node_id`` in ``graph`` (a parallel group as one step).

    Sequences contribute the steps before the one holding the node; a branch
    contributes the task or group it branches from.  None if there is no such node.
    """
    steps = graph_steps(graph, node_id)
    return None if steps is None else [*(_summary(b) for b in steps), node_id]


def graph_steps(graph: Graph, node_id: str) -> list[Block] | None:
    """The blocks of :func:`graph_path` before ``node_id``, not yet described."""
    from ..graph import Group, Sequence, Task
    from ..graph.model import children

    parents: dict[int, Block] = {}
    target: Block | None = None
    stack: list[Block] = [graph.root]
    while stack:
        block = stack.pop()
        if isinstance(block, Task) and block.id == node_id:
            target = block
        for child in children(block):
            parents[id(child)] = block
            stack.append(child)
    if target is None:
        return None
    chain = [target]
    while id(chain[-1]) in parents:
        chain.append(parents[id(chain[-1])])
    chain.reverse()
    path: list[Block] = []
    for outer, inner in itertools.pairwise(chain):
        if isinstance(outer, Sequence):
            index = next(i for i, step in enumerate(outer.steps) if step is inner)
            for step in outer.steps[:index]:
                path.extend(step.steps if isinstance(step, Sequence) else (step,))
        elif isinstance(outer, Task) or (isinstance(outer, Group) and inner is not outer.body):
            path.append(outer)  # inner is one of its branches
    return path


def _summary(block: Block, depth: int = 0) -> str:
    """A short text for a block on a path: ``(A || B || ... 12 in parallel)``."""
    from ..graph import Group, Parallel, Sequence, Task

    if isinstance(block, Task):
        return block.id
    if depth >= 2:
        return "..."
    if isinstance(block, Group):
        if isinstance(block.body, Parallel):  # `(A || B)` is already bracketed
            return _summary(block.body, depth)
        return f"{{{_summary(block.body, depth + 1)}}}"
    if isinstance(block, Sequence):
        return " -> ".join(_summary(step, depth + 1) for step in block.steps[:4]) + (
            " -> ..." if len(block.steps) > 4 else ""
        )
    assert isinstance(block, Parallel)
    members = [_summary(m, depth + 1) for m in block.members[:3]]
    if len(block.members) > 3:
        members.append(f"... {len(block.members)} in parallel")
    return "(" + " || ".join(members) + ")"


def next_steps(run: Run, plan: ResumePlan, store: str | None = None) -> list[str]:
    """The exact command that continues the run, and what it would run again or keep."""
    status = run.status
    if status == "succeeded":
        return ["nothing to resume: the run succeeded"]
    where = f" --store {shlex.quote(store)}" if store else ""
    rerun = set(plan.rerun) if status == "failed" else set(plan.interrupted)
    kept = _names([n for n in plan.kept if n not in rerun])
    if status == "failed":
        again = _names(plan.rerun)
        return [
            f"retry with: volnux runs retry {run.id}{where}",
            f"  runs again: {again}, then what follows them",
            f"  keeps: {kept}",
        ]
    return [
        f"resume with: volnux runs resume {run.id}{where}",
        f"  runs again (cut off while running): {_names(plan.interrupted)}",
        f"  keeps: {kept}",
        f"  not started yet: {_names(plan.pending)}",
    ]


def _names(nodes: Sequence[str], shown: int = 12) -> str:
    if not nodes:
        return "nothing"
    text = ", ".join(nodes[:shown])
    return text + (f" and {len(nodes) - shown} more" if len(nodes) > shown else "")


def format_log_line(entry: LogEntry) -> str:
    """``12:00:01.250 WARNING  message`` (a multi-line message keeps its lines)."""
    when = datetime.fromtimestamp(entry.at).strftime("%H:%M:%S.%f")[:-3]
    return f"{when} {logging.getLevelName(entry.level):8} {entry.message}"


def trimmed_traceback(text: str, frames: int = FRAMES_SHOWN) -> list[str]:
    """The innermost ``frames`` frames of the event's own code in a formatted traceback.

    Only the last exception of a chain counts.  Volnux's own frames (the
    engine calling the event) are left out, and so are the header, the
    exception line and the ``^^^`` markers: the summary shows the type and
    message itself.
    """
    kept: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("Traceback "):
            kept = []  # a chained exception: only the last one's frames matter
        elif line.startswith('  File "'):
            own = line.startswith(f'  File "{_PACKAGE_DIR}{os.sep}')
            kept.append([] if own else [line[2:]])
        elif line.startswith("    ") and kept and kept[-1] and line.strip(" ^~"):
            kept[-1].append(line[2:])
    return [line for frame in [f for f in kept if f][-frames:] for line in frame]


def format_seconds(seconds: float | None) -> str:
    """``0.25s``, ``12.0s`` or ``3m05s``; empty for a task that did not run."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"

"""What an operator changes as a run goes on: run a task again, or declare it done.

``volnux runs retry RUN --from NODE`` re-runs a task that may have succeeded
(its result was found wrong later) and every task that comes after it,
keeping the rest.  ``volnux runs skip RUN NODE`` and ``volnux runs
mark-succeeded RUN NODE`` declare a failed, paused or not yet started task
done without running it, with a value for a ``|->`` after it; the run then
goes on.  Each is recorded: the task records carry the note ``operator``,
and an :class:`~volnux.notes.Operator` note says who did what, and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..errors import ResumeRefused
from ..graph import Block, Graph, Group, Sequence, Task, children, iter_blocks
from ..states import TaskState
from ..store import TaskRecord
from .run import TaskView

__all__ = ["DECLARE_ACTIONS", "Rework", "check_rework", "declared_record", "tasks_after"]

#: How a task is declared done: skipped (it did not run) or succeeded.
DECLARE_ACTIONS = ("skip", "mark-succeeded")


class Rework(NamedTuple):
    """An operator's change to a run before it goes on (one of the two)."""

    #: Run this task again, and every task after it (``retry --from``).
    rerun_from: str | None = None
    #: Declare this task done without running it (``skip`` / ``mark-succeeded``).
    declare: str | None = None
    #: ``"skip"`` or ``"mark-succeeded"``.
    action: str = "mark-succeeded"
    #: The declared task's result: what a ``|->`` after it receives.
    result: Any = None


def tasks_after(graph: Graph, node_id: str) -> list[str]:
    """The tasks that come after ``node_id``: its branches, the steps after it
    (and after each block around it), and the branches of the groups around it.

    Parallel siblings do not come after it, nor do the other branches of a
    branch list it is in.
    """
    parents: dict[int, Block] = {}
    target: Task | None = None
    for block in iter_blocks(graph.root):
        for inner in children(block):
            parents[id(inner)] = block
        if isinstance(block, Task) and block.id == node_id:
            target = block
    if target is None:
        return []
    after: list[Block] = [b.body for b in target.branches]
    child: Block = target
    while id(child) in parents:
        parent = parents[id(child)]
        if isinstance(parent, Sequence):
            index = next(i for i, step in enumerate(parent.steps) if step is child)
            after.extend(parent.steps[index + 1 :])
        elif isinstance(parent, Group) and parent.body is child:
            after.extend(b.body for b in parent.branches)
        child = parent
    return [b.id for block in after for b in iter_blocks(block) if isinstance(b, Task)]


def check_rework(
    rework: Rework, nodes: Mapping[str, object], views: Mapping[str, TaskView]
) -> None:
    """ResumeRefused when the task named is not in the workflow, or cannot be reworked so."""
    node = rework.rerun_from or rework.declare
    if node is None:
        return
    if node not in nodes:
        known = ", ".join(sorted(nodes)) or "none"
        raise ResumeRefused(f"the workflow has no task {node!r}; its tasks: {known}")
    view = views.get(node)
    state = view.state if view is not None else TaskState.PENDING
    if rework.rerun_from is not None and state in (TaskState.PENDING, TaskState.SKIPPED):
        raise ResumeRefused(
            f"task {node} has not run ({state}): there is nothing to run again; "
            "'volnux runs resume' starts it"
        )
    if rework.declare is not None:
        if rework.action not in DECLARE_ACTIONS:
            raise ValueError(f"unknown action {rework.action!r}; one of {DECLARE_ACTIONS}")
        if state is TaskState.SUCCEEDED:
            raise ResumeRefused(
                f"task {node} already succeeded; to run it again, "
                f"'volnux runs retry RUN_ID --from {node}'"
            )
        if state is TaskState.SKIPPED and (view is None or view.descriptor is None):
            raise ResumeRefused(f"task {node} is on a path the run did not take")


def declared_record(run_id: str, rework: Rework, view: TaskView | None, at: float) -> TaskRecord:
    """The record that declares ``rework.declare`` done: SKIPPED (``skip``) or
    SUCCEEDED, descriptor 1, the operator's result, noted ``operator``."""
    assert rework.declare is not None
    state = TaskState.SKIPPED if rework.action == "skip" else TaskState.SUCCEEDED
    return TaskRecord(
        run_id,
        rework.declare,
        state,
        view.attempts if view is not None else 0,
        at,
        round=view.round if view is not None else 0,
        descriptor=1,
        result=rework.result,
        note="operator",
    )

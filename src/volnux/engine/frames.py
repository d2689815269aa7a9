"""The pieces the engine's state machine is made of.

:class:`Outcome` says how a block ended; a frame is a block being executed
(a task, a group, a sequence or a parallel group) and where it reports when
it ends.  The helpers here are pure: they judge results and describe
failures, and touch no journal or executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..events import FailureInfo
from ..events.evaluation import as_descriptor, passes
from ..graph import Block, Group, Parallel, Sequence, Task, iter_blocks
from ..states import TaskState
from ..store import ErrorInfo
from .attempt import AttemptResult, error_info
from .plan import GroupPlan, NodePlan
from .run import TaskView

__all__ = [
    "ALL_MEMBERS",
    "Frame",
    "GroupFrame",
    "Outcome",
    "ParFrame",
    "SeqFrame",
    "TaskFrame",
    "copy_view",
    "describe_failure",
    "evaluate",
    "int_option",
    "judge",
    "label",
    "ran_tasks",
]


class Outcome(NamedTuple):
    """How a block ended: descriptor, result, and what failed if it failed.

    (A named tuple: one is made for every block that ends.)
    """

    ok: bool
    descriptor: int
    result: Any = None
    failure: FailureInfo | None = None
    culprits: tuple[str, ...] = ()


class Frame:
    """A block being executed, and where to report when it ends."""

    __slots__ = ("parent", "piped", "round", "slot")

    def __init__(self, parent: Frame | None, slot: int, piped: Any, round_: int) -> None:
        self.parent = parent
        self.slot = slot
        self.piped = piped
        self.round = round_


class TaskFrame(Frame):
    __slots__ = ("branch_phase", "failures", "ghosts", "held", "node", "placement", "token")

    def __init__(self, node: NodePlan, parent: Frame | None, slot: int, piped: Any, round_: int):
        # Fields set here rather than through super(): one frame per task.
        self.parent = parent
        self.slot = slot
        self.piped = piped
        self.round = round_
        self.node = node
        self.failures = 0
        self.branch_phase = False
        self.token = 0
        # Attempts given up after their timeout that still run (they cannot be
        # stopped on threads), and whether the next attempt waits for them.
        self.ghosts = 0
        self.held = False
        # Where the current attempt runs, for an event that wants a GPU
        # ("gpu 0", "cpu (fallback: ...)"); journaled with the attempt's end.
        self.placement: str | None = None


class GroupFrame(Frame):
    __slots__ = ("branch_phase", "group", "tries")

    def __init__(self, group: Group, parent: Frame | None, slot: int, piped: Any, round_: int):
        super().__init__(parent, slot, piped, round_)
        self.group = group
        self.tries = 0
        self.branch_phase = False


class SeqFrame(Frame):
    __slots__ = ("index", "seq")

    def __init__(self, seq: Sequence, parent: Frame | None, slot: int, piped: Any, round_: int):
        super().__init__(parent, slot, piped, round_)
        self.seq = seq
        self.index = 0


class ParFrame(Frame):
    __slots__ = ("judge", "outcomes", "par", "remaining")

    def __init__(
        self,
        par: Parallel,
        parent: Frame | None,
        slot: int,
        piped: Any,
        round_: int,
        judge: GroupPlan,
    ):
        super().__init__(parent, slot, piped, round_)
        self.par = par
        self.remaining = len(par.members)
        self.outcomes: list[Outcome | None] = [None] * len(par.members)
        self.judge = judge


def label(block: Block) -> str:
    """The key a block's result has in a parallel group's result mapping."""
    while True:
        if isinstance(block, Task | Group):
            return block.id
        if isinstance(block, Sequence):
            block = block.steps[-1]
        else:
            return "+".join(label(m) for m in block.members)


def judge(node: NodePlan, result: AttemptResult) -> AttemptResult:
    """Apply the task's result evaluation to a successful attempt."""
    evaluation = node.evaluation
    assert evaluation is not None
    try:
        descriptor = evaluation.descriptor(result.result)
    except Exception as exc:  # a predicate is user code
        return AttemptResult(0, result.result, error_info(exc), None)
    if descriptor == 0:
        how = "its predicate" if evaluation.predicate else f"strategy {evaluation.strategy!r}"
        error = ErrorInfo(
            "EvaluationFailed",
            f"the result of {node.task.id} ({node.spec.key}) did not pass {how}",
        )
        return AttemptResult(0, result.result, error, None)
    return AttemptResult(descriptor, result.result, None, None)


#: How a parallel group is judged when nothing says otherwise: every member must succeed.
ALL_MEMBERS = GroupPlan()


def int_option(group: Group, key: str) -> int | None:
    """A group attribute that is an integer, or None."""
    value = group.options.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def copy_view(view: TaskView) -> TaskView:
    """A copy of a task view the engine may change without touching the original."""
    return TaskView(
        view.node_id,
        view.event,
        view.state,
        view.attempts,
        view.round,
        view.started_at,
        view.ended_at,
        view.result,
        view.error,
        view.descriptor,
        view.interrupted,
    )


def describe_failure(
    views: Mapping[str, TaskView],
    nodes: tuple[str, ...],
    explained: Mapping[str, str] | None = None,
) -> str:
    """One line: which tasks failed the run, and why.

    ``explained`` gives the reason for nodes whose task record does not hold
    it; a reason several nodes share is said once.
    """
    parts: dict[str, None] = {}
    for node_id in dict.fromkeys(nodes):
        view = views.get(node_id)
        if explained and node_id in explained:
            parts[explained[node_id]] = None
        elif view is not None and view.error is not None:
            part = (
                f"{node_id} ({view.event}) failed after {view.attempts} attempt"
                f"{'s' if view.attempts != 1 else ''}: {view.error.type}: {view.error.message}"
            )
            parts[part] = None
        else:
            parts[f"{node_id} failed"] = None
    return "; ".join(parts)


def evaluate(frame: ParFrame, views: Mapping[str, TaskView]) -> Outcome:
    """A parallel group's outcome from its members' (strategy or predicate).

    When a predicate raises or says no, the group itself failed: every task
    in it that ran is a culprit (a retry runs the group again), and the
    failure says what the predicate did.
    """
    pairs = [(m, o) for m, o in zip(frame.par.members, frame.outcomes, strict=True) if o]
    results = {label(m): o.result for m, o in pairs if o.ok}
    failed = [o for _, o in pairs if not o.ok]
    culprits = tuple(c for o in failed for c in o.culprits)
    first = failed[0].failure if failed else None
    judge = frame.judge
    if judge.predicate is None:
        descriptor = int(passes(judge.strategy, len(results), len(pairs)))
        if descriptor:
            return Outcome(True, descriptor, results)
        return Outcome(False, 0, None, first, culprits)
    failures = {label(m): o.failure for m, o in pairs if not o.ok}
    try:
        descriptor = as_descriptor(judge.predicate(results, failures))
    except Exception as exc:  # the predicate is user code
        info = error_info(exc)
        what = f"raised {info.type}: {info.message}"
        kind = info.type
    else:
        if descriptor:
            return Outcome(True, descriptor, results)
        ok, bad = ", ".join(results) or "none", ", ".join(failures) or "none"
        what = f"returned False (succeeded: {ok}; failed: {bad})"
        kind = "EvaluationFailed"
    parent = frame.parent
    name = parent.group.id if isinstance(parent, GroupFrame) else label(frame.par)
    message = f"{name} failed: its result_predicate {judge.name} {what}"
    ran = ran_tasks(frame.par, views)
    return Outcome(False, 0, None, FailureInfo(name, kind, message), ran or culprits)


def ran_tasks(body: Block, views: Mapping[str, TaskView]) -> tuple[str, ...]:
    """The tasks in ``body`` that ran: succeeded or failed, not pending or skipped."""
    return tuple(
        block.id
        for block in iter_blocks(body)
        if isinstance(block, Task)
        and views[block.id].state in (TaskState.SUCCEEDED, TaskState.FAILED)
    )

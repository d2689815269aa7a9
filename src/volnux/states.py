"""Run and task states and the transitions allowed between them.

This is the one place that says which state may follow which.  The engine
asks :func:`check_task_transition` / :func:`check_run_transition` before it
records anything, so an impossible journal can never be written.

Task::

    PENDING ──> RUNNING ──> SUCCEEDED
       │           │  ├───> FAILED
       │           │  └───> RETRYING ──> RUNNING
       │           └──────> PENDING        (interrupted by a crash; resumed)
       └──> SKIPPED                        (path not taken / never reached)

Run::

    PENDING ──> RUNNING ──> SUCCEEDED | FAILED | CANCELLED | PAUSED
    FAILED | CANCELLED | PAUSED | RUNNING(crashed) ──> RUNNING  (resume, retry)
"""

from __future__ import annotations

from enum import StrEnum

from .errors import RunError

__all__ = [
    "RUN_TRANSITIONS",
    "TASK_TRANSITIONS",
    "RunState",
    "TaskState",
    "check_run_transition",
    "check_task_transition",
]


class TaskState(StrEnum):
    """Where one task of one run stands."""

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        """True when nothing more will happen to the task in this run."""
        return self in _TERMINAL_TASK


class RunState(StrEnum):
    """Where one run stands."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"

    @property
    def is_terminal(self) -> bool:
        """True for SUCCEEDED and FAILED and CANCELLED (the latter two resumable)."""
        return self in _TERMINAL_RUN

    @property
    def is_resumable(self) -> bool:
        """True when ``resume`` may continue the run."""
        return self in _RESUMABLE_RUN


_TERMINAL_TASK = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.SKIPPED})
_TERMINAL_RUN = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})
_RESUMABLE_RUN = frozenset({RunState.RUNNING, RunState.FAILED, RunState.CANCELLED, RunState.PAUSED})

#: For each task state, the states it may move to.
TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset({TaskState.RUNNING, TaskState.SKIPPED}),
    TaskState.RUNNING: frozenset(
        {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.RETRYING, TaskState.PENDING}
    ),
    TaskState.RETRYING: frozenset({TaskState.RUNNING, TaskState.PENDING, TaskState.FAILED}),
    # A group retry or `runs retry` starts a finished task over.
    TaskState.FAILED: frozenset({TaskState.PENDING}),
    TaskState.SUCCEEDED: frozenset({TaskState.PENDING}),
    TaskState.SKIPPED: frozenset({TaskState.PENDING}),
}

#: For each run state, the states it may move to.
RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELLED}),
    RunState.RUNNING: frozenset(
        {
            RunState.RUNNING,  # resumed after a crash left it RUNNING
            RunState.SUCCEEDED,
            RunState.FAILED,
            RunState.CANCELLED,
            RunState.PAUSED,
        }
    ),
    RunState.FAILED: frozenset({RunState.RUNNING}),
    RunState.CANCELLED: frozenset({RunState.RUNNING}),
    RunState.PAUSED: frozenset({RunState.RUNNING, RunState.CANCELLED}),
    # `volnux runs retry --from NODE`: a result found wrong later.
    RunState.SUCCEEDED: frozenset({RunState.RUNNING}),
}


def check_task_transition(node_id: str, old: TaskState, new: TaskState) -> None:
    """Raise :class:`RunError` unless a task may move from ``old`` to ``new``."""
    if new not in TASK_TRANSITIONS[old]:
        raise RunError(f"task {node_id!r} cannot move from {old} to {new}")


def check_run_transition(run_id: str, old: RunState, new: RunState) -> None:
    """Raise :class:`RunError` unless a run may move from ``old`` to ``new``."""
    if new not in RUN_TRANSITIONS[old]:
        raise RunError(f"run {run_id} cannot move from {old} to {new}")

"""The one table of allowed run and task transitions."""

from __future__ import annotations

import pytest

from volnux import RunError, RunState, TaskState
from volnux.states import (
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    check_run_transition,
    check_task_transition,
)


def test_every_state_has_a_row() -> None:
    assert set(TASK_TRANSITIONS) == set(TaskState)
    assert set(RUN_TRANSITIONS) == set(RunState)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (TaskState.PENDING, TaskState.SUCCEEDED),  # nothing succeeds without running
        (TaskState.SUCCEEDED, TaskState.RUNNING),  # a finished task starts over via PENDING
        (TaskState.SKIPPED, TaskState.RUNNING),
        (TaskState.RETRYING, TaskState.SUCCEEDED),
    ],
)
def test_impossible_task_moves_are_refused_naming_the_task(old: TaskState, new: TaskState) -> None:
    with pytest.raises(RunError, match=f"task 'Charge' cannot move from {old} to {new}"):
        check_task_transition("Charge", old, new)


def test_run_moves() -> None:
    check_run_transition("r1", RunState.RUNNING, RunState.PAUSED)
    check_run_transition("r1", RunState.PAUSED, RunState.RUNNING)
    check_run_transition("r1", RunState.FAILED, RunState.RUNNING)
    # `runs retry --from NODE` reopens a succeeded run; nothing else leaves it.
    check_run_transition("r1", RunState.SUCCEEDED, RunState.RUNNING)
    with pytest.raises(RunError, match="run r1 cannot move from succeeded to paused"):
        check_run_transition("r1", RunState.SUCCEEDED, RunState.PAUSED)
    with pytest.raises(RunError):
        check_run_transition("r1", RunState.FAILED, RunState.SUCCEEDED)


def test_terminal_and_resumable() -> None:
    assert {s for s in TaskState if s.is_terminal} == {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.SKIPPED,
    }
    assert not RunState.PAUSED.is_terminal and RunState.PAUSED.is_resumable
    assert RunState.FAILED.is_terminal and RunState.FAILED.is_resumable
    assert not RunState.SUCCEEDED.is_resumable

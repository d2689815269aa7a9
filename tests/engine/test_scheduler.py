"""The scheduler alone: outcomes in, decisions out; no journal, no executor.

Each test drives a :class:`Scheduler` by hand, the way the runner does, and
reads the decisions it leaves: records to journal (and the encodings of
their results), notes, attempts to submit, timers, and how the run ends.
"""

from __future__ import annotations

from typing import Any

import volnux
from volnux.dsl import parse
from volnux.engine.attempt import AttemptResult
from volnux.engine.frames import TaskFrame
from volnux.engine.plan import build_plan
from volnux.engine.scheduler import UNSTORABLE, Scheduler
from volnux.events import EventRegistry
from volnux.notes import GroupRetry, Paused, Unrouted
from volnux.states import RunState, TaskState
from volnux.store import ErrorInfo


@volnux.event
def A() -> int:
    return 1


@volnux.event
def B() -> int:
    return 2


@volnux.event(retry=volnux.RetryPolicy(max_attempts=3, delay_s=5.0))
def Slow() -> int:
    return 3


@volnux.event(retry=volnux.RetryPolicy(max_attempts=3))
def Eager() -> int:
    return 4


def scheduler(text: str) -> Scheduler:
    registry = EventRegistry([A, B, Slow, Eager])
    plan = build_plan(parse(text), registry)
    s = Scheduler(plan, "run-1", None, clock=lambda: 100.0)
    s.start()
    s.decide()
    return s


def transitions(s: Scheduler) -> list[tuple[str, TaskState, int]]:
    """The queued records as (node, state, attempt), and take them."""
    out = [(r.node_id, r.state, r.attempt) for r in s.records]
    s.records = []
    return out


def submitted(s: Scheduler) -> list[TaskFrame]:
    frames, s.submits = s.submits, []
    return frames


def end(s: Scheduler, frame: TaskFrame, result: AttemptResult, encoded: Any = None) -> None:
    """An attempt ended: tell the scheduler, then let it decide (as the runner does)."""
    s.attempt_ended(frame, result, encoded)
    s.decide()


def ok(value: Any = None, descriptor: int = 1) -> AttemptResult:
    return AttemptResult(descriptor, value, None, None)


def failed(exc: BaseException) -> AttemptResult:
    return AttemptResult(0, None, ErrorInfo(type(exc).__name__, str(exc)), exc)


def test_a_chain_starts_its_first_task_and_the_next_when_it_ends() -> None:
    s = scheduler("A -> B")
    assert transitions(s) == [("A", TaskState.RUNNING, 1)]
    (a,) = submitted(s)
    end(s, a, ok(1))
    assert transitions(s) == [("A", TaskState.SUCCEEDED, 1), ("B", TaskState.RUNNING, 1)]
    (b,) = submitted(s)
    assert b.node.task.id == "B" and s.outcome is None
    end(s, b, ok(2))
    assert transitions(s) == [("B", TaskState.SUCCEEDED, 1)]
    assert s.outcome is not None and s.outcome.ok and s.outcome.result == 2
    assert s.views["A"].result == 1 and s.views["B"].state is TaskState.SUCCEEDED
    assert s.notes == [] and s.encoded == {}


def test_a_parallel_group_submits_every_member_at_once() -> None:
    s = scheduler("A || B")
    assert [f.node.task.id for f in submitted(s)] == ["A", "B"]
    assert [state for _, state, _ in transitions(s)] == [TaskState.RUNNING] * 2


def test_a_failed_attempt_with_a_backoff_waits_on_a_timer() -> None:
    s = scheduler("Slow")
    transitions(s)
    (frame,) = submitted(s)
    end(s, frame, failed(OSError("down")))
    (record,) = s.records
    assert (record.state, record.next_attempt_at) == (TaskState.RETRYING, 105.0)
    assert s.submits == [] and len(s.timers) == 1
    s.records = []
    s.begin_attempt(s.timers.pop()[2])  # the runner does this when the timer is due
    s.decide()
    assert transitions(s) == [("Slow", TaskState.RUNNING, 2)]
    assert submitted(s) == [frame]


def test_without_a_backoff_the_next_attempt_is_submitted_at_once() -> None:
    s = scheduler("Eager")
    transitions(s)
    (frame,) = submitted(s)
    end(s, frame, failed(OSError("down")))
    assert transitions(s) == [
        ("Eager", TaskState.RETRYING, 1),
        ("Eager", TaskState.RUNNING, 2),
    ]
    assert submitted(s) == [frame] and s.timers == []


def test_an_encoded_result_is_kept_beside_its_record() -> None:
    s = scheduler("A -> B")
    (a,) = submitted(s)
    end(s, a, ok({"rows": 3}), "encoded by the journal")
    index = next(i for i, r in enumerate(s.records) if r.state is TaskState.SUCCEEDED)
    assert s.encoded == {index: "encoded by the journal"}
    assert s.records[index].result == {"rows": 3}  # the record keeps the value itself


def test_a_result_the_journal_cannot_keep_fails_the_task_without_a_retry() -> None:
    s = scheduler("Eager -> B")
    transitions(s)
    (frame,) = submitted(s)
    s.result_unstorable(frame, ErrorInfo("UnencodableResult", "a lock"))
    s.decide()
    assert transitions(s) == [("Eager", TaskState.FAILED, 1)]
    assert s.submits == [] and s.outcome is not None and not s.outcome.ok
    assert s.views["Eager"].error == ErrorInfo("UnencodableResult", "a lock")


def test_a_failure_whose_value_the_journal_cannot_keep_is_recorded_without_it() -> None:
    s = scheduler("A")
    transitions(s)
    (frame,) = submitted(s)
    value = object()
    end(s, frame, AttemptResult(0, value, ErrorInfo("Failure", "no"), None), UNSTORABLE)
    (record,) = s.records
    assert (record.state, record.result) == (TaskState.FAILED, None)
    assert s.outcome is not None and s.outcome.failure is not None
    assert s.outcome.failure.value is value  # a 0 |-> branch would still get it


def test_needing_an_operator_parks_the_task_notes_why_and_halts() -> None:
    s = scheduler("A -> B")
    transitions(s)
    (frame,) = submitted(s)
    end(s, frame, failed(volnux.NeedsOperator("approve it")))
    (record,) = s.records
    assert (record.state, record.note) == (TaskState.PENDING, "paused")
    (note,) = s.notes
    assert note.read() == Paused("A", "A needs an operator: approve it")
    assert s.halt is RunState.PAUSED and s.submits == []


def test_a_descriptor_without_a_branch_fails_the_run_with_a_note() -> None:
    s = scheduler("A -> B")
    (frame,) = submitted(s)
    end(s, frame, ok("look", descriptor=3))
    (note,) = s.notes
    assert note.read() == Unrouted("A", 3, "A chose descriptor 3, but it has no '3 ->' branch")
    assert s.outcome is not None and not s.outcome.ok and s.submits == []


def test_a_group_retry_renumbers_its_tasks_and_notes_it() -> None:
    s = scheduler("{A} * 2")
    transitions(s)
    (frame,) = submitted(s)
    end(s, frame, failed(ValueError("x")))
    (note,) = s.notes
    assert note.read() == GroupRetry("group:1", 2, ("A",))
    assert transitions(s) == [
        ("A", TaskState.FAILED, 1),
        ("A", TaskState.PENDING, 1),
        ("A", TaskState.RUNNING, 1),
    ]
    assert submitted(s)[0].round == 1


def test_cancel_halts_once_and_drops_the_timers() -> None:
    s = scheduler("Slow")
    (frame,) = submitted(s)
    end(s, frame, failed(OSError("down")))
    assert s.timers
    assert s.cancel() is True
    assert s.halt is RunState.CANCELLED and s.timers == []
    assert s.cancel() is False
    s.begin_attempt(frame)  # a timer that fired anyway starts nothing
    assert s.submits == []

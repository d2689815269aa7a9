"""The engine's state machine: start blocks, complete them, decide what follows.

A :class:`Scheduler` holds one run's state (task views, frames, pending
starts and completions) and turns outcomes into decisions, which it leaves
in public lists for whoever drives it:

* ``records``: task transitions to journal (each mirrored in the task's
  view), with ``encoded``, the journal's encodings of their results;
* ``notes``: run notes to journal (a pause, an unrouted descriptor, a
  group's retry);
* ``submits``: attempts to hand to an executor;
* ``timers``: attempts waiting out a backoff;
* ``outcome`` / ``halt``: how the run ends, once it does.

It never waits, never touches a journal or an executor, and needs neither
to be tested: :class:`~volnux.engine.runner.Engine` drives it, journaling
the records and notes before acting on the submits.

Nothing here recurses on the graph: starting a block and completing one are
both queued work items, so a 100,000-step chain is a loop, not a stack.

Durability is one rule in one place (:meth:`Scheduler._start_task`): if the
journal replayed to this run says the task already finished, take that
outcome; else run it.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import RunError
from ..events import FailureInfo, NeedsOperator
from ..graph import Block, Group, Parallel, Sequence, Task, iter_blocks
from ..notes import GroupRetry, Paused, RunNote, Unrouted
from ..states import TASK_TRANSITIONS, RunState, TaskState, check_task_transition
from ..store import ErrorInfo, TaskRecord
from .attempt import AttemptResult
from .frames import (
    ALL_MEMBERS,
    Frame,
    GroupFrame,
    Outcome,
    ParFrame,
    SeqFrame,
    TaskFrame,
    copy_view,
    evaluate,
    int_option,
    ran_tasks,
)
from .plan import GroupPlan, Plan
from .recovery import Rehydrated
from .run import TaskView

__all__ = ["PLACED", "ROUND_BASE", "UNSTORABLE", "Scheduler", "placed_note"]

#: Transitions that replaying a journaled round would only repeat.
_REPLAYED_STATES = frozenset({TaskState.PENDING, TaskState.SKIPPED})

#: Group retries renumber the tasks inside: round = outer_round * ROUND_BASE + try.
ROUND_BASE = 1000


class _Unstorable:
    def __repr__(self) -> str:
        return "UNSTORABLE"


#: What :meth:`Scheduler.attempt_ended` is told instead of an encoding when the
#: journal cannot keep a failed attempt's value: the failure is recorded without it.
UNSTORABLE: Any = _Unstorable()


class Scheduler:
    """One run's state machine over a plan; see the module docstring."""

    def __init__(
        self,
        plan: Plan,
        run_id: str,
        replay: Rehydrated | None,
        clock: Callable[[], float],
    ) -> None:
        self.plan = plan
        self.run_id = run_id
        self.clock = clock
        self._replay = replay
        #: Blocks to start and blocks that ended, waiting for :meth:`decide`.
        self.starts: deque[tuple[Block, Frame | None, int, Any, int]] = deque()
        self.done: deque[tuple[Frame, Outcome]] = deque()
        #: Decided but not yet journaled, and what the journal encoded of their
        #: results (index in ``records`` -> encoding); attempts not yet submitted.
        self.records: list[TaskRecord] = []
        self.encoded: dict[int, Any] = {}
        self.notes: list[RunNote] = []
        self.submits: list[TaskFrame] = []
        #: (due on time.monotonic(), seq, frame) of attempts waiting out a backoff.
        self.timers: list[tuple[float, int, TaskFrame]] = []
        self._timer_seq = itertools.count()
        #: CANCELLED or PAUSED once the run must stop starting tasks: it lets
        #: running attempts finish, then ends in that state, resumable.
        self.halt: RunState | None = None
        self.halt_reason: str | None = None
        #: Node id -> why it failed the run, where its task record does not
        #: say: its descriptor had nowhere to go, or its group's predicate
        #: failed the group.
        self.explained: dict[str, str] = {}
        #: How the whole run ended, once it did.
        self.outcome: Outcome | None = None
        self.views = {node_id: TaskView(node_id, n.spec.key) for node_id, n in plan.nodes.items()}
        if replay is not None:
            self.views.update((k, copy_view(v)) for k, v in replay.views.items() if k in self.views)

    # ------------------------------------------------------------ driving

    def start(self) -> None:
        """Queue the workflow's root block; :meth:`decide` starts it."""
        self.starts.append((self.plan.graph.root, None, 0, None, 0))

    def decide(self) -> None:
        """Process every queued start and completion."""
        starts, done = self.starts, self.done
        while starts or done:
            while done:
                frame, outcome = done.popleft()
                self._complete(frame, outcome)
            if starts:
                self._start(*starts.popleft())

    def cancel(self) -> bool:
        """Stop starting tasks (running ones finish); False if the run already halts."""
        if self.halt is not None:
            return False
        self.halt = RunState.CANCELLED
        self.timers.clear()
        return True

    def pause(self, reason: str) -> bool:
        """Stop starting tasks and end PAUSED (running ones finish); False if halting already."""
        if self.halt is not None:
            return False
        self.halt, self.halt_reason = RunState.PAUSED, reason
        self.timers.clear()
        return True

    def _note(self, detail: Any) -> None:
        self.notes.append(RunNote.of(self.run_id, self.clock(), detail))

    # ------------------------------------------------------------ records

    def _append(
        self,
        task_id: str,
        view: TaskView,
        state: TaskState,
        round_: int,
        descriptor: int | None = None,
        result: Any = None,
        error: ErrorInfo | None = None,
        next_attempt_at: float | None = None,
        note: str | None = None,
    ) -> float:
        """Check one task transition, queue its record and move the view; return its time.

        What else the view keeps is for the caller: :meth:`_launch` (RUNNING),
        :meth:`_after_attempts` (SUCCEEDED) or :meth:`_rec` (the others).
        """
        if state not in TASK_TRANSITIONS[view.state]:
            check_task_transition(task_id, view.state, state)  # raises, with the message
        now = self.clock()
        record = (self.run_id, task_id, state, view.attempts, now, round_,
                  descriptor, result, error, next_attempt_at, note)  # fmt: skip
        # tuple.__new__: a named tuple's own constructor is a Python function,
        # and two records are made for every task.
        self.records.append(tuple.__new__(TaskRecord, record))
        view.state = state
        return now

    def _rec(
        self,
        task: Task,
        round_: int,
        state: TaskState,
        *,
        descriptor: int | None = None,
        result: Any = None,
        error: ErrorInfo | None = None,
        next_attempt_at: float | None = None,
        note: str | None = None,
    ) -> None:
        """Queue the record of a transition other than to RUNNING, and mirror it in the view."""
        view = self.views[task.id]
        replay = self._replay
        if replay is not None and state in _REPLAYED_STATES and (task.id, round_) in replay.seen:
            return  # the journal has this task's history for the round already
        now = self._append(
            task.id, view, state, round_, descriptor, result, error, next_attempt_at, note
        )
        if note == "paused":  # parked, not reset: its attempts carry on after resume
            view.error = error
        elif state is TaskState.PENDING:
            view.started_at = view.ended_at = None
            view.attempts = 0
            view.result = view.error = view.descriptor = None
            view.round = round_
        elif state is TaskState.RETRYING:
            view.error = error
        else:
            view.ended_at = now
            view.descriptor = descriptor
            view.error = error
            view.result = result

    # ------------------------------------------------------------ starting

    def _start(self, block: Block, parent: Frame | None, slot: int, piped: Any, rnd: int) -> None:
        if isinstance(block, Task):
            self._start_task(TaskFrame(self.plan.nodes[block.id], parent, slot, piped, rnd))
        elif isinstance(block, Sequence):
            frame: Frame = SeqFrame(block, parent, slot, piped, rnd)
            self.starts.append((block.steps[0], frame, 0, piped, rnd))
        elif isinstance(block, Parallel):
            self._start_parallel(block, parent, slot, piped, rnd, ALL_MEMBERS)
        else:
            frame = GroupFrame(block, parent, slot, piped, rnd)
            self._start_group_body(frame, rnd)

    def _start_parallel(
        self,
        block: Parallel,
        parent: Frame | None,
        slot: int,
        piped: Any,
        rnd: int,
        judge: GroupPlan,
    ) -> None:
        frame = ParFrame(block, parent, slot, piped, rnd, judge)
        for i, member in enumerate(block.members):
            self._start_soon(member, frame, i, piped, rnd)

    def _start_soon(self, block: Block, parent: Frame, slot: int, piped: Any, rnd: int) -> None:
        """Start a task at once, queue any other block.

        Starting a task never recurses (a replayed outcome is queued as a
        completion), so this skips the queue where most blocks are tasks.
        """
        if isinstance(block, Task):
            self._start_task(TaskFrame(self.plan.nodes[block.id], parent, slot, piped, rnd))
        else:
            self.starts.append((block, parent, slot, piped, rnd))

    def _start_group_body(self, frame: GroupFrame, rnd: int) -> None:
        body = frame.group.body
        judge = self.plan.groups.get(frame.group.id)
        if isinstance(body, Parallel) and judge is not None:
            self._start_parallel(body, frame, 0, frame.piped, rnd, judge)
        else:
            self.starts.append((body, frame, 0, frame.piped, rnd))

    def _start_task(self, frame: TaskFrame) -> None:
        task = frame.node.task
        replay = self._replay
        if replay is not None:
            key = (task.id, frame.round)
            final = replay.outcomes.get(key)
            if final is not None:
                self._after_attempts(frame, final)
                return
            frame.failures = replay.failures.get(key, 0)
        if self.halt is not None:
            return
        view = self.views[task.id]
        if view.state is not TaskState.PENDING or view.round != frame.round:
            self._rec(task, frame.round, TaskState.PENDING)
        if replay is not None and view.state is TaskState.RETRYING:
            due = replay.next_attempt_at.get((task.id, frame.round))
            wait = due - self.clock() if due is not None else 0.0
            if wait > 0:  # a resumed run continues its backoff, not starts it over
                heapq.heappush(self.timers, (time.monotonic() + wait, next(self._timer_seq), frame))
                return
        self._launch(frame, view)

    def begin_attempt(self, frame: TaskFrame) -> None:
        """A backoff timer is due: launch the frame's next attempt (unless halting)."""
        if self.halt is not None:
            return
        self._launch(frame, self.views[frame.node.task.id])

    def _launch(self, frame: TaskFrame, view: TaskView) -> None:
        """Record the next attempt RUNNING and queue it for submission."""
        view.attempts += 1
        now = self._append(frame.node.task.id, view, TaskState.RUNNING, frame.round)
        if view.started_at is None:
            view.started_at = now
        self.submits.append(frame)

    # ---------------------------------------------------------- completing

    def attempt_ended(self, frame: TaskFrame, result: AttemptResult, encoded: Any = None) -> None:
        """An attempt of ``frame`` ended with ``result`` (already judged by the task's
        result evaluation); ``encoded`` is the journal's encoding of its value, if any
        (:data:`UNSTORABLE`: the journal cannot keep a failure's value)."""
        if result.descriptor != 0:
            self._after_attempts(frame, result, encoded, at_once=True)
            return
        if isinstance(result.exception, NeedsOperator):
            self._pause(frame, result)
            return
        node = frame.node
        frame.failures += 1
        if node.policy.should_retry(frame.failures, result.exception):
            delay = node.policy.delay(frame.failures)
            if self.halt is not None:
                delay = 0.0
            self._rec(
                node.task,
                frame.round,
                TaskState.RETRYING,
                error=result.error,
                next_attempt_at=self.clock() + delay if delay else None,
                note=placed_note(frame.placement),
            )
            if delay > 0:
                due = time.monotonic() + delay
                heapq.heappush(self.timers, (due, next(self._timer_seq), frame))
            else:
                self.begin_attempt(frame)
            return
        self._after_attempts(frame, result, encoded, at_once=True)

    def result_unstorable(self, frame: TaskFrame, error: ErrorInfo) -> None:
        """The attempt succeeded, but the journal cannot keep its result: the task
        fails at once (no retry would make it storable)."""
        self._rec(frame.node.task, frame.round, TaskState.FAILED, descriptor=0, error=error)
        failed = AttemptResult(0, None, error, None)
        self._after_attempts(frame, failed, None, recorded=True, at_once=True)

    def _pause(self, frame: TaskFrame, result: AttemptResult) -> None:
        """An event needs an operator: park the task and stop starting others."""
        task = frame.node.task
        reason = f"{task.id} needs an operator: {result.error.message if result.error else ''}"
        self._rec(task, frame.round, TaskState.PENDING, error=result.error, note="paused")
        self._note(Paused(task.id, reason))
        if self.halt is None:
            self.halt, self.halt_reason = RunState.PAUSED, reason
            self.timers.clear()

    def _after_attempts(
        self,
        frame: TaskFrame,
        result: AttemptResult,
        encoded: Any = None,
        *,
        recorded: bool = False,
        at_once: bool = False,
    ) -> None:
        """The task's attempts are over: record it, then pick its branch.

        With ``at_once`` (an attempt just ended: the caller is not inside
        :meth:`_complete`), a task with no branch to choose completes here
        rather than through the completion queue; a replayed outcome, met
        while starting blocks, is queued, so a long chain stays a loop.
        """
        task = frame.node.task
        replay = self._replay
        replayed = replay is not None and (task.id, frame.round) in replay.outcomes
        descriptor, value = result.descriptor, result.result
        if descriptor == 0:
            error = result.error or ErrorInfo("Failure", "failed")
            if not recorded and not replayed:
                # A failure's value is kept if the journal can keep it.
                kept = None if encoded is UNSTORABLE else value
                if kept is not None and encoded is not None:
                    self.encoded[len(self.records)] = encoded
                self._rec(
                    task,
                    frame.round,
                    TaskState.FAILED,
                    descriptor=0,
                    error=error,
                    result=kept,
                    note=placed_note(frame.placement),
                )
            failure = FailureInfo(task.id, error.type, error.message, value)
            outcome = Outcome(False, 0, None, failure, (task.id,))
        else:
            if not replayed:  # _rec of a SUCCEEDED transition, without its other states
                view = self.views[task.id]
                state, rnd = TaskState.SUCCEEDED, frame.round
                if encoded is not None:
                    self.encoded[len(self.records)] = encoded
                placed = frame.placement
                now = self._append(
                    task.id, view, state, rnd, descriptor, value, None, None,
                    None if placed is None else PLACED + placed,
                )  # fmt: skip
                view.ended_at = now
                view.descriptor = descriptor
                view.error = None
                view.result = value
            outcome = tuple.__new__(Outcome, (True, descriptor, value, None, ()))
        if descriptor < 2 and not task.branches:  # nothing to choose: the task is done
            if at_once:
                self._complete(frame, outcome)
            else:
                self.done.append((frame, outcome))
        else:
            self._branch(frame, task, outcome)

    def _branch(self, frame: TaskFrame | GroupFrame, block: Task | Group, outcome: Outcome) -> None:
        """Follow ``outcome`` into the matching branch, or end the block."""
        chosen = None
        for branch in block.branches:
            if branch.descriptor == outcome.descriptor:
                chosen = branch
            else:
                self._skip(branch.body, frame.round)
        if chosen is not None:
            frame.branch_phase = True
            piped = (outcome.failure if not outcome.ok else outcome.result) if chosen.pipe else None
            self.starts.append((chosen.body, frame, 0, piped, frame.round))
            return
        if outcome.descriptor >= 2:
            message = (
                f"{block.id} chose descriptor {outcome.descriptor}, but it has no "
                f"'{outcome.descriptor} ->' branch"
            )
            failure = FailureInfo(block.id, "UnroutedDescriptor", message, outcome.result)
            # A group's culprits are its tasks that ran: a retry runs it again.
            culprits = (block.id,) if isinstance(block, Task) else ran_tasks(block.body, self.views)
            self.explained.update(dict.fromkeys(culprits, message))
            self._note(Unrouted(block.id, outcome.descriptor, message))
            outcome = Outcome(False, 0, None, failure, culprits)
        self.done.append((frame, outcome))

    def _skip(self, body: Block, round_: int) -> None:
        for block in iter_blocks(body):
            if isinstance(block, Task):
                view = self.views[block.id]
                if view.state is TaskState.PENDING:
                    self._rec(block, round_, TaskState.SKIPPED)

    def _complete(self, frame: Frame, outcome: Outcome) -> None:
        """``frame`` ended with ``outcome``: tell its parent, and so on upward."""
        while True:
            parent = frame.parent
            if parent is None:
                self.outcome = outcome
                return
            next_outcome = self._child_done(parent, frame.slot, outcome)
            if next_outcome is None:
                return
            frame, outcome = parent, next_outcome

    def _child_done(self, parent: Frame, slot: int, outcome: Outcome) -> Outcome | None:
        if isinstance(parent, SeqFrame):
            if not outcome.ok:
                return outcome
            parent.index += 1
            seq = parent.seq
            if parent.index == len(seq.steps):
                return outcome
            piped = outcome.result if seq.pipes[parent.index - 1] else None
            self._start_soon(seq.steps[parent.index], parent, 0, piped, parent.round)
            return None
        if isinstance(parent, ParFrame):
            parent.outcomes[slot] = outcome
            parent.remaining -= 1
            if parent.remaining:
                return None
            outcome = evaluate(parent, self.views)
            if parent.judge.predicate is not None and outcome.failure is not None:
                # The group's predicate failed it: that is the reason, for every task in it.
                self.explained.update(dict.fromkeys(outcome.culprits, outcome.failure.message))
            return outcome
        if isinstance(parent, TaskFrame | GroupFrame) and parent.branch_phase:
            # The branch that ran decides how the branched block ends.
            if outcome.ok:
                return Outcome(True, 1, outcome.result)
            return outcome
        if isinstance(parent, GroupFrame):
            return self._group_body_done(parent, outcome)
        raise RunError(f"unexpected completion under {type(parent).__name__}")

    def _group_body_done(self, frame: GroupFrame, outcome: Outcome) -> Outcome | None:
        group = frame.group
        frame.tries += 1
        attempts = group.attempts or int_option(group, "retry_attempts") or 1
        if not outcome.ok and frame.tries < attempts and self.halt is None:
            new_round = frame.round * ROUND_BASE + frame.tries
            self._note(GroupRetry(group.id, frame.tries + 1, tuple(outcome.culprits)))
            for block in iter_blocks(group.body):
                if isinstance(block, Task):
                    view = self.views[block.id]
                    if view.state is not TaskState.PENDING:
                        self._rec(block, new_round, TaskState.PENDING)
                    else:
                        view.round = new_round
            self._start_group_body(frame, new_round)
            return None
        self._branch(frame, group, outcome)
        return None


#: How a record's note says where the attempt ran (``on gpu 0``).
PLACED = "on "


def placed_note(placement: str | None) -> str | None:
    """The note of an attempt's last record: where it ran, for a GPU event."""
    return None if placement is None else PLACED + placement

"""The engine: walks a plan as a state machine, journaling before acting.

One lock guards all run state; executors only execute.  Whichever thread
holds the lock (the caller's, or the worker that just finished an attempt)
repeats three steps until nothing is left to do:

1. *decide*: process queued starts and completions (pure state changes);
   each transition is appended to a pending batch of journal records, and
   each attempt to launch is queued;
2. *journal*: write the pending batch in one transaction;
3. *act*: submit the queued attempts, then wait for the next completion.

So a task is journaled RUNNING before it is submitted, and its result is
journaled before any successor is submitted (both sit in the same batch, in
order).  Completions that arrive together (a parallel group finishing) share
one transaction.

Nothing here recurses on the graph: starting a block and completing one are
both queued work items, so a 100,000-step chain is a loop, not a stack.

Durability is one rule in one place (:meth:`Engine._start_task`): if the
journal replayed to this engine says the task already finished, take that
outcome; else run it.
"""

from __future__ import annotations

import collections.abc as cabc
import heapq
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..errors import RunError
from ..events import Context, FailureInfo, NeedsOperator
from ..executors import Executor, ProcessExecutor, ThreadExecutor
from ..graph import Block, Group, Parallel, Sequence, Task, iter_blocks
from ..observability.observer import (
    Observer,
    RunInfo,
    attempt_carrier,
    carrier_observers,
    notify,
    resize_hook,
)
from ..states import (
    TASK_TRANSITIONS,
    RunState,
    TaskState,
    check_run_transition,
    check_task_transition,
)
from ..store import ErrorInfo, Journal, RunNote, TaskRecord, UnencodableResult
from .attempt import AttemptResult, error_info, run_attempt
from .frames import (
    ALL_MEMBERS,
    Frame,
    GroupFrame,
    Outcome,
    ParFrame,
    SeqFrame,
    TaskFrame,
    copy_view,
    describe_failure,
    evaluate,
    int_option,
    judge,
)
from .plan import GroupPlan, Plan
from .recovery import Rehydrated
from .run import Run, TaskView

__all__ = ["Engine", "Outcome"]

#: How often (seconds) a running engine asks the journal whether someone
#: (maybe another process) asked to cancel the run.
CANCEL_POLL_S = 0.2

#: Transitions that replaying a journaled round would only repeat.
_REPLAYED_STATES = frozenset({TaskState.PENDING, TaskState.SKIPPED})

#: Completions that trigger nothing wait at most this long (seconds) and this
#: many records for others to share their transaction (see Engine._must_write).
GROUP_COMMIT_S = 0.01
GROUP_COMMIT_MAX = 1024

#: Group retries renumber the tasks inside: round = outer_round * ROUND_BASE + try.
ROUND_BASE = 1000


class Engine:
    """Executes one run of a plan against a journal, on executors."""

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        run_id: str,
        inputs: Mapping[str, Any],
        *,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        replay: Rehydrated | None = None,
        observers: cabc.Sequence[Observer] = (),
        workflow: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.run_id = run_id
        self.inputs = dict(inputs)
        self.clock = clock
        self.executors: dict[str, Executor] = dict(executors or {})
        # The executors this engine started itself (and so must stop).
        self._made: list[Executor] = []
        self._max_workers = max_workers
        self._replay = replay
        self._observers = tuple(observers)
        # Observers that hand trace context to attempts (asked per attempt; usually none).
        self._carriers = carrier_observers(self._observers)
        self.workflow = workflow
        self._starts: deque[tuple[Block, Frame | None, int, Any, int]] = deque()
        self._done: deque[tuple[Frame, Outcome]] = deque()
        self._records: list[TaskRecord] = []
        self._submits: list[TaskFrame] = []
        self._inbox: queue.SimpleQueue[tuple[TaskFrame, int, Any, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self._timers: list[tuple[float, int, TaskFrame]] = []
        self._timer_seq = itertools.count()
        self._running = 0
        # CANCELLED or PAUSED once the run must stop starting tasks: it lets
        # running attempts finish, then ends in that state, resumable.
        self._halt: RunState | None = None
        self._halt_reason: str | None = None
        #: One line: why the run failed or paused (set when it ends).
        self.error: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._unrouted: dict[str, str] = {}
        self._next_poll = time.monotonic() + CANCEL_POLL_S
        self._flush_due: float | None = None
        # (due, seq, frame, token) of attempts with a timeout.
        self._deadlines: list[tuple[float, int, TaskFrame, int]] = []
        self._abandoned = False
        self._root_outcome: Outcome | None = None
        self.views = {node_id: TaskView(node_id, n.spec.key) for node_id, n in plan.nodes.items()}
        if replay is not None:
            self.views.update((k, copy_view(v)) for k, v in replay.views.items() if k in self.views)

    # ------------------------------------------------------------------ API

    def execute(self) -> tuple[RunState, Outcome | None]:
        """Run to the end (or to cancellation), journal how it ended, and say so."""
        if self._observers:
            notify(self._observers, "run_started", self._run_info())
        try:
            self._starts.append((self.plan.graph.root, None, 0, None, 0))
            self._loop()
        finally:
            for executor in self._made:
                # An attempt given up after its timeout may still hold a worker.
                executor.shutdown(wait=not self._abandoned)
        outcome = self._root_outcome
        if outcome is None:
            state = self._halt or RunState.CANCELLED
        else:
            state = RunState.SUCCEEDED if outcome.ok else RunState.FAILED
        failed = outcome.culprits if outcome is not None and not outcome.ok else ()
        error = describe_failure(self.views, failed, self._unrouted) if failed else None
        if state is RunState.PAUSED:
            error = self._halt_reason
        self.error = error
        now = self.clock()
        check_run_transition(self.run_id, RunState.RUNNING, state)
        if failed:
            self.journal.add_note(RunNote(self.run_id, "failed", now, {"nodes": list(failed)}))
        self.journal.set_run_state(self.run_id, state, now, error)
        if self._observers:
            notify(self._observers, "run_ended", self.run_id, state, error)
        return state, outcome

    def _run_info(self) -> RunInfo:
        return RunInfo(
            self.run_id,
            self.workflow,
            self.plan.node_infos,
            resumed=self._replay is not None,
            journal=self.journal,
        )

    def snapshot(self, state: RunState, outcome: Outcome | None, **extra: Any) -> Run:
        """A :class:`Run` view of this engine's tasks."""
        failed = outcome.culprits if outcome is not None and not outcome.ok else ()
        return Run(
            id=self.run_id,
            workflow=self.workflow,
            state=state,
            tasks=self.views,
            error=self.error,
            failed_nodes=failed,
            inputs=self.inputs,
            **extra,
        )

    # ------------------------------------------------------------ the loop

    def _loop(self) -> None:
        """The calling thread's part: start, then tend timers and cancel requests.

        Completions are handled by whichever thread finishes an attempt (see
        :meth:`_pump`); this thread only wakes for retry timers, cancel polls
        and the end of the run.
        """
        with self._lock:
            self._step()
        self._pump()  # completions that arrived while this thread held the lock
        while True:
            if self._error is not None:
                raise self._error
            self._wake.wait(self._wait_time())
            self._wake.clear()
            with self._lock:
                self._drain_inbox()
                if self._error is not None:
                    raise self._error
                now = time.monotonic()
                if self._deadlines:
                    self._expire(now)
                while self._timers and self._timers[0][0] <= now:
                    _, _, frame = heapq.heappop(self._timers)
                    self._begin_attempt(frame)
                if now >= self._next_poll:
                    self._next_poll = now + CANCEL_POLL_S
                    if self._halt is None and self.journal.cancel_requested(self.run_id):
                        self._halt = RunState.CANCELLED
                        self._timers.clear()
                        self.journal.add_note(
                            RunNote(self.run_id, "cancel-requested", self.clock())
                        )
                self._step()
                if self._finished():
                    return
            self._pump()

    def _wait_time(self) -> float:
        due = self._next_poll
        if self._timers:
            due = min(due, self._timers[0][0])
        if self._flush_due is not None:
            due = min(due, self._flush_due)
        if self._deadlines:
            due = min(due, self._deadlines[0][0])
        return max(due - time.monotonic(), 0.0)

    def _finished(self) -> bool:
        if self._running or self._timers or self._starts or self._done or self._records:
            return False
        if self._root_outcome is not None or self._halt is not None:
            return True
        raise RunError(f"run {self.run_id} stalled: nothing running, nothing to do")

    def _step(self) -> None:
        """Decide, journal, act: call with the lock held."""
        while True:
            self._decide()
            self._flush()
            if not (self._starts or self._done):
                return

    def _on_done(
        self, frame: TaskFrame, token: int, result: Any, error: BaseException | None
    ) -> None:
        """Completion callback of every attempt; runs in the executor's thread."""
        self._inbox.put((frame, token, result, error))
        self._pump()

    def _pump(self) -> None:
        """Handle queued completions, unless another thread is already at it.

        Whoever holds the lock drains the inbox; a thread that finds the lock
        taken leaves its item for the holder, who checks the inbox again after
        releasing.  So a chain's next attempt is usually submitted by the very
        worker that finished the previous one, with no hop through the
        calling thread.
        """
        lock, inbox = self._lock, self._inbox
        while not inbox.empty():
            if not lock.acquire(blocking=False):
                return
            try:
                if self._error is None:
                    self._drain_inbox()
                    self._step()
                    if self._finished():
                        self._wake.set()
            except BaseException as exc:  # surfaced by the calling thread
                self._error = exc
                self._wake.set()
            finally:
                lock.release()

    def _drain_inbox(self) -> None:
        # Only the lock holder takes from the inbox, so "not empty" means an
        # item is there (and no queue.Empty is raised on every drain).
        inbox = self._inbox
        while not inbox.empty():
            self._on_attempt_done(*inbox.get_nowait())

    def _decide(self) -> None:
        starts, done = self._starts, self._done
        while starts or done:
            while done:
                frame, outcome = done.popleft()
                self._complete(frame, outcome)
            if starts:
                self._start(*starts.popleft())

    def _flush(self) -> None:
        if self._records and self._must_write():
            self._flush_due = None
            records, self._records = self._records, []
            self.journal.record(records)
            if self._observers:
                notify(self._observers, "transitions", self.run_id, records)
        if self._submits:
            submits, self._submits = self._submits, []
            for frame in submits:
                self._submit(frame)

    def _must_write(self) -> bool:
        """Whether the pending records must be journaled now.

        Always before acting on them (submitting an attempt, ending the run,
        sleeping on a retry timer).  Completions that lead to no action (a
        parallel member finishing while its siblings run) may wait a little
        so that those arriving together share one transaction; the calling
        thread is woken to write them within ``GROUP_COMMIT_S`` at the latest.
        """
        if self._submits or self._root_outcome is not None or self._halt is not None:
            return True
        if self._running == 0 or len(self._records) >= GROUP_COMMIT_MAX:
            return True
        now = time.monotonic()
        if self._flush_due is None:
            self._flush_due = now + GROUP_COMMIT_S
            self._wake.set()
            return False
        return now >= self._flush_due

    def _submit(self, frame: TaskFrame) -> None:
        node = frame.node
        node_id = node.task.id
        carrier = (
            attempt_carrier(self._carriers, self.run_id, node_id) if self._carriers else None
        )
        # Positional: a named tuple is built noticeably faster so, once per attempt.
        ctx = Context(
            self.run_id,
            node_id,
            node.spec.key,
            self.views[node_id].attempts,
            self.inputs,
            frame.piped,
            carrier,
        )
        executor = self.executors.get(node.executor) or self._make_executor(node.executor)
        frame.token += 1
        self._running += 1
        timeout = node.policy.timeout_s
        if timeout is not None:
            due = time.monotonic() + timeout
            heapq.heappush(self._deadlines, (due, next(self._timer_seq), frame, frame.token))
            self._wake.set()  # the calling thread may be asleep past this deadline
        executor.submit(run_attempt, (node.spec, ctx), partial(self._on_done, frame, frame.token))

    def _make_executor(self, name: str) -> Executor:
        executor: Executor
        if name == "process":
            executor = ProcessExecutor(self._max_workers)
        else:
            executor = ThreadExecutor(
                self._max_workers, on_resize=resize_hook(self._observers, self.run_id, name)
            )
        self.executors[name] = executor
        self._made.append(executor)
        return executor

    # ------------------------------------------------------------ records

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
        """Queue the journal record of one task transition and mirror it in the view."""
        view = self.views[task.id]
        replay = self._replay
        if replay is not None and state in _REPLAYED_STATES and (task.id, round_) in replay.seen:
            return  # the journal has this task's history for the round already
        if state not in TASK_TRANSITIONS[view.state]:
            check_task_transition(task.id, view.state, state)  # raises, with the message
        now = self.clock()
        self._records.append(
            TaskRecord(
                self.run_id,
                task.id,
                state,
                view.attempts,
                now,
                round_,
                descriptor,
                result,
                error,
                next_attempt_at,
                note,
            )
        )
        view.state = state
        if state is TaskState.RUNNING:
            if view.started_at is None:
                view.started_at = now
        elif note == "paused":  # parked, not reset: its attempts carry on after resume
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
            self._starts.append((block.steps[0], frame, 0, piped, rnd))
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
        self._starts.extend((m, frame, i, piped, rnd) for i, m in enumerate(block.members))

    def _start_group_body(self, frame: GroupFrame, rnd: int) -> None:
        body = frame.group.body
        judge = self.plan.groups.get(frame.group.id)
        if isinstance(body, Parallel) and judge is not None:
            self._start_parallel(body, frame, 0, frame.piped, rnd, judge)
        else:
            self._starts.append((body, frame, 0, frame.piped, rnd))

    def _start_task(self, frame: TaskFrame) -> None:
        task = frame.node.task
        key = (task.id, frame.round)
        replay = self._replay
        if replay is not None:
            final = replay.outcomes.get(key)
            if final is not None:
                self._after_attempts(frame, final)
                return
            frame.failures = replay.failures.get(key, 0)
        if self._halt is not None:
            return
        view = self.views[task.id]
        if view.state is not TaskState.PENDING or view.round != frame.round:
            self._rec(task, frame.round, TaskState.PENDING)
        if replay is not None and view.state is TaskState.RETRYING:
            due = replay.next_attempt_at.get(key)
            wait = due - self.clock() if due is not None else 0.0
            if wait > 0:  # a resumed run continues its backoff, not starts it over
                heapq.heappush(
                    self._timers, (time.monotonic() + wait, next(self._timer_seq), frame)
                )
                return
        self._begin_attempt(frame)

    def _begin_attempt(self, frame: TaskFrame) -> None:
        if self._halt is not None:
            return
        task = frame.node.task
        self.views[task.id].attempts += 1
        self._rec(task, frame.round, TaskState.RUNNING)
        self._submits.append(frame)

    # ---------------------------------------------------------- completing

    def _on_attempt_done(
        self, frame: TaskFrame, token: int, result: Any, crash: BaseException | None
    ) -> None:
        if token != frame.token:
            return  # an attempt given up after its timeout; already counted out
        self._running -= 1
        if crash is not None:  # the executor itself failed (a worker died, pickling ...)
            result = AttemptResult(0, None, error_info(crash), crash)
        elif result.logs:  # the attempt's log lines, kept with the run
            self.journal.add_logs(result.logs)
        self._attempt_ended(frame, result)

    def _expire(self, now: float) -> None:
        """Fail the attempts that outlived their timeout; their late results are ignored."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, _, frame, token = heapq.heappop(deadlines)
            if token != frame.token:
                continue  # that attempt ended in time
            frame.token += 1
            self._running -= 1
            self._abandoned = True
            node = frame.node
            exc = TimeoutError(
                f"attempt {self.views[node.task.id].attempts} of {node.task.id} "
                f"({node.spec.key}) ran past its {node.policy.timeout_s:g} s timeout; "
                f"it was given up (its {node.executor} worker cannot be interrupted: "
                "the attempt finishes in the background and its result is ignored)"
            )
            self._attempt_ended(frame, AttemptResult(0, None, error_info(exc), exc))

    def _attempt_ended(self, frame: TaskFrame, result: AttemptResult) -> None:
        node = frame.node
        if result.descriptor != 0 and node.evaluation is not None:
            result = judge(node, result)
        if result.descriptor != 0:
            try:
                self.journal.check_result(node.task.id, result.result)
            except UnencodableResult as exc:
                error = ErrorInfo(
                    "UnencodableResult",
                    f"{exc} (event {node.spec.key}; return JSON-friendly data, "
                    "or configure a codec for this type)",
                )
                self._rec(node.task, frame.round, TaskState.FAILED, descriptor=0, error=error)
                self._after_attempts(frame, AttemptResult(0, None, error, None), recorded=True)
                return
        elif isinstance(result.exception, NeedsOperator):
            self._pause(frame, result)
            return
        else:
            frame.failures += 1
            if node.policy.should_retry(frame.failures, result.exception):
                delay = node.policy.delay(frame.failures)
                if self._halt is not None:
                    delay = 0.0
                self._rec(
                    node.task,
                    frame.round,
                    TaskState.RETRYING,
                    error=result.error,
                    next_attempt_at=self.clock() + delay if delay else None,
                )
                if delay > 0:
                    due = time.monotonic() + delay
                    heapq.heappush(self._timers, (due, next(self._timer_seq), frame))
                else:
                    self._begin_attempt(frame)
                return
        self._after_attempts(frame, result)

    def _pause(self, frame: TaskFrame, result: AttemptResult) -> None:
        """An event needs an operator: park the task and stop starting others."""
        task = frame.node.task
        reason = f"{task.id} needs an operator: {result.error.message if result.error else ''}"
        self._rec(task, frame.round, TaskState.PENDING, error=result.error, note="paused")
        self.journal.add_note(
            RunNote(self.run_id, "paused", self.clock(), {"node": task.id, "reason": reason})
        )
        if self._halt is None:
            self._halt, self._halt_reason = RunState.PAUSED, reason
            self._timers.clear()

    def _after_attempts(
        self, frame: TaskFrame, result: AttemptResult, *, recorded: bool = False
    ) -> None:
        """The task's attempts are over: record it, then pick its branch."""
        task = frame.node.task
        replayed = self._replay is not None and (task.id, frame.round) in self._replay.outcomes
        if result.descriptor == 0:
            error = result.error or ErrorInfo("Failure", "failed")
            if not recorded and not replayed:
                value = result.result
                if value is not None:
                    try:  # a failure's value is kept if the journal can keep it
                        self.journal.check_result(task.id, value)
                    except UnencodableResult:
                        value = None
                self._rec(
                    task,
                    frame.round,
                    TaskState.FAILED,
                    descriptor=0,
                    error=error,
                    result=value,
                )
            failure = FailureInfo(task.id, error.type, error.message, result.result)
            outcome = Outcome(False, 0, None, failure, (task.id,))
        else:
            if not replayed:
                self._rec(
                    task,
                    frame.round,
                    TaskState.SUCCEEDED,
                    descriptor=result.descriptor,
                    result=result.result,
                )
            outcome = Outcome(True, result.descriptor, result.result)
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
            self._starts.append((chosen.body, frame, 0, piped, frame.round))
            return
        if outcome.descriptor >= 2:
            message = (
                f"{block.id} chose descriptor {outcome.descriptor}, but it has no "
                f"'{outcome.descriptor} ->' branch"
            )
            failure = FailureInfo(block.id, "UnroutedDescriptor", message, outcome.result)
            self._unrouted[block.id] = message
            self.journal.add_note(
                RunNote(
                    self.run_id,
                    "unrouted",
                    self.clock(),
                    {"node": block.id, "descriptor": outcome.descriptor, "message": message},
                )
            )
            outcome = Outcome(False, 0, None, failure, (block.id,))
        self._done.append((frame, outcome))

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
                self._root_outcome = outcome
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
            self._starts.append((seq.steps[parent.index], parent, 0, piped, parent.round))
            return None
        if isinstance(parent, ParFrame):
            parent.outcomes[slot] = outcome
            parent.remaining -= 1
            if parent.remaining:
                return None
            return evaluate(parent)
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
        if not outcome.ok and frame.tries < attempts and self._halt is None:
            new_round = frame.round * ROUND_BASE + frame.tries
            self.journal.add_note(
                RunNote(
                    self.run_id,
                    "group-retry",
                    self.clock(),
                    {"group": group.id, "try": frame.tries + 1, "culprits": list(outcome.culprits)},
                )
            )
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

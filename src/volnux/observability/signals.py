"""Lifecycle signals (`blinker`): subscribe to what runs, tasks, batches and pools do.

Every signal is sent with a *sender* (a string to filter on) and one keyword
argument, ``payload``, a frozen dataclass::

    from volnux.observability import signals

    def on_failed(run_id: str, payload: signals.TaskSignal) -> None:
        print(f"{payload.node_id} failed: {payload.error}")

    signals.task_failed.connect(on_failed)              # every run
    signals.task_failed.connect(on_failed, sender=rid)  # one run only

=====================  ==============  ====================  ==============================
signal                 sender          payload               sent when
=====================  ==============  ====================  ==============================
``run_started``        run id          :class:`RunSignal`    a new run starts
``run_resumed``        run id          :class:`RunSignal`    a resume or retry continues it
``run_paused``         run id          :class:`RunSignal`    it stops for an operator
``run_cancelled``      run id          :class:`RunSignal`    it stops on a cancel request
``run_finished``       run id          :class:`RunSignal`    it ends SUCCEEDED or FAILED
``task_queued``        run id          :class:`TaskSignal`   a task is PENDING (see below)
``task_started``       run id          :class:`TaskSignal`   an attempt is handed to its executor
``task_retrying``      run id          :class:`TaskSignal`   an attempt failed; another follows
``task_succeeded``     run id          :class:`TaskSignal`   the task succeeded
``task_failed``        run id          :class:`TaskSignal`   its attempts are spent: it failed
``task_skipped``       run id          :class:`TaskSignal`   its path was not taken
``batch_progress``     batch id        :class:`BatchProgress`  a batch run finished one more run
``pool_resized``       executor name   :class:`PoolResized`  a worker pool changed or held size
=====================  ==============  ====================  ==============================

``task_queued`` is sent for every task when a new run starts (every task
starts PENDING), and again whenever a task is put back to PENDING while the
engine runs (a group retry starting it over, or a task parked for an
operator).  Tasks put back by ``resume``/``retry`` before the engine starts
are in the journal, not signalled.

Batches do not exist yet: :data:`batch_progress` and :class:`BatchProgress`
are the contract batch runs will send (:func:`send_batch_progress`).

Task and run signals are sent after the transition is journaled, from
whichever thread wrote it (often an executor's worker), while the engine
holds its lock: keep receivers short, and never wait on the run from one.
A receiver that raises is logged (logger ``volnux.observability``) and the
run goes on; the other receivers are still called.  blinker keeps weak
references to receivers by default, so connect a function that lives on
(``connect(fn, weak=False)`` for a lambda or closure).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from blinker import NamedSignal

from ..states import RunState, TaskState
from ..store import ErrorInfo, TaskRecord
from .observer import Observer, RunInfo

__all__ = [
    "BatchProgress",
    "PoolResized",
    "RunSignal",
    "SignalsObserver",
    "TaskSignal",
    "batch_progress",
    "pool_resized",
    "run_cancelled",
    "run_finished",
    "run_paused",
    "run_resumed",
    "run_started",
    "send",
    "send_batch_progress",
    "task_failed",
    "task_queued",
    "task_retrying",
    "task_skipped",
    "task_started",
    "task_succeeded",
]

log = logging.getLogger("volnux.observability")


# ----------------------------------------------------------------- payloads


@dataclass(frozen=True, slots=True)
class RunSignal:
    """Payload of the run signals: a run started, resumed, paused, was cancelled or ended."""

    #: The run's id (also the sender).
    run_id: str
    #: The workflow's name.
    workflow: str
    #: RUNNING for started/resumed; the state the run stopped in otherwise.
    state: RunState
    #: One line: why the run failed or paused; None otherwise.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TaskSignal:
    """Payload of the task signals: one journaled transition of one task."""

    #: The run's id (also the sender).
    run_id: str
    #: The workflow's name.
    workflow: str
    #: The task's node id in the graph (``Charge``, ``Charge#2`` ...).
    node_id: str
    #: The event it runs, ``Name@version``.
    event: str
    #: The state the task moved to.
    state: TaskState
    #: 1-based attempt number (0 before the first attempt).
    attempt: int
    #: When the transition was recorded (seconds since the epoch).
    at: float
    #: How often an enclosing group's retry restarted the task (0 the first time).
    round: int = 0
    #: The descriptor chosen (on SUCCEEDED and FAILED).
    descriptor: int | None = None
    #: The result (on SUCCEEDED; a failure's value on FAILED).
    result: Any = None
    #: Why the attempt failed (on RETRYING and FAILED).
    error: ErrorInfo | None = None
    #: When the next attempt is due (on RETRYING with a backoff delay).
    next_attempt_at: float | None = None


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Payload of ``batch_progress``: how far a batch run (many runs of one workflow) got."""

    #: The batch's id (also the sender).
    batch_id: str
    #: The workflow's name.
    workflow: str
    #: Runs in the batch.
    total: int
    #: Runs that ended so far (succeeded + failed).
    done: int
    #: Runs that succeeded so far.
    succeeded: int
    #: Runs that failed so far.
    failed: int


@dataclass(frozen=True, slots=True)
class PoolResized:
    """Payload of ``pool_resized``: the worker count of a pool running a run's tasks.

    Sent to each run using the pool: once with its size when the run starts,
    then at every change while the run goes on.
    """

    #: The executor's name (``thread``, ``process`` ...; also the sender).
    executor: str
    #: Workers it has now; 0 once it is shut down.
    workers: int
    #: The run that heard it.
    run_id: str
    #: Why: ``started`` (its size as the run starts), ``queued`` (grew: calls
    #: waited), ``long-tasks`` (grew at once: the events queued ran long in
    #: earlier runs), ``idle`` (shrank), ``cpu-bound`` (sized to the usable CPUs, or
    #: not grown: its threads already keep a CPU busy), ``memory`` (not grown:
    #: memory is low), ``shutdown``.
    reason: str = ""


# ------------------------------------------------------------------ signals


def _signal(name: str, doc: str) -> NamedSignal:
    # Our own signal objects, not blinker.signal(name): the latter lives in a
    # process-wide namespace that another library could also use.
    return NamedSignal(f"volnux.{name}", doc=doc)


run_started = _signal("run-started", "A new run starts; payload: RunSignal.")
run_resumed = _signal("run-resumed", "A resume or retry continues a run; payload: RunSignal.")
run_paused = _signal("run-paused", "A run stopped for an operator; payload: RunSignal.")
run_cancelled = _signal("run-cancelled", "A run stopped on a cancel request; payload: RunSignal.")
run_finished = _signal("run-finished", "A run ended SUCCEEDED or FAILED; payload: RunSignal.")
task_queued = _signal("task-queued", "A task is PENDING; payload: TaskSignal.")
task_started = _signal("task-started", "An attempt was handed to its executor; TaskSignal.")
task_retrying = _signal("task-retrying", "An attempt failed, another follows; TaskSignal.")
task_succeeded = _signal("task-succeeded", "A task succeeded; payload: TaskSignal.")
task_failed = _signal("task-failed", "A task failed, its attempts spent; payload: TaskSignal.")
task_skipped = _signal("task-skipped", "A task's path was not taken; payload: TaskSignal.")
batch_progress = _signal("batch-progress", "A batch run progressed; payload: BatchProgress.")
pool_resized = _signal(
    "pool-resized", "A worker pool grew, shrank, held or shut down; payload: PoolResized."
)

_BY_STATE: dict[TaskState, NamedSignal] = {
    TaskState.PENDING: task_queued,
    TaskState.RUNNING: task_started,
    TaskState.RETRYING: task_retrying,
    TaskState.SUCCEEDED: task_succeeded,
    TaskState.FAILED: task_failed,
    TaskState.SKIPPED: task_skipped,
}
_TASK_SIGNALS = tuple(dict.fromkeys(_BY_STATE.values()))


class _Listening:
    """Whether a task signal has ever had a receiver in this process.

    It is the signals observer's ``transitions_gate``: until a receiver
    comes, the engine does not even call it for the batches it writes.  Once
    one has, each record's signal is asked, as receivers may come and go.
    """

    open = False

    @classmethod
    def saw(cls, *args: Any, **kwargs: Any) -> None:
        cls.open = True


for _task_signal in _TASK_SIGNALS:
    _task_signal.receiver_connected.connect(_Listening.saw)
    _Listening.open = _Listening.open or bool(_task_signal.receivers)
_BY_RUN_STATE: dict[RunState, NamedSignal] = {
    RunState.SUCCEEDED: run_finished,
    RunState.FAILED: run_finished,
    RunState.CANCELLED: run_cancelled,
    RunState.PAUSED: run_paused,
}


def send(signal: NamedSignal, sender: str, payload: object) -> None:
    """Send ``payload`` to each receiver of ``signal``; one that raises is logged, not fatal.

    blinker's own ``send`` stops at the first receiver that raises and hands
    the exception to the sender: here that would be the engine.
    """
    if not signal.receivers or signal.is_muted:
        return
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, payload=payload)
        except Exception:
            log.exception("receiver %r of signal %s failed; the run goes on", receiver, signal.name)


def send_batch_progress(progress: BatchProgress) -> None:
    """Send :data:`batch_progress` (for batch runs)."""
    send(batch_progress, progress.batch_id, progress)


# ----------------------------------------------------------------- observer


class SignalsObserver(Observer):
    """Translates the engine's journaled transitions into the signals above.

    Every run gets one (see :func:`~volnux.observability.observer.default_observers`).
    Until a task signal has had a receiver, the engine does not call it per
    write (its gate is closed); after that, with no receiver connected at the
    moment, a batch costs a look at each task signal.
    """

    transitions_gate = _Listening

    def __init__(self) -> None:
        self._runs: dict[str, RunInfo] = {}

    def run_started(self, info: RunInfo) -> None:
        """Send run_started (or run_resumed) and, for a new run, task_queued per task."""
        self._runs[info.run_id] = info
        signal = run_resumed if info.resumed else run_started
        if signal.receivers:
            send(signal, info.run_id, RunSignal(info.run_id, info.workflow, RunState.RUNNING))
        if not info.resumed and task_queued.receivers:
            for node in info.nodes.values():
                payload = TaskSignal(
                    info.run_id,
                    info.workflow,
                    node.node_id,
                    f"{node.event}@{node.version}",
                    TaskState.PENDING,
                    0,
                    0.0,
                )
                send(task_queued, info.run_id, payload)

    def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
        """Send the task signal of each record, in order."""
        if not _Listening.open:
            return
        by_state = _BY_STATE
        if len(records) > 2 and not any(s.receivers for s in _TASK_SIGNALS):
            return  # nobody listens now: one look per batch, not one per record
        for rec in records:
            signal = by_state[rec.state]
            if signal.receivers:
                send(signal, run_id, self._payload(run_id, rec))

    def run_ended(self, run_id: str, state: RunState, error: str | None) -> None:
        """Send run_finished, run_cancelled or run_paused."""
        info = self._runs.pop(run_id, None)
        signal = _BY_RUN_STATE.get(state)
        if signal is not None and signal.receivers:
            workflow = info.workflow if info is not None else ""
            send(signal, run_id, RunSignal(run_id, workflow, state, error))

    def pool_resized(self, run_id: str, executor: str, workers: int, reason: str = "") -> None:
        """Send pool_resized."""
        if pool_resized.receivers:
            send(pool_resized, executor, PoolResized(executor, workers, run_id, reason))

    def _payload(self, run_id: str, rec: TaskRecord) -> TaskSignal:
        info = self._runs.get(run_id)
        node = info.nodes.get(rec.node_id) if info is not None else None
        return TaskSignal(
            run_id,
            info.workflow if info is not None else "",
            rec.node_id,
            f"{node.event}@{node.version}" if node is not None else rec.node_id,
            rec.state,
            rec.attempt,
            rec.at,
            rec.round,
            rec.descriptor,
            rec.result,
            rec.error,
            rec.next_attempt_at,
        )

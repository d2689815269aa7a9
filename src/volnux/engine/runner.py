"""The engine: drives the scheduler, journaling before acting.

The :class:`Engine` (the runner) is the only code that writes to the journal
while a run goes on; the :class:`~volnux.engine.scheduler.Scheduler` it holds
only decides.  One lock guards all run state; executors only execute.
Whichever thread holds the lock (the caller's, or the worker that just
finished an attempt) repeats three steps until nothing is left to do:

1. *decide*: the scheduler processes queued starts and completions (state
   changes only); each transition is appended to a pending batch of journal
   records, and each attempt to launch is queued;
2. *journal*: write the pending notes, then the batch in one transaction;
3. *act*: submit the queued attempts, then wait for the next completion.

When an attempt ends, the runner applies the task's result evaluation and
asks the journal to encode the result (:meth:`Journal.encode_result`) before
the scheduler hears of it: a result the journal cannot keep fails its task,
and the encoding goes back to the journal with the record.

So a task is journaled RUNNING before it is submitted, and its result is
journaled before any successor is submitted (both sit in the same batch, in
order).  Completions that arrive together (a parallel group finishing) share
one transaction.  Timers (retry backoff, attempt timeouts) and cancel
requests from other processes are tended by the calling thread.
"""

from __future__ import annotations

import collections
import collections.abc as cabc
import heapq
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..errors import RunError, StoreError, UnencodableResult, Unpicklable
from ..events import BatchInfo, Context, EventSpec, TransientError
from ..events.base import FILE_MODULE_PREFIX
from ..events.registry import SOURCE_ATTRIBUTE
from ..executors import CLUSTER, DeviceSlots, Executor, Pools, PoolSettings, device_slots
from ..notes import (
    Abandoned,
    CancelRequested,
    Failed,
    ItemsFailed,
    NoteDetail,
    NoteKind,
    PoolResized,
    RunNote,
    Stopped,
)
from ..observability.observer import (
    Observer,
    RunInfo,
    attempt_carrier,
    carrier_observers,
    notify,
    observer_failed,
    transition_hooks,
)
from ..states import RunState, TaskState, check_run_transition
from ..store import EpochNote, ErrorInfo, Journal, TaskRecord
from ..store.results import ResultStore
from .attempt import (
    AttemptResult,
    error_info,
    run_attempt,
    run_attempt_async,
    run_chain,
    run_on_devices,
    run_sent,
    sendable,
    unpicklable,
)
from .clock import microsecond_time
from .durations import forget, long_events, measured
from .frames import Outcome, TaskFrame, describe_failure, judge
from .owners import DRIVEN_HERE, HEARTBEAT_S, who_cancelled, who_paused
from .plan import NodePlan, Plan
from .recovery import Rehydrated
from .run import Run
from .scheduler import UNSTORABLE, Scheduler
from .stop import StopRequest

__all__ = ["EndNote", "Engine", "Outcome"]

log = logging.getLogger("volnux.engine")

#: How often (seconds) a running engine asks the journal whether someone
#: (maybe another process) asked to cancel the run.
CANCEL_POLL_S = 0.2

#: Completions that trigger nothing wait at most this long (seconds) and this
#: many records for others to share their transaction (see Engine._must_write).
GROUP_COMMIT_S = 0.01
GROUP_COMMIT_MAX = 1024

#: Makes the note another run keeps of how this one ended, from its state, its
#: error and how many items failed in it (see lifecycle.Part.ended).
EndNote = Callable[[RunState, str | None, int], EpochNote]

#: Results every journal stores without being asked first (see Journal.encode_result).
_SCALARS = frozenset({type(None), bool, int, float, str})


class _Alone:
    def __repr__(self) -> str:
        return "ALONE"


#: What a chain's call that failed as a whole completes with: its first task is
#: sent again on its own (see .chains).
_ALONE: Any = _Alone()


class Engine:
    """Executes one run of a plan against a journal, on executors.

    ``executors`` maps an executor name to the executor to use for it;
    ``pools`` gives the others (by name, made on first use and owned by the
    caller, so that they outlive the run).  Without ``pools`` the engine
    makes its own and shuts them down when the run ends.
    """

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        run_id: str,
        inputs: Mapping[str, Any],
        *,
        executors: Mapping[str, Executor] | None = None,
        pools: Pools | None = None,
        max_workers: int | None = None,
        pool_settings: Mapping[str, PoolSettings] | None = None,
        replay: Rehydrated | None = None,
        observers: cabc.Sequence[Observer] = (),
        workflow: str = "",
        notes: cabc.Sequence[RunNote] = (),
        epoch: int | None = None,
        stop: StopRequest | None = None,
        clock: Callable[[], float] = microsecond_time,
        batch: BatchInfo | None = None,
        fuse: bool = False,
        end_note: EndNote | None = None,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.run_id = run_id
        self.inputs = dict(inputs)
        #: The batch a batch run's child works on (``ctx.batch``); None otherwise.
        self.batch = batch
        #: Makes the note the run this one is part of keeps of its end (written
        #: with that end); None: there is none.
        self._end_note = end_note
        #: Where large results are kept (``ctx.results``): the journal's result store.
        self.results: ResultStore | None = getattr(journal, "results", None)
        self.clock = clock
        #: The run's epoch this engine claimed: every write carries it, and the
        #: journal refuses them (Fenced) once another process claimed the run.
        #: None: unfenced (an engine built by hand, outside any lease).
        self.epoch = epoch
        self.scheduler = Scheduler(plan, run_id, replay, clock)
        self._resumed = replay is not None
        #: (node id, round) of the sub-workflows a crash cut off (PENDING with their
        #: attempts carried on): the next attempt takes up the child run that the
        #: cut-off one started (see .subflows).
        self._cut_off_subs = {
            (node_id, view.round)
            for node_id, view in (replay.views.items() if replay is not None else ())
            if view.state is TaskState.PENDING and view.attempts and view.interrupted
            and (node := plan.nodes.get(node_id)) is not None and node.sub is not None
        }  # fmt: skip
        #: The run's notes before this session (what a resume loaded).
        self._earlier_notes = tuple(notes)
        #: Node id -> the items that failed in its latest success (a Partial),
        #: from earlier sessions' notes and this one's.
        self.failed_items: dict[str, tuple[tuple[Any, str], ...]] = earlier_failed_items(notes)
        self.executors: dict[str, Executor] = dict(executors or {})
        #: The names the caller gave an executor for (they win over any pool).
        self._given = frozenset(self.executors)
        self._own_pools = pools is None
        self._pools = pools if pools is not None else Pools()
        self._max_workers = max_workers
        #: Executor name -> how big the pools this run takes may be.
        self._pool_settings = dict(pool_settings or {})
        for name, settings in self._pool_settings.items():
            settings.check(name)
        self._observers = tuple(observers)
        # Observers that hand trace context to attempts (asked per attempt; usually none).
        self._carriers = carrier_observers(self._observers)
        # (gate, transitions) of the observers told of each write (see Observer).
        self._transition_hooks = transition_hooks(self._observers)
        self.workflow = workflow
        self._inbox: queue.SimpleQueue[tuple[TaskFrame, int, Any, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self._running = 0
        #: One line: why the run failed or paused (set when it ends).
        self.error: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._next_poll = time.monotonic() + CANCEL_POLL_S
        self._next_beat = time.monotonic() + HEARTBEAT_S
        self._flush_due: float | None = None
        # (due, seq, frame, token) of attempts with a timeout.
        self._deadlines: list[tuple[float, int, TaskFrame, int]] = []
        self._deadline_seq = itertools.count()
        self._abandoned = False
        # A stop from outside (a signal): seen once, then the grace's end.
        self._stop = stop
        self._stop_seen = 0
        self._stop_due: float | None = None
        # Set once the run ended with attempts still running: their late
        # completions are dropped, never recorded.
        self._closed = False
        self._cut_off: list[str] = []
        #: Who asked for the cancel the engine saw in the journal, and when.
        self._cancelled_by: str | None = None
        # Node id -> its attempts given up after their timeout that still run.
        self._ghosts: collections.Counter[str] = collections.Counter()
        # GPUs: the process's slots (found at the first GPU attempt), attempts
        # waiting for a device (frame, token, ctx, executor, CPU fallback due),
        # the devices each attempt holds, and tasks whose next attempt takes
        # the CPU (their last one ran out of GPU memory).
        self._devices: DeviceSlots | None = None
        self._gpu_waiting: list[tuple[TaskFrame, int, Context, Executor, float | None]] = []
        self._listening = False
        self._held: dict[tuple[TaskFrame, int], tuple[int, ...]] = {}
        self._cpu_next: set[TaskFrame] = set()
        self.abandoned: tuple[str, ...] = ()
        # Pool size changes heard from any thread, journaled by the lock's holder.
        self._resizes: collections.deque[RunNote] = collections.deque()
        # Events whose attempts ran long in earlier runs (pools grow at once for
        # them), and the seconds this run's long attempts took, by event.
        self._long: frozenset[str] = frozenset()
        self._took: dict[str, float] = {}
        # Executors that run attempts in another process (the specs sent there
        # are pickled once per plan: Plan.sent).
        self._remote: dict[Executor, bool] = {}
        # The inputs sent with each event's attempts to another process (by spec id).
        self._trimmed: dict[int, dict[str, Any]] = {}
        # Attempts on an executor that can take waiting ones back (withdraw_waiting):
        # key -> (frame, token, withdraw), until they end.
        self._withdrawable: dict[str, tuple[TaskFrame, int, Any]] = {}
        #: Attempt key -> what stops the child run of a running sub-workflow attempt.
        self._child_stops: dict[str, StopRequest] = {}
        # Executors' ship_module (None for those without), and the specs shipped.
        self._shippers: dict[Executor, Any] = {}
        self._shipped: set[int] = set()
        # Executors' submit_named (None for those without), asked once each.
        self._named: dict[Executor, Any] = {}
        # The flush of executors that gather submits to send them together (a
        # cluster's), called once a step's submits are made; None for the others.
        self._flushes: dict[Executor, Any] = {}
        self._to_flush: set[Any] = set()
        # Chains (see .chains): whether tasks on a pool go in one call with those
        # after them; node id -> the inputs its chain's call is sent; node id ->
        # (round, outcome, time it ended) of a task a chain's call ran after its
        # first; tasks sent alone again after their chain's call failed as a whole.
        self._fuse = fuse
        self._chain_inputs: dict[str, dict[str, Any]] = {}
        self._ahead: dict[str, tuple[int, tuple[Any, ...], float]] = {}
        self._alone: set[str] = set()

    # ------------------------------------------------------------------ API

    @property
    def views(self) -> dict[str, Any]:
        """Node id -> the task's view, as the run stands."""
        return self.scheduler.views

    def execute(self) -> tuple[RunState, Outcome | None]:
        """Run to the end (or to cancellation), journal how it ended, and say so."""
        if self._observers:
            notify(self._observers, "run_started", self._run_info())
            self._pools.watch(self._pool_resized)  # hears the pools' sizes now, then changes
        if self._stop is not None:
            self._stop.attach(self._wake)
        DRIVEN_HERE.add(self.run_id)
        # A journal that can tell at once when a stop is asked (PostgreSQL's
        # LISTEN/NOTIFY) wakes the engine to look now rather than at its next poll.
        watch = getattr(self.journal, "watch_stop", None)
        unwatch = watch(self.run_id, self._stop_asked) if watch is not None else None
        try:
            self._long = long_events(self.journal, self.plan.event_keys)
            self.scheduler.start()
            self._loop()
        finally:
            DRIVEN_HERE.discard(self.run_id)
            if unwatch is not None:
                unwatch()
            self._closed = True
            if self._stop is not None:
                self._stop.detach(self._wake)
            if self._own_pools:
                # An attempt given up after its timeout may still hold a worker.
                self._pools.close(wait=not self._abandoned)
            if self._observers:
                self._pools.unwatch(self._pool_resized)
            if self._listening and self._devices is not None:
                self._devices.unlisten(self._wake.set)
        scheduler = self.scheduler
        outcome = scheduler.outcome
        if outcome is None:
            state = scheduler.halt or RunState.CANCELLED
        else:
            state = RunState.SUCCEEDED if outcome.ok else RunState.FAILED
        failed = outcome.culprits if outcome is not None and not outcome.ok else ()
        error = describe_failure(self.views, failed, scheduler.explained) if failed else None
        if state is RunState.PAUSED:
            error = scheduler.halt_reason
        elif state is RunState.CANCELLED:
            error = self._cancelled_by
            if self._cut_off and not self._stop_seen:
                error = f"{error}; taken back from the cluster before they started: " + (
                    ", ".join(self._cut_off)
                )
        stopped = self._stop_seen and state is RunState.CANCELLED
        if stopped:
            error = f"stopped by {self._stop_reason()}" + (
                f"; cut off while running: {', '.join(self._cut_off)}" if self._cut_off else ""
            )
        self.error = error
        now = self.clock()
        check_run_transition(self.run_id, RunState.RUNNING, state)
        notes: list[EpochNote] = []
        if failed:
            notes.append((RunNote.of(self.run_id, now, Failed(tuple(failed))), self.epoch))
        if stopped:
            detail = Stopped(self._stop_reason(), tuple(self._cut_off))
            notes.append((RunNote.of(self.run_id, now, detail), self.epoch))
        #: Tasks with attempts given up after their timeout still running: the
        #: run ends without them, and says so.
        self.abandoned = tuple(sorted(n for n, count in self._ghosts.items() if count > 0))
        if self.abandoned:
            notes.append((RunNote.of(self.run_id, now, Abandoned(self.abandoned)), self.epoch))
        if self._took or self._long:
            self._remember_durations(now)
        if self._end_note is not None:  # the note of the run this one is part of
            failed_items = sum(len(items) for items in self.failed_items.values())
            notes.append(self._end_note(state, error, failed_items))
        # The last records (see _must_write), the notes and the state: one write,
        # which ends the lease too: nobody drives the run once it stopped.
        s = self.scheduler
        records, encoded = s.records, s.encoded
        s.records, s.encoded = [], {}
        self.journal.set_run_state(
            self.run_id,
            state,
            now,
            error,
            epoch=self.epoch,
            records=records,
            encoded=encoded or None,
            notes=notes,
        )
        if records and self._transition_hooks:
            self._tell_transitions(records)
        if self._observers:
            notify(self._observers, "run_ended", self.run_id, state, error)
        return state, outcome

    def _remember_durations(self, now: float) -> None:
        """Tell the journal which events ran long this run, for the next runs' pools."""
        record = getattr(self.journal, "record_durations", None)
        attempts = ((view.event, view.attempts) for view in self.views.values())
        durations = measured(self._took, attempts, self._long)
        if record is None or not durations:
            return
        try:
            record(durations, now)
        except StoreError as exc:  # advisory: the run's own records matter, not this
            log.warning("could not record how long attempts took: %s", exc)
        forget(self.journal)

    def _stop_asked(self) -> None:
        """Another process asked this run to stop (heard from the journal's thread):
        look at the request now."""
        self._next_poll = 0.0
        self._wake.set()

    def _poll_stop_request(self, scheduler: Scheduler) -> None:
        """Act on a cancel or pause another process asked for through the journal."""
        asked = self.journal.stop_requested(self.run_id)
        if asked is RunState.CANCELLED:
            scheduler.cancel()
            self._withdraw_waiting()
            who = who_cancelled(self.journal.load_notes(self.run_id))
            self._cancelled_by = who or "cancelled on request"
            note = RunNote.of(self.run_id, self.clock(), CancelRequested())
            self.journal.add_note(note, epoch=self.epoch)
        elif asked is RunState.PAUSED:
            who = who_paused(self.journal.load_notes(self.run_id))
            scheduler.pause(who or "paused on request")

    def _run_info(self) -> RunInfo:
        return RunInfo(
            self.run_id,
            self.workflow,
            self.plan.node_infos,
            resumed=self._resumed,
            notes=self._earlier_notes,
            note=self._observer_note,
        )

    def _observer_note(self, detail: NoteDetail) -> None:
        """Journal a note an observer keeps with the run (the runner writes it)."""
        self.journal.add_note(RunNote.of(self.run_id, self.clock(), detail), epoch=self.epoch)

    def _pool_resized(self, name: str, workers: int, reason: str = "") -> None:
        """A pool the run uses changed size (any thread): tell the observers, and keep
        it with the run (journaled by the lock's holder, with the next write)."""
        # A size heard as the run starts is no change: journaling it would cost every
        # run of a long-lived workflow a write.
        if not self._closed and reason != "started":
            detail = PoolResized(name, workers, reason)
            self._resizes.append(RunNote.of(self.run_id, self.clock(), detail))
        notify(self._observers, "pool_resized", self.run_id, name, workers, reason)

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
            abandoned=self.abandoned,
            failed_items=dict(self.failed_items),
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
                if self._gpu_waiting:
                    self._place_waiting(now)
                scheduler = self.scheduler
                timers = scheduler.timers
                while timers and timers[0][0] <= now:
                    _, _, frame = heapq.heappop(timers)
                    scheduler.begin_attempt(frame)
                if now >= self._next_poll:
                    self._next_poll = now + CANCEL_POLL_S
                    if scheduler.halt is None:
                        self._poll_stop_request(scheduler)
                if self._stop is not None and self._stop.count > self._stop_seen:
                    self._stopping(now)
                if self._stop_due is not None and now >= self._stop_due and self._running:
                    self._cut_short()
                if now >= self._next_beat and self.epoch is not None:
                    # Fenced when another process took the run over: it ends here.
                    self._next_beat = now + HEARTBEAT_S
                    self.journal.heartbeat(self.run_id, self.epoch, time.time())
                self._step()
                if self._finished():
                    return
            self._pump()

    def _wait_time(self) -> float:
        due = self._next_poll  # (the heartbeat is due on a poll: it is the longer period)
        timers = self.scheduler.timers
        if timers:
            due = min(due, timers[0][0])
        if self._flush_due is not None:
            due = min(due, self._flush_due)
        if self._deadlines:
            due = min(due, self._deadlines[0][0])
        if self._stop_due is not None:
            due = min(due, self._stop_due)
        for entry in self._gpu_waiting:  # a GPU that may fall back to the CPU
            if entry[4] is not None:
                due = min(due, entry[4])
        return max(due - time.monotonic(), 0.0)

    # ------------------------------------------------------------- stopping

    def _stopping(self, now: float) -> None:
        """A stop request: the first halts the run (grace for what runs), a second cuts."""
        assert self._stop is not None
        first = self._stop_seen == 0
        self._stop_seen = self._stop.count
        if first:
            self.scheduler.cancel()
            self._stop_due = now + self._stop.grace_s
        if self._stop_seen > 1 and self._running:
            self._cut_short()

    def _cut_short(self) -> None:
        """End the run now: what still runs is left RUNNING in the journal (cut off)."""
        running = TaskState.RUNNING
        self._cut_off = [node for node, view in self.views.items() if view.state is running]
        self._running = 0
        self._abandoned = True
        self._closed = True  # their completions, should they come, are dropped
        self._deadlines.clear()
        self._gpu_waiting.clear()

    def _withdraw_waiting(self) -> None:
        """A cancelled run takes back its attempts still waiting on a cluster (not
        started on a worker): they are left RUNNING in the journal, cut off, and a
        resume runs them.  Those already running finish, as on any executor."""
        by_executor: dict[Any, list[str]] = {}
        for key, (_frame, _token, withdraw) in self._withdrawable.items():
            by_executor.setdefault(withdraw, []).append(key)
        for withdraw, keys in by_executor.items():
            for key in withdraw(keys):
                frame, token, _ = self._withdrawable.pop(key)
                if token != frame.token:
                    continue  # that attempt ended meanwhile
                frame.token += 1  # its end, should it come, is dropped
                self._running -= 1
                self._cut_off.append(frame.node.task.id)

    def _stop_reason(self) -> str:
        return self._stop.reason if self._stop is not None and self._stop.reason else "a stop"

    def _finished(self) -> bool:
        s = self.scheduler
        if self._running or s.timers or s.starts or s.done or s.notes:
            return False
        if s.outcome is not None:
            return True  # its last records, if any, are written with its end
        if s.records:
            return False
        if s.halt is not None:
            return True
        raise RunError(f"run {self.run_id} stalled: nothing running, nothing to do")

    def _step(self) -> None:
        """Decide, journal, act: call with the lock held."""
        s = self.scheduler
        while True:
            if s.starts or s.done:
                s.decide()
            self._flush()
            if not (s.starts or s.done):
                return

    def _on_done(
        self, frame: TaskFrame, token: int, result: Any, error: BaseException | None
    ) -> None:
        """Completion callback of every attempt; runs in the executor's thread.

        With the lock free (a chain, or a group's members finishing apart) the
        completion is handled here and now; otherwise it waits in the inbox
        for the thread holding the lock (see :meth:`_pump`).
        """
        if self._lock.acquire(False):  # (positional: a keyword costs more, once per task)
            self._handle(frame, token, result, error)
        else:
            self._inbox.put((frame, token, result, error))
        if not self._inbox.empty():  # arrived while another thread, or this one, held the lock
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
            self._handle()

    def _handle(
        self,
        frame: TaskFrame | None = None,
        token: int = 0,
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        """With the lock held: take the inbox's completions, then ``frame``'s (if
        given); decide, journal, act; release the lock."""
        try:
            if self._error is None:
                if not self._inbox.empty():
                    self._drain_inbox()  # earlier arrivals first
                if frame is not None:
                    self._on_attempt_done(frame, token, result, error)
                self._step()
                if not self._running and self._finished():
                    self._wake.set()
        except BaseException as exc:  # surfaced by the calling thread
            self._error = exc
            self._wake.set()
        finally:
            self._lock.release()

    def _drain_inbox(self) -> None:
        # Only the lock holder takes from the inbox, so "not empty" means an
        # item is there (and no queue.Empty is raised on every drain).
        inbox = self._inbox
        while not inbox.empty():
            self._on_attempt_done(*inbox.get_nowait())

    def _flush(self) -> None:
        s = self.scheduler
        if self._ahead and s.submits:  # tasks a chain's call already ran
            self._take_ahead()
        resizes = self._resizes
        while resizes:  # rare: a pool grew or shrank since the last write
            s.notes.append(resizes.popleft())
        if s.notes:  # rare: written as soon as decided, before the records
            notes, s.notes = s.notes, []
            for note in notes:
                self.journal.add_note(note, epoch=self.epoch)
        if s.records and (s.submits or self._must_write()):
            self._flush_due = None
            records, s.records = s.records, []
            if s.encoded:
                encoded, s.encoded = s.encoded, {}
                self.journal.record(records, encoded, epoch=self.epoch)
            else:
                self.journal.record(records, epoch=self.epoch)
            if self._transition_hooks:
                self._tell_transitions(records)
        if s.submits:
            submits, s.submits = s.submits, []
            if self._long:
                self._expect_long(submits)
            for frame in submits:
                self._submit(frame)
            if self._to_flush:  # a cluster's submits of this step, sent as one
                flushes, self._to_flush = self._to_flush, set()
                for flush in flushes:
                    flush()

    def _tell_transitions(self, records: list[TaskRecord]) -> None:
        """Tell the observers that watch transitions of records just journaled."""
        for gate, tell in self._transition_hooks:
            if gate.open:
                try:
                    tell(self.run_id, records)
                except Exception:
                    observer_failed(getattr(tell, "__self__", tell), "transitions")

    def _expect_long(self, frames: list[TaskFrame]) -> None:
        """Tell the pools of the attempts about to be submitted that ran long in earlier
        runs: they grow for them at once (see :mod:`.durations`)."""
        long, counts = self._long, collections.Counter[Executor]()
        for frame in frames:
            if frame.node.spec.key in long:
                counts[self._executor(frame.node)] += 1
        for executor, count in counts.items():
            expect = getattr(executor, "expect_long", None)
            if expect is not None:
                expect(count)

    def _must_write(self) -> bool:
        """Whether the pending records must be journaled now.

        Always before acting on them (submitting an attempt, ending the run,
        sleeping on a retry timer).  Completions that lead to no action (a
        parallel member finishing while its siblings run) may wait a little
        so that those arriving together share one transaction; the calling
        thread is woken to write them within ``GROUP_COMMIT_S`` at the latest.
        """
        s = self.scheduler
        if s.submits or s.halt is not None:
            return True
        if s.outcome is not None:
            # Once nothing runs, the run's last records go with its end, in one
            # write (see execute): nothing is acted on before that.
            return self._running > 0
        if self._running == 0 or len(s.records) >= GROUP_COMMIT_MAX:
            return True
        now = time.monotonic()
        if self._flush_due is None:
            self._flush_due = now + GROUP_COMMIT_S
            self._wake.set()
            return False
        return now >= self._flush_due

    def _context(self, frame: TaskFrame) -> Context:
        """The Context of the frame's current attempt."""
        node = frame.node
        node_id = node.task.id
        carrier = attempt_carrier(self._carriers, self.run_id, node_id) if self._carriers else None
        fields = (self.run_id, node_id, node.spec.key, self.views[node_id].attempts,
                  self.inputs, frame.piped, carrier, node.extras, (), self.batch,
                  self.results)  # fmt: skip
        return tuple.__new__(Context, fields)  # one per attempt: skip the named tuple's __new__

    def _submit(self, frame: TaskFrame) -> None:
        node = frame.node
        ctx = self._context(frame)
        executor = self._executor(node)
        frame.token += 1
        self._running += 1
        timeout = node.policy.timeout_s
        # An executor with submit_timed stops an attempt that runs too long (a
        # process is ended and replaced): nothing of it runs on in the background.
        if timeout is not None and not hasattr(executor, "submit_timed"):
            due = time.monotonic() + timeout
            heapq.heappush(self._deadlines, (due, next(self._deadline_seq), frame, frame.token))
            self._wake.set()  # the calling thread may be asleep past this deadline
            if frame.ghosts:
                # Its previous attempt, given up after its timeout, still runs:
                # this one waits for it rather than running beside it (within
                # its own timeout, which then fails it unstarted).
                frame.held = True
                return
        self._dispatch(frame, ctx, executor)

    def _dispatch(self, frame: TaskFrame, ctx: Context, executor: Executor) -> None:
        """Hand the attempt to its executor, once it has its GPUs if it wants some
        (a cluster's attempt asks its workers for them instead)."""
        if frame.node.spec.resources.wants_gpu and frame.node.executor not in CLUSTER:
            self._place(frame, ctx, executor)
        else:
            self._hand_over(frame, ctx, executor)

    def _hand_over(
        self, frame: TaskFrame, ctx: Context, executor: Executor, placed: bool = False
    ) -> None:
        """Submit the attempt (``placed``: on the GPUs in ``ctx.gpus``, or none: the CPU)."""
        node = frame.node
        done = partial(self._on_done, frame, frame.token)
        if node.sub is not None:  # a sub-workflow: its child run, on a thread of this process
            self._run_child(frame, ctx, executor, done)
            return
        fn: Callable[..., Any] = _attempt_fn(node)
        args: tuple[Any, ...] = (node.spec, ctx)
        if placed and not executor.capacity().in_process:
            # In a worker process: CUDA_VISIBLE_DEVICES names the attempt's GPUs there.
            fn, args = run_on_devices, (fn, node.spec, ctx)
        elif self._elsewhere(executor) and not node.spec.is_async:
            self._ship(executor, node.spec)
            sent = self._sent(node.spec)
            if sent is not None:  # the spec once as bytes, the context as a tuple
                chained = self._chained(frame, ctx, executor) if self._fuse else None
                if chained is not None:  # with the tasks after it, in one call
                    fn, args = run_chain, (sent, *chained)
                    done = partial(self._on_chain_done, frame, frame.token)
                else:
                    fn, args = run_sent, (sent, tuple(self._needed(node.spec, ctx)))
        timeout = node.policy.timeout_s
        stopping = getattr(executor, "submit_timed", None) if timeout is not None else None
        if stopping is not None:
            stopping(fn, args, done, timeout)
        else:
            named = self._named.get(executor, False)
            if named is False:  # asked once per executor: most have no names
                named = self._named[executor] = getattr(executor, "submit_named", None)
            if named is not None:  # a cluster shows the attempt as RUN-NODE-ATTEMPT
                flush = self._flushes.get(executor, False)
                if flush is False:
                    flush = self._flushes[executor] = getattr(executor, "flush", None)
                if flush is not None:
                    self._to_flush.add(flush)
                key = f"{ctx.run_id}-{ctx.node_id}-{ctx.attempt}"
                withdraw = getattr(executor, "withdraw_waiting", None)
                if withdraw is not None:
                    self._withdrawable[key] = (frame, frame.token, withdraw)
                needs = cluster_resources(node.spec) if node.executor in CLUSTER else None
                if needs:  # GPUs and memory, asked of the workers that declare them
                    self._placed(frame, needs_text(needs))
                    named(fn, args, done, key, resources=needs)
                else:
                    named(fn, args, done, key)
            else:
                executor.submit(fn, args, done)

    def _run_child(self, frame: TaskFrame, ctx: Context, executor: Executor, done: Any) -> None:
        """Submit a sub-workflow's attempt: its child run (see .subflows)."""
        node = frame.node
        assert node.sub is not None
        key = (node.task.id, frame.round)
        cut_off = key in self._cut_off_subs
        self._cut_off_subs.discard(key)
        # A cancel of this run withdraws the attempt as it does a cluster's waiting
        # ones: the child is asked to stop (it ends cancelled), the node is cut off,
        # and a resume takes the same child up again.
        stop = StopRequest()
        named = f"{ctx.run_id}-{ctx.node_id}-{ctx.attempt}"
        self._child_stops[named] = stop
        self._withdrawable[named] = (frame, frame.token, self._stop_children)
        sub_args = (self.journal, ctx, frame.round, cut_off, node.piped_in, stop)
        executor.submit(node.sub.attempt, sub_args, done)

    def _stop_children(self, keys: list[str]) -> list[str]:
        """Withdraw running sub-workflow attempts: ask their child runs to stop."""
        for key in keys:
            stop = self._child_stops.pop(key, None)
            if stop is not None:
                stop.request("its parent run was cancelled")
        return keys

    def _elsewhere(self, executor: Executor) -> bool:
        """Whether the executor runs attempts in another process (asked once each)."""
        found = self._remote.get(executor)
        if found is None:
            found = self._remote[executor] = not executor.capacity().in_process
        return found

    def _ship(self, executor: Executor, spec: EventSpec) -> None:
        """Hand an executor that can ship code to its workers (``ship_module``) the
        events file of ``spec``, once: workers elsewhere cannot read it by path."""
        ship = self._shippers.get(executor, False)
        if ship is False:  # asked once per executor: most cannot ship
            ship = self._shippers[executor] = getattr(executor, "ship_module", None)
        if ship is None or id(spec) in self._shipped:
            return
        self._shipped.add(id(spec))
        found = file_module(spec)
        if found is not None:
            ship(*found)

    def _needed(self, spec: EventSpec, ctx: Context) -> Context:
        """``ctx`` with only the inputs ``spec`` takes, for an attempt sent to another
        process (a batch given to the first step is not pickled again for the next);
        all of them for an event that takes ``ctx`` or ``**kwargs``, which may read any."""
        names = spec.input_names
        if names is None or len(names) == len(self.inputs):
            return ctx
        trimmed = self._trimmed.get(id(spec))
        if trimmed is None:
            inputs = self.inputs
            trimmed = self._trimmed[id(spec)] = {k: inputs[k] for k in names if k in inputs}
        return ctx._replace(inputs=trimmed)

    def _chained(
        self, frame: TaskFrame, ctx: Context, executor: Executor
    ) -> tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]] | None:
        """The context and the tasks after it of a chain's call led by ``frame``'s
        attempt (see .chains), or None: it goes alone."""
        node_id = frame.node.task.id
        chain = self.plan.chains.get(node_id)
        if chain is None or self._carriers or node_id in self._alone:
            return None
        named = self._named.get(executor, False)
        if named is False:
            named = self._named[executor] = getattr(executor, "submit_named", None)
        if named is not None:
            return None  # a cluster's: each attempt is a task of its own there
        inputs = self._chain_inputs.get(node_id)
        if inputs is None:
            names, inputs = chain.inputs, self.inputs
            if names is not None:
                inputs = {k: inputs[k] for k in names if k in inputs}
            self._chain_inputs[node_id] = inputs
        rest: list[tuple[Any, ...]] = []
        views, alone = self.views, self._alone
        for link in chain.links:
            after = link.node
            view = views[after.task.id]
            if view.state is not TaskState.PENDING or view.attempts or after.task.id in alone:
                break  # it ran before (a resume, a retry): the engine decides it
            sent = self._sent(after.spec)
            if sent is None:
                break
            rest.append((sent, after.task.id, after.spec.key, after.extras, link.piped))
        if not rest:
            return None
        return tuple(ctx._replace(inputs=inputs)), tuple(rest)

    def _on_chain_done(
        self, frame: TaskFrame, token: int, steps: Any, error: BaseException | None
    ) -> None:
        """Completion callback of a chain's call: its outcomes, or (the call failed as a
        whole) :data:`_ALONE`, to send its first task again on its own."""
        self._on_done(frame, token, steps if error is None else _ALONE, None)

    def _chain_returned(self, frame: TaskFrame, steps: list[Any]) -> None:
        """A chain's call ended: its first task's outcome now, the later ones' as the
        scheduler starts them (:meth:`_take_ahead`); each at the time it ended."""
        for result, at, node_id in steps[1:]:
            self._ahead[node_id] = (frame.round, result, at)
        result, at, _ = steps[0]
        s = self.scheduler
        s.clock = _pinned(at)
        try:
            self._attempt_ended(frame, tuple.__new__(AttemptResult, result), None)
        finally:
            s.clock = self.clock

    def _take_ahead(self) -> None:
        """Instead of submitting a task a chain's call already ran, hand the scheduler its
        outcome, at the time it ended: its records join the pending ones, journaled
        together before anything after them is submitted (see .chains)."""
        s, ahead, views = self.scheduler, self._ahead, self.views
        while ahead and s.submits:
            submits, s.submits = s.submits, []
            kept: list[TaskFrame] = []
            for frame in submits:
                node_id = frame.node.task.id
                entry = ahead.pop(node_id, None)
                if entry is None or entry[0] != frame.round or views[node_id].attempts != 1:
                    kept.append(frame)
                    continue
                _round, result, at = entry
                frame.token += 1
                self._running += 1
                s.clock = _pinned(at)
                try:
                    self._on_attempt_done(frame, frame.token, result, None)
                finally:
                    s.clock = self.clock
            taken = len(kept) < len(submits)
            s.submits[:0] = kept
            if not taken:
                return

    def _sent(self, spec: EventSpec) -> bytes | None:
        """The spec pickled, once per run (see :func:`run_sent`)."""
        key = id(spec)  # the plan keeps every spec alive, and is shared by its runs
        sent = self.plan.sent
        if key not in sent:
            sent[key] = sendable(spec)
        return sent[key]

    def _withdraw(self, node: NodePlan, attempt: int) -> None:
        """Tell an executor that can take an attempt back (``give_up``, a cluster's) that
        this one is given up: it withdraws it, or stops it where it can."""
        give_up = getattr(self._executor(node), "give_up", None)
        if give_up is not None:
            give_up(f"{self.run_id}-{node.task.id}-{attempt}")

    def _ghost_ended(self, frame: TaskFrame) -> None:
        """An attempt given up after its timeout has returned (its result is dropped)."""
        frame.ghosts -= 1
        self._ghosts[frame.node.task.id] -= 1
        if frame.held and not frame.ghosts:  # the attempt that waited for it starts now
            frame.held = False
            self._dispatch(frame, self._context(frame), self._executor(frame.node))

    # ------------------------------------------------------------------ GPUs

    def _place(self, frame: TaskFrame, ctx: Context, executor: Executor) -> None:
        """Give the attempt its GPUs and hand it over, run it on the CPU, or let it wait."""
        if self._devices is None:
            self._devices = device_slots()
        slots, res = self._devices, frame.node.spec.resources
        if frame in self._cpu_next:  # its last attempt ran out of GPU memory
            self._cpu_next.discard(frame)
            self._on_cpu(frame, ctx, executor, "the GPU ran out of memory")
            return
        if self._take_gpus(frame, frame.token, ctx, executor):
            return
        if res.gpu == "prefer":
            why = (
                "this machine has no GPU" if not slots.devices
                else "no GPU here is big enough" if not slots.fits(res.gpus, res.gpu_memory_mb)
                else "none free" if res.gpu_wait_s <= 0
                else None
            )  # fmt: skip
            if why is not None:
                self._on_cpu(frame, ctx, executor, why)
                return
        due = time.monotonic() + res.gpu_wait_s if res.gpu == "prefer" else None
        self._gpu_waiting.append((frame, frame.token, ctx, executor, due))
        if not self._listening:  # woken when any run in this process gives GPUs back
            self._listening = True
            slots.listen(self._wake.set)

    def _take_gpus(self, frame: TaskFrame, token: int, ctx: Context, executor: Executor) -> bool:
        """Hand the attempt over on the GPUs it wants, if they are free now."""
        assert self._devices is not None
        res = frame.node.spec.resources
        ids = self._devices.acquire(res.gpus, res.gpu_memory_mb)
        if ids is None:
            return False
        self._held[(frame, token)] = ids
        where = f"gpu{'s' if len(ids) > 1 else ''} {','.join(map(str, ids))}"
        self._placed(frame, where + (f" ({res.gpus:g} of it)" if res.gpus < 1 else ""))
        self._hand_over(frame, ctx._replace(gpus=ids), executor, placed=True)
        return True

    def _on_cpu(self, frame: TaskFrame, ctx: Context, executor: Executor, why: str) -> None:
        self._placed(frame, f"cpu (fallback: {why})")
        self._hand_over(frame, ctx, executor, placed=True)

    def _placed(self, frame: TaskFrame, where: str) -> None:
        frame.placement = where
        self.views[frame.node.task.id].placement = where

    def _place_waiting(self, now: float) -> None:
        """With the lock held: place the attempts waiting for GPUs that can go now."""
        waiting, self._gpu_waiting = self._gpu_waiting, []
        for entry in waiting:
            frame, token, ctx, executor, due = entry
            if token != frame.token or self._closed:
                continue  # given up (its timeout, a stop) while it waited
            if self._take_gpus(frame, token, ctx, executor):
                continue
            if due is not None and now >= due:
                wait = frame.node.spec.resources.gpu_wait_s
                self._on_cpu(frame, ctx, executor, f"none free after {wait:g}s")
            else:
                self._gpu_waiting.append(entry)

    def _out_of_gpu_memory(self, frame: TaskFrame, result: AttemptResult) -> AttemptResult:
        """A ``gpu="prefer"`` attempt that ran out of GPU memory is tried again on the
        CPU, from the same inputs, and that attempt does not count against its retries."""
        res = frame.node.spec.resources
        placement = frame.placement or ""
        if res.gpu != "prefer" or not placement.startswith("gpu") or not _is_gpu_oom(result):
            return result
        self._cpu_next.add(frame)
        frame.failures -= 1  # the scheduler counts this failure: the CPU try is extra
        error = result.error
        why = f"{error.type}: {error.message}" if error is not None else "out of memory"
        retry = TransientError(f"the GPU ran out of memory ({why}); trying again on the CPU")
        return result._replace(exception=retry)

    def _release(self, frame: TaskFrame, token: int) -> None:
        """An attempt that held GPUs ended: give them back (whoever waits is told)."""
        ids = self._held.pop((frame, token), None)
        if ids is not None and self._devices is not None:
            res = frame.node.spec.resources
            self._devices.release(ids, res.gpus, res.gpu_memory_mb)

    def _executor(self, node: NodePlan) -> Executor:
        """The executor a node's attempts run on: the caller's for its name, else a pool.

        A node with a pool size (``executor_config``) gets a pool of its own
        size; the others share one per executor name, kept for the next ones.
        """
        name = node.executor
        executor = self.executors.get(name)
        if executor is not None and (node.pool_size is None or name in self._given):
            return executor
        settings = self._pool_settings.get(name)
        memory_mb = node.spec.resources.memory_mb
        if memory_mb is not None:  # workers started with the event's limit
            size = node.pool_size or self._max_workers
            return self._pools.get(name, size, memory_mb, settings)
        if node.pool_size is not None:
            return self._pools.get(name, node.pool_size, None, settings)
        executor = self._pools.get(name, self._max_workers, None, settings)
        self.executors[name] = executor
        return executor

    # ---------------------------------------------------------- completing

    def _on_attempt_done(
        self, frame: TaskFrame, token: int, result: Any, crash: BaseException | None
    ) -> None:
        if self._held:
            self._release(frame, token)
        if token != frame.token or self._closed:
            if token != frame.token and frame.ghosts:
                self._ghost_ended(frame)
            return  # given up after its timeout, or cut off: already counted out
        self._running -= 1
        if self._withdrawable:
            node_id = frame.node.task.id
            key = f"{self.run_id}-{node_id}-{self.views[node_id].attempts}"
            self._withdrawable.pop(key, None)
            self._child_stops.pop(key, None)
        if type(result) is tuple:  # from run_sent, in another process
            result = tuple.__new__(AttemptResult, result)
        elif type(result) is list:  # a chain's outcomes, from run_chain
            self._chain_returned(frame, result)
            return
        elif result is _ALONE:  # this chain's tasks go alone from now on
            node_id = frame.node.task.id
            self._alone.add(node_id)
            self._alone.update(link.node.task.id for link in self.plan.chains[node_id].links)
            self._submit(frame)
            return
        self._attempt_ended(frame, result, crash)

    def _attempt_ended(
        self, frame: TaskFrame, result: AttemptResult, crash: BaseException | None
    ) -> None:
        """An attempt's outcome (or how its executor failed), judged, encoded and
        handed to the scheduler."""
        if crash is None and result.seconds:  # a long attempt: remembered for the next runs
            key = frame.node.spec.key
            self._took[key] = self._took.get(key, 0.0) + result.seconds
        if crash is not None:  # the executor itself failed (a worker died, pickling ...)
            if isinstance(crash, Unpicklable):
                crash = unpicklable(frame.node, self._context(frame), crash)
            result = AttemptResult(0, None, error_info(crash), crash)
        elif result.logs:  # the attempt's log lines, kept with the run
            self.journal.add_logs(result.logs, epoch=self.epoch)
        node = frame.node
        if result.descriptor == 0 and frame.placement is not None:
            result = self._out_of_gpu_memory(frame, result)
        if result.descriptor != 0 and node.evaluation is not None:
            result = judge(node, result)
        partial = result.failed_items or node.task.id in self.failed_items
        if partial and result.descriptor != 0 and not self._note_failed_items(frame, result):
            return
        value = result.result
        if type(value) in _SCALARS:  # every journal keeps these as they are
            self.scheduler.attempt_ended(frame, result)
            return
        try:
            encoded = self.journal.encode_result(node.task.id, value)
        except UnencodableResult as exc:
            if result.descriptor == 0:  # a failure's value: the failure is kept without it
                self.scheduler.attempt_ended(frame, result, UNSTORABLE)
                return
            error = ErrorInfo(
                "UnencodableResult",
                f"{exc} (event {node.spec.key}; return JSON-friendly data, "
                "or configure a codec for this type)",
            )
            self.scheduler.result_unstorable(frame, error)
            return
        results = self.results
        if results is not None and type(encoded) is tuple and node.spec.store_result != "journal":
            data, codec = encoded
            # Kept beside the journal; a reference (the attempt kept it) stays as it is.
            if data is not None and len(data) > results.threshold and codec != "ref":
                encoded = self._kept_outside(frame, data, codec, results)
                if encoded is None:
                    return
        self.scheduler.attempt_ended(frame, result, encoded)

    def _kept_outside(
        self, frame: TaskFrame, data: bytes | str, codec: str, results: ResultStore
    ) -> Any:
        """A result the journal encoded larger than the store's threshold, written to
        the result store: the reference, encoded for the journal.  None when the
        store cannot be written (the task fails, saying why)."""
        node_id = frame.node.task.id
        try:
            ref = results.put_encoded(data, codec, self.run_id, node_id)
        except OSError as exc:
            error = ErrorInfo(
                "ResultStoreError",
                f"the result of {node_id} ({len(data)} bytes) cannot be written to the "
                f"result store at {results.location}: {exc}",
            )
            self.scheduler.result_unstorable(frame, error)
            return None
        return self.journal.encode_result(node_id, ref)

    def _note_failed_items(self, frame: TaskFrame, result: AttemptResult) -> bool:
        """Note the items a succeeding attempt reports failed (none: it clears what an
        earlier attempt reported).  False when their keys are not JSON data: the
        task fails instead, as with a result the journal cannot keep."""
        node_id, items = frame.node.task.id, result.failed_items
        try:
            json.dumps([key for key, _why in items])
        except (TypeError, ValueError) as exc:
            error = ErrorInfo(
                "UnencodableResult",
                f"the keys of the failed items that {frame.node.spec.key} reported are not "
                f"JSON data ({exc}); use the item itself, or an id, as its key",
            )
            self.scheduler.result_unstorable(frame, error)
            return False
        attempt = self.views[node_id].attempts
        self.scheduler.notes.append(
            RunNote.of(self.run_id, time.time(), ItemsFailed(node_id, attempt, items))
        )
        if items:
            self.failed_items[node_id] = items
        else:
            self.failed_items.pop(node_id, None)
        return True

    def _expire(self, now: float) -> None:
        """Fail the attempts that outlived their timeout; their late results are ignored."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, _, frame, token = heapq.heappop(deadlines)
            if token != frame.token:
                continue  # that attempt ended in time
            frame.token += 1
            self._running -= 1
            node = frame.node
            attempt = self.views[node.task.id].attempts
            if frame.held:  # it never started: the attempt before it still runs
                frame.held = False
                exc = TimeoutError(
                    f"attempt {attempt} of {node.task.id} ({node.spec.key}) was not started "
                    f"within its {node.policy.timeout_s:g} s timeout: attempt {attempt - 1}, "
                    "given up after its timeout, still runs, and the two never run at once"
                )
            else:
                frame.ghosts += 1
                self._ghosts[node.task.id] += 1
                self._abandoned = True
                self._withdraw(node, attempt)
                exc = TimeoutError(
                    f"attempt {attempt} of {node.task.id} ({node.spec.key}) ran past its "
                    f"{node.policy.timeout_s:g} s timeout; it was given up (its "
                    f"{node.executor} worker cannot be interrupted: the attempt finishes in "
                    "the background, its result is ignored, and the next attempt of the "
                    "task waits for it)"
                )
            self.scheduler.attempt_ended(frame, AttemptResult(0, None, error_info(exc), exc))


#: How a GPU's out-of-memory failure reads (PyTorch, CUDA, cuBLAS, cuDNN, NVML).
_GPU_OOM_TYPES = ("OutOfMemoryError",)
_GPU_OOM_TEXTS = (
    "cuda out of memory",
    "cuda error: out of memory",
    "cublas_status_alloc_failed",
    "cudnn_status_alloc_failed",
    "cudaerrormemoryallocation",
    "nvml_error_memory",
)


def _is_gpu_oom(result: AttemptResult) -> bool:
    """Whether an attempt failed for want of GPU memory."""
    error = result.error
    if error is None:
        return False
    if error.type.rsplit(".", 1)[-1] in _GPU_OOM_TYPES:
        return True
    text = error.message.lower()
    return any(marker in text for marker in _GPU_OOM_TEXTS)


def _pinned(at: float) -> Callable[[], float]:
    """A clock that always says ``at``: the scheduler's, while it hears what a chain's
    call ran (its records then bear the times the worker saw)."""
    return lambda: at


def _attempt_fn(node: NodePlan) -> Callable[..., Any]:
    """What an executor is handed to run one attempt: a coroutine function for an async event."""
    return run_attempt_async if node.spec.is_async else run_attempt


def earlier_failed_items(notes: cabc.Sequence[RunNote]) -> dict[str, tuple[tuple[Any, str], ...]]:
    """Node id -> the failed items its latest ItemsFailed note names (none: left out)."""
    out: dict[str, tuple[tuple[Any, str], ...]] = {}
    wanted = NoteKind.ITEMS_FAILED.value
    for note in notes:
        if note.kind == wanted:
            detail = note.read()
            if isinstance(detail, ItemsFailed):
                if detail.items:
                    out[detail.node] = detail.items
                else:
                    out.pop(detail.node, None)
    return out


def file_module(spec: EventSpec) -> tuple[str, str, bytes] | None:
    """(module name, path, the text loaded) of the events file ``spec`` came from;
    None for an event of an importable module."""
    import sys

    name = getattr(spec.target, "__module__", "") or ""
    if not name.startswith(FILE_MODULE_PREFIX):
        return None
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    source = getattr(module, SOURCE_ATTRIBUTE, None)
    if not path or not isinstance(source, bytes):
        return None
    return name, path, source


def cluster_resources(spec: EventSpec) -> dict[str, float]:
    """What an attempt asks of a cluster's workers (Dask worker resources): ``GPU``
    (devices, or a share of one) and ``MEMORY`` (bytes); empty when it needs neither."""
    res = spec.resources
    needs: dict[str, float] = {}
    if res.gpus:
        needs["GPU"] = float(res.gpus)
    if res.memory_mb is not None:
        needs["MEMORY"] = float(res.memory_mb * 2**20)
    return needs


def needs_text(needs: dict[str, float]) -> str:
    """``GPU=1, MEMORY=64 MiB``: what an attempt asked of a cluster's workers."""
    return ", ".join(
        f"{k}={v / 2**20:g} MiB" if k == "MEMORY" else f"{k}={v:g}" for k, v in needs.items()
    )

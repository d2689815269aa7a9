"""Firing schedules: each due slot becomes one run, never two.

A slot's run has an id made of the schedule's name and the slot
(``nightly-20261207T020000Z``), and the journal refuses a second run with an
id it has: whichever scheduler creates the run first fires the slot, and any
other (a second server on the same PostgreSQL journal, a server restarted
mid-tick) finds the id taken and moves on.  So a slot never fires twice, by
construction rather than by coordination.

A tick, for each schedule: read its state (:mod:`.state`), find the slots
due since the last one handled, choose by ``catch_up`` which of them fire,
start their runs (each in a thread of its own), then keep the new state by
compare-and-set.  The runs are created before the state says their slots
are handled, so a crash between the two loses no slot: the next tick tries
the slot again, and finds its run there.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from ..config.schedules import Schedule
from ..engine.owners import DRIVEN_HERE, owner_alive, user_name
from ..engine.stop import StopRequest
from ..errors import RunExists, RunNotFound, StoreError, VolnuxError
from ..notes import Scheduled
from ..states import RunState
from ..store import Journal
from .slots import local_time, next_slot, slots_between
from .state import Keeper, ScheduleState

if TYPE_CHECKING:
    from ..workflow import Workflow

__all__ = ["LATE_S", "Fired", "Scheduler", "overview", "pause_schedule", "slot_run_id"]

log = logging.getLogger("volnux.schedules")

#: A slot is on time this long after it: ``catch_up = "none"`` still fires it.
LATE_S: Final = 60.0
#: The longest a scheduler waits between two looks at the journal (to see a
#: pause or resume another process asked for, and edits of the configuration).
LOOK_S: Final = 2.0


def slot_run_id(name: str, slot: float) -> str:
    """The id of the run of schedule ``name``'s slot ``slot``."""
    return f"{name}-{datetime.fromtimestamp(slot, UTC):%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True, slots=True)
class Fired:
    """What a tick did with one slot of one schedule.

    ``outcome``: ``fired`` (its run started here), ``taken`` (another
    scheduler had started it), ``skipped`` (the previous run still ran),
    ``failed`` (the run could not start: ``detail`` says why).
    """

    schedule: str
    slot: float
    run_id: str
    outcome: str
    detail: str = ""


@dataclass
class Scheduler:
    """Fires the slots of ``schedules`` (a callable: read again on every tick, so
    edits of the configuration take effect) into ``journal``.

    ``prepare`` gives the workflow a schedule runs (parsed, its events
    loaded); ``told`` hears of every slot a tick handled.
    """

    journal: Journal
    schedules: Callable[[], Sequence[Schedule]]
    prepare: Callable[[Schedule], Workflow]
    told: Callable[[Fired], None] = lambda fired: None
    #: Run id -> (the thread driving it, what stops it), for the runs fired here.
    runs: dict[str, tuple[threading.Thread, StopRequest]] = field(default_factory=dict)
    #: Run id -> how its run ended (its state, or the error that ended it).
    ended: dict[str, str] = field(default_factory=dict)
    _halt: threading.Event = field(default_factory=threading.Event)
    _loop: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.keeper = Keeper(self.journal)

    # ------------------------------------------------------------ one tick

    def tick(
        self, now: float | None = None, schedules: Sequence[Schedule] | None = None
    ) -> list[Fired]:
        """Fire every slot due at ``now`` (default: the clock) of ``schedules``
        (default: as the callable gives them now); what was done."""
        now = time.time() if now is None else now
        done: list[Fired] = []
        for schedule in self.schedules() if schedules is None else schedules:
            try:
                done.extend(self._tick_one(schedule, now))
            except StoreError as exc:  # the next tick tries again
                log.error("schedule %s: %s", schedule.name, exc)
        for fired in done:
            self.told(fired)
        return done

    def _tick_one(self, schedule: Schedule, now: float) -> list[Fired]:
        done: list[Fired] = []
        for _ in range(20):
            version, kept = self.keeper.read(schedule.name)
            state = kept or ScheduleState(schedule.timing, since=now)
            if state.timing != schedule.timing:  # edited: from now on, never back
                state = replace(state, timing=schedule.timing, since=now)
            start = state.since if state.last_slot is None else max(state.since, state.last_slot)
            count, due = slots_between(schedule, start, now, schedule.catch_up_limit)
            if state.paused or not due:
                if state != kept and not self.keeper.save(schedule.name, state, version):
                    continue
                return done
            chosen = _chosen(schedule, due, now)
            fired, last = [], state.last_run
            for slot in chosen:
                fired.append(self._fire(schedule, slot, last))
                if fired[-1].outcome in ("fired", "taken"):
                    last = fired[-1].run_id
            done.extend(fired)
            started = [f for f in fired if f.outcome in ("fired", "taken")]
            failed = [f for f in fired if f.outcome == "failed"]
            new = replace(
                state,
                last_slot=due[-1],
                last_run=started[-1].run_id if started else state.last_run,
                skipped=state.skipped + sum(f.outcome == "skipped" for f in fired),
                missed=state.missed + count - len(chosen),
                last_error=failed[-1].detail if failed else ("" if started else state.last_error),
            )
            if self.keeper.save(schedule.name, new, version):
                if count > len(chosen):
                    log.info(
                        "schedule %s: %d missed slot(s) not fired (catch_up = %r)",
                        schedule.name,
                        count - len(chosen),
                        schedule.catch_up,
                    )
                return done
            # Another scheduler kept its state first: read it again.  A slot
            # fired here is found taken if it comes round again.
        raise StoreError(f"schedule {schedule.name} kept changing under this scheduler")

    def _fire(self, schedule: Schedule, slot: float, previous: str | None) -> Fired:
        run_id = slot_run_id(schedule.name, slot)
        if schedule.overlap == "skip" and self._still_runs(previous, run_id):
            log.info("schedule %s: slot %s skipped, its last run still runs", schedule.name, run_id)
            return Fired(schedule.name, slot, run_id, "skipped", "the previous run still runs")
        from ..engine.lifecycle import Execution, drive_opened, open_run

        try:
            workflow = self.prepare(schedule)
            program = workflow.program()
            note = Scheduled(
                schedule.name,
                slot,
                local_time(schedule, slot),
                schedule.timezone,
                os.getpid(),
                socket.gethostname(),
            )
            record, given = open_run(
                program, self.journal, dict(schedule.inputs), run_id=run_id, notes=(note,)
            )
        except RunExists:
            return Fired(schedule.name, slot, run_id, "taken")
        except (VolnuxError, OSError) as exc:
            log.error("schedule %s: slot %s could not start: %s", schedule.name, run_id, exc)
            return Fired(schedule.name, slot, run_id, "failed", str(exc))
        stop = StopRequest()

        def drive() -> None:
            try:
                how = Execution(pools=workflow.pools, stop=stop, pool_settings=None)
                run = drive_opened(program, self.journal, record, given, how)
                self.ended[run_id] = run.state.value
            except Exception as exc:  # the scheduler goes on; the journal shows the run
                log.exception("schedule %s: run %s ended in error", schedule.name, run_id)
                self.ended[run_id] = f"{type(exc).__name__}: {exc}"
            finally:
                workflow.close(wait=False)

        thread = threading.Thread(target=drive, name=f"volnux-schedule-{run_id}", daemon=True)
        with self._lock:
            self.runs[run_id] = (thread, stop)
        thread.start()
        return Fired(schedule.name, slot, run_id, "fired")

    def _still_runs(self, last: str | None, run_id: str) -> bool:
        """True if the schedule's last run ``last`` (other than ``run_id``) still runs."""
        if last is None or last == run_id:
            return False
        with self._lock:
            here = self.runs.get(last)
        if here is not None and here[0].is_alive():
            return True
        try:
            run = self.journal.load_run(last)
        except RunNotFound:
            return False
        if run.state is not RunState.RUNNING:
            return False
        return last in DRIVEN_HERE or owner_alive(run, self.journal.load_notes(last))

    # ------------------------------------------------------------ the loop

    def start(self) -> None:
        """Fire slots as they come, in a thread, until :meth:`stop`."""
        self._halt.clear()
        self._loop = threading.Thread(target=self._forever, name="volnux-scheduler", daemon=True)
        self._loop.start()

    def _forever(self) -> None:
        while not self._halt.is_set():
            now = time.time()
            schedules: Sequence[Schedule] = ()
            try:
                schedules = self.schedules()
                self.tick(now, schedules)
            except Exception:  # a bad edit of the configuration: say so, go on
                log.exception("the scheduler could not fire its slots")
            wake = min((next_slot(s, now) for s in schedules), default=now + LOOK_S)
            self._halt.wait(min(max(wake - time.time(), 0.01), LOOK_S))

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop firing; ask the runs fired here to stop (they end resumable), and wait."""
        self._halt.set()
        if self._loop is not None:
            self._loop.join()
        with self._lock:
            runs = list(self.runs.values())
        for _, stop in runs:
            stop.request("the scheduler stopped")
        deadline = time.monotonic() + grace_s
        for thread, _ in runs:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait(self) -> dict[str, str]:
        """Wait for the runs fired here to end; run id -> how each ended."""
        with self._lock:
            runs = list(self.runs.items())
        for _, (thread, _) in runs:
            thread.join()
        return {run_id: self.ended.get(run_id, "unknown") for run_id, _ in runs}


def _chosen(schedule: Schedule, due: list[float], now: float) -> list[float]:
    """Which of the ``due`` slots (oldest first) fire, by ``catch_up``."""
    if schedule.catch_up == "all":
        return due[-schedule.catch_up_limit :]
    if schedule.catch_up == "latest":
        return due[-1:]
    return due[-1:] if now - due[-1] <= LATE_S else []


def pause_schedule(
    journal: Journal,
    schedule: Schedule,
    paused: bool,
    who: str | None = None,
    now: float | None = None,
) -> ScheduleState:
    """Pause (or resume) ``schedule`` for every scheduler of ``journal``.

    A resumed schedule fires from now: the slots that passed while it was
    paused are not caught up.  ``who`` asked (default: this process's user).
    """
    now = time.time() if now is None else now
    asker = who or user_name()

    def how(state: ScheduleState | None) -> ScheduleState:
        state = state or ScheduleState(schedule.timing, since=now)
        if state.paused == paused:
            return state
        if not paused:  # from now: nothing of the pause fires
            state = replace(state, since=now, last_slot=None)
        return replace(state, paused=paused, changed_by=asker, changed_at=now)

    return Keeper(journal).change(schedule.name, how)


def overview(
    journal: Journal, schedules: Sequence[Schedule], now: float | None = None, count: int = 3
) -> list[dict[str, Any]]:
    """Each schedule as ``volnux schedule list --json`` and the web view show it: its
    timing, its next ``count`` slots (none while paused), its state, its last run's state."""
    now = time.time() if now is None else now
    kept = Keeper(journal).all()
    rows = []
    for schedule in schedules:
        state = kept.get(schedule.name, (0, None))[1] or ScheduleState(schedule.timing, now)
        upcoming: list[float] = []
        if not state.paused:
            slot = now
            for _ in range(count):
                slot = next_slot(schedule, slot)
                upcoming.append(slot)
        last_state = None
        if state.last_run is not None:
            try:
                last_state = journal.load_run(state.last_run).state.value
            except RunNotFound:
                last_state = "gone"
        rows.append(
            {
                "name": schedule.name,
                "workflow": str(schedule.workflow),
                "when": schedule.when,
                "cron": schedule.cron,
                "every": schedule.every,
                "timezone": schedule.timezone,
                "catch_up": schedule.catch_up,
                "overlap": schedule.overlap,
                "inputs": dict(schedule.inputs),
                "paused": state.paused,
                "next": [{"slot": s, "local": local_time(schedule, s)} for s in upcoming],
                "last_run": state.last_run,
                "last_run_state": last_state,
                "last_slot": state.last_slot,
                "skipped": state.skipped,
                "missed": state.missed,
                "last_error": state.last_error,
                "changed_by": state.changed_by,
                "changed_at": state.changed_at,
            }
        )
    return rows

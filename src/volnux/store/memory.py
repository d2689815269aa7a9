"""An in-memory journal: for tests and throwaway runs; gone with the process."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import Fenced, RunClaimed, RunExists, RunNotFound, StoreError
from ..states import RunState
from .base import EpochNote, LogEntry, RunNote, RunRecord, RunSnapshot, TaskRecord
from .results import ResultStore

__all__ = ["MemoryJournal", "open_url"]

#: How errors name this journal.
_WHERE = "the in-memory journal"


def open_url(url: str, rest: str, *, create: bool = True) -> MemoryJournal:
    """``memory:`` or ``memory://``: a new, empty journal."""
    if rest not in ("", "//"):
        from .open import FORMS

        raise StoreError(f"cannot open a journal at {url!r}: use {FORMS}")
    return MemoryJournal()


class MemoryJournal:
    """Keeps every record in lists; values are kept as they are, not encoded."""

    #: Gone with the process: nothing recorded here can be resumed later.
    durable = False
    location = "memory (gone when this process ends)"

    def __init__(self, *, results: ResultStore | None = None) -> None:
        #: Where results larger than its threshold are kept; None (the default):
        #: every result stays in memory, with the journal.
        self.results = results
        self._runs: dict[str, RunRecord] = {}
        self._tasks: dict[str, list[TaskRecord]] = {}
        self._notes: dict[str, list[RunNote]] = {}
        self._logs: dict[str, list[LogEntry]] = {}
        #: What was asked of a run's process (CANCELLED or PAUSED), by run id.
        self._stop: dict[str, RunState] = {}
        #: Event key -> the mean seconds of its attempts in the last run that ran it long.
        self._durations: dict[str, float] = {}
        self._schedules: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def create_run(self, run: RunRecord, *, notes: Sequence[EpochNote] = ()) -> None:
        with self._lock:
            if run.id in self._runs:
                raise RunExists(run.id, _WHERE)
            self._check_notes(notes, new=run.id)
            self._runs[run.id] = run
            self._tasks[run.id] = []
            self._notes[run.id] = []
            self._logs[run.id] = []
            for note, _epoch in notes:
                self._notes[note.run_id].append(note)

    def encode_result(self, node_id: str, value: Any) -> None:
        """Everything can be kept in memory, as it is: nothing to prepare."""

    def record(
        self,
        records: Sequence[TaskRecord],
        encoded: Mapping[int, Any] | None = None,
        *,
        epoch: int | None = None,
    ) -> None:
        with self._lock:
            tasks = self._tasks
            run_ids = {rec.run_id for rec in records}
            for run_id in run_ids:  # all or nothing: check every run before writing
                if run_id not in tasks:
                    self._known(run_ids)  # raises, naming the first unknown run
            if epoch is not None and records:
                self._fence(records[0].run_id, epoch)
            if len(run_ids) == 1:  # the usual case: one run's batch
                tasks[run_ids.pop()].extend(records)
                return
            for rec in records:
                tasks[rec.run_id].append(rec)

    def set_run_state(
        self,
        run_id: str,
        state: RunState,
        at: float,
        error: str | None = None,
        *,
        epoch: int | None = None,
        records: Sequence[TaskRecord] = (),
        encoded: Mapping[int, Any] | None = None,
        notes: Sequence[EpochNote] = (),
    ) -> None:
        with self._lock:
            self._known((run_id,))
            if epoch is not None:
                self._fence(run_id, epoch)
            if any(rec.run_id != run_id for rec in records):
                raise ValueError(f"the records written with the state of run {run_id} are its own")
            self._check_notes(notes)
            self._tasks[run_id].extend(records)
            for note, _epoch in notes:
                self._notes[note.run_id].append(note)
            run = self._runs[run_id]
            ended = at if state.is_terminal or state is RunState.PAUSED else None
            run = dataclasses.replace(run, state=state, updated_at=at, ended_at=ended, error=error)
            if state is not RunState.RUNNING:  # the owner's lease ends with the session
                run = dataclasses.replace(run, owner=None, heartbeat_at=None)
            self._runs[run_id] = run
            if state is RunState.RUNNING:
                self._stop.pop(run_id, None)

    def add_note(self, note: RunNote, *, epoch: int | None = None) -> None:
        with self._lock:
            self._known((note.run_id,))
            if epoch is not None:
                self._fence(note.run_id, epoch)
            self._notes[note.run_id].append(note)

    def add_logs(self, entries: Sequence[LogEntry], *, epoch: int | None = None) -> None:
        with self._lock:
            self._known({entry.run_id for entry in entries})  # all or nothing, like record()
            if epoch is not None and entries:
                self._fence(entries[0].run_id, epoch)
            for entry in entries:
                self._logs[entry.run_id].append(entry)

    def logs(self, run_id: str, node_id: str | None = None) -> list[LogEntry]:
        with self._lock:
            found = list(self._logs.get(run_id, ()))
        return found if node_id is None else [e for e in found if e.node_id == node_id]

    def load_run(self, run_id: str) -> RunRecord:
        with self._lock:
            self._known((run_id,))
            return self._runs[run_id]

    def load_notes(self, run_id: str) -> list[RunNote]:
        with self._lock:
            self._known((run_id,))
            return list(self._notes[run_id])

    def load(self, run_id: str) -> RunSnapshot:
        with self._lock:
            self._known((run_id,))
            return RunSnapshot(
                self._runs[run_id], list(self._tasks[run_id]), list(self._notes[run_id])
            )

    def run_ids(self, prefix: str, limit: int = 10) -> list[str]:
        with self._lock:
            return sorted(i for i in self._runs if i.startswith(prefix))[:limit]

    def list_runs(self, limit: int = 50, *, parts: bool = True) -> list[RunRecord]:
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: r.created_at, reverse=True)
        if not parts:
            runs = [r for r in runs if r.parent is None]
        return runs[:limit]

    def request_cancel(self, run_id: str) -> None:
        with self._lock:
            self._known((run_id,))
            self._stop[run_id] = RunState.CANCELLED

    def cancel_requested(self, run_id: str) -> bool:
        return self._stop.get(run_id) is RunState.CANCELLED

    def request_pause(self, run_id: str) -> None:
        with self._lock:
            self._known((run_id,))
            self._stop.setdefault(run_id, RunState.PAUSED)

    def stop_requested(self, run_id: str) -> RunState | None:
        return self._stop.get(run_id)

    def durations(self, events: Sequence[str]) -> dict[str, float]:
        """Event key -> the mean seconds of its attempts, for those remembered."""
        known = self._durations
        return {event: known[event] for event in events if event in known}

    def record_durations(self, durations: Mapping[str, float], at: float) -> None:
        """Remember how long attempts of these events took (``at``: when)."""
        with self._lock:
            self._durations.update(durations)

    def schedule_states(self) -> dict[str, tuple[int, str]]:
        """Schedule name -> (version, state as JSON text), for every schedule kept."""
        with self._lock:
            return dict(self._schedules)

    def save_schedule(self, name: str, state: str, version: int) -> bool:
        """Keep ``state`` for ``name`` if its version is still ``version`` (0: none yet)."""
        with self._lock:
            kept = self._schedules.get(name)
            if (kept[0] if kept is not None else 0) != version:
                return False
            self._schedules[name] = (version + 1, state)
            return True

    def child_runs(self, parent: str) -> list[RunRecord]:
        """The runs whose parent is ``parent``, in creation order."""
        with self._lock:
            self._known((parent,))
            return [run for run in self._runs.values() if run.parent == parent]

    def check(self) -> list[str]:
        """Nothing in memory can be damaged on disk."""
        return []

    def close(self) -> None:
        pass

    def claim(self, run_id: str, owner: str, at: float, expect_epoch: int | None) -> int:
        with self._lock:
            self._known((run_id,))
            run = self._runs[run_id]
            if expect_epoch is not None and run.epoch != expect_epoch:
                raise RunClaimed(
                    f"run {run_id} was taken over by another process just now "
                    f"(epoch {run.epoch}, not {expect_epoch})"
                )
            epoch = run.epoch + 1
            self._runs[run_id] = dataclasses.replace(run, owner=owner, epoch=epoch, heartbeat_at=at)
            return epoch

    def heartbeat(self, run_id: str, epoch: int, at: float) -> None:
        with self._lock:
            self._known((run_id,))
            self._fence(run_id, epoch)
            self._runs[run_id] = dataclasses.replace(self._runs[run_id], heartbeat_at=at)

    def release(self, run_id: str, epoch: int) -> None:
        with self._lock:
            self._known((run_id,))
            run = self._runs[run_id]
            if run.epoch == epoch:
                self._runs[run_id] = dataclasses.replace(run, owner=None, heartbeat_at=None)

    def _fence(self, run_id: str, epoch: int) -> None:
        current = self._runs[run_id].epoch
        if current != epoch:
            raise Fenced(run_id, epoch, current)

    def _check_notes(self, notes: Sequence[EpochNote], new: str | None = None) -> None:
        """All or nothing: every note's run known (but ``new``, being created) and at
        its note's epoch, before anything is written."""
        for note, epoch in notes:
            if note.run_id == new:
                continue
            self._known((note.run_id,))
            if epoch is not None:
                self._fence(note.run_id, epoch)

    def _known(self, run_ids: Iterable[str]) -> None:
        for run_id in sorted(run_ids):
            if run_id not in self._runs:
                raise RunNotFound(run_id, _WHERE)

    def __repr__(self) -> str:
        return "MemoryJournal()"

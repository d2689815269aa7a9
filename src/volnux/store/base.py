"""The journal protocol: what the engine records, and what a store must keep.

The engine records every transition through :class:`Journal` *before* it acts
on it.  A store keeps three kinds of record:

* a :class:`RunRecord` per run: the workflow text and fingerprint, the
  resolved events, the inputs, the run's state;
* a :class:`TaskRecord` per task transition (append-only): node id, round,
  attempt, new state, and on completion the result or the error;
* a :class:`RunNote` per notable run event (resumed, forced, interrupted,
  warned ...), append-only;
* a :class:`LogEntry` per log line a task's attempt wrote, append-only.

``load`` gives back a :class:`RunSnapshot`: the run record, every task
transition in the order written, and the notes.  Resuming rebuilds a run from
that snapshot alone.

Results cross the journal as Python values.  A store that persists them
encodes them with its codec, once: :meth:`Journal.encode_result` when the
attempt ends (raising :class:`UnencodableResult`, before anything is
written, when it cannot), and :meth:`Journal.record` takes that encoding
back with the record.  So the engine can fail that one task instead of
losing the journal.

Errors are those of :mod:`volnux.errors`: :class:`RunNotFound` for a run the
store does not have, :class:`RunExists` for an id already taken,
:class:`StoreError` and :class:`CorruptStoreError` for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ..errors import Fenced, RunClaimed, RunExists, RunNotFound, UnencodableResult
from ..notes import RunNote
from ..states import RunState, TaskState

__all__ = [
    "EpochNote",
    "ErrorInfo",
    "EventPin",
    "Fenced",
    "Journal",
    "LogEntry",
    "RunClaimed",
    "RunExists",
    "RunNotFound",
    "RunNote",
    "RunRecord",
    "RunSnapshot",
    "TaskRecord",
    "TaskRow",
    "UnencodableResult",
]


#: A note and the epoch its run must still have for it to be written (None: any),
#: as :meth:`Journal.add_note` takes them; written with another write, in its
#: transaction (:meth:`Journal.create_run`, :meth:`Journal.set_run_state`).
EpochNote = tuple[RunNote, int | None]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why an attempt failed: exception type, message and a trimmed traceback."""

    type: str
    message: str
    traceback: str = ""

    def to_dict(self) -> dict[str, str]:
        """As plain JSON-able data."""
        return {"type": self.type, "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> ErrorInfo:
        """The inverse of :meth:`to_dict`."""
        return cls(data["type"], data["message"], data.get("traceback", ""))


@dataclass(frozen=True, slots=True)
class EventPin:
    """Which code a node ran: resolved name, version, origin and code hash."""

    name: str
    version: str
    origin: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as stored: what was run, on what, and where it stands."""

    id: str
    workflow: str
    text: str
    fingerprint: str
    events: Mapping[str, EventPin]
    inputs: Mapping[str, Any]
    state: RunState
    created_at: float
    updated_at: float
    filename: str = "<text>"
    ended_at: float | None = None
    error: str | None = None
    #: Who drives the run now (an owner id; None once it stopped, or for a
    #: run recorded before leases existed), the run's epoch (bumped by each
    #: claim: the fencing token every write of the owner carries), and when
    #: the owner last said it is alive.
    owner: str | None = None
    epoch: int = 0
    heartbeat_at: float | None = None
    #: The run this one is a part of (a batch run's batch, a sub-workflow's
    #: run), None for a run of its own.  Set when the run is created.
    parent: str | None = None


class TaskRecord(NamedTuple):
    """One task transition: node ``node_id`` of round ``round`` moved to ``state``.

    ``round`` counts how often an enclosing group's retry restarted the node
    (0 the first time).  ``attempt`` is 1-based.  ``result`` is set on
    SUCCEEDED (and carries a failure's value on FAILED when there is one);
    ``error`` on FAILED and RETRYING; ``descriptor`` on completion;
    ``next_attempt_at`` on RETRYING when a backoff delay applies.

    A named tuple rather than a dataclass: the engine makes two for every
    task, and a tuple is built several times faster.
    """

    run_id: str
    node_id: str
    state: TaskState
    attempt: int
    at: float
    round: int = 0
    descriptor: int | None = None
    result: Any = None
    error: ErrorInfo | None = None
    next_attempt_at: float | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line of one attempt of one task (``ctx.log`` and captured loggers)."""

    run_id: str
    node_id: str
    attempt: int
    #: When it was logged (seconds since the epoch).
    at: float
    #: The ``logging`` level number (20 INFO, 30 WARNING ...).
    level: int
    message: str


class TaskRow(NamedTuple):
    """A task as a journal's task index keeps it: its latest state (journals that
    have one answer ``task_counts`` and ``task_rows`` without folding every record)."""

    node_id: str
    round: int
    state: TaskState
    attempt: int
    #: When the task's current round began, and when it last changed.
    started_at: float
    at: float
    #: ``Type: message`` of the latest record's error, if it has one.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """Everything a store knows about one run, in the order it was written."""

    run: RunRecord
    tasks: Sequence[TaskRecord]
    notes: Sequence[RunNote]


@runtime_checkable
class Journal(Protocol):
    """Where runs are recorded.

    The engine calls a journal from one thread at a time: whichever thread
    holds its lock (the caller's, or a worker that just finished an attempt).
    A journal shared by several engines must be safe across threads; the
    memory and SQLite journals guard themselves with a lock."""

    #: Whether runs recorded here outlive this process (and so can be resumed).
    durable: bool

    @property
    def location(self) -> str:
        """Where runs are recorded, for people: a file's path, or ``memory (...)``."""

    def create_run(self, run: RunRecord, *, notes: Sequence[EpochNote] = ()) -> None:
        """Record a new run (state PENDING or RUNNING); :class:`RunExists` if the id is taken.

        ``notes`` are written in the same transaction, after the run, each as
        :meth:`add_note` would write it (of this run, or of another: a batch
        run noting its batch's child): all of it is written, or nothing
        (:class:`Fenced` if a note's run has another epoch now).
        """

    def encode_result(self, node_id: str, value: Any) -> Any:
        """Encode a task's result ahead of :meth:`record`; :class:`UnencodableResult` if it cannot.

        The engine calls this when an attempt ends, before it acts on the
        outcome, so that a result the journal cannot keep fails that one task
        instead of the journal.  What it returns goes back to :meth:`record`
        with the record that carries ``value`` (``encoded``), so a result is
        encoded once, and what is recorded is the value as it was then.
        ``None`` means nothing was prepared: :meth:`record` encodes the value
        itself.  Every journal stores ``None``, ``bool``, ``int``, ``float``
        and ``str`` results without being asked first.
        """

    def record(
        self,
        records: Sequence[TaskRecord],
        encoded: Mapping[int, Any] | None = None,
        *,
        epoch: int | None = None,
    ) -> None:
        """Append task transitions atomically: all are durable, or none is.

        ``encoded`` maps the index of a record in ``records`` to what
        :meth:`encode_result` returned for that record's result.  With
        ``epoch``, the write is refused (:class:`Fenced`, nothing written)
        unless it is still the run's epoch: checked in the same transaction.
        """

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
        """Record the run's new state (and a one-line error when it failed).

        A state other than RUNNING also ends the owner's lease (owner and
        heartbeat cleared).  ``epoch`` as for :meth:`record`.  ``records``
        (this run's, with ``encoded``, as :meth:`record` takes them) and
        ``notes`` (as :meth:`create_run` takes them) are written in the same
        transaction, before the state: a run's last records, its end and its
        parent's note of it are one write.  All of it is written, or nothing.
        """

    def add_note(self, note: RunNote, *, epoch: int | None = None) -> None:
        """Append a run note (``epoch`` as for :meth:`record`)."""

    def add_logs(self, entries: Sequence[LogEntry], *, epoch: int | None = None) -> None:
        """Append task log lines (:class:`RunNotFound` naming the run if a run is
        unknown; ``epoch`` as for :meth:`record`, for the run of the first entry)."""

    def claim(self, run_id: str, owner: str, at: float, expect_epoch: int | None) -> int:
        """Make ``owner`` the run's driver; return the run's new epoch (one more).

        With ``expect_epoch``, only if the run's epoch is still that (else
        :class:`RunClaimed`: another process claimed it first); None takes the
        run over whatever its epoch (``--force``): the old owner's next write
        is refused.  The heartbeat is set to ``at``.
        """

    def heartbeat(self, run_id: str, epoch: int, at: float) -> None:
        """The owner holding ``epoch`` is alive at ``at``; :class:`Fenced` if it lost the run."""

    def release(self, run_id: str, epoch: int) -> None:
        """Give the run up (owner and heartbeat cleared) if ``epoch`` still holds it."""

    def logs(self, run_id: str, node_id: str | None = None) -> list[LogEntry]:
        """A run's log lines (of one node, if given) in the order written."""

    def load_run(self, run_id: str) -> RunRecord:
        """The run record alone (no task records); :class:`RunNotFound` if unknown."""

    def load_notes(self, run_id: str) -> list[RunNote]:
        """The run's notes in the order written; :class:`RunNotFound` if unknown."""

    def load(self, run_id: str) -> RunSnapshot:
        """Everything about ``run_id``; :class:`RunNotFound` if the store has no such run."""

    def run_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of runs that start with ``prefix``, sorted, at most ``limit`` of them."""

    def list_runs(self, limit: int = 50, *, parts: bool = True) -> list[RunRecord]:
        """The newest runs first; without ``parts``, not the runs that are part of
        another (a batch run's batches): only runs with no parent."""

    def request_cancel(self, run_id: str) -> None:
        """Ask the process running ``run_id`` (maybe another one) to cancel it."""

    def cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for ``run_id``."""

    def request_pause(self, run_id: str) -> None:
        """Ask the process running ``run_id`` to pause it (a cancel request wins)."""

    def stop_requested(self, run_id: str) -> RunState | None:
        """What was asked of the run's process: CANCELLED, PAUSED, or None (nothing).

        Cleared when the run starts running again, as the cancel flag is.
        """

    def check(self) -> list[str]:
        """Read everything and say what is damaged: one line per problem (none: empty)."""

    def close(self) -> None:
        """Release connections and files."""

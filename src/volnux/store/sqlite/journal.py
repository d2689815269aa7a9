"""The embedded journal: one SQLite file in WAL mode, many runs, many processes.

Durability.  The file is in WAL mode with ``synchronous=NORMAL`` by default:
a transaction is appended to the write-ahead log before :meth:`record`
returns, and the log is fsynced only at checkpoints.  So a committed
transaction survives the process being killed (even with SIGKILL: the data
is already in the operating system), but the last transactions before an
operating-system crash or a power loss may be lost (the file stays
consistent, it just ends earlier).  ``synchronous="FULL"`` fsyncs the log at
every commit and survives power loss too, at the cost of one fsync per
:meth:`record` call.

Sharing.  Several processes may use one file at once: SQLite lets one
writer at a time in and readers alongside it; a writer that finds the file
busy waits up to ``busy_timeout`` seconds.  The file must be on a local disk
(WAL needs shared memory between the processes; network file systems do not
give it).

Hostile files.  Opening refuses anything that is not a Volnux journal
without changing a byte of it (see :mod:`volnux.store.sqlite.file`).

SQLite quirks this module works around are commented where they bite.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, TypeVar

from ...errors import CorruptStoreError, Fenced, RunClaimed, RunExists, RunNotFound, StoreError
from ...states import RunState, TaskState
from ..base import (
    EpochNote,
    EventPin,
    LogEntry,
    RunNote,
    RunRecord,
    RunSnapshot,
    TaskRecord,
    TaskRow,
)
from ..codec import Codec, CodecSet, PickleCodec
from ..jsonform import decode_json, encode_json, pins_from_json, pins_to_json
from ..results import BESIDE, result_store
from .checkpoint import SAFETY_FACTOR, Checkpointer, wal_pages
from .file import Synchronous, full_check, open_connection, rollback, store_error, write_transaction
from .records import RecordEncoder, decode_batch, decode_batches

__all__ = ["Encoded", "SQLiteJournal"]

#: A result as :meth:`SQLiteJournal.encode_result` encoded it: (data, codec name).
Encoded = tuple[bytes | str | None, str | None]

_S = TypeVar("_S", TaskState, RunState)

#: Keys asked for per ``IN (...)`` (SQLite allows 32,766 parameters a statement).
_IN_CHUNK = 500


_TASK_STATES: Final = {state.value: state for state in TaskState}
_RUN_STATES: Final = {state.value: state for state in RunState}
#: The runs.cancel_requested column: what was asked of the run's process.
_STOP_FLAGS: Final = {1: RunState.CANCELLED, 2: RunState.PAUSED}
# Results encode_result() need not encode ahead: JSON takes every value of these.
_IMMUTABLE_SCALARS: Final = frozenset({type(None), bool, int, float, str})

# A batch's key is its run's number (runs.num) times 2**32 plus its own
# number, from 1 (see store/migrations.py): a run's batches are one rowid range.
_SEQ_BITS: Final = 32
_SEQ_MASK: Final = (1 << _SEQ_BITS) - 1
# Run numbers above this would take keys past SQLite's 64-bit integers.
_MAX_RUN_NUM: Final = (1 << (63 - _SEQ_BITS)) - 1

# The statements of the hot path, kept as constants so that the sqlite3
# module's statement cache prepares each one once per connection.
_INSERT_BATCH: Final = "INSERT INTO task_records (key, records) VALUES (?, ?)"


@functools.lru_cache(maxsize=16)
def _insert_batches(n: int) -> str:
    """The INSERT of ``n`` batch rows (one per run in a write; usually one)."""
    return _INSERT_BATCH + ", (?, ?)" * (n - 1)


# A new run's number is one above every number in use, batches included (so
# that a run deleted by hand never lends its number, and its batches, to the
# next).  One statement, so two processes creating runs cannot take the same.
_INSERT_RUN: Final = (
    "INSERT INTO runs (id, workflow, filename, text, fingerprint, events, inputs,"
    " inputs_codec, state, created_at, updated_at, ended_at, error, parent, num)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1 + max("
    "IFNULL((SELECT MAX(num) FROM runs), 0), IFNULL((SELECT MAX(key) FROM task_records), 0)"
    f" >> {_SEQ_BITS:d}))"
)
_NUM_OF_ROW: Final = "SELECT num FROM runs WHERE rowid = ?"
# The key of a run's last batch (the B-tree's rightmost path, not a scan).
_LAST_KEY: Final = "SELECT MAX(key) FROM task_records WHERE key BETWEEN ? AND ?"
# Batch rows decoded at once when a run is loaded.
_LOAD_CHUNK: Final = 4096
_SELECT_NOTES: Final = "SELECT kind, at, detail FROM run_notes WHERE run_id = ? ORDER BY seq"
# The same without a batch's items (a detail that is not JSON is left for Python to name).
_SELECT_NOTES_LEAN: Final = (
    "SELECT kind, at, CASE WHEN kind = 'batch-begun' AND json_valid(detail)"
    " THEN json_remove(detail, '$.items') ELSE detail END"
    " FROM run_notes WHERE run_id = ? ORDER BY seq"
)
# A run with its lease (none: no owner, epoch 0).
_SELECT_RUN: Final = (
    "SELECT r.num, r.id, r.workflow, r.filename, r.text, r.fingerprint, r.events, r.inputs,"
    " r.inputs_codec, r.state, r.created_at, r.updated_at, r.ended_at, r.error,"
    " l.owner, IFNULL(l.epoch, 0), l.heartbeat_at, r.parent"
    " FROM runs AS r LEFT JOIN leases AS l ON l.num = r.num"
)
_INSERT_LEASE: Final = (
    "INSERT INTO leases (num, owner, epoch, heartbeat_at)"
    " SELECT num, ?, ?, ? FROM runs WHERE id = ?"
)
# The engine's INSERT, fenced: written only while the run's epoch is still the
# writer's, in the same statement (one more lookup, in a table of small rows).
# Task records of batches (low, high] of one run, in write order, into the task
# index: each task's latest state wins; its start is kept while its round is.
# A record is [node, round, attempt, state, at, descriptor, codec, result,
# error, ...] (see records.py); a time is microseconds when it is an integer.
_FOLD: Final = """
    WITH r AS (
        SELECT b.key >> 32 AS num, j.value ->> 0 AS node, j.value ->> 1 AS round,
               j.value ->> 2 AS attempt, j.value ->> 3 AS state,
               CASE WHEN json_type(j.value, '$[4]') = 'integer'
                    THEN (j.value ->> 4) / 1e6 ELSE j.value ->> 4 END AS at,
               CASE WHEN json_type(j.value, '$[8]') = 'object'
                    THEN (j.value ->> '$[8].type') || ': ' || (j.value ->> '$[8].message')
               END AS error
        FROM task_records AS b, json_each(b.records) AS j
        WHERE b.key > ? AND b.key <= ?
        ORDER BY b.key, j.key
    )
    INSERT INTO task_index (num, node, round, state, attempt, started, at, error)
    SELECT num, node, round, state, attempt, at, at, error FROM r WHERE true
    ON CONFLICT (num, node) DO UPDATE SET
        started = CASE WHEN excluded.round = task_index.round THEN task_index.started
                       ELSE excluded.started END,
        round = excluded.round, state = excluded.state, attempt = excluded.attempt,
        at = excluded.at, error = excluded.error
"""
# One task's records, each as a batch of one (so that they decode as batches do).
_TASK_HISTORY: Final = (
    "SELECT b.key, '[' || j.value || ']' FROM task_records AS b, json_each(b.records) AS j"
    " WHERE b.key BETWEEN ? AND ? AND json_extract(j.value, '$[0]') IN ({marks})"
    " ORDER BY b.key, j.key"
)
_FOLDED: Final = (
    "INSERT INTO task_index_upto (num, upto) VALUES (?, ?)"
    " ON CONFLICT (num) DO UPDATE SET upto = excluded.upto"
)
_INSERT_FENCED: Final = (
    "INSERT INTO task_records (key, records) SELECT ?, ? WHERE"
    " (SELECT epoch FROM leases WHERE num = ?) IS ?"
)
# The epoch of the run named by id (a run without a lease row has epoch 0).
_EPOCH_OF: Final = (
    "SELECT IFNULL((SELECT epoch FROM leases WHERE leases.num = runs.num), 0)"
    " FROM runs WHERE id = ?"
)
# A note, written only while its run's epoch is the one given (None: always).
_INSERT_NOTE: Final = (
    "INSERT INTO run_notes (run_id, kind, at, detail) SELECT ?, ?, ?, ?"
    f" WHERE ? IS NULL OR ({_EPOCH_OF}) = ?"
)
_SELECT_TASKS: Final = (
    "SELECT key, records FROM task_records WHERE key BETWEEN ? AND ? ORDER BY key"
)


class SQLiteJournal:
    """A :class:`~volnux.store.base.Journal` in one SQLite file (WAL mode).

    ``synchronous`` is ``"NORMAL"`` (survives a killed process, may lose the
    last commits on power loss) or ``"FULL"`` (survives power loss; one
    fsync per commit).  ``busy_timeout`` is how long, in seconds, a call
    waits for another process's write to finish.  Results are stored as JSON
    (see :mod:`volnux.store.codec`); ``codec`` adds a codec for other values.
    ``allow_pickle=True`` is short for ``codec=PickleCodec()``: **loading
    pickle runs code**, so turn it on only for a database whose every writer
    you trust.
    """

    #: A file on disk: runs recorded here can be resumed by a later process.
    durable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout: float = 10.0,
        codec: Codec | None = None,
        allow_pickle: bool = False,
        create: bool = True,
        results: object = BESIDE,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        if allow_pickle:
            if codec is not None and not isinstance(codec, PickleCodec):
                raise ValueError("give either codec= or allow_pickle=True, not both")
            codec = codec or PickleCodec()
        self.path = Path(path).expanduser().absolute()
        self.synchronous: Synchronous = synchronous
        self._codecs = CodecSet(codec)
        #: Where results larger than its threshold are kept (None: in the journal);
        #: by default the folder ``results`` beside the file.
        self.results = result_store(results, self.path.parent / "results", codec)
        self._lock = threading.Lock()
        # The key of the next batch of each run this journal has written to.
        # A run's records are written by one process at a time (its owner),
        # so the key is read from the file once and then counted here.
        self._next_key: dict[str, int] = {}
        self._encode_record = RecordEncoder()
        # The last run's event pins and their JSON: runs of one workflow pass
        # the same read-only mapping (Plan.pins), encoded once, not per run.
        self._last_pins: tuple[Mapping[str, EventPin], str] | None = None
        self._conn = open_connection(self.path, synchronous, busy_timeout, create)
        # Kept for the hot INSERT: conn.execute makes a cursor per call.
        self._cursor = self._conn.cursor()
        # Copies the WAL back into the file on a thread of its own, every
        # WAL_CHECKPOINT_BYTES written, as counted (roughly) in pages here; a
        # commit checkpoints by itself only past SAFETY_FACTOR times that.
        self._checkpointer = Checkpointer(self.path, synchronous, self._lock)
        self._page_size: int = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self._checkpoint_pages = wal_pages(self._page_size)
        self._pages = 0
        self._conn.execute(
            f"PRAGMA wal_autocheckpoint = {SAFETY_FACTOR * self._checkpoint_pages:d}"
        )

    # -- writing ---------------------------------------------------------

    def create_run(self, run: RunRecord, *, notes: Sequence[EpochNote] = ()) -> None:
        """Record a new run; :class:`~volnux.errors.RunExists` if the id is taken.

        ``notes`` ((note, epoch) pairs, as :meth:`add_note` takes them) are
        written in the same transaction, after the run: all of it, or nothing.
        """
        details = self._note_details(notes)
        try:
            inputs, inputs_codec = self._codecs.encode_value(dict(run.inputs))
        except ValueError as exc:
            raise StoreError(f"the inputs of run {run.id} cannot be stored: {exc}") from exc
        last = self._last_pins
        if last is not None and last[0] is run.events:
            events = last[1]
        else:
            events = encode_json(pins_to_json(run.events), f"the events of run {run.id}")
            if type(run.events) is MappingProxyType:  # read-only: the text stays true
                self._last_pins = (run.events, events)
        row = (
            run.id,
            run.workflow,
            run.filename,
            run.text,
            run.fingerprint,
            events,
            inputs,
            inputs_codec,
            run.state.value,
            run.created_at,
            run.updated_at,
            run.ended_at,
            run.error,
            run.parent,
        )
        conn = self._conn
        with self._lock:
            try:
                with write_transaction(conn):  # the run and its lease, together
                    rowid = conn.execute(_INSERT_RUN, row).lastrowid
                    # A new number is above every batch key: its first batch is known.
                    (num,) = conn.execute(_NUM_OF_ROW, (rowid,)).fetchone()
                    if run.epoch or run.owner:
                        lease = (run.owner, run.epoch, run.heartbeat_at, run.id)
                        conn.execute(_INSERT_LEASE, lease)
                    if notes:
                        self._insert_notes(notes, details)
            except sqlite3.IntegrityError as exc:
                raise RunExists(run.id, str(self.path)) from exc
            except sqlite3.Error as exc:
                raise self._failure(exc, f"creating run {run.id}") from exc
            self._next_key[run.id] = self._first_key(run.id, num)

    def encode_result(self, node_id: str, value: Any) -> Encoded | None:
        """Encode a result for :meth:`record`; :class:`~volnux.errors.UnencodableResult` if
        no codec takes it.  None for the scalars :meth:`record` encodes itself."""
        if type(value) in _IMMUTABLE_SCALARS:
            return None  # always storable, cheap to encode, and cannot change before record()
        return self._codecs.encode(node_id, value)

    def record(
        self,
        records: Sequence[TaskRecord],
        encoded: Mapping[int, Encoded] | None = None,
        *,
        epoch: int | None = None,
    ) -> None:
        """Append task transitions in one transaction: all are written, or none.

        Every result is encoded before anything is written (or was, by
        :meth:`encode_result`: ``encoded`` maps a record's index to that), so
        an :class:`~volnux.errors.UnencodableResult` leaves nothing written.
        The batch is stored as one row per run (see :mod:`.records`).
        """
        if not records:
            return
        run_id = records[0].run_id
        texts, mixed = self._encode_record.batch(records, encoded, self._codecs.encode)
        if mixed:
            if epoch is not None:
                raise ValueError("an epoch fences the records of one run, not of several")
            self._record_runs(records, texts)
            return
        batch = "[" + ",".join(texts) + "]"
        with self._lock:  # the engine's case: one run, one row
            self._append_batch(run_id, batch, epoch)
            # _wrote() inline: this is the engine's path, once per chain step.
            if self._pages >= self._checkpoint_pages:
                self._wrote(0)

    def _append_batch(self, run_id: str, batch: str, epoch: int | None) -> None:
        """Insert one batch row of run ``run_id`` (with the lock held), fenced by ``epoch``
        in the statement; count its key and its pages once written."""
        key = self._next_key.get(run_id) or self._free_key(run_id)
        if not key & _SEQ_MASK:
            raise self._no_numbers_left(run_id)
        if epoch is None:
            self._insert(_INSERT_BATCH, (key, batch), (run_id,))
        else:
            self._insert(_INSERT_FENCED, (key, batch, key >> _SEQ_BITS, epoch), (run_id,))
            if self._cursor.rowcount != 1:
                raise self._fenced(run_id, epoch)
        self._next_key[run_id] = key + 1  # counted only once written
        self._pages += 1 + len(batch) // self._page_size

    def _record_runs(self, records: Sequence[TaskRecord], texts: list[str]) -> None:
        """:meth:`record` of records of several runs: one row per run, one statement."""
        grouped: dict[str, list[str]] = {}
        for rec, text in zip(records, texts, strict=True):
            grouped.setdefault(rec.run_id, []).append(text)
        next_key = self._next_key
        with self._lock:
            keys: list[int] = []
            values: list[int | str] = []
            pages = 0
            for run, run_texts in grouped.items():
                key = next_key.get(run) or self._free_key(run)
                if not key & _SEQ_MASK:
                    raise self._no_numbers_left(run)
                batch = "[" + ",".join(run_texts) + "]"
                keys.append(key)
                values += (key, batch)
                pages += 1 + len(batch) // self._page_size
            self._insert(_insert_batches(len(keys)), tuple(values), tuple(grouped))
            for run, key in zip(grouped, keys, strict=True):  # counted only once written
                next_key[run] = key + 1
            self._wrote(pages)

    def _wrote(self, pages: int) -> None:
        """Count the WAL pages a commit wrote (roughly); every WAL_CHECKPOINT_BYTES
        of them, ask the checkpointer for a checkpoint."""
        self._pages += pages
        if self._pages >= self._checkpoint_pages:
            self._pages = 0
            self._checkpointer.request()

    def _insert(self, sql: str, values: tuple[int | str, ...], runs: tuple[str, ...]) -> None:
        """Run one INSERT of the batch rows of ``runs``; in autocommit mode, one
        statement is its own atomic transaction."""
        try:
            self._cursor.execute(sql, values)
        except sqlite3.IntegrityError as exc:
            raise self._unknown_run(exc, set(runs)) from exc
        except sqlite3.Error as exc:
            raise self._failure(exc, "recording task transitions") from exc

    def _no_numbers_left(self, run_id: str) -> StoreError:
        """A run has written 2**32 - 1 batches: its key range is full."""
        return StoreError(f"run {run_id} has no batch numbers left in {self.path}")

    def _insert_many(
        self, sql: str, rows: list[tuple[Any, ...]], fence: tuple[str, int] | None = None
    ) -> None:
        """``executemany`` in one transaction; sqlite3 errors propagate, rolled back.

        With ``fence`` (run id, epoch), nothing is written unless that is still
        the run's epoch (:class:`~volnux.errors.Fenced`).
        """
        conn = self._conn
        with write_transaction(conn):
            if fence is not None:
                row = conn.execute(_EPOCH_OF, fence[:1]).fetchone()
                if row is not None and row[0] != fence[1]:
                    raise Fenced(fence[0], fence[1], row[0])
            conn.executemany(sql, rows)
        self._wrote(1 + len(rows) // 16)  # (log lines: a rough count of their pages)

    def _free_key(self, run_id: str) -> int:
        """The key of the run's next batch, read from the file; RunNotFound if no such run."""
        try:
            row = self._conn.execute("SELECT num FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(run_id, str(self.path))
            first = self._first_key(run_id, row[0])
            (last,) = self._conn.execute(_LAST_KEY, (first, first + _SEQ_MASK - 1)).fetchone()
        except sqlite3.Error as exc:
            raise self._failure(exc, f"reading the task records of run {run_id}") from exc
        return first if last is None else int(last) + 1

    def _first_key(self, run_id: str, num: Any) -> int:
        """The key of batch 1 of the run numbered ``num``."""
        if type(num) is not int or not 1 <= num <= _MAX_RUN_NUM:
            raise CorruptStoreError(f"{self._where(run_id, 'the number')} is {num!r}")
        return (num << _SEQ_BITS) + 1

    def set_run_state(
        self,
        run_id: str,
        state: RunState,
        at: float,
        error: str | None = None,
        *,
        epoch: int | None = None,
        records: Sequence[TaskRecord] = (),
        encoded: Mapping[int, Encoded] | None = None,
        notes: Sequence[EpochNote] = (),
    ) -> None:
        """Record the run's new state; ``ended_at`` is set for final and paused states.

        A state other than RUNNING ends the owner's lease; with ``epoch``, only
        while the run's epoch is still that (else :class:`~volnux.errors.Fenced`).
        ``records`` (the run's last, as :meth:`record` takes them) and ``notes``
        (as :meth:`create_run` takes them) are written in the same transaction,
        before the state: all of it, or nothing.
        """
        ended = at if state.is_terminal or state is RunState.PAUSED else None
        running = state is RunState.RUNNING
        batch = None
        if records:
            batch = self._encode_record.run_batch(run_id, records, encoded, self._codecs.encode)
        details = self._note_details(notes)
        conn = self._conn
        with self._lock:
            try:
                with write_transaction(conn):  # the state and the lease, together
                    if epoch is not None and self._epoch(run_id) != epoch:
                        raise self._fenced(run_id, epoch)
                    if batch is not None:  # (epoch checked above; popped if rolled back)
                        self._append_batch(run_id, batch, None)
                    if notes:
                        self._insert_notes(notes, details)
                    cursor = conn.execute(
                        # A run that starts running again has had its cancel
                        # request dealt with (the memory journal does the same).
                        "UPDATE runs SET state = ?, updated_at = ?, ended_at = ?, error = ?,"
                        " cancel_requested = CASE WHEN ? THEN 0 ELSE cancel_requested END"
                        " WHERE id = ?",
                        (state.value, at, ended, error, running, run_id),
                    )
                    if cursor.rowcount == 0:
                        raise RunNotFound(run_id, str(self.path))
                    if not running:  # the session ended: so does its owner's lease
                        # (and its next batch key is read again by the next one)
                        self._next_key.pop(run_id, None)
                        conn.execute(
                            "UPDATE leases SET owner = NULL, heartbeat_at = NULL"
                            " WHERE num = (SELECT num FROM runs WHERE id = ?)",
                            (run_id,),
                        )
            except sqlite3.Error as exc:
                raise self._failure(exc, f"setting the state of run {run_id}") from exc
            except BaseException:
                if batch is not None:
                    self._next_key.pop(run_id, None)  # read again: the batch was rolled back
                raise
            if self._pages >= self._checkpoint_pages:
                self._wrote(0)

    def _note_details(self, notes: Sequence[EpochNote]) -> list[str]:
        """The notes' details as JSON text (before anything is written)."""
        return [encode_json(dict(n.detail), f"the detail of note {n.kind!r}") for n, _ in notes]

    def _insert_notes(self, notes: Sequence[EpochNote], details: list[str]) -> None:
        """Insert notes within the open transaction (call with the lock held): RunNotFound
        or Fenced, for the whole transaction to roll back, if one is refused."""
        conn = self._conn
        for (note, epoch), detail in zip(notes, details, strict=True):
            try:
                cursor = conn.execute(
                    _INSERT_NOTE,
                    (note.run_id, note.kind, note.at, detail, epoch, note.run_id, epoch),
                )
            except sqlite3.IntegrityError as exc:
                raise self._unknown_run(exc, {note.run_id}) from exc
            if cursor.rowcount == 0:
                raise self._fenced(note.run_id, epoch)

    def add_note(self, note: RunNote, *, epoch: int | None = None) -> None:
        """Append a run note; its detail must be JSON data (``epoch``: see :meth:`record`)."""
        notes = ((note, epoch),)
        details = self._note_details(notes)
        with self._lock:
            try:
                self._insert_notes(notes, details)  # one statement: its own transaction
            except sqlite3.Error as exc:
                raise self._failure(exc, f"adding a note to run {note.run_id}") from exc

    def add_logs(self, entries: Sequence[LogEntry], *, epoch: int | None = None) -> None:
        """Append task log lines in one transaction; RunNotFound if a run is unknown.

        With ``epoch``, only while it is still the epoch of the first entry's run.
        """
        rows = [(e.run_id, e.node_id, e.attempt, e.at, e.level, e.message) for e in entries]
        if not rows:
            return
        fence = (rows[0][0], epoch) if epoch is not None else None
        with self._lock:
            try:
                self._insert_many(
                    "INSERT INTO task_logs (run_id, node_id, attempt, at, level, message)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                    fence,
                )
            except sqlite3.IntegrityError as exc:
                raise self._unknown_run(exc, {row[0] for row in rows}) from exc
            except sqlite3.Error as exc:
                raise self._failure(exc, f"recording {len(rows)} task log line(s)") from exc

    def claim(self, run_id: str, owner: str, at: float, expect_epoch: int | None) -> int:
        """Make ``owner`` the run's driver and return the new epoch (see the protocol)."""
        conn = self._conn
        with self._lock:
            try:
                # One write transaction: no other process claims the run
                # between reading its epoch and writing the next.
                with write_transaction(conn):
                    current = self._epoch(run_id)  # RunNotFound when there is no such run
                    claimed = expect_epoch is None or current == expect_epoch
                    if claimed:
                        current += 1
                        conn.execute(
                            "INSERT OR REPLACE INTO leases (num, owner, epoch, heartbeat_at)"
                            " SELECT num, ?, ?, ? FROM runs WHERE id = ?",
                            (owner, current, at, run_id),
                        )
            except sqlite3.Error as exc:
                raise self._failure(exc, f"claiming run {run_id}") from exc
            if claimed:
                return current
        raise RunClaimed(
            f"run {run_id} was taken over by another process just now "
            f"(epoch {current}, not {expect_epoch}); see `volnux runs show {run_id}`"
        )

    def heartbeat(self, run_id: str, epoch: int, at: float) -> None:
        """The owner holding ``epoch`` is alive; :class:`~volnux.errors.Fenced` if it lost."""
        with self._lock:
            try:
                cursor = self._conn.execute(
                    "UPDATE leases SET heartbeat_at = ?"
                    " WHERE num = (SELECT num FROM runs WHERE id = ?) AND epoch = ?",
                    (at, run_id, epoch),
                )
            except sqlite3.Error as exc:
                raise self._failure(exc, f"renewing the lease of run {run_id}") from exc
            if cursor.rowcount == 0:
                raise self._fenced(run_id, epoch)

    def release(self, run_id: str, epoch: int) -> None:
        """Give the run up if ``epoch`` still holds it (nothing happens otherwise)."""
        with self._lock:
            try:
                self._conn.execute(
                    "UPDATE leases SET owner = NULL, heartbeat_at = NULL"
                    " WHERE num = (SELECT num FROM runs WHERE id = ?) AND epoch = ?",
                    (run_id, epoch),
                )
            except sqlite3.Error as exc:
                raise self._failure(exc, f"releasing run {run_id}") from exc

    def request_cancel(self, run_id: str) -> None:
        """Set the run's cancel flag, which every process using the file sees."""
        self._request_stop(run_id, "cancel_requested = 1", "cancellation")

    def request_pause(self, run_id: str) -> None:
        """Ask for a pause through the same flag (2); a cancel asked already stays."""
        self._request_stop(
            run_id, "cancel_requested = CASE WHEN cancel_requested = 1 THEN 1 ELSE 2 END", "a pause"
        )

    def _request_stop(self, run_id: str, assignment: str, what: str) -> None:
        with self._lock:
            try:
                cursor = self._conn.execute(
                    f"UPDATE runs SET {assignment} WHERE id = ?",
                    (run_id,),
                )
            except sqlite3.Error as exc:
                raise self._failure(exc, f"requesting {what} of run {run_id}") from exc
        if cursor.rowcount == 0:
            raise RunNotFound(run_id, str(self.path))

    # -- reading ---------------------------------------------------------

    def cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for ``run_id`` (by anyone)."""
        return self.stop_requested(run_id) is RunState.CANCELLED

    def stop_requested(self, run_id: str) -> RunState | None:
        """CANCELLED or PAUSED once asked (by anyone), else None."""
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"reading the cancel flag of run {run_id}") from exc
        return _STOP_FLAGS.get(row[0]) if row else None

    def load(self, run_id: str) -> RunSnapshot:
        """Everything about ``run_id``, results decoded; ``RunNotFound`` if unknown."""
        with self._lock:
            conn = self._conn
            try:
                # One read transaction, so the three queries see one snapshot
                # even while another process appends.
                conn.execute("BEGIN")
                try:
                    row = conn.execute(_SELECT_RUN + " WHERE r.id = ?", (run_id,)).fetchone()
                    if row is None:
                        raise RunNotFound(run_id, str(self.path))
                    num, run_row = row[0], row[1:]
                    first = self._first_key(run_id, num)
                    cursor = conn.execute(_SELECT_TASKS, (first, first + _SEQ_MASK - 1))
                    # Decoded a slice of rows at a time: the rows' text and its JSON
                    # are let go as they are read (a 100,000-task run's are ~100 MB).
                    tasks: list[TaskRecord] = []
                    expected = first
                    while rows := cursor.fetchmany(_LOAD_CHUNK):
                        # A run's batches are numbered 1, 2, 3 ... with no gap: rows
                        # missing in between are a damaged page that SQLite skipped.
                        if rows[0][0] != expected or rows[-1][0] != expected + len(rows) - 1:
                            raise self._missing_batches(run_id, first, expected, rows)
                        expected += len(rows)
                        tasks += self._batches_from_rows(run_id, rows)
                    # ... or at the end: the scan stopped at a damaged page.
                    (last,) = conn.execute(_LAST_KEY, (first, first + _SEQ_MASK - 1)).fetchone()
                    if last is not None and last >= expected:
                        gone = f"batches {expected - first + 1} to {last - first + 1}"
                        raise CorruptStoreError(
                            f"{self._where(run_id, 'the task records')} miss {gone}: the file "
                            "is damaged there (`volnux store check` says where)"
                        )
                    note_rows = conn.execute(_SELECT_NOTES, (run_id,)).fetchall()
                finally:
                    rollback(conn)
            except sqlite3.Error as exc:
                raise self._failure(exc, f"loading run {run_id}") from exc
        run = self._run_from_row(run_row)
        return RunSnapshot(run, tasks, self._notes_from_rows(run_id, note_rows))

    def task_history(self, run_id: str, node_id: str | Sequence[str]) -> list[TaskRecord]:
        """One task's records (or a few tasks') in the order written, the others'
        left in the file (SQLite picks them out of each batch: a 100,000-task
        run's page of one task need not load all 200,000); ``RunNotFound`` if
        the run is unknown."""
        nodes = (node_id,) if isinstance(node_id, str) else tuple(node_id)
        with self._lock:
            conn = self._conn
            try:
                row = conn.execute("SELECT num FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    raise RunNotFound(run_id, str(self.path))
                if not nodes:
                    return []
                first = self._first_key(run_id, row[0])
                marks = ", ".join("?" * len(nodes))
                rows = conn.execute(
                    _TASK_HISTORY.format(marks=marks), (first, first + _SEQ_MASK - 1, *nodes)
                ).fetchall()
            except sqlite3.Error as exc:
                what = f"task {nodes[0]!r}" if len(nodes) == 1 else f"{len(nodes)} tasks"
                raise self._failure(exc, f"reading {what} of run {run_id}") from exc
        return self._batches_from_rows(run_id, rows)

    def load_run(self, run_id: str) -> RunRecord:
        """The run record alone; ``RunNotFound`` if unknown."""
        with self._lock:
            try:
                row = self._conn.execute(_SELECT_RUN + " WHERE r.id = ?", (run_id,)).fetchone()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"loading run {run_id}") from exc
        if row is None:
            raise RunNotFound(run_id, str(self.path))
        return self._run_from_row(row[1:])

    def load_notes(self, run_id: str) -> list[RunNote]:
        """The run's notes in the order written; ``RunNotFound`` if unknown."""
        return self.load_notes_from(run_id, 0)

    def load_notes_from(
        self, run_id: str, start: int, *, batch_items: bool = True
    ) -> list[RunNote]:
        """The run's notes from the ``start``-th on (0: all), in the order written: a
        reader that has the first ones reads only what came since.

        ``batch_items=False`` leaves out the items a batch of an iterable keeps in
        its ``batch-begun`` note (SQLite drops them before Python decodes them): a
        summary of a 10,000-batch run reads its notes in 0.12 s, not 0.18.
        """
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN")  # the run and its notes from one snapshot
                try:
                    known = conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
                    query = (_SELECT_NOTES if batch_items else _SELECT_NOTES_LEAN) + (
                        " LIMIT -1 OFFSET ?"
                    )
                    rows = conn.execute(query, (run_id, start)).fetchall()
                finally:
                    rollback(conn)
            except sqlite3.Error as exc:
                raise self._failure(exc, f"loading the notes of run {run_id}") from exc
        if known is None:
            raise RunNotFound(run_id, str(self.path))
        return self._notes_from_rows(run_id, rows)

    def logs(self, run_id: str, node_id: str | None = None) -> list[LogEntry]:
        """A run's log lines (of one node, if given) in the order written."""
        query = "SELECT node_id, attempt, at, level, message FROM task_logs WHERE run_id = ?"
        params: tuple[str, ...] = (run_id,)
        if node_id is not None:
            query += " AND node_id = ?"
            params = (run_id, node_id)
        with self._lock:
            try:
                rows = self._conn.execute(query + " ORDER BY seq", params).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"reading the logs of run {run_id}") from exc
        return [LogEntry(run_id, *row) for row in rows]

    def run_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of runs that start with ``prefix``, sorted (a range of the id index)."""
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                    (prefix, prefix + "\U0010ffff", limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, "looking runs up by id") from exc
        return [run_id for (run_id,) in rows if run_id.startswith(prefix)]

    def list_runs(self, limit: int = 50, *, parts: bool = True) -> list[RunRecord]:
        """The newest runs first (by ``created_at``; the later written first on ties);
        without ``parts``, only runs that are not part of another."""
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        where = "" if parts else " WHERE r.parent IS NULL"
        with self._lock:
            try:
                rows = self._conn.execute(
                    _SELECT_RUN + where + " ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, "listing runs") from exc
        return [self._run_from_row(row[1:]) for row in rows]

    def child_runs(self, parent: str) -> list[RunRecord]:
        """The runs whose parent is ``parent``, in creation order; RunNotFound if
        there is no run ``parent``."""
        with self._lock:
            try:
                if (
                    self._conn.execute("SELECT 1 FROM runs WHERE id = ?", (parent,)).fetchone()
                    is None
                ):
                    raise RunNotFound(parent, str(self.path))
                rows = self._conn.execute(
                    _SELECT_RUN + " WHERE r.parent = ? ORDER BY r.num", (parent,)
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"listing the runs of run {parent}") from exc
        return [self._run_from_row(row[1:]) for row in rows]

    def durations(self, events: Sequence[str]) -> dict[str, float]:
        """Event key -> the mean seconds of its attempts in the last run that ran it
        long, for those of ``events`` the file remembers."""
        found: dict[str, float] = {}
        with self._lock:
            try:
                for start in range(0, len(events), _IN_CHUNK):
                    chunk = tuple(events[start : start + _IN_CHUNK])
                    marks = ", ".join("?" * len(chunk))
                    found.update(
                        self._conn.execute(
                            f"SELECT event, seconds FROM event_durations WHERE event IN ({marks})",
                            chunk,
                        ).fetchall()
                    )
            except sqlite3.Error as exc:
                raise self._failure(exc, "reading how long events took") from exc
        return found

    def record_durations(self, durations: Mapping[str, float], at: float) -> None:
        """Remember how long attempts of these events took, in one transaction."""
        rows = [(event, float(seconds), at) for event, seconds in durations.items()]
        with self._lock:
            try:
                with write_transaction(self._conn):
                    self._conn.executemany(
                        "INSERT INTO event_durations (event, seconds, at) VALUES (?, ?, ?)"
                        " ON CONFLICT (event) DO UPDATE SET"
                        " seconds = excluded.seconds, at = excluded.at",
                        rows,
                    )
            except sqlite3.Error as exc:
                raise self._failure(exc, "recording how long events took") from exc

    # ------------------------------------------------------------ the task index

    def task_counts(self, run_id: str) -> dict[str, int] | None:
        """State -> how many of the run's tasks are in it now (tasks that never
        started are not counted); None if this journal cannot fold (read-only).

        Read from the task index, which is first brought up to date with the
        batches written since it was last (:meth:`_fold`), so the cost is that
        of the new records, not of the run's.
        """
        num = self._fold(run_id)
        if num is None:
            return None
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT state, count(*) FROM task_index WHERE num = ? GROUP BY state", (num,)
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"counting the tasks of run {run_id}") from exc
        return dict(rows)

    def task_rows(
        self, run_id: str, state: str | None, offset: int, limit: int
    ) -> list[TaskRow] | None:
        """A page of the run's started tasks (of one state, if given), in the order
        they started; None if this journal cannot fold (read-only)."""
        num = self._fold(run_id)
        if num is None:
            return None
        where = "num = ?" if state is None else "num = ? AND state = ?"
        args: tuple[Any, ...] = (num,) if state is None else (num, state)
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT node, round, state, attempt, started, at, error FROM task_index"
                    f" WHERE {where} ORDER BY started, node LIMIT ? OFFSET ?",
                    (*args, limit, offset),
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"reading the tasks of run {run_id}") from exc
        states, new = _TASK_STATES, tuple.__new__  # (a named tuple's own __new__ is slow)
        return [new(TaskRow, (n, r, states[s], a, st, at, e)) for n, r, s, a, st, at, e in rows]

    def _fold(self, run_id: str) -> int | None:
        """Fold the run's batches written since the last fold into the task index;
        the run's number (None: the file is read-only here, nothing folded)."""
        with self._lock:
            conn = self._conn
            try:
                with write_transaction(conn):
                    row = conn.execute("SELECT num FROM runs WHERE id = ?", (run_id,)).fetchone()
                    if row is None:
                        raise RunNotFound(run_id, str(self.path))
                    num = int(row[0])
                    done = conn.execute(
                        "SELECT upto FROM task_index_upto WHERE num = ?", (num,)
                    ).fetchone()
                    low = done[0] if done is not None else num << _SEQ_BITS
                    high = conn.execute(
                        "SELECT max(key) FROM task_records WHERE key > ? AND key < ?",
                        (low, (num + 1) << _SEQ_BITS),
                    ).fetchone()[0]
                    if high is not None:
                        conn.execute(_FOLD, (low, high))
                        conn.execute(_FOLDED, (num, high))
            except sqlite3.OperationalError as exc:
                if "readonly" in str(exc) or "read-only" in str(exc):
                    return None
                raise self._failure(exc, f"folding the tasks of run {run_id}") from exc
            except sqlite3.Error as exc:
                raise self._failure(exc, f"folding the tasks of run {run_id}") from exc
        return num

    def schedule_states(self) -> dict[str, tuple[int, str]]:
        """Schedule name -> (version, state as JSON text), for every schedule kept."""
        with self._lock:
            try:
                rows = self._conn.execute("SELECT name, version, state FROM schedules").fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, "reading schedules") from exc
        return {name: (version, state) for name, version, state in rows}

    def save_schedule(self, name: str, state: str, version: int) -> bool:
        """Keep ``state`` for schedule ``name`` if its version is still ``version``
        (0: none kept yet); False if another writer changed it first."""
        with self._lock:
            try:
                with write_transaction(self._conn):
                    if version == 0:
                        cursor = self._conn.execute(
                            "INSERT INTO schedules (name, version, state, updated_at)"
                            " VALUES (?, 1, ?, ?) ON CONFLICT (name) DO NOTHING",
                            (name, state, time.time()),
                        )
                    else:
                        cursor = self._conn.execute(
                            "UPDATE schedules SET version = version + 1, state = ?,"
                            " updated_at = ? WHERE name = ? AND version = ?",
                            (state, time.time(), name, version),
                        )
            except sqlite3.Error as exc:
                raise self._failure(exc, f"keeping schedule {name}") from exc
        return cursor.rowcount == 1

    def check(self) -> list[str]:
        """SQLite's integrity check of the whole file, then every run read back whole
        (records and notes decoded): one line per problem found."""
        with self._lock:
            try:
                problems = full_check(self._conn)
            except sqlite3.Error as exc:
                return [str(self._failure(exc, "checking the file"))]
        if problems:
            return problems  # a damaged B-tree: reading runs would only repeat it
        try:
            with self._lock:
                ids = [row[0] for row in self._conn.execute("SELECT id FROM runs ORDER BY num")]
        except sqlite3.Error as exc:
            return [str(self._failure(exc, "listing runs"))]
        for run_id in ids:
            try:
                self.load(run_id)
            except StoreError as exc:
                problems.append(str(exc))
        return problems

    # -- life cycle ------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the journal cannot be used afterwards."""
        self._checkpointer.close()  # before taking the lock: its last round takes it
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteJournal({str(self.path)!r}, synchronous={self.synchronous!r})"

    @property
    def location(self) -> str:
        """The journal's file."""
        return str(self.path)

    # -- helpers ---------------------------------------------------------

    def _where(self, run_id: str, what: str) -> str:
        return f"{what} of run {run_id} in {self.path}"

    def _run_from_row(self, row: tuple[Any, ...]) -> RunRecord:
        (run_id, workflow, filename, text, fingerprint, events, inputs, inputs_codec, state,
         created_at, updated_at, ended_at, error, owner, epoch, heartbeat_at,
         parent) = row  # fmt: skip
        events_data = decode_json(events, self._where(run_id, "the events"))
        try:
            pins = pins_from_json(events_data)
        except (AttributeError, TypeError, ValueError, IndexError) as exc:
            raise CorruptStoreError(f"{self._where(run_id, 'the events')} are malformed") from exc
        return RunRecord(
            id=run_id,
            workflow=workflow,
            text=text,
            fingerprint=fingerprint,
            events=pins,
            inputs=self._codecs.decode(inputs_codec, inputs, self._where(run_id, "the inputs")),
            state=self._state(_RUN_STATES, state, run_id, "run"),
            created_at=created_at,
            updated_at=updated_at,
            filename=filename,
            ended_at=ended_at,
            error=error,
            owner=owner,
            epoch=epoch,
            heartbeat_at=heartbeat_at,
            parent=parent,
        )

    def _notes_from_rows(self, run_id: str, rows: list[Any]) -> list[RunNote]:
        where = self._where(run_id, "a note")
        return [RunNote(run_id, kind, at, decode_json(detail, where)) for kind, at, detail in rows]

    def _missing_batches(
        self, run_id: str, first: int, expected: int, rows: list[Any]
    ) -> CorruptStoreError:
        """The error for a gap in a run's batches, from the batch ``expected`` on."""
        i, key = next((i, key) for i, (key, _text) in enumerate(rows) if key != expected + i)
        gone = f"batches {expected + i - first + 1} to {key - first}"
        return CorruptStoreError(
            f"{self._where(run_id, 'the task records')} miss {gone}: the file is damaged "
            "there (`volnux store check` says where)"
        )

    def _batches_from_rows(self, run_id: str, rows: list[Any]) -> list[TaskRecord]:
        """Every record of the run's batches: all at once, or (to name a damaged
        batch) one batch at a time."""

        def state_of(value: str, node_id: str) -> TaskState:
            return self._state(_TASK_STATES, value, run_id, f"task {node_id!r}")

        def where(what: str) -> str:
            return self._where(run_id, what)

        texts = [text for _key, text in rows]
        if all(type(text) is str for text in texts):
            try:
                found = decode_batches(texts, run_id, state_of, self._codecs.decode, where)
            except (ValueError, KeyError, TypeError, AttributeError):
                found = None  # the batch by batch reading below says where
            if found is not None:
                return found
        return [rec for row in rows for rec in self._batch_from_row(run_id, row)]

    def _batch_from_row(self, run_id: str, row: tuple[Any, ...]) -> list[TaskRecord]:
        key, text = row
        seq = key & _SEQ_MASK

        def state_of(value: str, node_id: str) -> TaskState:
            return self._state(_TASK_STATES, value, run_id, f"task {node_id!r}")

        def where(what: str) -> str:
            return self._where(run_id, f"{what} (batch {seq})")

        try:
            return decode_batch(text, run_id, state_of, self._codecs.decode, where)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptStoreError(f"{where('a batch of task records')} is malformed") from exc

    def _state(self, states: Mapping[str, _S], value: str, run_id: str, what: str) -> _S:
        try:
            return states[value]
        except KeyError:
            raise CorruptStoreError(
                f"{self._where(run_id, 'the state of ' + what)} is {value!r}, which this "
                "version of Volnux does not know"
            ) from None

    def _unknown_run(self, exc: sqlite3.IntegrityError, run_ids: set[str]) -> Exception:
        """A RunNotFound naming the unknown run when a foreign key failed, else a StoreError."""
        if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
            return StoreError(
                f"another process is writing the task records of run {', '.join(sorted(run_ids))}"
                f" in {self.path}; a run has one owner at a time (cancel it, or wait for it)"
            )
        if "FOREIGN KEY" not in str(exc):
            return self._failure(exc, "writing")
        # Cold path: find which of the batch's runs is missing.
        for run_id in sorted(run_ids):
            try:
                row = self._conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
            except sqlite3.Error:
                break
            if row is None:
                return RunNotFound(run_id, str(self.path))
        return RunNotFound(", ".join(sorted(run_ids)), str(self.path))

    def _epoch(self, run_id: str) -> int:
        """The run's epoch now (call with the lock held); RunNotFound if no such run."""
        try:
            row = self._conn.execute(_EPOCH_OF, (run_id,)).fetchone()
        except sqlite3.Error as exc:
            raise self._failure(exc, f"reading the epoch of run {run_id}") from exc
        if row is None:
            raise RunNotFound(run_id, str(self.path))
        return int(row[0])

    def _fenced(self, run_id: str, epoch: int | None) -> Exception:
        """Why a fenced write wrote nothing (call with the lock held): the run is
        unknown (RunNotFound), or its epoch moved on (Fenced)."""
        current = self._epoch(run_id)
        return Fenced(run_id, epoch if epoch is not None else current, current)

    def _failure(self, exc: sqlite3.Error, doing: str) -> StoreError:
        return store_error(self.path, exc, doing)

"""The shared journal: one PostgreSQL schema, many runs, many processes on many machines.

It keeps what the SQLite journal keeps, in the same shapes (see
:mod:`.migrations`): a batch of task records is one row holding the JSON
array that :mod:`volnux.store.sqlite.records` writes and reads, event pins
and notes are the same JSON (the SQLite journal's helpers, shared), results
and inputs go through the same codecs, and every call behaves as the SQLite
journal's does, errors included.  Where the two differ it is said here:

* fencing meets on a row lock or a batch number where SQLite has its single
  writer (see :mod:`.statements`);
* PostgreSQL's text cannot hold the NUL character: a run id, node id, log
  line or note kind with one is refused with a :class:`StoreError`, nothing
  written (results, notes' details and the records' fields are JSON, where
  NUL is escaped, and are stored whatever they hold);
* a lost connection (the server restarted, the session was terminated) is a
  :class:`StoreError` for the call that met it, and the next call connects
  again.  A write is never retried behind the caller's back: whether the
  write that met the loss was committed is unknown until the run is read.

The engine's write, :meth:`PostgresJournal.record` of one run's batch, is one
INSERT: one round trip, committed by itself.

Writes that change what is shown of a run notify the journal's change
channel, in the statement that writes (see :mod:`.feed`);
:meth:`PostgresJournal.changes` is how a process hears of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, TypeVar

from .url import INSTALL_HINT

try:
    import psycopg
except ImportError as exc:  # whoever imports the journal is told how to install it
    raise ModuleNotFoundError(f"{INSTALL_HINT} ({exc})", name="psycopg") from exc

from ...errors import Fenced, RunClaimed, RunExists, RunNotFound, StoreError
from ...states import RunState
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
from ..jsonform import decode_json, encode_json, pins_to_json
from ..results import BESIDE, result_store
from ..sqlite.records import RecordEncoder
from .connection import Connection, connect, connection_lost, store_error
from .feed import ChangeFeed, Throttle, payload
from .index import TaskIndex
from .migrations import prepare_schema
from .rows import RowReader, after_prefix
from .statements import Statements
from .stops import StopListener
from .url import SynchronousCommit, Target, parse_url, scrub

__all__ = ["Encoded", "PostgresJournal"]

#: A result as :meth:`PostgresJournal.encode_result` encoded it: (data, codec name).
Encoded = tuple[bytes | str | None, str | None]

#: The runs.cancel_requested column: what was asked of the run's process.
_STOP_FLAGS: Final = {1: RunState.CANCELLED, 2: RunState.PAUSED}
# Results encode_result() need not encode ahead: JSON takes every value of these.
_IMMUTABLE_SCALARS: Final = frozenset({type(None), bool, int, float, str})
#: Batch rows fetched (and decoded) at once when a run is loaded: the rows of
#: a 100,000-task run are read a slice at a time, through a server-side cursor.
_LOAD_CHUNK: Final = 4096
_READ_SNAPSHOT: Final = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_UNIQUE_RUN_ID: Final = "runs_id_key"
_IDLE: Final = psycopg.pq.TransactionStatus.IDLE
#: Pauses between attempts to connect again after a lost connection (seconds).
_RECONNECT_FIRST_S: Final = 0.05
#: Claims tried while the old owner's writes keep taking the next batch number.
_CLAIM_TRIES: Final = 50
_RECONNECT_MAX_PAUSE_S: Final = 2.0

_T = TypeVar("_T")

log = logging.getLogger("volnux.store")


class PostgresJournal:
    """A :class:`~volnux.store.base.Journal` in a PostgreSQL schema.

    ``url`` is a ``postgresql://`` URL (see :mod:`.url`), or a :class:`Target`
    read from one.  ``schema`` (default ``volnux``, or the URL's
    ``?schema=``) names the schema holding the tables; it is created, and
    migrated, when opened.  ``create=False`` is for reading: a missing schema
    is :class:`~volnux.errors.JournalNotFound`, and nothing is created.

    ``synchronous_commit`` (default ``"on"``, or the URL's
    ``?synchronous_commit=``) is PostgreSQL's setting for this journal's
    session, in the spirit of the SQLite journal's ``synchronous``:

    * ``"on"``: :meth:`record` returns once the server has flushed the commit
      to its disk (and to synchronous standbys, where there are any): it
      survives a crash of the server's machine.  One disk flush per call,
      which PostgreSQL shares among concurrent commits.
    * ``"local"``: the same, without waiting for standbys.
    * ``"off"``: :meth:`record` returns once the server has the commit,
      before it is flushed.  A killed client loses nothing committed (the
      server has it); a crash of the server may lose the last commits
      (up to three times ``wal_writer_delay``, 0.6 s by default), never
      leaving a half-written one.  No wait for the disk: 2.5 times faster
      per call on the machine this was measured on, more where a flush is slow.
    * ``"remote_write"``, ``"remote_apply"``: for synchronous standbys, as
      PostgreSQL documents them.

    Results are stored as JSON (see :mod:`volnux.store.codec`); ``codec``
    adds a codec for other values.  ``allow_pickle=True`` is short for
    ``codec=PickleCodec()``: **loading pickle runs code**, so turn it on only
    for a database whose every writer you trust.

    One connection per journal, used under a lock: the journal may be called
    from any thread, one call at a time.
    """

    #: A database: runs recorded here can be resumed by a later process, elsewhere.
    durable = True

    def __init__(
        self,
        url: str | Target,
        *,
        schema: str | None = None,
        synchronous_commit: SynchronousCommit | None = None,
        codec: Codec | None = None,
        allow_pickle: bool = False,
        create: bool = True,
        results: object = BESIDE,
    ) -> None:
        if allow_pickle:
            if codec is not None and not isinstance(codec, PickleCodec):
                raise ValueError("give either codec= or allow_pickle=True, not both")
            codec = codec or PickleCodec()
        if isinstance(url, str):
            target = parse_url(url, schema=schema, synchronous_commit=synchronous_commit)
        elif schema is None and synchronous_commit is None:
            target = url
        else:  # a Target's conninfo holds no options of ours: its own are the defaults
            target = parse_url(
                url.conninfo,
                schema=schema or url.schema,
                synchronous_commit=synchronous_commit or url.synchronous_commit,
            )
        self._target = target
        #: Where results larger than its threshold are kept (None: in the journal);
        #: by default ``.volnux/results`` in the working directory: give every
        #: machine that shares this journal the same one (an fsspec URL).
        self.results = result_store(results, Path.cwd() / ".volnux" / "results", codec)
        #: The schema holding the journal's tables.
        self.schema = target.schema
        self.synchronous_commit: SynchronousCommit = target.synchronous_commit
        self._codecs = CodecSet(codec)
        self._rows = RowReader(self._codecs, target.location)
        self._lock = threading.Lock()
        self._closed = False
        self._encode_record = RecordEncoder()
        # The last run's event pins and their JSON: runs of one workflow pass
        # the same read-only mapping (Plan.pins), encoded once, not per run.
        self._last_pins: tuple[Mapping[str, EventPin], str] | None = None
        #: Who hears at once that a run was asked to stop (LISTEN/NOTIFY).
        self._stops = StopListener(target)
        #: Who hears that runs changed, and how often task records and notes say so.
        self._changes = ChangeFeed(target)
        self._throttle = Throttle()
        conn = connect(target)
        try:
            prepare_schema(conn, target.schema, target.location, create)
            self._sql = Statements.for_schema(target.schema, conn)
            self._index = TaskIndex(target.schema, conn)
        except psycopg.Error as exc:
            conn.close()
            raise store_error(target, exc, "opening") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        # Kept for the engine's INSERT: conn.execute makes a cursor per call,
        # measured here at tens of us of a ~200 us record() (synchronous_commit=off).
        self._cursor = conn.cursor()

    @property
    def location(self) -> str:
        """The journal's URL, without its password: ``postgresql://user@host:port/db?schema=...``."""
        return self._target.location

    def __repr__(self) -> str:
        return f"PostgresJournal({self.location!r}, synchronous_commit={self.synchronous_commit!r})"

    # -- writing ---------------------------------------------------------

    def create_run(self, run: RunRecord, *, notes: Sequence[EpochNote] = ()) -> None:
        """Record a new run and its lease; :class:`~volnux.errors.RunExists` if the id is taken.

        ``notes`` ((note, epoch) pairs, as :meth:`add_note` takes them) are
        written in the same transaction, after the run: all of it, or nothing.
        """
        writes = self._note_writes(notes)
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
            run.id, run.workflow, run.filename, run.text, run.fingerprint, events,
            inputs if isinstance(inputs, str) else None,
            inputs if isinstance(inputs, bytes) else None,
            inputs_codec, run.state.value, run.created_at, run.updated_at, run.ended_at,
            run.error, run.parent, run.owner, run.epoch, run.heartbeat_at,
            self._changes.channel, payload(run.id),
        )  # fmt: skip
        self._throttle.told(run.id)
        with self._lock:
            conn = self._live()
            try:
                if writes:
                    with conn.transaction():
                        conn.execute(self._sql.create_run, row)
                        self._insert_notes(conn, notes, writes)
                else:
                    conn.execute(self._sql.create_run, row)
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name == _UNIQUE_RUN_ID:
                    raise RunExists(run.id, self.location) from exc
                raise self._failure(exc, f"creating run {run.id}") from exc
            except psycopg.Error as exc:
                raise self._failure(exc, f"creating run {run.id}") from exc

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
        """Append task transitions atomically: all are written, or none.

        Every result is encoded before anything is written (or was, by
        :meth:`encode_result`: ``encoded`` maps a record's index to that), so
        an :class:`~volnux.errors.UnencodableResult` leaves nothing written.
        A run's batch is one row (see :mod:`.migrations`); one run's batch is
        one INSERT, fenced by ``epoch`` in that statement.
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
        sql = self._sql
        # The same statement on every try: one that notifies, now and then (see .feed).
        params: tuple[Any, ...]
        if self._throttle.due(run_id):
            told = (self._changes.channel, payload(run_id))
            if epoch is None:
                statement, params = sql.record_told, (batch, run_id, *told)
            else:
                statement, params = sql.record_fenced_told, (batch, run_id, epoch, *told)
        elif epoch is None:
            statement, params = sql.record, (batch, run_id)
        else:
            statement, params = sql.record_fenced, (batch, run_id, epoch)

        def write(conn: Connection) -> None:  # the engine's case: one row, one statement
            cursor = self._cursor
            try:
                cursor.execute(statement, params)
            except psycopg.errors.UniqueViolation as exc:
                # A claim's empty batch took this number: the run was taken over.
                if epoch is not None and self._epoch(run_id) != epoch:
                    raise self._fenced(run_id, epoch) from exc
                raise self._two_writers({run_id}) from exc
            if cursor.rowcount != 1:
                raise self._fenced(run_id, epoch)

        def landed(conn: Connection) -> bool:
            row = conn.execute(self._sql.last_batch, (run_id,)).fetchone()
            return row is not None and row[0] == batch

        self._call(f"recording task transitions of run {run_id}", write, landed)

    def _record_runs(self, records: Sequence[TaskRecord], texts: list[str]) -> None:
        """:meth:`record` of records of several runs: one row per run, one transaction."""
        grouped: dict[str, list[str]] = {}
        for rec, text in zip(records, texts, strict=True):
            grouped.setdefault(rec.run_id, []).append(text)
        due = [payload(run_id) for run_id in grouped if self._throttle.due(run_id)]
        with self._lock:
            conn = self._live()
            missing = False
            try:
                with conn.transaction():
                    for run_id, run_texts in grouped.items():
                        batch = "[" + ",".join(run_texts) + "]"
                        cursor = conn.execute(self._sql.record, (batch, run_id))
                        if cursor.rowcount != 1:  # no such run: none of the batch is kept
                            missing = True
                            raise psycopg.Rollback()
                    if due:
                        conn.execute(self._sql.tell_runs, (self._changes.channel, due))
            except psycopg.errors.UniqueViolation as exc:
                raise self._two_writers(set(grouped)) from exc
            except psycopg.Error as exc:
                raise self._failure(exc, "recording task transitions") from exc
            if missing:
                raise self._unknown_run(set(grouped))

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
        A run that starts running again has had its cancel request dealt with.
        ``records`` (the run's last, as :meth:`record` takes them) and ``notes``
        (as :meth:`create_run` takes them) are written in the same transaction,
        before the state: all of it, or nothing.
        """
        batch = None
        if records:
            batch = self._encode_record.run_batch(run_id, records, encoded, self._codecs.encode)
        writes = self._note_writes(notes)
        ended = at if state.is_terminal or state is RunState.PAUSED else None
        running = state is RunState.RUNNING
        sql = self._sql
        told = (self._changes.channel, payload(run_id))
        params = (state.value, at, ended, error, running, run_id, *told)
        if running:
            self._throttle.told(run_id)
        else:  # its next write (a resume's) tells at once
            self._throttle.forget(run_id)

        def write(conn: Connection) -> None:  # the same again, if in doubt: see landed
            with conn.transaction():  # the state and the lease, together
                if epoch is not None:
                    self._check_epoch(conn, run_id, epoch)
                if batch is not None:
                    try:
                        cursor = conn.execute(sql.record, (batch, run_id))
                    except psycopg.errors.UniqueViolation as exc:
                        raise self._two_writers({run_id}) from exc
                    if cursor.rowcount != 1:
                        raise RunNotFound(run_id, self.location)
                if writes:
                    self._insert_notes(conn, notes, writes)
                row = conn.execute(sql.set_run_state, params).fetchone()
                if row is None:
                    raise RunNotFound(run_id, self.location)
                if not running:  # the session ended: so does its owner's lease
                    conn.execute(sql.end_lease, (row[0],))

        def landed(conn: Connection) -> bool:
            # Written with records or notes, it must not be written twice: its
            # records are then the run's last batch.
            if batch is None:
                return False
            last = conn.execute(self._sql.last_batch, (run_id,)).fetchone()
            return last is not None and last[0] == batch

        self._call(
            f"setting the state of run {run_id}",
            write,
            landed if batch is not None or writes else None,
        )

    def _note_writes(self, notes: Sequence[EpochNote]) -> list[tuple[str, tuple[Any, ...]]]:
        """The statement and parameters of each note (its detail encoded first)."""
        return [self._note_write(note, epoch, _detail(note)) for note, epoch in notes]

    def _note_write(
        self, note: RunNote, epoch: int | None, detail: str
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement and parameters that write ``note`` (fenced by ``epoch``), with
        its ``detail`` encoded; one that notifies now and then (see .feed)."""
        sql = self._sql
        tell = self._throttle.due(note.run_id)
        params: tuple[Any, ...]
        if epoch is None:
            statement = sql.add_note_told if tell else sql.add_note
            params = (note.run_id, note.kind, note.at, detail)
        else:
            statement = sql.add_note_fenced_told if tell else sql.add_note_fenced
            params = (note.kind, note.at, detail, note.run_id, epoch)
        if tell:
            params += (self._changes.channel, payload(note.run_id))
        return statement, params

    def _insert_notes(
        self,
        conn: Connection,
        notes: Sequence[EpochNote],
        writes: list[tuple[str, tuple[Any, ...]]],
    ) -> None:
        """Write notes in the caller's transaction: RunNotFound or Fenced (for it to roll
        back) if one is refused."""
        for (note, epoch), (statement, params) in zip(notes, writes, strict=True):
            try:
                cursor = conn.execute(statement, params)
            except psycopg.errors.ForeignKeyViolation as exc:
                raise RunNotFound(note.run_id, self.location) from exc
            if epoch is not None and cursor.rowcount != 1:
                raise self._fenced(note.run_id, epoch)

    def add_note(self, note: RunNote, *, epoch: int | None = None) -> None:
        """Append a run note; its detail must be JSON data (``epoch``: see :meth:`record`)."""
        detail = _detail(note)
        # The same statement on every try (see .feed).
        statement, params = self._note_write(note, epoch, detail)

        def write(conn: Connection) -> None:
            try:
                cursor = conn.execute(statement, params)
                if epoch is None:
                    return
            except psycopg.errors.ForeignKeyViolation as exc:
                raise RunNotFound(note.run_id, self.location) from exc
            if cursor.rowcount != 1:
                raise self._fenced(note.run_id, epoch)

        def landed(conn: Connection) -> bool:
            row = conn.execute(self._sql.last_note, (note.run_id,)).fetchone()
            return (
                row is not None
                and (row[0], row[1]) == (note.kind, note.at)
                and (decode_json(row[2], "a note") == decode_json(detail, "a note"))
            )

        self._call(f"adding a note to run {note.run_id}", write, landed)

    def add_logs(self, entries: Sequence[LogEntry], *, epoch: int | None = None) -> None:
        """Append task log lines in one statement; RunNotFound if a run is unknown.

        With ``epoch``, only while it is still the epoch of the first entry's run.
        """
        if not entries:
            return
        columns = (
            [e.run_id for e in entries], [e.node_id for e in entries],
            [e.attempt for e in entries], [float(e.at) for e in entries],
            [e.level for e in entries], [e.message for e in entries],
        )  # fmt: skip
        first, last = entries[0].run_id, entries[-1]

        def write(conn: Connection) -> None:
            try:
                if epoch is None:
                    conn.execute(self._sql.add_logs, columns)
                    return
                cursor = conn.execute(self._sql.add_logs_fenced, (first, epoch, *columns))
            except psycopg.errors.ForeignKeyViolation as exc:
                raise self._unknown_run({e.run_id for e in entries}) from exc
            if cursor.rowcount == 0:
                raise self._fenced(first, epoch)

        def landed(conn: Connection) -> bool:  # one statement: all of it, or none
            row = conn.execute(self._sql.last_log, (last.run_id,)).fetchone()
            return row is not None and tuple(row) == (
                last.node_id, last.attempt, float(last.at), last.level, last.message
            )  # fmt: skip

        self._call(f"recording {len(entries)} task log line(s)", write, landed)

    def claim(self, run_id: str, owner: str, at: float, expect_epoch: int | None) -> int:
        """Make ``owner`` the run's driver and return the new epoch (see the protocol).

        One UPDATE of the lease: of two claims expecting one epoch, the second
        waits for the first's row lock, re-reads the lease and matches nothing.
        """
        with self._lock:
            conn = self._live()
            for _ in range(_CLAIM_TRIES):
                try:
                    if expect_epoch is None:
                        row = conn.execute(self._sql.claim, (owner, at, run_id)).fetchone()
                    else:
                        row = conn.execute(
                            self._sql.claim_expecting, (owner, at, run_id, expect_epoch)
                        ).fetchone()
                    break
                except psycopg.errors.UniqueViolation:
                    continue  # the old owner's write took the number first: it is in, go on
                except psycopg.Error as exc:
                    raise self._failure(exc, f"claiming run {run_id}") from exc
            else:
                raise StoreError(f"could not claim run {run_id}: its owner keeps writing")
            if row is not None:
                return int(row[0])
            current = self._epoch(run_id)  # RunNotFound when there is no such run
        raise RunClaimed(
            f"run {run_id} was taken over by another process just now "
            f"(epoch {current}, not {expect_epoch}); see `volnux runs show {run_id}`"
        )

    def heartbeat(self, run_id: str, epoch: int, at: float) -> None:
        """The owner holding ``epoch`` is alive; :class:`~volnux.errors.Fenced` if it lost."""

        def write(conn: Connection) -> None:
            if conn.execute(self._sql.heartbeat, (at, run_id, epoch)).rowcount == 0:
                raise self._fenced(run_id, epoch)

        self._call(f"renewing the lease of run {run_id}", write)

    def release(self, run_id: str, epoch: int) -> None:
        """Give the run up if ``epoch`` still holds it (nothing happens otherwise)."""
        with self._lock:
            conn = self._live()
            try:
                conn.execute(self._sql.release, (run_id, epoch))
            except psycopg.Error as exc:
                raise self._failure(exc, f"releasing run {run_id}") from exc

    def request_cancel(self, run_id: str) -> None:
        """Set the run's cancel flag, which every process using the journal sees."""
        self._request_stop(run_id, self._sql.request_cancel, "cancellation")

    def request_pause(self, run_id: str) -> None:
        """Ask for a pause through the same flag (2); a cancel asked already stays."""
        self._request_stop(run_id, self._sql.request_pause, "a pause")

    def _request_stop(self, run_id: str, statement: str, what: str) -> None:
        with self._lock:
            conn = self._live()
            try:
                cursor = conn.execute(statement, (run_id, self._stops.channel))
            except psycopg.Error as exc:
                raise self._failure(exc, f"requesting {what} of run {run_id}") from exc
        if cursor.rowcount == 0:
            raise RunNotFound(run_id, self.location)

    def record_durations(self, durations: Mapping[str, float], at: float) -> None:
        """Remember how long attempts of these events took, in one statement."""
        if not durations:
            return
        events = list(durations)
        seconds = [float(durations[event]) for event in events]
        with self._lock:
            conn = self._live()
            try:
                conn.execute(self._sql.record_durations, (at, events, seconds))
            except psycopg.Error as exc:
                raise self._failure(exc, "recording how long events took") from exc

    # -- reading ---------------------------------------------------------

    def cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for ``run_id`` (by anyone)."""
        return self.stop_requested(run_id) is RunState.CANCELLED

    def stop_requested(self, run_id: str) -> RunState | None:
        """CANCELLED or PAUSED once asked (by anyone), else None."""
        row = self._call(
            f"reading the cancel flag of run {run_id}",
            lambda conn: conn.execute(self._sql.stop_flag, (run_id,)).fetchone(),
        )
        return _STOP_FLAGS.get(row[0]) if row else None

    def load(self, run_id: str) -> RunSnapshot:
        """Everything about ``run_id``, results decoded; ``RunNotFound`` if unknown.

        The run, its records and its notes are read from one snapshot, even
        while another process appends.
        """
        sql = self._sql
        with self._lock:
            conn = self._live()
            try:
                with self._snapshot(conn):
                    row = conn.execute(sql.load_run, (run_id,)).fetchone()
                    if row is None:
                        raise RunNotFound(run_id, self.location)
                    tasks: list[TaskRecord] = []
                    with conn.cursor(name="volnux_load_tasks") as cursor:
                        cursor.execute(sql.select_tasks, (row[0],))
                        while rows := cursor.fetchmany(_LOAD_CHUNK):
                            tasks += self._rows.batches(run_id, rows)
                    note_rows = conn.execute(sql.select_notes, (run_id,)).fetchall()
            except psycopg.Error as exc:
                raise self._failure(exc, f"loading run {run_id}") from exc
        run = self._rows.run(row[1:])
        return RunSnapshot(run, tasks, self._rows.notes(run_id, note_rows))

    def task_history(self, run_id: str, node_id: str | Sequence[str]) -> list[TaskRecord]:
        """One task's records (or a few tasks') in the order written, picked out of
        each batch by the server; ``RunNotFound`` if the run is unknown."""
        nodes = [node_id] if isinstance(node_id, str) else list(node_id)

        def read(conn: Connection) -> tuple[Any, list[Any]]:
            with self._snapshot(conn):
                known = conn.execute(self._sql.run_exists, (run_id,)).fetchone()
                if known is None or not nodes:
                    return known, []
                return known, conn.execute(self._sql.task_history, (run_id, nodes)).fetchall()

        what = f"task {nodes[0]!r}" if len(nodes) == 1 else f"{len(nodes)} tasks"
        known, rows = self._call(f"reading {what} of run {run_id}", read)
        if known is None:
            raise RunNotFound(run_id, self.location)
        return self._rows.batches(run_id, rows)

    def load_run(self, run_id: str) -> RunRecord:
        """The run record alone; ``RunNotFound`` if unknown."""
        row = self._call(
            f"loading run {run_id}",
            lambda conn: conn.execute(self._sql.load_run, (run_id,)).fetchone(),
        )
        if row is None:
            raise RunNotFound(run_id, self.location)
        return self._rows.run(row[1:])

    def load_notes(self, run_id: str) -> list[RunNote]:
        """The run's notes in the order written; ``RunNotFound`` if unknown."""

        def read(conn: Connection) -> tuple[Any, list[Any]]:
            with self._snapshot(conn):  # the run and its notes from one snapshot
                known = conn.execute(self._sql.run_exists, (run_id,)).fetchone()
                return known, conn.execute(self._sql.select_notes, (run_id,)).fetchall()

        known, rows = self._call(f"loading the notes of run {run_id}", read)
        if known is None:
            raise RunNotFound(run_id, self.location)
        return self._rows.notes(run_id, rows)

    def logs(self, run_id: str, node_id: str | None = None) -> list[LogEntry]:
        """A run's log lines (of one node, if given) in the order written."""
        with self._lock:
            conn = self._live()
            try:
                if node_id is None:
                    rows = conn.execute(self._sql.logs, (run_id,)).fetchall()
                else:
                    rows = conn.execute(self._sql.logs_of_node, (run_id, node_id)).fetchall()
            except psycopg.Error as exc:
                raise self._failure(exc, f"reading the logs of run {run_id}") from exc
        return [LogEntry(run_id, *row) for row in rows]

    def run_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of runs that start with ``prefix``, sorted (a range of the id index)."""
        above = after_prefix(prefix)
        with self._lock:
            conn = self._live()
            try:
                if above is None:
                    rows = conn.execute(self._sql.run_ids, (prefix, limit)).fetchall()
                else:
                    rows = conn.execute(self._sql.run_ids_below, (prefix, above, limit)).fetchall()
            except psycopg.Error as exc:
                raise self._failure(exc, "looking runs up by id") from exc
        return [run_id for (run_id,) in rows if run_id.startswith(prefix)]

    def list_runs(self, limit: int = 50, *, parts: bool = True) -> list[RunRecord]:
        """The newest runs first (by ``created_at``; the later written first on ties);
        without ``parts``, only runs that are not part of another."""
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        sql = self._sql.list_runs if parts else self._sql.list_top_runs
        with self._lock:
            conn = self._live()
            try:
                rows = conn.execute(sql, (limit,)).fetchall()
            except psycopg.Error as exc:
                raise self._failure(exc, "listing runs") from exc
        return [self._rows.run(row[1:]) for row in rows]

    def child_runs(self, parent: str) -> list[RunRecord]:
        """The runs whose parent is ``parent``, in creation order; RunNotFound if
        there is no run ``parent``."""

        def read(conn: Connection) -> tuple[Any, list[Any]]:
            with self._snapshot(conn):
                known = conn.execute(self._sql.run_exists, (parent,)).fetchone()
                return known, conn.execute(self._sql.child_runs, (parent,)).fetchall()

        known, rows = self._call(f"listing the runs of run {parent}", read)
        if known is None:
            raise RunNotFound(parent, self.location)
        return [self._rows.run(row[1:]) for row in rows]

    def task_counts(self, run_id: str) -> dict[str, int]:
        """State -> how many of the run's tasks are in it now (tasks that never
        started are not counted), from the task index, folded first with the
        batches written since it last was (see :mod:`.index`)."""

        def read(conn: Connection) -> dict[str, int]:
            return self._index.counts(conn, self._index.fold(conn, run_id, self.location))

        return self._call(f"counting the tasks of run {run_id}", read)

    def task_rows(self, run_id: str, state: str | None, offset: int, limit: int) -> list[TaskRow]:
        """A page of the run's started tasks (of one state, if given), in the order
        they started."""

        def read(conn: Connection) -> list[TaskRow]:
            num = self._index.fold(conn, run_id, self.location)
            return self._index.rows(conn, num, state, offset, limit)

        return self._call(f"reading the tasks of run {run_id}", read)

    def durations(self, events: Sequence[str]) -> dict[str, float]:
        """Event key -> the mean seconds of its attempts in the last run that ran it
        long, for those of ``events`` the journal remembers."""
        if not events:
            return {}
        with self._lock:
            conn = self._live()
            try:
                rows = conn.execute(self._sql.durations, (list(events),)).fetchall()
            except psycopg.Error as exc:
                raise self._failure(exc, "reading how long events took") from exc
        return dict(rows)

    def schedule_states(self) -> dict[str, tuple[int, str]]:
        """Schedule name -> (version, state as JSON text), for every schedule kept."""

        def read(conn: Connection) -> list[Any]:
            return conn.execute(self._sql.schedule_states).fetchall()

        rows = self._call("reading schedules", read)
        return {name: (int(version), state) for name, version, state in rows}

    def save_schedule(self, name: str, state: str, version: int) -> bool:
        """Keep ``state`` for schedule ``name`` if its version is still ``version``
        (0: none kept yet); False if another writer changed it first."""

        def write(conn: Connection) -> int:
            with conn.transaction():
                if version == 0:
                    cursor = conn.execute(self._sql.add_schedule, (name, state, time.time()))
                else:
                    args = (state, time.time(), name, version)
                    cursor = conn.execute(self._sql.change_schedule, args)
                return cursor.rowcount

        # A write lost with its connection and made again finds the version moved
        # on (its own first try landed): False, and the caller reads the state again.
        return self._call(f"keeping schedule {name}", write) == 1

    def check(self) -> list[str]:
        """Every run read back whole (records and notes decoded), and batches that
        belong to no run: one line per problem found."""
        try:
            with self._lock:
                conn = self._live()
                ids = [run_id for (run_id,) in conn.execute(self._sql.all_run_ids)]
                orphans = [num for (num,) in conn.execute(self._sql.orphan_batches)]
        except psycopg.Error as exc:
            return [str(self._failure(exc, "listing runs"))]
        except StoreError as exc:
            return [str(exc)]
        problems = [
            f"{self.location} holds task records of run number {num}, which it has no run for"
            for num in orphans
        ]
        for run_id in ids:
            try:
                self.load(run_id)
            except StoreError as exc:
                problems.append(str(exc))
        return problems

    # -- life cycle ------------------------------------------------------

    def watch_stop(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from a thread of the journal's) as soon as any process
        asks run ``run_id`` to cancel or pause; returns what ends the watch.

        The request is a notification sent when the flag's update commits; the
        flag stays, so a notification missed (the listening connection was
        lost for a moment) is found by the engine's next poll.
        """
        return self._stops.watch(run_id, callback)

    def changes(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(run_id)`` (from a thread of the journal's) when any process
        changed run ``run_id`` in this journal, ``callback("")`` when any run may have
        changed; returns what ends the subscription.

        Listening once this returns.  A notification says "look now", nothing
        more: read the journal when told, and again
        :data:`~volnux.store.postgres.feed.NOTIFY_EVERY_S` later (task records and
        notes notify at most that often per run), and now and then untold (a
        notification sent while the listening connection was down is lost; the
        feed tells ``""`` once it is back).  Other journals have no such method.
        """
        return self._changes.subscribe(callback)

    def close(self) -> None:
        """Close the connection; the journal cannot be used afterwards."""
        self._stops.close()
        self._changes.close()
        with self._lock:
            self._closed = True
            self._conn.close()

    def __enter__(self) -> PostgresJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------

    def _call(
        self,
        doing: str,
        op: Callable[[Connection], _T],
        landed: Callable[[Connection], bool] | None = None,
    ) -> _T:
        """``op(connection)`` with the lock held, through a lost connection.

        A lost connection (the server restarted, the session was terminated,
        the network went) is connected again, with growing pauses, for up to
        the URL's ``reconnect_s``; then ``op`` runs again, unless ``landed``
        (given for a write that is not the same done twice) finds the write
        that met the loss was kept after all.  Past ``reconnect_s`` the call
        fails with a StoreError saying so: nothing after it is written, and
        the run can be resumed once the journal is back.
        """
        with self._lock:
            deadline: float | None = None
            pause = _RECONNECT_FIRST_S
            while True:
                try:
                    conn = self._live()
                    if deadline is not None and landed is not None and landed(conn):
                        return None  # type: ignore[return-value]  # a write: nothing to return
                    return op(conn)
                except psycopg.Error as exc:
                    if not connection_lost(exc):
                        raise self._failure(exc, doing) from exc
                    self._conn.close()
                    why = scrub(str(exc).strip() or type(exc).__name__, self._target.secrets)
                except StoreError as exc:
                    if deadline is None or not self._conn.closed:
                        raise  # not a lost connection: the caller's to see
                    why = str(exc)  # connecting again failed: the server is not back yet
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._target.reconnect_s
                    log.warning(
                        "lost the connection to the journal at %s while %s; connecting "
                        "again for up to %gs",
                        self.location,
                        doing,
                        self._target.reconnect_s,
                    )
                if now >= deadline:
                    raise StoreError(
                        f"lost the connection to the journal at {self.location} while {doing}, "
                        f"and it could not be had again within {self._target.reconnect_s:g}s "
                        f"({why}); nothing more is recorded by this process, and the run can "
                        "be resumed once the journal is reachable"
                    )
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, _RECONNECT_MAX_PAUSE_S)

    def _live(self) -> Connection:
        """The connection, connected again if it was lost (call with the lock held)."""
        if self._closed:
            raise StoreError(f"the journal at {self.location} is closed")
        conn = self._conn
        if conn.closed:  # lost: the call that met the loss raised; this one reconnects
            conn.close()
            self._conn = conn = connect(self._target)
            self._cursor = conn.cursor()
        elif conn.pgconn.transaction_status != _IDLE:
            # A call interrupted mid-transaction (KeyboardInterrupt) left one open.
            try:
                conn.rollback()
            except psycopg.Error as exc:
                raise self._failure(exc, "ending an interrupted transaction") from exc
        return conn

    @contextmanager
    def _snapshot(self, conn: Connection) -> Iterator[None]:
        """A read-only transaction whose statements all see one snapshot."""
        with conn.transaction():
            conn.execute(_READ_SNAPSHOT)
            yield

    def _check_epoch(self, conn: Connection, run_id: str, epoch: int) -> None:
        """Lock the run's lease (in the caller's transaction) and refuse unless
        ``epoch`` is its epoch."""
        row = conn.execute(self._sql.lock_epoch, (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id, self.location)
        if row[0] != epoch:
            raise Fenced(run_id, epoch, int(row[0]))

    def _epoch(self, run_id: str) -> int:
        """The run's epoch now (call with the lock held); RunNotFound if no such run."""
        try:
            row = self._conn.execute(self._sql.epoch_of, (run_id,)).fetchone()
        except psycopg.Error as exc:
            raise self._failure(exc, f"reading the epoch of run {run_id}") from exc
        if row is None:
            raise RunNotFound(run_id, self.location)
        return int(row[0])

    def _fenced(self, run_id: str, epoch: int | None) -> Exception:
        """Why a write wrote nothing (call with the lock held): the run is unknown
        (RunNotFound), or its epoch moved on (Fenced)."""
        current = self._epoch(run_id)
        return Fenced(run_id, epoch if epoch is not None else current, current)

    def _unknown_run(self, run_ids: set[str]) -> Exception:
        """RunNotFound naming the first (sorted) of ``run_ids`` the journal lacks
        (call with the lock held, outside any transaction)."""
        conn = self._conn
        for run_id in sorted(run_ids):
            try:
                row = conn.execute(self._sql.run_exists, (run_id,)).fetchone()
            except psycopg.Error:
                break
            if row is None:
                return RunNotFound(run_id, self.location)
        return RunNotFound(", ".join(sorted(run_ids)), self.location)

    def _two_writers(self, run_ids: set[str]) -> StoreError:
        return StoreError(
            f"another process is writing the task records of run {', '.join(sorted(run_ids))}"
            f" in {self.location}; a run has one owner at a time (cancel it, or wait for it)"
        )

    def _failure(self, exc: psycopg.Error, doing: str) -> StoreError:
        return store_error(self._target, exc, doing)


def _detail(note: RunNote) -> str:
    """A note's detail as the JSON text the journal keeps."""
    return encode_json(dict(note.detail), f"the detail of note {note.kind!r}")

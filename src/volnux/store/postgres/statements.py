"""The PostgreSQL journal's SQL, each statement with its schema's name quoted in.

Every value is a bound parameter (``%s``); the one name in the text is the
schema's, checked by :func:`~volnux.store.postgres.url.check_schema` and
quoted by :class:`psycopg.sql.Identifier`.  Each statement is composed once
per journal, so its text stays the same from call to call and psycopg
prepares it on the server after a few uses.

Fencing.  A write that carries an epoch writes nothing unless the epoch is
still the run's, checked in the statement that writes, and the check must
hold until the commit: a write that read the old epoch must not land after
the new owner, its claim committed, has read the run.

* Notes and log lines read the lease ``FOR SHARE``: a claim (an UPDATE of
  the lease) waits for such a write to commit, and a write that comes after
  an uncommitted claim waits for it, then re-reads the lease (READ
  COMMITTED) and writes nothing.  (``set_run_state``, which also ends the
  lease, locks it FOR NO KEY UPDATE.)
* Task records, the engine's hot path, take no row lock (it costs a WAL
  record and about 85 us a write here).  A claim appends an empty batch to
  the run's records in the statement that moves the epoch, at the next
  batch number; a write of the old owner that did not see the new epoch
  computed that same number (the old owner writes one batch at a time), so
  the two meet on the primary key: whichever comes second waits for the
  first and fails with a unique violation.  A claim that fails so tries
  again (after the write: the new owner will read it); a write that fails
  so finds the epoch moved and is Fenced.  An empty batch holds no record,
  so readers never see it.

Notifications.  A write that changes what is shown of a run notifies the
journal's change channel (the parameter before last) with the run's id (the
last), in the statement that writes: only if it wrote, and delivered when it
commits (see :mod:`.feed`).  A run's creation and its state always notify;
task records and notes have a second statement, ``..._told``, that does,
used at most every :data:`~volnux.store.postgres.feed.NOTIFY_EVERY_S`.  The
``..._told`` statements are a SELECT of the write's RETURNING, one row per
row written, so the cursor's rowcount is still the rows written.

Parameters whose type PostgreSQL cannot infer (a NULL in a SELECT list)
carry a cast.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["Statements"]

# A run with its lease (a run without one: no owner, epoch 0).
_SELECT_RUN = (
    "SELECT r.num, r.id, r.workflow, r.filename, r.text, r.fingerprint, r.events, r.inputs,"
    " r.inputs_blob, r.inputs_codec, r.state, r.created_at, r.updated_at, r.ended_at, r.error,"
    " l.owner, COALESCE(l.epoch, 0), l.heartbeat_at, r.parent"
    " FROM {s}.runs AS r LEFT JOIN {s}.leases AS l ON l.num = r.num"
)
# The next batch number of the run numbered `x.num`: one statement reads and
# writes it, so two writers of one run (which fencing forbids) collide on the
# primary key instead of interleaving.
_NEXT_SEQ = "COALESCE((SELECT max(t.seq) FROM {s}.task_records AS t WHERE t.num = x.num), 0) + 1"
_NEXT_SEQ_OF_C = _NEXT_SEQ.replace("x.num", "c.num")
# The engine's writes of task records (see Statements.record, .record_fenced).
_RECORD = (
    "INSERT INTO {s}.task_records (num, seq, records)"
    " SELECT x.num, " + _NEXT_SEQ + ", %s::text FROM {s}.runs AS x WHERE x.id = %s"
)
_RECORD_FENCED = (
    "INSERT INTO {s}.task_records (num, seq, records)"
    " SELECT x.num, " + _NEXT_SEQ + ", %s::text FROM {s}.leases AS x"
    " WHERE x.num = (SELECT r.num FROM {s}.runs AS r WHERE r.id = %s) AND x.epoch = %s"
)
_ADD_NOTE = "INSERT INTO {s}.run_notes (run_id, kind, at, detail) VALUES (%s, %s, %s, %s)"
_ADD_NOTE_FENCED = (
    "INSERT INTO {s}.run_notes (run_id, kind, at, detail)"
    " SELECT r.id, %s::text, %s::float8, %s::text"
    " FROM {s}.runs AS r JOIN {s}.leases AS l ON l.num = r.num"
    " WHERE r.id = %s AND l.epoch = %s FOR SHARE OF l"
)


def _told(write: str, returning: str) -> str:
    """``write`` that also notifies the change channel, once per row it writes."""
    return f"WITH w AS ({write} RETURNING {returning}) SELECT pg_notify(%s, %s) FROM w"


@dataclass(frozen=True, slots=True)
class Statements:
    """Every statement of the journal; :meth:`for_schema` quotes the schema in."""

    # -- runs and leases ------------------------------------------------
    #: A run and its lease in one statement (so: one transaction), notified.
    create_run: str = (
        "WITH x AS ("
        " INSERT INTO {s}.runs (id, workflow, filename, text, fingerprint, events, inputs,"
        " inputs_blob, inputs_codec, state, created_at, updated_at, ended_at, error, parent)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING num),"
        " l AS (INSERT INTO {s}.leases (num, owner, epoch, heartbeat_at)"
        " SELECT x.num, %s::text, %s::bigint, %s::float8 FROM x RETURNING num)"
        " SELECT pg_notify(%s, %s) FROM l"
    )
    load_run: str = _SELECT_RUN + " WHERE r.id = %s"
    child_runs: str = _SELECT_RUN + " WHERE r.parent = %s ORDER BY r.num"
    list_runs: str = _SELECT_RUN + " ORDER BY r.created_at DESC, r.num DESC LIMIT %s"
    list_top_runs: str = (
        _SELECT_RUN + " WHERE r.parent IS NULL ORDER BY r.created_at DESC, r.num DESC LIMIT %s"
    )
    run_exists: str = "SELECT 1 FROM {s}.runs WHERE id = %s"
    run_ids: str = "SELECT id FROM {s}.runs WHERE id >= %s ORDER BY id LIMIT %s"
    run_ids_below: str = "SELECT id FROM {s}.runs WHERE id >= %s AND id < %s ORDER BY id LIMIT %s"
    all_run_ids: str = "SELECT id FROM {s}.runs ORDER BY num"
    #: The run's epoch (NULL row: no such run).
    epoch_of: str = (
        "SELECT COALESCE(l.epoch, 0) FROM {s}.runs AS r"
        " LEFT JOIN {s}.leases AS l ON l.num = r.num WHERE r.id = %s"
    )
    #: The run's epoch, its lease locked (to be updated) until the transaction ends.
    lock_epoch: str = (
        "SELECT l.epoch FROM {s}.leases AS l JOIN {s}.runs AS r ON r.num = l.num"
        " WHERE r.id = %s FOR NO KEY UPDATE OF l"
    )
    #: The run's number (no row: no such run), notified.
    set_run_state: str = (
        "WITH u AS (UPDATE {s}.runs SET state = %s, updated_at = %s, ended_at = %s, error = %s,"
        " cancel_requested = CASE WHEN %s THEN 0 ELSE cancel_requested END"
        " WHERE id = %s RETURNING num)"
        " SELECT u.num, pg_notify(%s, %s) FROM u"
    )
    end_lease: str = "UPDATE {s}.leases SET owner = NULL, heartbeat_at = NULL WHERE num = %s"
    #: The new epoch, and the empty batch that fences the old owner's records
    #: (see the module docstring).
    claim: str = (
        "WITH c AS (UPDATE {s}.leases AS l SET owner = %s, epoch = l.epoch + 1,"
        " heartbeat_at = %s FROM {s}.runs AS r WHERE r.id = %s AND l.num = r.num"
        " RETURNING l.num, l.epoch)"
        " INSERT INTO {s}.task_records (num, seq, records) SELECT c.num, " + _NEXT_SEQ_OF_C + ","
        " '[]' FROM c RETURNING (SELECT c.epoch FROM c)"
    )
    claim_expecting: str = (
        "WITH c AS (UPDATE {s}.leases AS l SET owner = %s, epoch = l.epoch + 1,"
        " heartbeat_at = %s FROM {s}.runs AS r WHERE r.id = %s AND l.num = r.num"
        " AND l.epoch = %s RETURNING l.num, l.epoch)"
        " INSERT INTO {s}.task_records (num, seq, records) SELECT c.num, " + _NEXT_SEQ_OF_C + ","
        " '[]' FROM c RETURNING (SELECT c.epoch FROM c)"
    )
    heartbeat: str = (
        "UPDATE {s}.leases AS l SET heartbeat_at = %s"
        " FROM {s}.runs AS r WHERE r.id = %s AND l.num = r.num AND l.epoch = %s"
    )
    release: str = (
        "UPDATE {s}.leases AS l SET owner = NULL, heartbeat_at = NULL"
        " FROM {s}.runs AS r WHERE r.id = %s AND l.num = r.num AND l.epoch = %s"
    )
    #: The flag, and a notification on the journal's stop channel (the first
    #: parameter) with the run's id, sent when the update commits.
    request_cancel: str = (
        "WITH u AS (UPDATE {s}.runs SET cancel_requested = 1 WHERE id = %s RETURNING id)"
        " SELECT pg_notify(%s, u.id) FROM u"
    )
    #: A cancel asked already stays.
    request_pause: str = (
        "WITH u AS (UPDATE {s}.runs SET cancel_requested ="
        " CASE WHEN cancel_requested = 1 THEN 1 ELSE 2 END WHERE id = %s RETURNING id)"
        " SELECT pg_notify(%s, u.id) FROM u"
    )
    stop_flag: str = "SELECT cancel_requested FROM {s}.runs WHERE id = %s"

    # -- task records ---------------------------------------------------
    #: The engine's write without an epoch: nothing if there is no such run.
    record: str = _RECORD
    record_told: str = _told(_RECORD, "num")
    #: The engine's write, fenced (see the module docstring): nothing unless
    #: the run's epoch is still the writer's.
    record_fenced: str = _RECORD_FENCED
    record_fenced_told: str = _told(_RECORD_FENCED, "num")
    #: A notification for each run named (an array), for a write of several runs.
    tell_runs: str = "SELECT pg_notify(%s, u.id) FROM unnest(%s::text[]) AS u (id)"
    select_tasks: str = "SELECT seq, records FROM {s}.task_records WHERE num = %s ORDER BY seq"
    #: Some tasks' records, each as a batch of one (json, not jsonb: the text as written).
    task_history: str = (
        "SELECT t.seq, '[' || e.value::text || ']' FROM {s}.task_records AS t,"
        " json_array_elements(t.records::json) WITH ORDINALITY AS e (value, i)"
        " WHERE t.num = (SELECT num FROM {s}.runs WHERE id = %s) AND e.value ->> 0 = ANY(%s)"
        " ORDER BY t.seq, e.i"
    )
    #: Batches whose run number names no run (check()).
    orphan_batches: str = (
        "SELECT DISTINCT t.num FROM {s}.task_records AS t"
        " WHERE NOT EXISTS (SELECT 1 FROM {s}.runs AS r WHERE r.num = t.num) ORDER BY t.num"
    )

    # -- notes and logs -------------------------------------------------
    add_note: str = _ADD_NOTE
    add_note_told: str = _told(_ADD_NOTE, "seq")
    add_note_fenced: str = _ADD_NOTE_FENCED
    add_note_fenced_told: str = _told(_ADD_NOTE_FENCED, "seq")
    select_notes: str = "SELECT kind, at, detail FROM {s}.run_notes WHERE run_id = %s ORDER BY seq"
    # -- a write in doubt (the connection was lost while it was sent) ---------
    #: The run's last batch of task records.
    last_batch: str = (
        "SELECT t.records FROM {s}.task_records AS t JOIN {s}.runs AS r ON r.num = t.num"
        " WHERE r.id = %s ORDER BY t.seq DESC LIMIT 1"
    )
    #: The run's last note.
    last_note: str = (
        "SELECT kind, at, detail FROM {s}.run_notes WHERE run_id = %s ORDER BY seq DESC LIMIT 1"
    )
    #: The run's last log line.
    last_log: str = (
        "SELECT node_id, attempt, at, level, message FROM {s}.task_logs WHERE run_id = %s"
        " ORDER BY seq DESC LIMIT 1"
    )
    #: Many lines in one statement, numbered in the order given.
    add_logs: str = (
        "INSERT INTO {s}.task_logs (run_id, node_id, attempt, at, level, message)"
        " SELECT u.run_id, u.node_id, u.attempt, u.at, u.level, u.message"
        " FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::float8[], %s::bigint[],"
        " %s::text[]) WITH ORDINALITY AS u (run_id, node_id, attempt, at, level, message, i)"
        " ORDER BY u.i"
    )
    #: The same, fenced: nothing unless the first entry's run still has the
    #: epoch, its lease locked as for a record.
    add_logs_fenced: str = (
        "WITH fence AS (SELECT l.num FROM {s}.leases AS l JOIN {s}.runs AS r ON r.num = l.num"
        " WHERE r.id = %s AND l.epoch = %s FOR SHARE OF l)"
        " INSERT INTO {s}.task_logs (run_id, node_id, attempt, at, level, message)"
        " SELECT u.run_id, u.node_id, u.attempt, u.at, u.level, u.message"
        " FROM fence, unnest(%s::text[], %s::text[], %s::bigint[], %s::float8[], %s::bigint[],"
        " %s::text[]) WITH ORDINALITY AS u (run_id, node_id, attempt, at, level, message, i)"
        " ORDER BY u.i"
    )
    logs: str = (
        "SELECT node_id, attempt, at, level, message FROM {s}.task_logs"
        " WHERE run_id = %s ORDER BY seq"
    )
    logs_of_node: str = (
        "SELECT node_id, attempt, at, level, message FROM {s}.task_logs"
        " WHERE run_id = %s AND node_id = %s ORDER BY seq"
    )

    # -- event durations ------------------------------------------------
    durations: str = "SELECT event, seconds FROM {s}.event_durations WHERE event = ANY(%s::text[])"
    record_durations: str = (
        "INSERT INTO {s}.event_durations (event, seconds, at)"
        " SELECT u.event, u.seconds, %s::float8 FROM unnest(%s::text[], %s::float8[])"
        " AS u (event, seconds)"
        " ON CONFLICT (event) DO UPDATE SET seconds = excluded.seconds, at = excluded.at"
    )

    # -- schedules --------------------------------------------------------
    schedule_states: str = "SELECT name, version, state FROM {s}.schedules"
    add_schedule: str = (
        "INSERT INTO {s}.schedules (name, version, state, updated_at) VALUES (%s, 1, %s, %s)"
        " ON CONFLICT (name) DO NOTHING"
    )
    change_schedule: str = (
        "UPDATE {s}.schedules SET version = version + 1, state = %s, updated_at = %s"
        " WHERE name = %s AND version = %s"
    )

    @classmethod
    def for_schema(cls, schema: str, conn: psycopg.Connection[Any]) -> Statements:
        """Every statement with ``{s}`` replaced by ``schema``, quoted as an identifier.

        ``schema`` must have passed :func:`~volnux.store.postgres.url.check_schema`.
        """
        name = sql.Identifier(schema)
        templates = cls()
        return cls(
            **{
                field.name: sql.SQL(getattr(templates, field.name)).format(s=name).as_string(conn)
                for field in fields(cls)
            }
        )

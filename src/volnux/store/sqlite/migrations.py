"""The SQLite journal's schema, as ordered migration steps.

A journal file records two numbers in its header:

* ``PRAGMA application_id`` = :data:`APPLICATION_ID` marks the file as a
  Volnux journal, so that a database of another program is never mistaken
  for one (and never written to);
* ``PRAGMA user_version`` = the number of the last migration applied.

Opening a journal applies, in order and in one transaction, every step whose
number is above the file's version.  A step, once released, never changes:
a schema change is a new step appended to :data:`MIGRATIONS`.

Schema, version 8::

    runs          one row per run; cancel_requested is the cross-process flag (1 cancel, 2 pause);
                  num (version 3) numbers runs from 1 in creation order; parent
                  (version 6) the id of the run this one is a part of
    leases        (version 4) a run's owner, epoch and heartbeat, by run number
    task_records  append-only batches of task transitions, keyed
                  num * 2**32 + batch number (version 3; see below)
    run_notes     append-only notes about runs
    task_logs     append-only log lines of task attempts (version 2)
    event_durations  (version 5) the mean seconds of an event's attempts in the
                  last run that ran it long, by event key (name@version)
    schedules     (version 7) each schedule's state as JSON (its last slot, paused ...)
                  and a version number that every change bumps (compare-and-set)
    task_index    (version 8) each task's latest state, attempt, start, last change and
                  error, by run number and node: folded from task_records by readers
                  (task_index_upto: the last batch key folded), never by the engine

A run's batches are numbered from 1 in write order.  Up to version 2 they
were keyed ``(run_id, seq)`` in a WITHOUT ROWID table; version 3 keys them
by one integer, the rowid, that puts the run's number in the high 32 bits
and the batch number in the low 32.  A run's batches are then one rowid
range, and the newest run's next batch goes at the end of the table's
B-tree, where SQLite appends a page instead of splitting one: about 8 us
less per durable chain step here (``bench/engine.py``).

``result`` and ``inputs`` hold whatever their codec wrote (TEXT for JSON,
BLOB for bytes and pickle); ``result_codec``/``inputs_codec`` name that
codec (see :mod:`volnux.store.codec`).  ``error`` and ``detail`` and
``events`` are JSON text.  Times are seconds since the epoch (REAL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "APPLICATION_ID",
    "LATEST_VERSION",
    "MIGRATIONS",
    "REQUIRED_TABLES",
    "Migration",
    "apply_migrations",
]

#: ``PRAGMA application_id`` of a Volnux journal: the bytes ``b"Volx"``.
APPLICATION_ID = 0x566F6C78


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its number, what it does, and its SQL statements."""

    version: int
    summary: str
    statements: tuple[str, ...]


# Notes on the SQLite dialect, kept here because they shape the DDL:
# * `seq INTEGER PRIMARY KEY` makes seq the rowid: each new row gets
#   max(rowid) + 1, so seq is write order.  AUTOINCREMENT is left out on
#   purpose: it only adds a promise never to reuse a deleted row's number, and
#   costs an extra write to sqlite_sequence on every insert.
# * `result BLOB` has no type affinity, so JSON text stays TEXT and bytes stay
#   BLOB; the codec column says which.
# * Foreign keys are declared so that a record for an unknown run is refused
#   (the connection turns enforcement on with PRAGMA foreign_keys).
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, task records and run notes",
        (
            """
            CREATE TABLE runs (
                id               TEXT PRIMARY KEY,
                workflow         TEXT NOT NULL,
                filename         TEXT NOT NULL,
                text             TEXT NOT NULL,
                fingerprint      TEXT NOT NULL,
                events           TEXT NOT NULL,
                inputs           BLOB,
                inputs_codec     TEXT,
                state            TEXT NOT NULL,
                created_at       REAL NOT NULL,
                updated_at       REAL NOT NULL,
                ended_at         REAL,
                error            TEXT,
                cancel_requested INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX runs_by_created_at ON runs (created_at)",
            """
            CREATE TABLE task_records (
                run_id          TEXT NOT NULL REFERENCES runs (id),
                seq             INTEGER NOT NULL,
                records         TEXT NOT NULL,
                PRIMARY KEY (run_id, seq)
            ) WITHOUT ROWID
            """,
            # One row per batch of task records (a JSON array, see
            # store/sqlite/records.py), clustered by run: SQLite's per-row cost is paid
            # once per engine write, and a run reads back in one range scan.
            """
            CREATE TABLE run_notes (
                seq    INTEGER PRIMARY KEY,
                run_id TEXT NOT NULL REFERENCES runs (id),
                kind   TEXT NOT NULL,
                at     REAL NOT NULL,
                detail TEXT NOT NULL
            )
            """,
            "CREATE INDEX run_notes_by_run ON run_notes (run_id, seq)",
        ),
    ),
    Migration(
        2,
        "task log lines",
        (
            # level is the logging module's number; at is seconds since the epoch.
            """
            CREATE TABLE task_logs (
                seq     INTEGER PRIMARY KEY,
                run_id  TEXT NOT NULL REFERENCES runs (id),
                node_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                at      REAL NOT NULL,
                level   INTEGER NOT NULL,
                message TEXT NOT NULL
            )
            """,
            # Read by run (all lines, in order) or by run and node.
            "CREATE INDEX task_logs_by_run ON task_logs (run_id, node_id, seq)",
        ),
    ),
    Migration(
        3,
        "task record batches keyed by run number and batch number",
        (
            "ALTER TABLE runs ADD COLUMN num INTEGER",
            # The existing runs keep their creation order (rowid order).
            "UPDATE runs SET num = rowid",
            "CREATE UNIQUE INDEX runs_by_num ON runs (num)",
            """
            CREATE TABLE task_batches (
                key     INTEGER PRIMARY KEY,
                records TEXT NOT NULL
            )
            """,
            # Every run has a num by now, and the foreign key kept every
            # batch's run_id pointing at a run, so the join keeps them all.
            """
            INSERT INTO task_batches (key, records)
            SELECT runs.num * 4294967296 + task_records.seq, task_records.records
            FROM task_records JOIN runs ON runs.id = task_records.run_id
            """,
            "DROP TABLE task_records",
            "ALTER TABLE task_batches RENAME TO task_records",
        ),
    ),
    Migration(
        4,
        "a lease per run: its owner, its epoch (the fencing token) and a heartbeat",
        (
            # A table of its own, keyed by the run's number, rather than
            # columns of runs: every engine write reads the epoch, and a runs
            # row (workflow text, pins) spills onto overflow pages that a late
            # column sits behind.  A run recorded before leases has no row:
            # no owner, epoch 0; its first claim (a resume) makes it epoch 1.
            """
            CREATE TABLE leases (
                num          INTEGER PRIMARY KEY,
                owner        TEXT,
                epoch        INTEGER NOT NULL,
                heartbeat_at REAL
            )
            """,
        ),
    ),
    Migration(
        5,
        "how long events' attempts took, so that pools grow at once for long ones",
        (
            """
            CREATE TABLE event_durations (
                event   TEXT PRIMARY KEY,
                seconds REAL NOT NULL,
                at      REAL NOT NULL
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        6,
        "a run's parent: a batch run's batches, a sub-workflow's runs",
        (
            "ALTER TABLE runs ADD COLUMN parent TEXT",
            "CREATE INDEX runs_by_parent ON runs (parent, num) WHERE parent IS NOT NULL",
        ),
    ),
    Migration(
        7,
        "schedules: where each stands (its last slot, paused), changed by compare-and-set",
        (
            """
            CREATE TABLE schedules (
                name       TEXT PRIMARY KEY,
                version    INTEGER NOT NULL,
                state      TEXT NOT NULL,
                updated_at REAL NOT NULL
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        8,
        "each task's latest state, folded from the records by readers (big runs' pages)",
        (
            # Written by readers, never by the engine (whose writes stay one
            # INSERT): task_index_upto says up to which batch key a run is folded.
            """
            CREATE TABLE task_index (
                num     INTEGER NOT NULL,
                node    TEXT NOT NULL,
                round   INTEGER NOT NULL,
                state   TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                started REAL NOT NULL,
                at      REAL NOT NULL,
                error   TEXT,
                PRIMARY KEY (num, node)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX task_index_by_start ON task_index (num, started, node)",
            "CREATE INDEX task_index_by_state ON task_index (num, state, started, node)",
            """
            CREATE TABLE task_index_upto (
                num  INTEGER PRIMARY KEY,
                upto INTEGER NOT NULL
            )
            """,
        ),
    ),
)

#: The schema version this code writes; a file with a higher one is refused.
LATEST_VERSION = MIGRATIONS[-1].version

#: The tables every Volnux journal has, whatever its version.
REQUIRED_TABLES = frozenset({"runs", "task_records", "run_notes"})


def apply_migrations(
    conn: sqlite3.Connection, current: int, steps: Sequence[Migration] = MIGRATIONS
) -> int:
    """Apply, in order, every one of ``steps`` above version ``current``; returns
    the new version.

    The caller holds an open write transaction (``BEGIN IMMEDIATE``) and
    commits or rolls back: steps must not commit on their own, which is why
    they are run statement by statement rather than with ``executescript``
    (that commits first).
    """
    version = current
    for step in steps:
        if step.version <= current:
            continue
        for statement in step.statements:
            conn.execute(statement)
        version = step.version
    # PRAGMA arguments cannot be bound parameters; both values are ints we own.
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    conn.execute(f"PRAGMA user_version = {version:d}")
    return version

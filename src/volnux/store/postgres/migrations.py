"""The PostgreSQL journal's schema, as ordered migration steps, and how it is prepared.

A journal is one schema (``volnux`` unless the URL says ``?schema=NAME``)
holding the tables below and ``schema_version``: one row per migration step
applied, the highest being the schema's version.  A schema that has tables
but no ``schema_version`` belongs to another program, and Volnux refuses it
without writing to it; a journal whose version is newer than this code knows
is refused too.

Opening a journal applies, in one transaction, every step above the
schema's version.  Two processes opening a new schema at once serialize on a
transaction-scoped advisory lock whose key is derived from the schema's name,
taken first in that transaction, and look at the version again once they
hold it: the second finds the work done.  DDL is transactional in
PostgreSQL, so no one ever sees half a migration.  A step, once released,
never changes: a schema change is a new step appended to :data:`MIGRATIONS`.

Schema, version 2::

    runs          one row per run; num (an identity) numbers runs in creation order;
                  cancel_requested is the cross-process flag (1 cancel, 2 pause);
                  parent (version 2) the id of the run this one is a part of
    leases        a run's owner, epoch (the fencing token) and heartbeat, by run number;
                  every run has one, written with it
    task_records  append-only batches of task transitions, keyed (num, seq): the
                  run's number and the batch's number in the run, from 1
    run_notes     append-only notes about runs
    task_logs     append-only log lines of task attempts
    event_durations  the mean seconds of an event's attempts in the last run that
                  ran it long, by event key (name@version)
    schedules     (version 3) each schedule's state as JSON (its last slot, paused ...)
                  and a version number that every change bumps (compare-and-set)
    task_index    (version 4) each task's latest state, by run number and node,
                  folded from task_records by readers (task_index_upto: the last
                  batch folded); see store/postgres/index.py

A batch is one row holding a JSON array of records, as in the SQLite journal
(see :mod:`volnux.store.sqlite.records`), so that one engine write, a chain
step, is one INSERT.  ``inputs`` holds a codec's text (JSON), ``inputs_blob``
its bytes (pickle, custom codecs); ``inputs_codec`` names the codec.  Times
are seconds since the epoch, as ``double precision`` (a Python float, exactly).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg import sql

from ...errors import CorruptStoreError, JournalNotFound
from ..sqlite.migrations import Migration

__all__ = ["LATEST_VERSION", "MIGRATIONS", "REQUIRED_TABLES", "advisory_key", "prepare_schema"]

# Notes on the DDL:
# * Text that is looked up or compared by range (run ids, event keys) is
#   COLLATE "C": byte order, which for UTF-8 is code point order, as Python
#   sorts, and what a prefix range needs; a locale's collation would put
#   "a-b" between "ab" and "ac".
# * task_records has no foreign key: its one writer inserts ... SELECT from
#   runs (or leases), so a batch of an unknown run is never written, and a
#   foreign key would lock the run's row on every insert.  Notes and logs,
#   rarer, keep theirs: it is what refuses an unknown run there.
# * Each statement is a template: {s} is the schema, quoted by psycopg.sql.
MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "runs, leases, task records, run notes, task logs and event durations",
        (
            """
            CREATE TABLE {s}.runs (
                num              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id               text COLLATE "C" NOT NULL UNIQUE,
                workflow         text NOT NULL,
                filename         text NOT NULL,
                text             text NOT NULL,
                fingerprint      text NOT NULL,
                events           text NOT NULL,
                inputs           text,
                inputs_blob      bytea,
                inputs_codec     text,
                state            text NOT NULL,
                created_at       double precision NOT NULL,
                updated_at       double precision NOT NULL,
                ended_at         double precision,
                error            text,
                cancel_requested smallint NOT NULL DEFAULT 0
            )
            """,
            # list_runs: newest first, the later written first on ties.
            "CREATE INDEX runs_by_created_at ON {s}.runs (created_at DESC, num DESC)",
            # A table of its own: every fenced write locks the lease's row (FOR
            # SHARE), and a heartbeat rewrites it; the runs row is wide (workflow
            # text, pins), and both would rewrite or lock it instead.
            """
            CREATE TABLE {s}.leases (
                num          bigint PRIMARY KEY REFERENCES {s}.runs (num),
                owner        text,
                epoch        bigint NOT NULL,
                heartbeat_at double precision
            )
            """,
            """
            CREATE TABLE {s}.task_records (
                num     bigint NOT NULL,
                seq     bigint NOT NULL,
                records text NOT NULL,
                PRIMARY KEY (num, seq)
            )
            """,
            """
            CREATE TABLE {s}.run_notes (
                seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                run_id text COLLATE "C" NOT NULL REFERENCES {s}.runs (id),
                kind   text NOT NULL,
                at     double precision NOT NULL,
                detail text NOT NULL
            )
            """,
            "CREATE INDEX run_notes_by_run ON {s}.run_notes (run_id, seq)",
            # level is the logging module's number.
            """
            CREATE TABLE {s}.task_logs (
                seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                run_id  text COLLATE "C" NOT NULL REFERENCES {s}.runs (id),
                node_id text NOT NULL,
                attempt bigint NOT NULL,
                at      double precision NOT NULL,
                level   bigint NOT NULL,
                message text NOT NULL
            )
            """,
            "CREATE INDEX task_logs_by_run ON {s}.task_logs (run_id, node_id, seq)",
            """
            CREATE TABLE {s}.event_durations (
                event   text COLLATE "C" PRIMARY KEY,
                seconds double precision NOT NULL,
                at      double precision NOT NULL
            )
            """,
        ),
    ),
    Migration(
        2,
        "a run's parent: a batch run's batches, a sub-workflow's runs",
        (
            "ALTER TABLE {s}.runs ADD COLUMN parent text",
            "CREATE INDEX runs_by_parent ON {s}.runs (parent, num) WHERE parent IS NOT NULL",
        ),
    ),
    Migration(
        3,
        "schedules: where each stands (its last slot, paused), changed by compare-and-set",
        (
            """
            CREATE TABLE {s}.schedules (
                name       text COLLATE "C" PRIMARY KEY,
                version    bigint NOT NULL,
                state      text NOT NULL,
                updated_at double precision NOT NULL
            )
            """,
        ),
    ),
    Migration(
        4,
        "each task's latest state, folded from the records by readers (big runs' pages)",
        (
            """
            CREATE TABLE {s}.task_index (
                num     bigint NOT NULL,
                node    text COLLATE "C" NOT NULL,
                round   bigint NOT NULL,
                state   text NOT NULL,
                attempt bigint NOT NULL,
                started double precision NOT NULL,
                at      double precision NOT NULL,
                error   text,
                PRIMARY KEY (num, node)
            )
            """,
            "CREATE INDEX task_index_by_start ON {s}.task_index (num, started, node)",
            "CREATE INDEX task_index_by_state ON {s}.task_index (num, state, started, node)",
            """
            CREATE TABLE {s}.task_index_upto (
                num  bigint PRIMARY KEY,
                upto bigint NOT NULL
            )
            """,
        ),
    ),
)

#: The schema version this code writes; a journal with a higher one is refused.
LATEST_VERSION: Final = MIGRATIONS[-1].version

#: The tables every Volnux journal has, whatever its version.
REQUIRED_TABLES: Final = frozenset({"runs", "leases", "task_records", "run_notes"})

_VERSION_TABLE: Final = "schema_version"

_TABLES_OF: Final = (
    "SELECT c.relname FROM pg_catalog.pg_class AS c"
    " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
    " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)
_SCHEMA_EXISTS: Final = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"

Connection = psycopg.Connection[Any]


def advisory_key(schema: str) -> int:
    """The advisory lock that migrations of ``schema`` take: a signed 64-bit
    number from its name, the same in every process and every version."""
    digest = hashlib.sha256(f"volnux.store.postgres.migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def prepare_schema(
    conn: Connection,
    schema: str,
    location: str,
    create: bool,
    steps: Sequence[Migration] = MIGRATIONS,
) -> int:
    """Check the schema is a Volnux journal (or nothing yet) and bring it up to date.

    Without ``create``, a missing or empty schema is :class:`JournalNotFound`
    and nothing is created.  Returns the schema's version.  ``conn`` is in
    autocommit mode; psycopg errors propagate (the caller names the journal).
    """
    latest = steps[-1].version
    version = _version(conn, schema, location, latest)
    if version == latest:
        return version  # the usual case: one look, no lock
    if version is None and not create:
        raise JournalNotFound(location)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(schema),))
        # Another process may have migrated the schema between the first look
        # and the lock: look again, under it.
        version = _version(conn, schema, location, latest)
        if version is None and not create:
            raise JournalNotFound(location)
        if version != latest:
            _migrate(conn, schema, version or 0, steps)
    return latest


def _version(conn: Connection, schema: str, location: str, latest: int) -> int | None:
    """The schema's version; None when it does not exist or is empty; raises
    for a schema of another program, a damaged journal and a newer one."""
    tables = {name for (name,) in conn.execute(_TABLES_OF, (schema,))}
    if not tables:
        return None
    if _VERSION_TABLE not in tables:
        shown = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "")
        raise CorruptStoreError(
            f"the schema {schema!r} of {location} holds tables of another program ({shown}), "
            "not a Volnux journal; Volnux will not write to it. Name another schema with "
            "?schema=NAME"
        )
    query = sql.SQL("SELECT max(version) FROM {s}.{t}").format(
        s=sql.Identifier(schema), t=sql.Identifier(_VERSION_TABLE)
    )
    row = conn.execute(query).fetchone()
    version = int(row[0]) if row and row[0] is not None else 0
    if version > latest:
        raise CorruptStoreError(
            f"{location} is a Volnux journal of schema version {version}, newer than this "
            f"version of Volnux knows (up to {latest}); upgrade Volnux to open it"
        )
    missing = REQUIRED_TABLES - tables
    if version >= 1 and missing:
        raise CorruptStoreError(
            f"{location} is marked as a Volnux journal but lacks the tables "
            f"{', '.join(sorted(missing))}; it is damaged"
        )
    return version


def _migrate(conn: Connection, schema: str, current: int, steps: Sequence[Migration]) -> None:
    """Create the schema if need be, then apply the steps above ``current`` (the
    caller holds the transaction and the lock)."""
    name = sql.Identifier(schema)
    if conn.execute(_SCHEMA_EXISTS, (schema,)).fetchone() is None:
        conn.execute(sql.SQL("CREATE SCHEMA {s}").format(s=name))
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} (version integer PRIMARY KEY,"
            " summary text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(s=name, t=sql.Identifier(_VERSION_TABLE))
    )
    record = sql.SQL("INSERT INTO {s}.{t} (version, summary) VALUES (%s, %s)").format(
        s=name, t=sql.Identifier(_VERSION_TABLE)
    )
    for step in steps:
        if step.version <= current:
            continue
        for statement in step.statements:
            conn.execute(sql.SQL(statement).format(s=name))
        conn.execute(record, (step.version, step.summary))

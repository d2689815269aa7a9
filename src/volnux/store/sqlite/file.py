"""Opening a SQLite journal file: checking it is one, preparing it, migrating it.

Opening refuses, with :class:`CorruptStoreError` and without changing a byte
of the file, anything that is not a Volnux journal: a file that is not
SQLite, a truncated database, a database of another program, and a journal
with a newer schema than this code knows.  A missing or empty file becomes a
new journal.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal

from ...errors import CorruptStoreError, JournalNotFound, StoreError
from .migrations import APPLICATION_ID, LATEST_VERSION, REQUIRED_TABLES, apply_migrations

__all__ = [
    "PAGE_SIZE",
    "Synchronous",
    "bounded_check",
    "full_check",
    "open_connection",
    "rollback",
    "store_error",
    "write_transaction",
]

Synchronous = Literal["NORMAL", "FULL"]

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_HEADER_SIZE: Final = 100

#: The page size of a new journal (SQLite's default is 4,096).  Every commit
#: writes whole pages to the WAL, and a checkpoint syncs them all: a chain
#: step's row (~200 bytes) costs half the bytes in a 2 KiB page.  Measured
#: here in a loop of commits, checkpoints included: 15.7 us a commit against
#: 17.1 with 4 KiB pages for rows of ~200 bytes, about equal for rows of
#: 1.5-3 KB (which spill into more, smaller pages).  A file keeps the page
#: size it was created with.
PAGE_SIZE: Final = 2048


def open_connection(
    path: Path, synchronous: Synchronous, busy_timeout: float, create: bool = True
) -> sqlite3.Connection:
    """Check the file, connect, refuse what is not ours, migrate, set pragmas.

    Without ``create``, a missing (or empty) file is :class:`JournalNotFound`
    and nothing is created; a file this process may not write is opened
    read-only (every write then fails with a :class:`StoreError`).
    """
    existing = _check_file(path)
    if not existing:
        if not create:
            raise JournalNotFound(str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for the journal {path}: {exc}") from exc
    elif not create and not _writable(path):
        return _read_only(path, busy_timeout)
    try:
        # isolation_level=None: the sqlite3 module must not open transactions
        # behind our back; this module says BEGIN and COMMIT itself.
        # check_same_thread=False: the engine may hand the journal to another
        # thread; self._lock keeps calls one at a time.
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise store_error(path, exc, "opening") from exc
    try:
        _prepare(conn, path, synchronous, busy_timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def _writable(path: Path) -> bool:
    """Whether this process may write the journal: the file, and (WAL keeps its
    -wal and -shm files beside it) the folder."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A read-only connection to a journal on a file or folder this process may not
    write.  ``immutable``: with no -shm file beside it and no folder to make one
    in, SQLite reads a WAL database only as a file nobody changes."""
    for query in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(
                f"{path.absolute().as_uri()}?{query}",
                uri=True,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            version = _classify(conn, path)
        except sqlite3.Error as exc:
            last = exc
            continue
        if version < LATEST_VERSION:
            conn.close()
            raise StoreError(
                f"{path} is a journal of schema version {version}, and this process may not "
                f"write it to bring it to version {LATEST_VERSION}: open it once with write "
                "access (any volnux command that reads it upgrades it)"
            )
        return conn
    raise store_error(path, last, "opening (read-only)")


#: Seconds a file whose first bytes are still zeros is given to become a
#: database: another process may be creating it at this moment (SQLite extends
#: the file before it writes the header).
_CREATION_WAIT_S: Final = 1.0


def _read_header(path: Path) -> tuple[bytes, int] | None:
    """The file's first bytes and its size; None when there is no file."""
    try:
        with path.open("rb") as fh:
            return fh.read(_HEADER_SIZE), os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise StoreError(f"the journal path {path} is a folder, not a file") from None
    except OSError as exc:
        raise StoreError(f"cannot read the journal {path}: {exc}") from exc


def _check_file(path: Path) -> bool:
    """Refuse a file that cannot be a SQLite database, reading it only.

    Returns False when there is no file yet (or an empty one), True otherwise.
    """
    deadline = time.monotonic() + _CREATION_WAIT_S
    while True:
        found = _read_header(path)
        if found is None:
            return False
        header, size = found
        if size == 0:
            return False
        if header.strip(b"\0") or time.monotonic() >= deadline:
            break
        time.sleep(0.01)  # zeros so far: being written by its creator
    if not header.startswith(_SQLITE_MAGIC):
        raise CorruptStoreError(
            f"{path} is not a SQLite database (it does not start with the SQLite header); "
            "it is not a Volnux journal. Choose another path for the journal"
        )
    if len(header) < _HEADER_SIZE:
        raise CorruptStoreError(f"{path} is a truncated SQLite database ({size} bytes)")
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size  # 1 encodes 65536
    counter, pages = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    # The header's page count is trusted only when SQLite marks it current
    # (change counter == version-valid-for).  A non-empty WAL file may hold
    # pages a checkpoint was copying when its process died; SQLite recovers
    # those, so the size is only checked when there is no WAL to replay.
    wal = Path(f"{path}-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    if pages and counter == valid_for and not wal_pending and size < pages * page_size:
        raise CorruptStoreError(
            f"{path} is a truncated SQLite database: its header says {pages * page_size} "
            f"bytes, the file has {size}. Restore it from a backup or choose another path"
        )
    return True


def _use_wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """Switch the file to WAL (a no-op once it is), waiting out other processes.

    Two processes opening a new file at once can find each other mid-switch;
    SQLite then answers "database is locked" at once rather than calling its
    busy handler (waiting there could deadlock), so the wait is done here.
    """
    deadline = time.monotonic() + busy_timeout
    pause = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


#: The tables a journal opened for writing checks first (PRAGMA quick_check of
#: each): the small ones every write goes through.  The big one, task_records,
#: is checked only along the path its next row goes to; ``volnux store check``
#: checks everything.
_CHECKED_ON_OPEN: Final = ("runs", "run_notes", "leases")


def bounded_check(conn: sqlite3.Connection, path: Path, tables: set[str]) -> None:
    """Refuse (CorruptStoreError, nothing written) a journal whose small tables or
    newest task records are damaged: a few ms, whatever the file's size."""
    for table in _CHECKED_ON_OPEN:
        if table not in tables:
            continue  # (leases arrive with schema 4)
        problems = [row[0] for row in conn.execute(f"PRAGMA quick_check({table})")]
        if problems != ["ok"]:
            raise CorruptStoreError(
                f"{path} is damaged (table {table}: {problems[0]}); nothing was written. "
                "`volnux store check` lists the damage; restore the file from a backup"
            )
    # The rightmost path of the task records, where the next rows go (any schema:
    # the table's first column leads its key).
    conn.execute("SELECT * FROM task_records ORDER BY 1 DESC LIMIT 1").fetchall()


def full_check(conn: sqlite3.Connection) -> list[str]:
    """Every problem SQLite's own integrity check finds in the file (empty: none)."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    return [] if problems == ["ok"] else problems


def _prepare(
    conn: sqlite3.Connection, path: Path, synchronous: Synchronous, busy_timeout: float
) -> None:
    try:
        version = _classify(conn, path)
        if version:  # an existing journal: refuse damage before writing a byte
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
            bounded_check(conn, path, tables)
        # WAL is a property of the file (it persists); setting it on a file
        # already in WAL is a no-op.  It is done only after _classify, as it
        # rewrites the header of a database that is not ours.
        if version == 0:  # a new file: nothing written yet, so the page size can be chosen
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE:d}")
        mode = _use_wal(conn, busy_timeout)
        if str(mode).lower() != "wal":
            raise StoreError(
                f"{path}: SQLite cannot use WAL mode here (it reports {mode!r}); put the "
                "journal on a local disk"
            )
        if version < LATEST_VERSION:
            _migrate(conn, path)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        # Enforced per connection, not stored in the file: refuses records for
        # runs that do not exist (no SELECT needed on the hot path).
        conn.execute("PRAGMA foreign_keys = ON")
        # Without a limit a burst of writes leaves a WAL file as large as the
        # burst forever; this truncates it back after checkpoints.
        conn.execute("PRAGMA journal_size_limit = 67108864")
        # Read each table's root page now, so a damaged file fails here, with
        # a clear message, and not at the first record() of a run.
        for table in sorted(REQUIRED_TABLES):
            conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise store_error(path, exc, "opening") from exc


def _classify(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version (0 for a new file); raise for anything not ours.

    Reads only: a file that is refused is left exactly as it was.  The three
    reads share one read transaction: another process may be creating the
    journal at this moment, and its tables must not be seen without its mark.
    """
    own = not conn.in_transaction  # _migrate calls this inside its own write
    if own:
        conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    finally:
        if own:
            rollback(conn)
    if app_id == APPLICATION_ID:
        if version > LATEST_VERSION:
            raise CorruptStoreError(
                f"{path} is a Volnux journal of schema version {version}, newer than this "
                f"version of Volnux knows (up to {LATEST_VERSION}); upgrade Volnux to open it"
            )
        missing = REQUIRED_TABLES - tables
        if version >= 1 and missing:
            raise CorruptStoreError(
                f"{path} is marked as a Volnux journal but lacks the tables "
                f"{', '.join(sorted(missing))}; it is damaged"
            )
        return int(version)
    if app_id == 0 and version == 0 and not tables:
        return 0  # a new, empty database: ours to initialise
    shown = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "")
    owner = f"application id {app_id:#x}" if app_id else f"tables: {shown or 'none'}"
    raise CorruptStoreError(
        f"{path} is a SQLite database of another program ({owner}), not a Volnux "
        "journal; Volnux will not write to it. Choose another path for the journal"
    )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date in one write transaction."""
    with write_transaction(conn):
        # Another process may have initialised or migrated the file between
        # the first look and taking the write lock: look again, under it.
        version = _classify(conn, path)
        if version < LATEST_VERSION:
            apply_migrations(conn, version)


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if the block raises.

    IMMEDIATE takes the write lock up front, so waiting for another process
    goes through the busy timeout instead of failing at the first write with
    SQLITE_BUSY.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is open (SQLite ends some failed ones itself)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def store_error(path: Path, exc: sqlite3.Error, doing: str) -> StoreError:
    """The Volnux error for a sqlite3 error, naming the file and what failed."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return CorruptStoreError(
            f"{path} is damaged ({exc}) while {doing}; restore it from a backup or choose "
            "another path for the journal"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(
            f"{path} stayed locked by another process longer than the busy timeout while "
            f"{doing}: {exc}"
        )
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return StoreError(f"the journal {path} is closed")
    return StoreError(f"{path}: {doing} failed: {exc}")

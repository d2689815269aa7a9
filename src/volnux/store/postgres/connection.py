"""Connecting to the journal's server, and turning psycopg's errors into Volnux's.

One connection per journal, in autocommit mode: a single statement commits
by itself (the engine's INSERT is one round trip), and the writes of more
than one statement say ``with conn.transaction()`` themselves.

The session is set up the same on every connection: ``synchronous_commit``
as the URL asks, and READ COMMITTED for transactions whatever the server's
default, because fencing relies on it: a write that waits for a claim's
lock re-reads the lease's new epoch and writes nothing (under REPEATABLE
READ it would fail with a serialization error instead of :class:`Fenced`).

No error shows a password: libpq's messages are scrubbed of the URL's, and
a failed connection's psycopg error, whose ``pgconn`` holds the password, is
not chained to the StoreError raised for it.
"""

from __future__ import annotations

import os
from typing import Any, Final

import psycopg

from ...errors import StoreError
from .url import Target, scrub

__all__ = ["Connection", "connect", "connection_lost", "store_error"]

Connection = psycopg.Connection[Any]

#: Seconds to wait for the server when neither the URL nor PGCONNECT_TIMEOUT
#: says (libpq waits for the operating system's TCP timeout, minutes).
CONNECT_TIMEOUT_S: Final = 10

_SESSION: Final = (
    "SELECT set_config('synchronous_commit', %s, false),"
    " set_config('default_transaction_isolation', 'read committed', false)"
)


def connect(target: Target) -> Connection:
    """A new connection to ``target``, its session set up; StoreError if it fails."""
    extra: dict[str, Any] = {}
    if "connect_timeout" not in target.libpq_options and "PGCONNECT_TIMEOUT" not in os.environ:
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    failure: StoreError | None = None
    try:
        conn: Connection = psycopg.connect(target.conninfo, autocommit=True, **extra)
    except psycopg.Error as exc:
        message = scrub(str(exc).strip() or type(exc).__name__, target.secrets)
        failure = StoreError(f"cannot connect to the journal at {target.location}: {message}")
    if failure is not None:
        # Raised outside the except block, so the psycopg error (its pgconn
        # holds the password) is neither chained nor kept as the context.
        raise failure
    try:
        conn.execute(_SESSION, (target.synchronous_commit,))
    except psycopg.Error as exc:
        conn.close()
        raise store_error(target, exc, "setting up the session") from exc
    return conn


def store_error(target: Target, exc: psycopg.Error, doing: str) -> StoreError:
    """The Volnux error for a psycopg error met while ``doing`` something, naming the journal."""
    message = scrub(str(exc).strip() or type(exc).__name__, target.secrets)
    where = target.location
    if isinstance(exc, psycopg.OperationalError) and _lost(exc):
        return StoreError(
            f"lost the connection to the journal at {where} while {doing}: {message}. "
            "A write under way may or may not have been kept; the next call connects again"
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return StoreError(
            f"the journal at {where}: {doing} failed: {message} (the user needs CREATE on "
            f"the database to make schema {target.schema!r}, then USAGE on it and the right "
            "to read and write its tables)"
        )
    return StoreError(f"the journal at {where}: {doing} failed: {message}")


def connection_lost(exc: psycopg.Error) -> bool:
    """Whether ``exc`` means the session is gone (see :func:`_lost`)."""
    if isinstance(exc, psycopg.OperationalError):
        return _lost(exc)
    return isinstance(exc, psycopg.InterfaceError) and "closed" in str(exc)


def _lost(exc: psycopg.OperationalError) -> bool:
    """Whether the error means the session is gone (server shut down, backend
    terminated, network lost), not that a statement failed."""
    if exc.sqlstate is None:  # raised by the client: the connection failed under it
        return True
    return exc.sqlstate.startswith(("08", "57P"))  # connection exception, operator intervention

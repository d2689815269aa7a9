"""A connection of its own that LISTENs on one of the journal's channels, in a thread of its own.

PostgreSQL delivers a ``pg_notify`` to every session listening on its
channel when the notifying transaction commits.  The journal listens for
two things (:mod:`.stops`: a run was asked to stop; :mod:`.feed`: a run
changed), each on a channel of its schema and a connection of its own: the
journal's own connection is used under a lock, one call at a time, and
cannot also sit waiting for notifications.

A :class:`Listener` connects when its first subscriber comes, connects
again (with growing pauses) when the connection is lost, and lets its
thread end once it has nobody left to tell or is closed.  Notifications are
only ever hints: whoever is told reads the journal, and also reads it now
and then without being told, so a notification missed while the
connection was down costs a delay, nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import threading

import psycopg
from psycopg import sql

from ...errors import StoreError
from .connection import Connection, connect
from .url import Target

__all__ = ["Listener", "channel_name"]

log = logging.getLogger("volnux.store")

#: How long one wait for notifications lasts (seconds): how soon the thread
#: sees that it has nothing left to listen for, or that the journal closed.
WAIT_S = 0.5
#: The longest pause between attempts to connect again after losing the connection.
RECONNECT_MAX_S = 5.0

#: PostgreSQL truncates identifiers (a channel is one) past this many bytes.
_NAME_BYTES = 63


def channel_name(prefix: str, schema: str) -> str:
    """``prefix`` and ``schema``: the name of one of the journal's channels.

    A name too long for PostgreSQL (which would truncate it, and so mix up
    two schemas whose names differ past the cut) has a digest of the
    schema's name in its place.
    """
    channel = f"{prefix}{schema}"
    if len(channel.encode()) <= _NAME_BYTES:
        return channel
    return prefix + hashlib.sha256(schema.encode()).hexdigest()[:32]


class Listener:
    """One channel listened to while anyone is to be told (see the module docstring).

    A subclass keeps its subscribers (under ``self._lock``), says whether it
    has any (:meth:`_wanted`), tells them of a notification's payload
    (:meth:`_tell`) and, if it likes, of a connection regained (:meth:`_regained`),
    and calls :meth:`_start` when a subscriber comes.
    """

    #: The listening thread's name.
    thread_name = "volnux-pg-listen"
    #: What is listened for, for the log.
    listening_for = "notifications"

    def __init__(self, target: Target, channel: str) -> None:
        self._target = target
        #: The channel listened on.
        self.channel = channel
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def close(self) -> None:
        """Stop listening (the thread ends within WAIT_S)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(WAIT_S * 4)

    # -- for subclasses ---------------------------------------------------

    def _start(self) -> None:
        """Start the listening thread unless it runs (call without the lock held).

        A thread started here is waited for until it listens (or failed to
        connect, or a couple of seconds passed): what is notified from the
        return on is heard.
        """
        with self._lock:
            if self._thread is not None or self._closed:
                return
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._listen, args=(ready,), name=self.thread_name, daemon=True
            )
            self._thread.start()
        ready.wait(WAIT_S * 4)

    def _wanted(self) -> bool:
        """Whether anyone is to be told (called with the lock held)."""
        raise NotImplementedError

    def _tell(self, payload: str) -> None:
        """Tell whoever it concerns of a notification (called from the thread)."""
        raise NotImplementedError

    def _regained(self) -> None:
        """The connection was lost and is back: what was notified meanwhile was
        not heard (called from the thread).  Nothing, by default."""

    # -- the thread -------------------------------------------------------

    def _listen(self, ready: threading.Event) -> None:
        pause = WAIT_S
        conn: Connection | None = None
        lost = False
        try:
            while not self._done():
                if conn is None:
                    try:
                        conn = connect(self._target)
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    except (StoreError, psycopg.Error) as exc:
                        log.warning(
                            "cannot listen for %s (polling instead): %s", self.listening_for, exc
                        )
                        if conn is not None:
                            conn.close()
                        conn = None
                        lost = True
                        ready.set()
                        self._sleep(pause)
                        pause = min(pause * 2, RECONNECT_MAX_S)
                        continue
                    pause = WAIT_S
                    ready.set()
                    if lost:
                        lost = False
                        self._regained()
                try:
                    for note in conn.notifies(timeout=WAIT_S):
                        self._tell(note.payload)
                except psycopg.Error:  # the connection went: connect again, poll meanwhile
                    conn.close()
                    conn = None
                    lost = True
        finally:
            ready.set()
            if conn is not None:
                conn.close()

    def _done(self) -> bool:
        """Whether to stop listening (closed, or nobody left to tell); if so, the
        thread is let go in the same breath, so a subscriber from now on starts another."""
        with self._lock:
            if self._closed or not self._wanted():
                self._thread = None
                return True
            return False

    def _sleep(self, seconds: float) -> None:
        end = threading.Event()
        end.wait(seconds)

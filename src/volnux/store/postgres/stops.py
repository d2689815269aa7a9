"""Hearing at once that a run was asked to stop: LISTEN on the journal's channel.

``runs cancel`` and ``runs pause`` set the run's flag and, in the same
statement, ``pg_notify`` the journal's stop channel with the run's id; the
notification is delivered when that commits.  A journal whose engine drives
a run listens on a connection of its own, in a thread of its own, and calls
the engine's callback for that run: the engine looks at the flag at once
instead of at its next poll.  The flag is the truth; a notification only
says "look now", so one missed while the listening connection was down costs
a poll interval, nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

from ...errors import StoreError
from .connection import Connection, connect
from .url import Target

__all__ = ["StopListener", "stop_channel"]

log = logging.getLogger("volnux.store")

#: How long one wait for notifications lasts (seconds): how soon the thread
#: sees that it has nothing left to watch, or that the journal closed.
WAIT_S = 0.5
#: The longest pause between attempts to connect again after losing the connection.
RECONNECT_MAX_S = 5.0

#: PostgreSQL truncates identifiers (a channel is one) past this many bytes.
_NAME_BYTES = 63


def stop_channel(schema: str) -> str:
    """The channel stop requests of the journal in ``schema`` are notified on."""
    channel = f"volnux_stop_{schema}"
    if len(channel.encode()) <= _NAME_BYTES:
        return channel
    return "volnux_stop_" + hashlib.sha256(schema.encode()).hexdigest()[:32]


class StopListener:
    """The runs watched in this process, and the thread that listens for them."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self.channel = stop_channel(target.schema)
        self._watchers: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when run ``run_id`` is asked to stop; returns the unwatch."""
        with self._lock:
            self._watchers.setdefault(run_id, []).append(callback)
            if self._thread is None and not self._closed:
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._listen, args=(ready,), name="volnux-pg-stops", daemon=True
                )
                self._thread.start()
            else:
                ready = None
        if ready is not None:
            # Listening before the run goes on: a request sent from now on is heard.
            ready.wait(WAIT_S * 4)

        def unwatch() -> None:
            with self._lock:
                callbacks = self._watchers.get(run_id, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._watchers.pop(run_id, None)

        return unwatch

    def close(self) -> None:
        """Stop listening (the thread ends within WAIT_S)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(WAIT_S * 4)

    def _listen(self, ready: threading.Event) -> None:
        pause = WAIT_S
        conn: Connection | None = None
        try:
            while not self._done():
                if conn is None:
                    try:
                        conn = connect(self._target)
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    except (StoreError, psycopg.Error) as exc:
                        log.warning("cannot listen for stop requests (polling instead): %s", exc)
                        if conn is not None:
                            conn.close()
                        conn = None
                        ready.set()
                        self._sleep(pause)
                        pause = min(pause * 2, RECONNECT_MAX_S)
                        continue
                    pause = WAIT_S
                    ready.set()
                try:
                    for note in conn.notifies(timeout=WAIT_S):
                        self._tell(note.payload)
                except psycopg.Error:  # the connection went: connect again, poll meanwhile
                    conn.close()
                    conn = None
        finally:
            ready.set()
            if conn is not None:
                conn.close()

    def _done(self) -> bool:
        """Whether to stop listening (closed, or nothing left to watch); if so, the
        thread is let go in the same breath, so a watch from now on starts another."""
        with self._lock:
            if self._closed or not self._watchers:
                self._thread = None
                return True
            return False

    def _tell(self, run_id: str) -> None:
        with self._lock:
            callbacks = list(self._watchers.get(run_id, ()))
        for callback in callbacks:
            try:
                callback()
            except Exception:  # an engine's callback must not end the listener
                log.exception("a stop callback failed")

    def _sleep(self, seconds: float) -> None:
        end = threading.Event()
        end.wait(seconds)

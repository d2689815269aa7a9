"""Hearing at once that a run was asked to stop: LISTEN on the journal's channel.

``runs cancel`` and ``runs pause`` set the run's flag and, in the same
statement, ``pg_notify`` the journal's stop channel with the run's id; the
notification is delivered when that commits.  A journal whose engine drives
a run listens on a connection of its own, in a thread of its own, and calls
the engine's callback for that run: the engine looks at the flag at once
instead of at its next poll.  The flag is the truth; a notification only
says "look now", so one missed while the listening connection was down costs
a poll interval, nothing else.  (The listening itself: :mod:`.listen`.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .listen import Listener, channel_name
from .url import Target

__all__ = ["StopListener", "stop_channel"]

log = logging.getLogger("volnux.store")


def stop_channel(schema: str) -> str:
    """The channel stop requests of the journal in ``schema`` are notified on."""
    return channel_name("volnux_stop_", schema)


class StopListener(Listener):
    """The runs watched in this process, and the thread that listens for them."""

    thread_name = "volnux-pg-stops"
    listening_for = "stop requests"

    def __init__(self, target: Target) -> None:
        super().__init__(target, stop_channel(target.schema))
        self._watchers: dict[str, list[Callable[[], None]]] = {}

    def watch(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when run ``run_id`` is asked to stop; returns the unwatch."""
        with self._lock:
            self._watchers.setdefault(run_id, []).append(callback)
        # Listening before the run goes on: a request sent from now on is heard.
        self._start()

        def unwatch() -> None:
            with self._lock:
                callbacks = self._watchers.get(run_id, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._watchers.pop(run_id, None)

        return unwatch

    def _wanted(self) -> bool:
        return bool(self._watchers)

    def _tell(self, run_id: str) -> None:
        with self._lock:
            callbacks = list(self._watchers.get(run_id, ()))
        for callback in callbacks:
            try:
                callback()
            except Exception:  # an engine's callback must not end the listener
                log.exception("a stop callback failed")

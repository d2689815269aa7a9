"""Hearing that runs changed: the journal's writes notify a channel, a :class:`ChangeFeed` listens.

The journal's writes that change what is shown of a run ``pg_notify`` the
journal's change channel (:func:`change_channel`) with the run's id, in the
statement that writes, so the notification is delivered when the write
commits and never for a write that did not:

* a run created, and every change of a run's state (its end included): always;
* a batch of task records, and a note: at most once every :data:`NOTIFY_EVERY_S`
  per run and writing journal.  A transaction that notifies holds, through
  its commit, a lock that serializes the commits of every notifying
  transaction on the server.  Measured on PostgreSQL 15 (2 cores,
  synchronous_commit=on, the same run taking turns): a notification with
  every record cost a 1000-task chain 5-20% per task and four writers at
  once about 30% of their tasks per second; once per 0.5 s costs nothing
  measurable (3 notifications for a 1000-task chain, 10 for 10,000).  The
  run-level ones cost a 1-task run about 0.1-0.3 ms of its 2.5 ms.

So whoever is told a run changed reads it, and reads it again once
:data:`NOTIFY_EVERY_S` have passed: what was written just after a notified
write, without a notification of its own, is read then (one whose commit
took longer than that, at the reader's next poll).  A notification is a
hint, never the truth: one lost (the listening connection was down) costs a
delay, and a :class:`ChangeFeed` that gets its connection back tells its
callbacks ``""`` ("any run may have changed").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from .listen import Listener, channel_name
from .url import Target

__all__ = ["NOTIFY_EVERY_S", "ChangeFeed", "Throttle", "change_channel", "payload"]

log = logging.getLogger("volnux.store")

#: A run's task records and notes notify at most this often (seconds), per
#: writing journal; whoever is told reads again this long after (see above).
NOTIFY_EVERY_S: Final = 0.5
#: PostgreSQL refuses a notification's payload of this many bytes or more.
_PAYLOAD_BYTES: Final = 8000
#: Runs a Throttle remembers before it forgets those told long enough ago.
_REMEMBERED: Final = 1024


def change_channel(schema: str) -> str:
    """The channel changes of the runs of the journal in ``schema`` are notified on."""
    return channel_name("volnux_changes_", schema)


def payload(run_id: str) -> str:
    """What a notification about ``run_id`` carries: the id, or ``""`` (any run)
    for an id too long for a notification."""
    return run_id if len(run_id.encode()) < _PAYLOAD_BYTES else ""


class Throttle:
    """When a journal last notified a change of each run, to notify at most every
    :data:`NOTIFY_EVERY_S` for writes that come often (task records, notes).

    Asked before the journal's own lock is taken (a write asks once, and
    sends the same statement on every try), so it has a lock of its own.
    """

    def __init__(self) -> None:
        self._told: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, run_id: str) -> bool:
        """Whether a write of ``run_id`` now should notify (if so, it is noted as told)."""
        now = time.monotonic()
        with self._lock:
            last = self._told.get(run_id)
            if last is not None and now - last < NOTIFY_EVERY_S:
                return False
            self._note(run_id, now)
        return True

    def told(self, run_id: str) -> None:
        """A notification about ``run_id`` is being sent now."""
        now = time.monotonic()
        with self._lock:
            self._note(run_id, now)

    def forget(self, run_id: str) -> None:
        """The run stopped (its next write, if any, is due at once)."""
        with self._lock:
            self._told.pop(run_id, None)

    def _note(self, run_id: str, now: float) -> None:
        told = self._told
        told[run_id] = now
        if len(told) > _REMEMBERED:  # forget the runs told long enough ago to be due anyway
            for key in [k for k, when in told.items() if now - when >= NOTIFY_EVERY_S]:
                del told[key]


class ChangeFeed(Listener):
    """The callbacks of this process told which run of the journal changed.

    One listening connection and thread per journal, whatever the number of
    callbacks, there only while there are callbacks.
    """

    thread_name = "volnux-pg-changes"
    listening_for = "changes of runs"

    def __init__(self, target: Target) -> None:
        super().__init__(target, change_channel(target.schema))
        self._callbacks: list[Callable[[str], None]] = []

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(run_id)`` (from the feed's thread) when a run changed,
        ``callback("")`` when any may have; returns what unsubscribes.

        Listening once this returns (unless the server cannot be reached: the
        feed keeps trying, and tells ``""`` when it can).  A callback must be
        quick: the feed's one thread calls every callback in turn.
        """
        with self._lock:
            self._callbacks.append(callback)
        self._start()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def _wanted(self) -> bool:
        return bool(self._callbacks)

    def _tell(self, run_id: str) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(run_id)
            except Exception:  # a subscriber's failure must not end the feed
                log.exception("a callback of the change feed failed")

    def _regained(self) -> None:
        self._tell("")

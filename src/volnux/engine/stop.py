"""Stopping a run from outside: Ctrl-C, SIGTERM, or another thread.

A :class:`StopRequest` is handed to the engine (``Workflow.run(stop=...)``).
The first :meth:`StopRequest.request` makes the run stop starting tasks, as
a cancel does, and gives the attempts already running ``grace_s`` seconds to
end and be recorded; a second request, or the end of the grace period, cuts
them off: the run ends ``cancelled`` at once, their tasks left ``running`` in
the journal, so that a resume runs them again.  Either way the run notes how
it stopped (:class:`~volnux.notes.Stopped`) and stays resumable.

The engine never installs signal handlers itself (a library must not); the
``volnux`` command does, around each run (:func:`signals_stop`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["EXIT_CODES", "STOP_GRACE_S", "StopRequest", "exit_code", "signals_stop"]

#: Seconds running attempts get to end after a first stop request.
STOP_GRACE_S = 10.0


class StopRequest:
    """Asks the runs it is handed to to stop; safe from any thread and from signal handlers."""

    def __init__(self, grace_s: float = STOP_GRACE_S) -> None:
        #: Seconds running attempts get to end after the first request.
        self.grace_s = grace_s
        #: Why the first request was made (``"SIGINT"``, ``"SIGTERM"`` ...); None until then.
        self.reason: str | None = None
        #: How many requests were made (a second one cuts running attempts off).
        self.count = 0
        self._wakes: list[threading.Event] = []

    def request(self, reason: str = "a stop request") -> None:
        """Stop (the first time); cut running attempts off (the second)."""
        if self.reason is None:
            self.reason = reason
        self.count += 1
        for wake in list(self._wakes):
            wake.set()

    def attach(self, wake: threading.Event) -> None:
        """Set ``wake`` at each request (an engine's own event)."""
        self._wakes.append(wake)
        if self.count:
            wake.set()

    def detach(self, wake: threading.Event) -> None:
        """Stop setting ``wake``."""
        if wake in self._wakes:
            self._wakes.remove(wake)


#: What each signal a run stops on exits with (128 + its number, as shells do).
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


@contextmanager
def signals_stop(stop: StopRequest) -> Iterator[StopRequest]:
    """While the block runs, SIGINT and SIGTERM request ``stop`` instead of ending the
    process (in the main thread only; elsewhere nothing is installed)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in EXIT_CODES}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_code(stop: StopRequest) -> int | None:
    """The exit code of a process stopped by ``stop``'s signal; None if no signal stopped it."""
    for sig, code in EXIT_CODES.items():
        if stop.reason == sig.name:
            return code
    return None

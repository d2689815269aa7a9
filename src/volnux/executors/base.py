"""The executor protocol: ``submit(fn, args, done)``; nothing else.

Executors know nothing of graphs, runs or journals.  They are handed a
callable, its arguments and a ``done(result, error)`` callback, which they
call exactly once, from any thread, when the call has returned (``error`` is
None) or raised (``result`` is None).

A callback rather than a ``Future``: the engine reacts to completions, never
waits on one in particular, and a future's locks and conditions cost more
than the no-op events it would carry (see ``bench/engine.py``).  Executors
built on futures (processes, Dask) adapt with ``add_done_callback``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["Done", "Executor"]

#: ``done(result, error)``: called once per submitted call.
Done = Callable[[Any, BaseException | None], None]


@runtime_checkable
class Executor(Protocol):
    """Runs callables somewhere and reports through a callback."""

    #: Short name used in events and attributes (``thread``, ``process`` ...).
    name: str

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Start ``fn(*args)``; call ``done(result, error)`` once it ends."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, return once running work ended."""

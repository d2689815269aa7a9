"""The executor protocol: ``submit(fn, *args) -> Future``; nothing else.

Executors know nothing of graphs, runs or journals.  They are handed a
callable and its arguments and return a :class:`concurrent.futures.Future`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable

__all__ = ["Executor"]


@runtime_checkable
class Executor(Protocol):
    """Runs callables somewhere and reports through futures."""

    #: Short name used in events and attributes (``thread``, ``process`` ...).
    name: str

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Start ``fn(*args)``; the future carries its return value."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, return once running work ended."""

"""The process executor: for CPU-bound events.

:class:`ProcessExecutor` wraps ``concurrent.futures.ProcessPoolExecutor``:
pickling and a process hop dwarf any bookkeeping there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .base import Capacity, Done, call_done, report_size

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["ProcessExecutor"]


class ProcessExecutor:
    """Runs calls in worker processes: for CPU-bound events.

    Events and their inputs and results must pickle.  Workers are forked where
    the platform allows it, so events loaded from a file path are found in the
    children without being importable by name.  ``on_resize`` hears the pool's
    size when it starts and 0 when it shuts down.
    """

    name = "process"

    def __init__(
        self, max_workers: int | None = None, *, on_resize: Callable[[int], None] | None = None
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.on_resize = on_resize
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def capacity(self) -> Capacity:
        """Up to ``max_workers`` attempts at once, each in a process of its own."""
        return Capacity(self.max_workers, in_process=False)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Send ``fn(*args)`` to a worker process; ``done`` hears the outcome."""
        started = False
        with self._lock:
            if self._pool is None:
                # Imported here: multiprocessing costs several ms to import,
                # and most runs never start a process.
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                methods = multiprocessing.get_all_start_methods()
                ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
                self._pool = ProcessPoolExecutor(max_workers=self.max_workers, mp_context=ctx)
                started = True
            pool = self._pool
        if started and self.on_resize is not None:
            report_size(self.on_resize, self.max_workers)

        def finished(future: Future[Any]) -> None:
            error = future.exception()
            if error is not None and _is_pickling(error):
                error = _pickling_error(error)
            call_done(done, None if error else future.result(), error)

        pool.submit(fn, *args).add_done_callback(finished)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the worker processes (a later submit starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=not wait)
            if self.on_resize is not None:
                report_size(self.on_resize, 0)


def _is_pickling(error: BaseException) -> bool:
    """Whether ``error`` is a value that failed to cross to or from a worker process."""
    import pickle

    if isinstance(error, pickle.PicklingError):
        return True
    return isinstance(error, TypeError | AttributeError) and "pickle" in str(error)


def _pickling_error(error: BaseException) -> TypeError:
    """The same failure, said in the event author's terms and without the frames of
    ``concurrent.futures`` and ``multiprocessing`` (nothing of the author's is there)."""
    return TypeError(
        f"{error} (an event on the process executor runs in another process: the "
        "event, its inputs, its piped value and its result must pickle)"
    )

"""Thread and process executors: one implementation over concurrent.futures."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor as _FuturesExecutor
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

__all__ = ["DEFAULT_THREADS", "PoolExecutor", "ProcessExecutor", "ThreadExecutor"]

#: Threads are for I/O-bound events, so the default pool is wider than the CPU
#: count (the same rule concurrent.futures uses, with a higher floor so that
#: small parallel groups never wait on each other).
DEFAULT_THREADS = min(64, max(32, (os.cpu_count() or 1) + 4))


class PoolExecutor:
    """A lazily started concurrent.futures pool behind the Executor protocol."""

    name = "pool"

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers
        self._pool: _FuturesExecutor | None = None
        self._lock = threading.Lock()

    def _make_pool(self) -> _FuturesExecutor:
        raise NotImplementedError

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Start ``fn(*args)`` on the pool (started on first use)."""
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = self._make_pool()
                pool = self._pool
        return pool.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool; running work finishes when ``wait`` is true."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=not wait)


class ThreadExecutor(PoolExecutor):
    """Runs events on a thread pool: the default, for I/O-bound work."""

    name = "thread"

    def _make_pool(self) -> _FuturesExecutor:
        return ThreadPoolExecutor(
            max_workers=self.max_workers or DEFAULT_THREADS, thread_name_prefix="volnux"
        )


class ProcessExecutor(PoolExecutor):
    """Runs events in worker processes: for CPU-bound work.

    Events and their inputs and results must pickle.  Workers are forked where
    the platform allows it, so events loaded from a file path are found in the
    children without being importable by name.
    """

    name = "process"

    def _make_pool(self) -> _FuturesExecutor:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        return ProcessPoolExecutor(max_workers=self.max_workers or os.cpu_count(), mp_context=ctx)

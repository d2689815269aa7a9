"""Pools: the executors of whoever runs many runs, made on first use, kept until closed.

A :class:`~volnux.Workflow` holds one, so that its runs share their worker
threads and processes instead of each starting and stopping its own (a pool
of threads costs a run about 0.1 ms to start and stop; a pool of processes,
tens of ms).  A server would hold one for all its workflows.

Pools report their size (a thread pool grows with its queue) to whoever
watches: each running engine watches while it runs, and tells its
observers (the ``pool_resized`` signal, the ``volnux.pool.size`` metric).
A new watcher first hears the size of every pool already running, so a run
knows the workers it starts with, not only the ones added while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .base import Executor
from .registry import factory

__all__ = ["Pools"]

#: ``watcher(executor_name, workers, reason)``.
Watcher = Callable[[str, int, str], None]
#: An executor's name, its workers and its per-worker memory limit.
_Key = tuple[str, int | None, int | None]


class Pools:
    """Executors by (name, max_workers), made on first use; :meth:`close` stops them."""

    def __init__(self) -> None:
        self._executors: dict[_Key, Executor] = {}
        # The last size each executor reported, for watchers that come later.
        self._sizes: dict[_Key, tuple[int, str]] = {}
        self._watchers: list[Watcher] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(
        self, name: str, max_workers: int | None = None, memory_mb: int | None = None
    ) -> Executor:
        """The executor ``name`` (``max_workers`` None: the executor's own default);
        ``memory_mb``: one whose workers may each allocate that much (process executors)."""
        key = (name, max_workers, memory_mb)
        executor = self._executors.get(key)
        if executor is not None:
            return executor
        make = factory(name)  # imported outside the lock: ValueError for an unknown name
        with self._lock:
            executor = self._executors.get(key)
            if executor is None:
                if self._closed:
                    raise RuntimeError("these pools are closed")
                options = {} if memory_mb is None else {"memory_mb": memory_mb}
                executor = make(max_workers, on_resize=self._resized_hook(key), **options)
                self._executors[key] = executor
        return executor

    def watch(self, watcher: Watcher) -> None:
        """Tell ``watcher`` the size of each running pool now, then every change."""
        with self._lock:
            self._watchers = [*self._watchers, watcher]
            sizes = [(key[0], size) for key, (size, _) in self._sizes.items() if size]
        for name, size in sizes:
            watcher(name, size, "started")

    def unwatch(self, watcher: Watcher) -> None:
        """Stop telling ``watcher`` (nothing happens if it was not watching)."""
        with self._lock:
            self._watchers = [w for w in self._watchers if w != watcher]

    def close(self, wait: bool = True) -> None:
        """Shut every executor down (``wait``: until running calls end); idempotent."""
        with self._lock:
            self._closed = True
            executors = list(self._executors.values())
            self._executors.clear()
        for executor in executors:
            executor.shutdown(wait=wait)

    def _resized_hook(self, key: _Key) -> Callable[[int, str], None]:
        name = key[0]

        def resized(workers: int, reason: str = "") -> None:
            self._sizes[key] = (workers, reason)
            for watcher in self._watchers:  # a list replaced, never changed in place
                watcher(name, workers, reason)

        return resized

    def __enter__(self) -> Pools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .base import Executor
from .registry import factory

__all__ = ["PoolSettings", "Pools"]

#: ``watcher(executor_name, workers, reason)``.
Watcher = Callable[[str, int, str], None]


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """How big one executor's pool may be: ``[executors.thread]`` in ``volnux.toml``,
    ``VOLNUX_THREAD_MAX_WORKERS`` ..., or ``Workflow.run(pools={"thread": ...})``.

    ``min_workers`` and ``idle_s`` size a pool that grows and shrinks (the
    thread executor); a process pool has a fixed size, ``max_workers``.
    """

    #: Workers kept however idle the pool is (None: the executor's default, 0).
    min_workers: int | None = None
    #: Workers at most (None: the executor's default).
    max_workers: int | None = None
    #: Seconds a worker past the minimum may idle before it ends (None: default, 10).
    idle_s: float | None = None

    def __post_init__(self) -> None:
        for name, least in (("min_workers", 0), ("max_workers", 1)):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < least
            ):
                raise ValueError(
                    f"{name} must be a whole number of at least {least}, got {value!r}"
                )
        idle = self.idle_s
        if idle is not None and (
            isinstance(idle, bool) or not isinstance(idle, int | float)
            or not math.isfinite(idle) or idle <= 0
        ):  # fmt: skip
            raise ValueError(f"idle_s must be a positive number of seconds, got {idle!r}")
        low, high = self.min_workers, self.max_workers
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_workers ({low}) is more than max_workers ({high})")

    def check(self, executor: str) -> None:
        """ValueError when ``executor``'s pool cannot be sized so."""
        if executor in _FIXED_SIZE and (self.min_workers is not None or self.idle_s is not None):
            raise ValueError(
                f"the {executor} pool has a fixed size: set max_workers only "
                "(min_workers and idle_s size the thread pool)"
            )

    def options(self) -> dict[str, int | float]:
        """What is set besides ``max_workers``, as keyword arguments for a factory."""
        chosen = (("min_workers", self.min_workers), ("idle_s", self.idle_s))
        return {name: value for name, value in chosen if value is not None}


#: Executors whose pools do not grow or shrink (their size is max_workers).
_FIXED_SIZE = ("process", "asyncio")

#: An executor's name, its workers, its per-worker memory limit and its settings.
_Key = tuple[str, int | None, int | None, PoolSettings | None]


class Pools:
    """Executors by (name, max_workers), made on first use; :meth:`close` stops them."""

    def __init__(self, settings: Mapping[str, PoolSettings] | None = None) -> None:
        for name, chosen in (settings or {}).items():
            chosen.check(name)
        #: Executor name -> how big its pool may be (the others: their defaults).
        self.settings: Mapping[str, PoolSettings] = dict(settings or {})
        self._executors: dict[_Key, Executor] = {}
        # The last size each executor reported, for watchers that come later.
        self._sizes: dict[_Key, tuple[int, str]] = {}
        self._watchers: list[Watcher] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(
        self,
        name: str,
        max_workers: int | None = None,
        memory_mb: int | None = None,
        settings: PoolSettings | None = None,
    ) -> Executor:
        """The executor ``name``; ``max_workers`` (else ``settings``', else these pools'
        settings for it, else the executor's own default) sizes it; ``memory_mb``:
        one whose workers may each allocate that much (process executors)."""
        chosen = settings if settings is not None else self.settings.get(name)
        if chosen is not None and settings is not None:
            chosen.check(name)
        if max_workers is None and chosen is not None:
            max_workers = chosen.max_workers
        key = (name, max_workers, memory_mb, chosen)
        executor = self._executors.get(key)
        if executor is not None:
            return executor
        make = factory(name)  # imported outside the lock: ValueError for an unknown name
        with self._lock:
            executor = self._executors.get(key)
            if executor is None:
                if self._closed:
                    raise RuntimeError("these pools are closed")
                options: dict[str, int | float] = chosen.options() if chosen else {}
                if memory_mb is not None:
                    options["memory_mb"] = memory_mb
                try:
                    executor = make(max_workers, on_resize=self._resized_hook(key), **options)
                except TypeError as exc:
                    if not options:
                        raise
                    raise ValueError(
                        f"executor {name!r} cannot be sized with {', '.join(options)}: {exc}"
                    ) from None
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

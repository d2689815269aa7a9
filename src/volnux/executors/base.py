"""The executor protocol: ``submit(fn, args, done)``, ``capacity()``, ``shutdown()``.

Executors know nothing of graphs, runs or journals.  They are handed a
callable, its arguments and a ``done(result, error)`` callback, which they
call exactly once, from any thread, when the call has returned (``error`` is
None) or raised (``result`` is None).

A callback rather than a ``Future``: the engine reacts to completions, never
waits on one in particular, and a future's locks and conditions cost more
than the no-op events it would carry (see ``bench/engine.py``).  Executors
built on futures (processes, Dask) adapt with ``add_done_callback``.

``capacity()`` says what an executor can run and how much at once, for the
engine to place attempts by (GPU placement and adaptive pools build on it).
Executors are found by name in :mod:`.registry` and owned by whoever runs
many runs (:class:`~volnux.executors.pools.Pools`), not by one run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "RESIZE_REASONS",
    "Capacity",
    "Done",
    "Executor",
    "Resize",
    "call_done",
    "report_size",
    "usable_cpus",
]

log = logging.getLogger("volnux.executors")

#: ``done(result, error)``: called once per submitted call.
Done = Callable[[Any, BaseException | None], None]
#: ``on_resize(workers, reason)``: a pool's new size, and why (:data:`RESIZE_REASONS`).
Resize = Callable[[int, str], None]


@dataclass(frozen=True, slots=True)
class Capacity:
    """What an executor can run, and how much of it at once."""

    #: Attempts it runs at the same time, at most (more wait in its queue).
    workers: int
    #: True when attempts run in the engine's own process (they share its
    #: memory); False when they run elsewhere, so that what crosses (the
    #: event, its inputs, its result) must pickle.
    in_process: bool
    #: GPUs its workers can use (0: none).
    gpus: int = 0
    #: Memory its workers may use together, in MiB (None: not limited).
    memory_mb: int | None = None


@runtime_checkable
class Executor(Protocol):
    """Runs callables somewhere and reports through a callback."""

    #: Short name used in events and attributes (``thread``, ``process`` ...).
    name: str

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Start ``fn(*args)``; call ``done(result, error)`` once it ends."""

    def capacity(self) -> Capacity:
        """What it can run and how many attempts at once."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, return once running work ended."""


def call_done(done: Done, result: Any, error: BaseException | None) -> None:
    """Call a completion callback; one that raises is logged, never propagated."""
    try:
        done(result, error)
    except Exception:  # a broken callback must not kill the worker
        log.exception("executor completion callback failed")


#: Why a pool has the size it reports (``on_resize(workers, reason)``).
RESIZE_REASONS = (
    "started",  # a pool given its size when it starts
    "queued",  # grew: calls were waiting for a worker
    "long-tasks",  # grew at once: earlier runs' attempts of the calls queued ran long
    "idle",  # shrank: workers had nothing to do for a while
    "cpu-bound",  # sized to the usable CPUs, or not grown: more would only contend
    "memory",  # not grown: the machine's available memory is low
    "shutdown",  # stopped
)


def report_size(on_resize: Callable[[int, str], None], workers: int, reason: str) -> None:
    """Tell ``on_resize`` the pool's size and why; a callback that raises is logged."""
    try:
        on_resize(workers, reason)
    except Exception:  # reporting must never break submitting
        log.exception("executor resize callback failed")


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity, within a cgroup's CPU quota if any."""
    import os

    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        count = min(count, max(1, int(quota + 0.999)))
    return max(1, count)


def _cgroup_quota() -> float | None:
    """CPUs a cgroup allows (v2 ``cpu.max``, v1 ``cfs_quota_us``); None without a quota."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as file:
            quota, period = file.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding="ascii") as file:
            quota_us = int(file.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as file:
            period_us = int(file.read())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 else quota_us / period_us

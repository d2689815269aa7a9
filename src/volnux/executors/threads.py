"""The thread executor: for events that wait on I/O (the default).

:class:`ThreadExecutor` is a small pool of its own: a queue, worker threads
started on demand up to a limit, and no per-call future.  Handing a no-op
call to it and hearing back costs a few microseconds, against tens through
``concurrent.futures`` (measured by ``bench/engine.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

from .base import Capacity, Done, Resize, report_size

__all__ = ["CPU_BUSY_PERCENT", "DEFAULT_THREADS", "IDLE_S", "MEMORY_LOW_SHARE", "ThreadExecutor"]

log = logging.getLogger("volnux.executors")

#: Threads are for I/O-bound events, so the default pool is wider than the CPU
#: count, with a floor high enough that small parallel groups never queue.
DEFAULT_THREADS = min(64, max(32, (os.cpu_count() or 1) + 4))

#: Workers started at once when calls wait; past these the pool grows only
#: when queued calls go untaken for GROW_AFTER_S (see ThreadExecutor._watch).
EAGER_THREADS = 4
GROW_AFTER_S = 0.002
#: A worker past the pool's minimum that has had nothing to do this long ends.
IDLE_S = 10.0
#: The pool does not grow while this process's threads keep a CPU this busy
#: (percent of one CPU: Python threads share one for Python code) ...
CPU_BUSY_PERCENT = 90.0
#: ... or while the machine has less memory available than this share of it.
MEMORY_LOW_SHARE = 0.05
#: How soon a pool held by its load looks again.
HELD_RECHECK_S = 0.05

_Item = tuple[Callable[..., Any], tuple[Any, ...], Done] | None


class _WorkerLocal(threading.local):
    collecting = False
    next: _Item = None


class ThreadExecutor:
    """Runs calls on worker threads, started as needed up to ``max_workers``.

    Past ``min_workers``, a worker that has had nothing to do for ``idle_s``
    seconds ends (one that runs a call never does).  The pool grows while
    calls wait, unless its threads already keep a CPU busy (more would only
    contend for it) or the machine's memory is low: it then says so once,
    with the reason ``cpu-bound`` or ``memory``, and grows when that passes.
    """

    name = "thread"

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        on_resize: Resize | None = None,
        min_workers: int = 0,
        idle_s: float = IDLE_S,
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if min_workers < 0 or idle_s <= 0:
            raise ValueError("min_workers cannot be negative, and idle_s must be positive")
        self.max_workers = max_workers or DEFAULT_THREADS
        self.min_workers = min(min_workers, self.max_workers)
        self.idle_s = idle_s
        #: Called with the worker count and why when it changes, and with 0 at
        #: shutdown: pool-size metrics and signals (if it raises, that is logged).
        self.on_resize = on_resize
        # Why the pool last stopped growing with calls waiting (said once).
        self._held: str | None = None
        self._queue: SimpleQueue[_Item] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Guards starting workers and shutting down; workers never take it.
        self._lock = threading.Lock()
        # Workers waiting for a call that no queued call has claimed yet.  A
        # submit claims one (pop) or, finding none, starts a worker for its
        # call.  set.add/discard/pop are single operations under the GIL, so
        # workers keep it without taking a lock; a worker that takes another
        # queued call than the one that claimed it leaves the counts right.
        self._idle: set[int] = set()
        self._closed = False
        # Per worker: whether it is inside a completion callback, and the
        # call submitted from there that it runs next (see submit).
        self._local = _WorkerLocal()
        # When a worker last took a call, and whether the watchdog is on.
        self._last_take = time.monotonic()
        self._watching = False

    def capacity(self) -> Capacity:
        """Up to ``max_workers`` attempts at once, in this process."""
        return Capacity(self.max_workers, in_process=True)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Queue ``fn(*args)``; a worker calls ``done`` when it ends.

        A call submitted from inside a completion callback on one of this
        pool's workers is run next by that same worker (the first such call
        per callback): a chain's next step then needs no hand-over between
        threads at all.
        """
        local = self._local
        if local.collecting and local.next is None:
            if self._closed:
                raise RuntimeError("executor is shut down")
            local.next = (fn, args, done)
            return
        workers: list[threading.Thread] = []
        watch = False
        with self._lock:
            if self._closed:
                raise RuntimeError("executor is shut down")
            if not self._claim_idle():  # none waits: start one, or let the watchdog grow
                count = len(self._threads)
                if count < min(EAGER_THREADS, self.max_workers):
                    workers = self._add_workers(1)
                elif count < self.max_workers and not self._watching:
                    watch = self._watching = True
            self._queue.put((fn, args, done))
        if workers:
            self._started(workers)
        if watch:
            threading.Thread(target=self._watch, name="volnux-pool-watch", daemon=True).start()

    def _claim_idle(self) -> bool:
        """Claim a waiting worker for the call being queued; False if none waits."""
        idle = self._idle
        if idle:  # usually empty in a burst: no KeyError raised and caught per call
            try:
                idle.pop()
                return True
            except KeyError:  # the last one took a call just now
                pass
        return False

    def _add_workers(self, count: int) -> list[threading.Thread]:
        """New worker threads (not started yet); call with the lock held."""
        workers = [
            threading.Thread(
                target=self._work, name=f"volnux-{len(self._threads) + i}", daemon=True
            )
            for i in range(count)
        ]
        self._threads.extend(workers)
        return workers

    def expect_long(self, count: int) -> None:
        """``count`` calls that will each run long (earlier runs of the same events
        said so) are about to be submitted: start the workers they need beyond
        those idle now, rather than measure the queue stall first (reason
        ``long-tasks``).

        Never past ``max_workers``, nor while the pool is held by its load.  A
        new worker takes the next queued call, so the submits that follow find
        the queue served without claiming or starting another.
        """
        with self._lock:
            if self._closed or self._held is not None:
                return
            room = self.max_workers - len(self._threads)
            count = min(count - len(self._idle), room)
            workers = self._add_workers(count) if count > 0 else []
        self._started(workers, "long-tasks")

    def _started(self, workers: list[threading.Thread], reason: str = "queued") -> None:
        for worker in workers:
            worker.start()
        if workers and self.on_resize is not None:
            report_size(self.on_resize, len(self._threads), reason)

    def _watch(self) -> None:
        """Grow the pool while queued calls go untaken: its workers are busy or blocked.

        Short calls keep the workers taking from the queue, and a few threads
        then beat many (they contend for the GIL); calls that block (I/O, a
        barrier) stall the queue, and the pool doubles until they are taken.
        """
        while True:
            time.sleep(GROW_AFTER_S)
            with self._lock:
                waiting = self._queue.qsize()
                room = self.max_workers - len(self._threads)
                if self._closed or waiting <= 0 or room <= 0:
                    self._watching = False
                    return
                stalled = time.monotonic() - self._last_take >= GROW_AFTER_S
            held = _load_holds() if stalled else None
            if held is not None:  # more threads would not help now: say so once, look again
                if held != self._held and self.on_resize is not None:
                    report_size(self.on_resize, len(self._threads), held)
                self._held = held
                time.sleep(HELD_RECHECK_S)
                continue
            self._held = None
            with self._lock:
                if self._closed:  # shut down meanwhile: a new worker would take a sentinel
                    self._watching = False  # counted for another, and leave it waiting
                    return
                room = self.max_workers - len(self._threads)
                waiting = self._queue.qsize()
                count = min(waiting, room, len(self._threads))
                workers = self._add_workers(count) if stalled and count > 0 else []
            self._started(workers)

    def _work(self) -> None:
        get, idle, local, clock = self._queue.get, self._idle, self._local, time.monotonic
        me = threading.get_ident()
        claimed = True  # a new worker's first call was claimed by starting it
        while True:
            if not claimed:
                idle.add(me)
            claimed = False
            if len(self._threads) > self.min_workers:  # may end when idle long enough
                try:
                    item = get(timeout=self.idle_s)
                except Empty:
                    if self._retire(me):
                        return
                    claimed = True  # a submit claimed it just now: its call is queued
                    continue
            else:
                item = get()
            idle.discard(me)  # a no-op when a submit claimed this worker
            if item is None:
                return
            self._last_take = clock()
            while item is not None:
                fn, args, done = item
                error: BaseException | None = None
                try:
                    result = fn(*args)
                except BaseException as exc:
                    result, error = None, exc
                local.collecting = True
                try:
                    done(result, error)
                except Exception:  # a broken callback must not kill the worker
                    log.exception("executor completion callback failed")
                finally:
                    local.collecting = False
                item, local.next = local.next, None
                del fn, args, done, result, error

    def _retire(self, me: int) -> bool:
        """End this idle worker, unless a submit claimed it or the pool is at its minimum."""
        with self._lock:
            if self._closed or me not in self._idle or len(self._threads) <= self.min_workers:
                return False
            self._idle.discard(me)
            self._threads.remove(threading.current_thread())
            count = len(self._threads)
        if self.on_resize is not None:
            report_size(self.on_resize, count, "idle")
        return True

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers once the queue is empty; join them if ``wait``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        if wait:
            current = threading.current_thread()
            for thread in threads:
                # A worker added a moment ago may not have started yet; it
                # will take its sentinel and end on its own.
                if thread is not current and thread.ident is not None:
                    thread.join()
        if self.on_resize is not None and threads:
            report_size(self.on_resize, 0, "shutdown")


#: Each decision to grow reads this process's CPU over at least this span (a
#: shorter one reads 0 % or 100 %: the counters tick every 10 ms), so a pool
#: grows by one doubling at most every 50 ms, each on a fresh reading.
LOAD_SAMPLE_S = 0.05


class _Load:
    """This process, as psutil sees it, and when its CPU was last read."""

    process: Any = None
    at = 0.0
    lock = threading.Lock()


def _load_holds() -> str | None:
    """Why the pool should not grow now (``cpu-bound``, ``memory``), or None."""
    import psutil  # type: ignore[import-untyped]

    with _Load.lock:
        if _Load.process is None:
            _Load.process = psutil.Process()
            _Load.process.cpu_percent(None)  # starts the clock
            _Load.at = time.monotonic()
        wait = _Load.at + LOAD_SAMPLE_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        busy = _Load.process.cpu_percent(None)  # since the last reading
        _Load.at = time.monotonic()
    memory = psutil.virtual_memory()
    if memory.available < memory.total * MEMORY_LOW_SHARE:
        return "memory"
    if busy >= CPU_BUSY_PERCENT:  # threads busy on Python code share one CPU
        return "cpu-bound"
    return None

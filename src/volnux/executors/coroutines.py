"""The asyncio executor: ``async def`` events on one event loop, in a thread of its own.

Ten thousand attempts waiting on I/O at once are ten thousand tasks on one
loop, not ten thousand threads.  :class:`AsyncioExecutor` takes coroutine
functions: ``fn(*args)`` must return an awaitable, which the loop awaits; a
call handed to it with a timeout (:meth:`AsyncioExecutor.submit_timed`) is
cancelled when the timeout passes, so an async attempt that times out is
really stopped.

``done`` is called on the loop's thread.  The loop starts with the first
submit and stops at :meth:`AsyncioExecutor.shutdown`, which cancels what is
still running unless it waits for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from .base import Capacity, Done, Resize, call_done, report_size

__all__ = ["AsyncioExecutor"]

#: A call as the loop takes it: function, arguments, completion callback, timeout.
_Call = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...], Done, float | None]

#: Attempts one loop runs at once when no limit is given: waiting costs a task,
#: not a thread, so the limit is there only to bound memory.
DEFAULT_CONCURRENCY = 100_000


class AsyncioExecutor:
    """Runs coroutine functions on an event loop in a thread of its own."""

    name = "asyncio"

    def __init__(self, max_workers: int | None = None, *, on_resize: Resize | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers or DEFAULT_CONCURRENCY
        self.on_resize = on_resize
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._limit: asyncio.Semaphore | None = None
        self._loop_thread: int | None = None
        self._pending: list[
            tuple[Callable[..., Awaitable[Any]], tuple[Any, ...], Done, float | None]
        ]
        self._pending = []
        self._pending_lock = threading.Lock()
        self._woken = False
        self._lock = threading.Lock()
        self._closed = False
        # On the loop's thread: whether a completion callback is running, and
        # the call submitted from it that the same task awaits next (see submit).
        self._collecting = False
        self._next: _Call | None = None

    def capacity(self) -> Capacity:
        """Up to ``max_workers`` attempts at once, on one thread of this process."""
        return Capacity(self.max_workers, in_process=True)

    def submit(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], done: Done) -> None:
        """Await ``fn(*args)`` on the loop; ``done`` hears the outcome."""
        self.submit_timed(fn, args, done, None)

    def submit_timed(
        self,
        fn: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        done: Done,
        timeout_s: float | None,
    ) -> None:
        """Like :meth:`submit`; a call still running after ``timeout_s`` seconds is
        cancelled, and ``done`` hears a TimeoutError."""
        loop = self._loop
        if loop is not None and threading.get_ident() == self._loop_thread:
            if self._collecting and self._next is None:
                # From the completion of a call (a chain's next step): the task
                # that ran it awaits this one next, no new task at all.
                self._next = (fn, args, done, timeout_s)
                return
            # From elsewhere on the loop: no hand-over between threads, no wake-up.
            loop.create_task(self._attempt(fn, args, done, timeout_s))
            return
        loop = self._running_loop()
        # Calls from the engine's thread queue up; the loop is woken once for
        # each batch (a group's thousand submits, one wake-up), not per call.
        with self._pending_lock:
            self._pending.append((fn, args, done, timeout_s))
            wake, self._woken = not self._woken, True
        if wake:
            loop.call_soon_threadsafe(self._drain)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the loop: with ``wait``, once what runs on it has ended; else cancel it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stopped: Future[None] = Future()
        loop.call_soon_threadsafe(lambda: loop.create_task(self._stop(wait, stopped)))
        if threading.current_thread() is not thread:
            stopped.result()
            thread.join()
        if self.on_resize is not None:
            report_size(self.on_resize, 0, "shutdown")

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        started = False
        with self._lock:
            if self._closed:
                raise RuntimeError("executor is shut down")
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.new_event_loop()
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._serve, args=(loop, ready), name="volnux-asyncio", daemon=True
                )
                self._thread.start()
                ready.wait()
                started = True
        if started and self.on_resize is not None:
            report_size(self.on_resize, 1, "started")
        return loop

    def _serve(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._loop_thread = threading.get_ident()
        if self.max_workers < DEFAULT_CONCURRENCY:  # a limit asked for: a semaphore keeps it
            self._limit = asyncio.Semaphore(self.max_workers)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _drain(self) -> None:
        """On the loop: start every call queued since the last wake-up."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
            self._woken = False
        assert self._loop is not None
        create = self._loop.create_task
        for fn, args, done, timeout_s in pending:
            create(self._attempt(fn, args, done, timeout_s))

    def _attempt(
        self,
        fn: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        done: Done,
        timeout_s: float | None,
    ) -> Coroutine[Any, Any, None]:
        """The coroutine of one call: within the limit, if one was asked for."""
        if self._limit is None:  # the usual case: no semaphore, one coroutine less
            return self._await(fn, args, done, timeout_s)
        return self._limited(self._limit, fn, args, done, timeout_s)

    async def _limited(
        self,
        limit: asyncio.Semaphore,
        fn: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        done: Done,
        timeout_s: float | None,
    ) -> None:
        async with limit:
            await self._await(fn, args, done, timeout_s)

    async def _await(
        self,
        fn: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        done: Done,
        timeout_s: float | None,
    ) -> None:
        """Await the call, then each call submitted from its completion, in turn."""
        while True:
            deadline = asyncio.timeout(timeout_s) if timeout_s is not None else None
            try:
                if deadline is None:  # the usual case: no context manager to enter
                    result = await fn(*args)
                else:
                    async with deadline:
                        result = await fn(*args)
            except TimeoutError as raised:
                error = raised
                if deadline is not None and deadline.expired():  # ours: it was cancelled
                    error = TimeoutError(
                        f"the attempt ran past its {timeout_s:g} s timeout: it was cancelled"
                    )
                self._done(done, None, error)
            except BaseException as exc:  # handed to done, as every executor does
                self._done(done, None, exc)
                if isinstance(exc, asyncio.CancelledError):
                    self._start_next()  # not awaited here: it goes on in a task of its own
                    raise
            else:
                self._done(done, result, None)
            following, self._next = self._next, None
            if following is None:
                return
            fn, args, done, timeout_s = following

    def _done(self, done: Done, result: Any, error: BaseException | None) -> None:
        """Tell ``done``; a call it submits is the next this task awaits."""
        self._collecting = True
        try:
            call_done(done, result, error)
        finally:
            self._collecting = False

    def _start_next(self) -> None:
        following, self._next = self._next, None
        if following is not None and self._loop is not None:
            self._loop.create_task(self._attempt(*following))

    async def _stop(self, wait: bool, stopped: Future[None]) -> None:
        me = asyncio.current_task()
        running = [task for task in asyncio.all_tasks() if task is not me]
        if not wait:
            for task in running:
                task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        stopped.set_result(None)
        asyncio.get_running_loop().stop()

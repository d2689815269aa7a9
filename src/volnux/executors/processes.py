"""The process executor: for CPU-bound events, on a pool of worker processes.

Built on ``pebble``'s process pool, which Volnux relies on for what
``concurrent.futures.ProcessPoolExecutor`` cannot do:

* **timeouts stop the attempt**: :meth:`ProcessExecutor.submit_timed` hands
  the attempt its timeout, and an attempt that runs past it has its worker
  process stopped and replaced; ``done`` hears a :class:`TimeoutError`;
* **a worker that dies fails only its own attempt**: killed, out of memory,
  a segmentation fault or ``os._exit``, ``done`` hears a
  :class:`~volnux.WorkerLost` saying how it died, the pool starts a new worker
  and the other attempts go on.  A pool that breaks all the same (every
  worker gone at once) is replaced on the next submit.

Workers start with ``forkserver`` where the platform has it, else ``spawn``:
never by forking a process that runs threads (the engine always does).  So a
worker holds nothing of the engine's memory: what it runs comes to it
pickled, and an event from a ``.py`` file loaded by path is found because its
spec pickles as that path and name (see ``EventSpec.__reduce__``).

Workers never outlive the process that started them: each one watches it and
exits within :data:`ORPHAN_CHECK_S` seconds of its death (a ``kill -9``
included), so no orphan finishes a task that a resume will run again.

A result travels back pickled by the worker itself, so a result that cannot
be pickled is a :class:`~volnux.Unpicklable` error (``direction`` ``"from"``)
for that attempt, as is an argument that cannot go (``"to"``).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import Unpicklable, WorkerLost
from .base import Capacity, Done, Resize, call_done, report_size, usable_cpus

if TYPE_CHECKING:
    from concurrent.futures import Future

    from pebble import ProcessPool

__all__ = ["ORPHAN_CHECK_S", "ProcessExecutor", "start_method"]

log = logging.getLogger("volnux.executors")

#: How often a worker checks that the process that started it is alive (seconds).
ORPHAN_CHECK_S = 0.2


def start_method() -> str:
    """``forkserver`` where the platform has it (Linux, macOS), else ``spawn``."""
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ProcessExecutor:
    """Runs calls in worker processes: for CPU-bound events.

    Events, their inputs and their results must pickle.  ``max_workers``
    defaults to the CPUs this process may use (:func:`usable_cpus`: its
    affinity, within a cgroup's quota).  ``on_resize`` hears the pool's size
    when it starts (``cpu-bound`` when sized by the CPUs) and 0 when it shuts
    down.
    """

    name = "process"

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        on_resize: Resize | None = None,
        memory_mb: int | None = None,
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if memory_mb is not None and memory_mb < 1:
            raise ValueError(f"memory_mb must be at least 1, got {memory_mb}")
        # Never more CPU-bound workers than usable cores, unless told.
        self.max_workers = max_workers or usable_cpus()
        self._sized_by_cpus = max_workers is None
        self.on_resize = on_resize
        #: MiB each worker may allocate beyond what it holds when it starts (None: no limit).
        self.memory_mb = memory_mb
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def capacity(self) -> Capacity:
        """Up to ``max_workers`` attempts at once, each in a process of its own."""
        return Capacity(self.max_workers, in_process=False)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Send ``fn(*args)`` to a worker process; ``done`` hears the outcome."""
        self.submit_timed(fn, args, done, None)

    def submit_timed(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done, timeout_s: float | None
    ) -> None:
        """Like :meth:`submit`; a call still running ``timeout_s`` seconds after it
        started has its worker stopped (and replaced), and ``done`` hears a TimeoutError."""
        pool = self._running_pool()

        def finished(future: Future[Any]) -> None:
            try:
                error = future.exception()
            except BaseException as exc:  # cancelled at shutdown
                error = exc
            if error is None:
                try:
                    value = pickle.loads(future.result())
                except Exception as exc:  # a class the engine's process cannot load
                    call_done(done, None, Unpicklable("from", f"the result cannot be read: {exc}"))
                    return
                call_done(done, value, None)
                return
            call_done(done, None, self._explained(error, timeout_s))

        try:
            future = pool.schedule(_call_pickled, (fn, args), timeout=timeout_s)
        except RuntimeError:  # the pool broke (every worker died at once): start another
            self._discard(pool)
            future = self._running_pool().schedule(_call_pickled, (fn, args), timeout=timeout_s)
        future.add_done_callback(finished)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the worker processes (a later submit starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            if wait:
                pool.close()  # type: ignore[no-untyped-call]
            else:
                pool.stop()  # type: ignore[no-untyped-call]
            pool.join()
            if self.on_resize is not None:
                report_size(self.on_resize, 0, "shutdown")

    def _running_pool(self) -> ProcessPool:
        started = False
        with self._lock:
            pool = self._pool
            if pool is None:
                # Imported here: multiprocessing and pebble cost several ms to
                # import, and most runs never start a process.
                import multiprocessing

                from pebble import ProcessPool

                context = multiprocessing.get_context(start_method())
                pool = ProcessPool(
                    self.max_workers,
                    initializer=_worker_started,
                    initargs=(os.getpid(), self.memory_mb),
                    context=context,
                )
                self._pool = pool
                started = True
        if started and self.on_resize is not None:
            why = "cpu-bound" if self._sized_by_cpus else "started"
            report_size(self.on_resize, self.max_workers, why)
        return pool

    def _discard(self, pool: ProcessPool) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.stop()  # type: ignore[no-untyped-call]

    def _explained(self, error: BaseException, timeout_s: float | None) -> BaseException:
        """The executor's failure said in the event author's terms, without pebble's frames."""
        from concurrent.futures.process import BrokenProcessPool

        from pebble import ProcessExpired

        if isinstance(error, Unpicklable):
            error.__cause__ = None  # the worker's traceback of pickle itself
            return error
        if isinstance(error, ProcessExpired):
            return WorkerLost(
                f"the worker process (pid {error.pid}) running the attempt died: "
                f"{_how_it_ended(error.exitcode)}; the pool started another"
            )
        if isinstance(error, BrokenProcessPool):
            pool = self._pool
            if pool is not None and not pool.active:
                self._discard(pool)
            return WorkerLost(f"the worker processes died ({error}); the pool is started again")
        if isinstance(error, TimeoutError) and timeout_s is not None:
            return TimeoutError(
                f"the attempt ran past its {timeout_s:g} s timeout: its worker process was "
                "stopped (and replaced)"
            )
        if _is_pickling(error):
            return Unpicklable("to", str(error))
        return error


def _call_pickled(fn: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    """In the worker: ``fn(*args)``, pickled here so that a result that cannot be
    pickled fails this attempt with what it is, not the pool."""
    value = fn(*args)
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise Unpicklable("from", str(exc)) from None


def _worker_started(parent: int, memory_mb: int | None = None) -> None:
    """In each new worker: exit when ``parent`` (the engine's process) is gone, and
    allow ``memory_mb`` MiB more address space than the worker holds now."""
    first = os.getppid()  # the engine under spawn; the fork server under forkserver

    def watch() -> None:
        while True:
            time.sleep(ORPHAN_CHECK_S)
            # A dead parent's children move to another parent at once (its fork
            # server exits when it does), even while the parent is a zombie.
            if os.getppid() != first or not _alive(parent):
                os._exit(70)

    threading.Thread(target=watch, name="volnux-orphan-watch", daemon=True).start()
    if memory_mb is not None:
        _limit_memory(memory_mb)


def _limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at what it holds now plus ``memory_mb`` MiB.

    Going past it makes allocations fail: ``MemoryError`` in Python code.  The
    base is read from ``/proc`` (Linux); elsewhere the cap is ``memory_mb``
    alone, where the platform enforces one at all.
    """
    import resource

    held = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    held = int(line.split()[1]) * 1024
    except OSError:
        pass
    cap = held + memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ValueError, OSError) as exc:  # a hard limit already lower: keep that one
        log.warning("the memory limit of %d MiB could not be set: %s", memory_mb, exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the pid: ours is gone
        return False
    return True


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "it ended in an unknown way"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = {
            "SIGKILL": " (killed, perhaps by the out-of-memory killer)",
            "SIGSEGV": " (a segmentation fault, in native code)",
            "SIGABRT": " (aborted, in native code)",
        }.get(name, "")
        return f"killed by {name}{why}"
    return f"it exited with status {exitcode} (os._exit or a crash) without finishing"


def _is_pickling(error: BaseException) -> bool:
    """Whether ``error`` is a value that failed to cross to a worker process."""
    if isinstance(error, pickle.PicklingError):
        return True
    return isinstance(error, TypeError | AttributeError) and "pickle" in str(error)

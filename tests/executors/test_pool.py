"""The executors: callbacks, growth under blocking work, shutdown, processes."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from volnux.errors import Unpicklable
from volnux.executors import ProcessExecutor, ThreadExecutor
from volnux.executors.threads import EAGER_THREADS


def collect(executor: Any, calls: list[tuple[Any, tuple[Any, ...]]]) -> list[tuple[Any, Any]]:
    done = threading.Event()
    results: list[tuple[Any, Any]] = []
    lock = threading.Lock()

    def on_done(result: Any, error: BaseException | None) -> None:
        with lock:
            results.append((result, error))
            if len(results) == len(calls):
                done.set()

    for fn, args in calls:
        executor.submit(fn, args, on_done)
    assert done.wait(30), "not every call reported back"
    return results


def test_thread_executor_reports_results_and_errors() -> None:
    ex = ThreadExecutor(4)
    try:
        out = collect(ex, [(pow, (2, 10)), (int, ("x",))])
    finally:
        ex.shutdown()
    values = sorted(r for r, e in out if e is None)
    errors = [e for r, e in out if e is not None]
    assert values == [1024]
    assert len(errors) == 1 and isinstance(errors[0], ValueError)


def test_pool_grows_past_the_eager_workers_when_calls_block() -> None:
    parties = EAGER_THREADS * 4
    barrier = threading.Barrier(parties, timeout=20)
    sizes: list[int] = []
    ex = ThreadExecutor(parties + 2, on_resize=lambda n, why: sizes.append(n))
    try:
        out = collect(ex, [(barrier.wait, ())] * parties)
    finally:
        ex.shutdown()
    # Every call waited on the same barrier: only a pool of `parties` workers passes it.
    assert all(error is None for _, error in out)
    assert max(sizes) >= parties


def test_pool_never_exceeds_max_workers() -> None:
    gate = threading.Event()
    sizes: list[int] = []
    ex = ThreadExecutor(3, on_resize=lambda n, why: sizes.append(n))
    try:
        for _ in range(10):
            ex.submit(gate.wait, (5,), lambda r, e: None)
        threading.Event().wait(0.1)  # let the watchdog try to grow
        assert max(sizes) == 3
    finally:
        gate.set()
        ex.shutdown()


def test_submit_after_shutdown_is_refused() -> None:
    ex = ThreadExecutor(2)
    ex.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        ex.submit(print, (), lambda r, e: None)


def test_process_executor_runs_elsewhere() -> None:
    ex = ProcessExecutor(2)
    try:
        out = collect(ex, [(os.getpid, ())])
    finally:
        ex.shutdown()
    ((pid, error),) = out
    assert error is None and pid != os.getpid()


def test_a_call_submitted_from_a_completion_runs_next_on_the_same_worker() -> None:
    ex = ThreadExecutor(8)
    threads: list[int] = []
    finished = threading.Event()

    def step(n: int) -> int:
        threads.append(threading.get_ident())
        return n

    def on_done(result: Any, error: BaseException | None) -> None:
        if result < 50:
            ex.submit(step, (result + 1,), on_done)  # a chain: each step submits the next
        else:
            finished.set()

    try:
        ex.submit(step, (0,), on_done)
        assert finished.wait(10)
    finally:
        ex.shutdown()
    assert len(threads) == 51
    assert len(set(threads)) == 1  # no hand-over between threads along the chain


def test_a_call_that_waits_for_a_later_call_gets_a_worker_of_its_own() -> None:
    """Each queued call claims a waiting worker or starts one: none waits behind a blocked one."""
    ex = ThreadExecutor(EAGER_THREADS)
    try:
        for round_ in range(20):  # a warm pool: its workers wait in the queue between rounds
            later = threading.Event()
            out = collect(ex, [(later.wait, (10,)), (later.set, ())])
            assert sorted(map(repr, out)) == ["(None, None)", "(True, None)"], round_
    finally:
        ex.shutdown()


def test_calls_submitted_from_many_threads_at_once_all_run() -> None:
    ex = ThreadExecutor(6)
    total = 4 * 300
    seen = threading.Semaphore(0)
    try:

        def submitter() -> None:
            for _ in range(300):
                ex.submit(pow, (2, 8), lambda r, e: seen.release())

        threads = [threading.Thread(target=submitter) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(seen.acquire(timeout=10) for _ in range(total))
        assert len(ex._threads) <= 6
    finally:
        ex.shutdown()


def test_a_value_that_cannot_cross_to_a_process_is_said_plainly() -> None:
    import threading as t

    from volnux.executors import ProcessExecutor

    pool = ProcessExecutor(1)
    try:
        ((result, error),) = collect(pool, [(t.Lock, ())])  # a lock cannot come back
    finally:
        pool.shutdown()
    assert result is None and isinstance(error, Unpicklable) and isinstance(error, TypeError)
    assert error.direction == "from"  # the call ran; its result could not come back
    assert str(error) == "cannot pickle '_thread.lock' object"
    assert error.__cause__ is None  # no frames of pickle or the pool
    pool = ProcessExecutor(1)
    try:
        ((result, error),) = collect(pool, [(len, (t.Lock(),))])  # a lock cannot go
    finally:
        pool.shutdown()
    assert isinstance(error, Unpicklable) and error.direction == "to"

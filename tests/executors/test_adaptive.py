"""Pools that size themselves: grow while calls wait, shrink when idle, hold under load."""

from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path

import pytest

import volnux
from volnux import PoolSettings
from volnux.executors import ProcessExecutor, ThreadExecutor, threads
from volnux.executors.base import usable_cpus
from volnux.observability.observer import Observer


class Sizes:
    """What a pool reported: (workers, reason), in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def __call__(self, workers: int, reason: str) -> None:
        with self.lock:
            self.seen.append((workers, reason))

    def reasons(self) -> list[str]:
        return [why for _, why in self.seen]


def wait_until(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_idle_workers_past_the_minimum_end_and_the_pool_still_works() -> None:
    sizes = Sizes()
    pool = ThreadExecutor(8, on_resize=sizes, min_workers=2, idle_s=0.2)
    release = threading.Event()
    ended = threading.Semaphore(0)
    try:
        for _ in range(6):
            pool.submit(release.wait, (10,), lambda r, e: ended.release())
        wait_until(lambda: max((n for n, _ in sizes.seen), default=0) == 6)
        release.set()
        for _ in range(6):
            assert ended.acquire(timeout=10)
        wait_until(lambda: sizes.seen[-1] == (2, "idle"))
        time.sleep(0.5)  # the minimum stays
        assert sizes.seen[-1] == (2, "idle") and len(pool._threads) == 2
        assert [n for n, why in sizes.seen if why == "idle"] == [5, 4, 3, 2]
        done = threading.Event()
        pool.submit(done.set, (), lambda r, e: None)
        assert done.wait(5)
    finally:
        pool.shutdown()
    assert sizes.seen[-1] == (0, "shutdown")


def test_a_worker_running_a_call_is_never_retired() -> None:
    pool = ThreadExecutor(4, idle_s=0.05)
    finished = threading.Event()
    try:
        pool.submit(time.sleep, (0.5,), lambda r, e: finished.set())
        assert finished.wait(5)  # it ran its 0.5 s past ten idle periods
    finally:
        pool.shutdown()


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1000))


def test_threads_that_keep_a_cpu_busy_hold_the_pool_and_say_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a loaded machine (the suite beside another) spinning threads may get
    # less than 90 % of a CPU; half a CPU still says they are CPU-bound.
    monkeypatch.setattr(threads, "CPU_BUSY_PERCENT", 50.0)
    sizes = Sizes()
    pool = ThreadExecutor(32, on_resize=sizes)
    finished = threading.Semaphore(0)
    try:
        for _ in range(32):
            pool.submit(spin, (0.3,), lambda r, e: finished.release())
        for _ in range(32):
            assert finished.acquire(timeout=60)
    finally:
        pool.shutdown()
    assert "cpu-bound" in sizes.reasons()
    assert max(n for n, _ in sizes.seen) < 32  # more threads would only share the GIL


def test_low_memory_holds_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every machine has less memory available than 101 % of its memory.
    monkeypatch.setattr(threads, "MEMORY_LOW_SHARE", 1.01)
    sizes = Sizes()
    pool = ThreadExecutor(16, on_resize=sizes)
    release = threading.Event()
    try:
        for _ in range(16):
            pool.submit(release.wait, (10,), lambda r, e: None)
        wait_until(lambda: "memory" in sizes.reasons())
        assert len(pool._threads) == threads.EAGER_THREADS  # no growth past the first ones
    finally:
        release.set()
        pool.shutdown()


def test_a_pool_shut_down_while_it_decides_to_grow_ends_every_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The watchdog reads the load outside the pool's lock; a shutdown landing
    # then counted one sentinel per worker, and workers the watchdog added
    # after it took sentinels meant for others, which waited for ever (a
    # shutdown that never returned, seen in CI as a bench run past 120 s).
    reading, go_on = threading.Event(), threading.Event()

    def slow_reading() -> None:
        reading.set()
        go_on.wait(10)

    monkeypatch.setattr(threads, "_load_holds", slow_reading)
    pool = ThreadExecutor(16, min_workers=2)
    release = threading.Event()
    for _ in range(8):  # four run and block, four wait in the queue: the watchdog looks
        pool.submit(release.wait, (10,), lambda r, e: None)
    assert reading.wait(10)
    workers = list(pool._threads)
    stopper = threading.Thread(target=pool.shutdown)
    stopper.start()
    wait_until(lambda: pool._closed)
    go_on.set()
    release.set()
    stopper.join(10)
    assert not stopper.is_alive(), "shutdown did not return"
    wait_until(lambda: not any(t.is_alive() for t in pool._threads))
    assert pool._threads == workers  # nothing was added after the shutdown


def test_the_process_pool_has_as_many_workers_as_usable_cpus_unless_told() -> None:
    affinity = len(os.sched_getaffinity(0))
    assert 1 <= usable_cpus() <= affinity
    sizes = Sizes()
    pool = ProcessExecutor(on_resize=sizes)
    try:
        done = threading.Event()
        pool.submit(os.getpid, (), lambda r, e: done.set())
        assert done.wait(30)
    finally:
        pool.shutdown()
    assert sizes.seen == [(usable_cpus(), "cpu-bound"), (0, "shutdown")]
    told = ProcessExecutor(usable_cpus() + 3)
    assert told.capacity().workers == usable_cpus() + 3


BUSY = {"now": 0, "most": 0}
BUSY_LOCK = threading.Lock()


@volnux.event
def Busy(seconds: float = 0.1) -> None:
    with BUSY_LOCK:
        BUSY["now"] += 1
        BUSY["most"] = max(BUSY["most"], BUSY["now"])
    time.sleep(seconds)
    with BUSY_LOCK:
        BUSY["now"] -= 1


def most_at_once(flow: volnux.Workflow, **run: object) -> int:
    BUSY.update(now=0, most=0)
    with flow:
        assert flow.run(**run).state is volnux.RunState.SUCCEEDED  # type: ignore[arg-type]
    return BUSY["most"]


def test_pool_settings_size_a_run_and_a_workflow() -> None:
    text = " || ".join(["Busy"] * 6)
    limited = {"thread": PoolSettings(max_workers=2)}
    assert most_at_once(volnux.Workflow.from_text(text, [Busy]), pools=limited) == 2
    flow = volnux.Workflow.from_text(text, [Busy])
    flow = volnux.Workflow(
        flow.graph, flow.registry, pool_settings={"thread": PoolSettings(max_workers=3)}
    )
    assert most_at_once(flow) == 3
    assert most_at_once(volnux.Workflow.from_text(text, [Busy])) == 6


def test_pool_settings_that_cannot_hold_are_refused() -> None:
    with pytest.raises(ValueError, match=r"min_workers \(4\) is more than max_workers \(2\)"):
        PoolSettings(min_workers=4, max_workers=2)
    with pytest.raises(ValueError, match="must be a whole number of at least 1, got 0"):
        PoolSettings(max_workers=0)
    flow = volnux.Workflow.from_text("Busy", [Busy])
    with pytest.raises(ValueError, match="the process pool has a fixed size: set max_workers only"):
        volnux.Workflow(
            flow.graph, flow.registry, pool_settings={"process": PoolSettings(min_workers=1)}
        )


CONFIGURED_EVENTS = """
import time

import volnux


@volnux.event
def Stamp(out: str) -> None:
    start = time.monotonic()
    time.sleep(0.1)
    with open(out, "a") as file:
        file.write(f"{start} {time.monotonic()}\\n")
"""


def test_volnux_toml_sizes_the_pools_of_volnux_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from volnux.cli.app import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.py").write_text(CONFIGURED_EVENTS, encoding="utf-8")
    (tmp_path / "flow.pty").write_text("Stamp || Stamp || Stamp || Stamp\n", encoding="utf-8")
    (tmp_path / "volnux.toml").write_text("[executors.thread]\nmax_workers = 1\n", "utf-8")
    out = tmp_path / "stamps"
    args = ["run", "flow.pty", "-e", "events.py", "--store", "memory:", "-i", f"out={out}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    spans = sorted(tuple(map(float, line.split())) for line in out.read_text().splitlines())
    assert len(spans) == 4
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    (tmp_path / "volnux.toml").write_text("[executors.thread]\nmax_workers = 0\n", "utf-8")
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2
    assert "[executors.thread] max_workers must be a whole number of at least 1" in refused.stderr


GATE_EVENTS = """
import threading

import volnux

BARRIER = threading.Barrier(6, timeout=20)


@volnux.event
def Meet() -> None:
    BARRIER.wait()
"""


def test_runs_show_verbose_tells_how_the_pools_changed_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from volnux.cli.app import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.py").write_text(GATE_EVENTS, encoding="utf-8")
    (tmp_path / "flow.pty").write_text(" || ".join(["Meet"] * 6) + "\n", encoding="utf-8")
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "flow.pty", "-e", "events.py", "--store", "runs.db"])
    assert ran.exit_code == 0, ran.output
    listed = json.loads(runner.invoke(app, ["runs", "list", "--json", "--store", "runs.db"]).stdout)
    run_id = listed[0]["id"]
    shown = json.loads(
        runner.invoke(app, ["runs", "show", run_id, "--json", "--store", "runs.db"]).stdout
    )
    # Six calls met at one barrier: the pool grew to six workers at least, and said why.
    grew = [p for p in shown["pools"] if p["reason"] == "queued"]
    assert grew and grew[-1]["workers"] >= 6 and grew[-1]["executor"] == "thread"
    plain = runner.invoke(app, ["runs", "show", run_id, "--store", "runs.db"]).stdout
    assert "thread pool:" not in plain  # only with --verbose
    verbose = runner.invoke(app, ["runs", "show", run_id, "--store", "runs.db", "-v"]).stdout
    size = grew[-1]["workers"]
    assert f"thread pool: {size} workers (grew: calls were waiting)" in verbose


def test_a_pool_told_of_long_calls_starts_their_workers_at_once() -> None:
    sizes = Sizes()
    pool = ThreadExecutor(10, on_resize=sizes)
    release = threading.Event()
    started = threading.Semaphore(0)

    def wait() -> None:
        started.release()
        release.wait(10)

    try:
        pool.expect_long(12)  # more than it may have: capped at max_workers
        assert sizes.seen == [(10, "long-tasks")]
        for _ in range(12):
            pool.submit(wait, (), lambda r, e: None)
        for _ in range(10):  # ten run at once, with no stall measured first
            assert started.acquire(timeout=5)
        assert len(pool._threads) == 10
        release.set()
        wait_until(lambda: pool._queue.qsize() == 0)
        wait_until(lambda: len(pool._idle) == 10)
        pool.expect_long(6)  # ten idle workers serve six calls: no growth
        assert sizes.seen.count((10, "long-tasks")) == 1 and len(sizes.seen) == 1
    finally:
        release.set()
        pool.shutdown()


def test_a_pool_held_by_its_load_is_not_grown_for_long_calls() -> None:
    sizes = Sizes()
    pool = ThreadExecutor(8, on_resize=sizes)
    pool._held = "cpu-bound"
    pool.expect_long(8)
    assert sizes.seen == [] and pool._threads == []
    pool.shutdown()


NAPS = " || ".join(["Nap"] * 8)


@volnux.event
def Nap(seconds: float) -> None:
    time.sleep(seconds)


def long_task_growths(journal: object, run_id: str) -> list[int]:
    """The sizes a pool grew to at once for long tasks, as journaled with the run."""
    from volnux.notes import PoolResized

    details = [n.read() for n in journal.load_notes(run_id)]  # type: ignore[attr-defined]
    return [d.workers for d in details if isinstance(d, PoolResized) and d.reason == "long-tasks"]


class Heard(Observer):
    """Pool sizes a run heard (an observer makes the engine watch its pools)."""

    def __init__(self) -> None:
        self.resizes: list[tuple[str, int, str]] = []

    def pool_resized(self, run_id: str, executor: str, workers: int, reason: str = "") -> None:
        self.resizes.append((executor, workers, reason))


def test_events_that_ran_long_grow_the_next_runs_pool_at_once(tmp_path: Path) -> None:
    from volnux.store.sqlite import SQLiteJournal

    journal = SQLiteJournal(tmp_path / "runs.db")

    def run(seconds: float) -> volnux.Run:
        heard = Heard()
        with volnux.Workflow.from_text(NAPS, [Nap]) as flow:  # fresh pools each time
            done = flow.run({"seconds": seconds}, store=journal, observers=[heard])
        assert done.state is volnux.RunState.SUCCEEDED
        grew = [workers for _, workers, why in heard.resizes if why == "long-tasks"]
        assert grew == long_task_growths(journal, done.id)
        return done

    try:
        first = run(0.08)
        key = first.tasks["Nap"].event
        assert long_task_growths(journal, first.id) == []  # nothing known yet: measured
        assert journal.durations([key])[key] == pytest.approx(0.08, abs=0.07)
        second = run(0.08)
        assert long_task_growths(journal, second.id) == [8]  # all eight at once
        quick = run(0.0)  # the event got quick: remembered so
        assert long_task_growths(journal, quick.id) == [8]
        assert journal.durations([key])[key] < 0.05
        assert long_task_growths(journal, run(0.08).id) == []
    finally:
        journal.close()

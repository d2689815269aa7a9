"""Lifecycle signals: what is sent, in what order, with which payload; receivers never hurt."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from blinker import NamedSignal

import volnux
from volnux import RunState, TaskState, Workflow
from volnux.engine.runner import CANCEL_POLL_S
from volnux.executors import Pools, ThreadExecutor
from volnux.observability import signals
from volnux.store import MemoryJournal, SQLiteJournal

TASK_SIGNALS = [
    signals.task_queued,
    signals.task_started,
    signals.task_retrying,
    signals.task_succeeded,
    signals.task_failed,
    signals.task_skipped,
]
RUN_SIGNALS = [
    signals.run_started,
    signals.run_resumed,
    signals.run_paused,
    signals.run_cancelled,
    signals.run_finished,
]


class Recorder:
    """Connects to signals and keeps (signal name, sender, payload) in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    def receiver(self, name: str) -> Callable[..., None]:
        def receive(sender: str, payload: Any) -> None:
            self.seen.append((name, sender, payload))

        return receive

    def names(self) -> list[str]:
        return [name for name, _, _ in self.seen]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    receivers = []
    for sig in [*RUN_SIGNALS, *TASK_SIGNALS, signals.pool_resized, signals.batch_progress]:
        fn = rec.receiver(sig.name.removeprefix("volnux."))
        sig.connect(fn)
        receivers.append((sig, fn))
    yield rec
    for sig, fn in receivers:
        sig.disconnect(fn)


def flaky_events() -> list[Any]:
    tries = {"n": 0}

    @volnux.event
    def Fetch(ctx: volnux.Context) -> int:
        return 3

    @volnux.event
    def Flaky(ctx: volnux.Context) -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("first try fails")
        return "ok"

    @volnux.event
    def Check() -> None:
        raise ValueError("bad order 7")

    @volnux.event
    def Fix() -> str:
        return "fixed"

    @volnux.event
    def Done() -> str:
        return "done"

    return [Fetch, Flaky, Check, Fix, Done]


FLOW = "Fetch -> Flaky * 2 -> Check (0 -> Fix, 1 -> Done)"


def test_a_run_sends_every_lifecycle_signal_in_journal_order(recorder: Recorder) -> None:
    run = Workflow.from_text(FLOW, flaky_events(), name="orders").run()
    assert run.status == "succeeded"  # Check's failure is handled by its 0 branch
    task_events = [
        (name, p.node_id, p.attempt) for name, _, p in recorder.seen if name.startswith("task-")
    ]
    queued = [(n, node) for n, node, _ in task_events if n == "task-queued"]
    assert queued == [("task-queued", n) for n in ("Fetch", "Flaky", "Check", "Fix", "Done")]
    assert [e for e in task_events if e[0] != "task-queued"] == [
        ("task-started", "Fetch", 1),
        ("task-succeeded", "Fetch", 1),
        ("task-started", "Flaky", 1),
        ("task-retrying", "Flaky", 1),
        ("task-started", "Flaky", 2),
        ("task-succeeded", "Flaky", 2),
        ("task-started", "Check", 1),
        ("task-failed", "Check", 1),
        ("task-skipped", "Done", 0),
        ("task-started", "Fix", 1),
        ("task-succeeded", "Fix", 1),
    ]
    names = recorder.names()
    assert names[0] == "run-started" and names[-1] == "run-finished"
    assert all(sender == run.id for name, sender, _ in recorder.seen if name != "pool-resized")

    started = recorder.seen[0][2]
    assert started == signals.RunSignal(run.id, "orders", RunState.RUNNING)
    finished = recorder.seen[-1][2]
    assert finished == signals.RunSignal(run.id, "orders", RunState.SUCCEEDED, None)

    payloads = {(n, p.node_id, p.attempt): p for n, _, p in recorder.seen if n.startswith("task-")}
    retrying = payloads[("task-retrying", "Flaky", 1)]
    assert retrying.event == "Flaky@1.0.0" and retrying.workflow == "orders"
    assert retrying.state is TaskState.RETRYING
    assert retrying.error is not None and retrying.error.type == "ConnectionError"
    ok = payloads[("task-succeeded", "Flaky", 2)]
    assert (ok.result, ok.descriptor, ok.error) == ("ok", 1, None)
    failed = payloads[("task-failed", "Check", 1)]
    assert failed.descriptor == 0 and failed.error is not None
    assert failed.error.message == "bad order 7"


def test_payloads_are_frozen() -> None:
    payload = signals.RunSignal("r", "w", RunState.RUNNING)
    with pytest.raises(dataclasses.FrozenInstanceError):
        payload.run_id = "x"  # type: ignore[misc]
    for cls in (signals.TaskSignal, signals.BatchProgress, signals.PoolResized):
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert cls.__doc__


def test_a_failed_run_sends_task_failed_and_run_finished_with_the_error(
    recorder: Recorder,
) -> None:
    @volnux.event
    def Boom() -> None:
        raise RuntimeError("disk full")

    run = Workflow.from_text("Boom", [Boom]).run()
    assert run.status == "failed"
    _, _, end = recorder.seen[-1]
    assert end.state is RunState.FAILED and end.error is not None and "disk full" in end.error
    assert "task-failed" in recorder.names()


def test_a_receiver_that_raises_is_logged_and_changes_nothing(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: str, payload: Any) -> None:
        raise RuntimeError("listener bug")

    baseline = Workflow.from_text(FLOW, flaky_events()).run()
    recorder.seen.clear()
    for sig in [*RUN_SIGNALS, *TASK_SIGNALS]:
        sig.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="volnux.observability"):
            run = Workflow.from_text(FLOW, flaky_events()).run()
    finally:
        for sig in [*RUN_SIGNALS, *TASK_SIGNALS]:
            sig.disconnect(broken)
    assert run.status == baseline.status == "succeeded"
    assert run.results == baseline.results
    assert {k: v.state for k, v in run.tasks.items()} == {
        k: v.state for k, v in baseline.tasks.items()
    }
    # The other receivers still heard everything.
    assert recorder.names()[0] == "run-started" and recorder.names()[-1] == "run-finished"
    failures = [r for r in caplog.records if "listener bug" in (r.exc_text or "")]
    assert failures and "the run goes on" in failures[0].getMessage()


def test_a_receiver_can_listen_to_one_run_only() -> None:
    heard: list[str] = []

    def on_succeeded(sender: str, payload: signals.TaskSignal) -> None:
        heard.append(payload.node_id)

    @volnux.event
    def A() -> int:
        return 1

    wf = Workflow.from_text("A", [A])
    signals.task_succeeded.connect(on_succeeded, sender="chosen")
    try:
        wf.run(run_id="other")
        wf.run(run_id="chosen")
    finally:
        signals.task_succeeded.disconnect(on_succeeded)
    assert heard == ["A"]


def test_pause_and_resume_send_run_paused_and_run_resumed(
    recorder: Recorder, tmp_path: Path
) -> None:
    approved = {"yes": False}

    @volnux.event
    def Approve() -> str:
        if not approved["yes"]:
            raise volnux.NeedsOperator("a manager must approve")
        return "approved"

    journal = SQLiteJournal(tmp_path / "j.db")
    wf = Workflow.from_text("Approve", [Approve])
    run = wf.run(store=journal)
    assert run.state is RunState.PAUSED
    paused = [p for n, _, p in recorder.seen if n == "run-paused"]
    assert len(paused) == 1 and paused[0].error is not None
    assert "a manager must approve" in paused[0].error
    # The parked task is PENDING again: queued.
    assert ("task-queued", "Approve", 1) in [
        (n, p.node_id, p.attempt) for n, _, p in recorder.seen if n == "task-queued"
    ]
    recorder.seen.clear()
    approved["yes"] = True
    Workflow.resume(run.id, store=journal, workflow=wf)
    journal.close()
    names = recorder.names()
    assert names[0] == "run-resumed" and names[-1] == "run-finished"
    assert "task-queued" not in names  # a resumed run's tasks were queued by the first session


def test_cancel_sends_run_cancelled(recorder: Recorder) -> None:
    journal = MemoryJournal()

    @volnux.event
    def First(ctx: volnux.Context) -> int:
        journal.request_cancel(ctx.run_id)
        time.sleep(3 * CANCEL_POLL_S)  # the engine sees the request before First ends
        return 1

    @volnux.event
    def Second() -> int:
        return 2

    run = Workflow.from_text("First -> Second", [First, Second]).run(store=journal)
    assert run.state is RunState.CANCELLED
    assert recorder.names()[-1] == "run-cancelled"
    # Nobody was noted (the journal was asked directly): the error says so.
    expected = signals.RunSignal(run.id, "workflow", RunState.CANCELLED, "cancelled on request")
    assert recorder.seen[-1][2] == expected
    assert "Second" not in [p.node_id for n, _, p in recorder.seen if n == "task-started"]


def test_with_no_receiver_no_payload_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    for sig in [*RUN_SIGNALS, *TASK_SIGNALS]:
        assert not sig.receivers, f"a test left a receiver on {sig.name}"

    def forbidden(*args: object) -> None:
        raise AssertionError("a payload was built with nobody listening")

    monkeypatch.setattr(signals, "TaskSignal", forbidden)
    monkeypatch.setattr(signals, "RunSignal", forbidden)
    run = Workflow.from_text(FLOW, flaky_events()).run()
    assert run.status == "succeeded"


def test_pool_resized_reports_each_new_worker_and_the_shutdown(recorder: Recorder) -> None:
    observer = signals.SignalsObserver()
    pools = Pools()
    pools.watch(lambda name, n, why: observer.pool_resized("run-1", name, n, why))
    pool = pools.get("thread", 3)
    release = threading.Event()
    done = threading.Semaphore(0)
    for _ in range(3):  # three blocked calls: three workers
        pool.submit(release.wait, (5,), lambda result, error: done.release())
    release.set()
    for _ in range(3):
        assert done.acquire(timeout=5)
    pools.close()
    sizes = [(p.workers, p.reason) for n, _, p in recorder.seen if n == "pool-resized"]
    assert sizes == [(1, "queued"), (2, "queued"), (3, "queued"), (0, "shutdown")]
    senders = {s for n, s, _ in recorder.seen if n == "pool-resized"}
    assert senders == {"thread"}
    payload = recorder.seen[-1][2]
    assert payload == signals.PoolResized("thread", 0, "run-1", "shutdown")


def test_a_resize_callback_that_raises_does_not_break_the_pool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(size: int, why: str) -> None:
        raise RuntimeError("metrics down")

    pool = ThreadExecutor(2, on_resize=broken)
    results: list[Any] = []
    finished = threading.Event()
    with caplog.at_level(logging.ERROR, logger="volnux.executors"):
        pool.submit(lambda: 42, (), lambda r, e: (results.append(r), finished.set()))
        assert finished.wait(5)
        pool.shutdown()
    assert results == [42]
    assert any("resize callback failed" in r.getMessage() for r in caplog.records)


def test_a_run_reports_the_growth_of_the_pool_it_runs_on(recorder: Recorder) -> None:
    release = threading.Barrier(2, timeout=5)

    @volnux.event
    def A() -> int:
        release.wait()  # both members at once: the pool must have two workers
        return 1

    wf = Workflow.from_text("A || A", [A])
    first = wf.run(max_workers=2)
    sizes = [p.workers for n, s, p in recorder.seen if n == "pool-resized" and p.run_id == first.id]
    assert sizes == [1, 2]
    # The workflow keeps its pool: the next run hears its size when it starts, and no growth.
    second = wf.run(max_workers=2)
    assert second.succeeded
    sizes = [
        p.workers for n, s, p in recorder.seen if n == "pool-resized" and p.run_id == second.id
    ]
    assert sizes == [2]
    wf.close()
    # An engine without a caller's pools makes its own and reports their shutdown.
    from volnux.engine import Engine
    from volnux.store import MemoryJournal, RunRecord

    journal = MemoryJournal()
    journal.create_run(RunRecord("r", "w", "", "", {}, {}, volnux.RunState.RUNNING, 0, 0))
    engine = Engine(wf.plan, journal, "r", {}, observers=[signals.SignalsObserver()])
    assert engine.execute()[0] is volnux.RunState.SUCCEEDED
    sizes = [p.workers for n, s, p in recorder.seen if n == "pool-resized" and p.run_id == "r"]
    assert sizes[-1] == 0 and max(sizes) >= 1


def test_batch_progress_is_sent_to_its_batch_receivers(recorder: Recorder) -> None:
    progress = signals.BatchProgress("batch-1", "orders", total=10, done=3, succeeded=2, failed=1)
    signals.send_batch_progress(progress)
    assert recorder.seen == [("batch-progress", "batch-1", progress)]


def test_send_isolates_receivers_and_respects_muting(caplog: pytest.LogCaptureFixture) -> None:
    sig = NamedSignal("test")
    heard: list[object] = []

    def bad(sender: str, payload: object) -> None:
        raise ValueError("x")

    def good(sender: str, payload: object) -> None:
        heard.append(payload)

    sig.connect(bad)
    sig.connect(good)
    with caplog.at_level(logging.ERROR, logger="volnux.observability"):
        signals.send(sig, "s", 1)
    with sig.muted():
        signals.send(sig, "s", 2)
    assert heard == [1]
    assert any("receiver" in r.getMessage() for r in caplog.records)


def test_importing_volnux_loads_neither_blinker_nor_opentelemetry() -> None:
    code = (
        "import sys, volnux\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('blinker', 'opentelemetry')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


LATE_RECEIVER = """
import volnux
from volnux.observability import signals

@volnux.event
def A() -> int:
    return 1

wf = volnux.Workflow.from_text("A -> A", [A])
assert wf.run().status == "succeeded"  # nobody listens yet: batches are passed over
seen = []
def on_started(sender, payload):
    seen.append(payload.node_id)
signals.task_started.connect(on_started)
assert wf.run().status == "succeeded"
print(" ".join(seen))
"""


MID_RUN_RECEIVER = r"""
import volnux
from volnux.observability import signals

seen = []

def on_started(sender, payload):
    seen.append(payload.node_id)

@volnux.event
def Listen() -> int:
    signals.task_started.connect(on_started)  # the first receiver, mid-run
    return 1

@volnux.event
def A() -> int:
    return 1

run = volnux.Workflow.from_text("A -> Listen -> A -> A", [A, Listen]).run()
assert run.status == "succeeded", run.error
print(" ".join(seen))
"""


@pytest.mark.parametrize(
    ("script", "heard"),
    [(LATE_RECEIVER, ["A", "A#2"]), (MID_RUN_RECEIVER, ["A#2", "A#3"])],
    ids=["after runs without one", "mid-run"],
)
def test_a_first_receiver_hears_everything_after_it_connects(script: str, heard: list[str]) -> None:
    """Task signals are skipped in bulk only until a first receiver connects: the
    signals observer's gate opens then, mid-run included.  (A fresh process each:
    the gate is the process's.)"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == heard

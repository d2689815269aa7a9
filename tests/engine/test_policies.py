"""Retry policy, failure classes, timeouts and pausing for an operator."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux import RetryPolicy, RunState, TaskState, Workflow
from volnux.store import MemoryJournal, SQLiteJournal

# ---------------------------------------------------------------- the policy itself


def test_policy_defaults_make_one_attempt() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 1
    assert not policy.should_retry(1, ValueError())
    assert policy.delay(1) == 0.0


def test_fixed_and_exponential_backoff_with_cap() -> None:
    fixed = RetryPolicy(max_attempts=5, delay_s=2)
    assert [fixed.delay(n) for n in (1, 2, 3)] == [2, 2, 2]
    exp = RetryPolicy(max_attempts=9, delay_s=1, backoff=2, max_delay_s=5)
    assert [exp.delay(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]


def test_jitter_adds_at_most_its_fraction() -> None:
    policy = RetryPolicy(max_attempts=3, delay_s=10, jitter=0.5, max_delay_s=100)
    rng = random.Random(7)
    delays = [policy.delay(1, rng) for _ in range(200)]
    assert all(10 <= d <= 15 for d in delays)
    assert max(delays) - min(delays) > 3  # it does vary


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"delay_s": -1}, {"backoff": 0.5}, {"jitter": 2}, {"timeout_s": 0}],
)
def test_invalid_policies_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_failure_classes_override_the_filters() -> None:
    policy = RetryPolicy(max_attempts=3, retry_on=(KeyError,))
    assert not policy.should_retry(1, ValueError())
    assert policy.should_retry(1, volnux.TransientError())
    assert not policy.should_retry(3, volnux.TransientError())  # attempts still count
    wide = RetryPolicy(max_attempts=3)
    assert not wide.should_retry(1, volnux.PermanentError())


# ---------------------------------------------------------------- in a run


def test_permanent_error_fails_at_once() -> None:
    calls: list[int] = []

    class Charge(volnux.Event):
        retry = RetryPolicy(max_attempts=5)

        def process(self, ctx: volnux.Context) -> None:
            calls.append(ctx.attempt)
            raise volnux.PermanentError("card declined")

    r = Workflow.from_text("Charge", [Charge]).run()
    assert r.status == "failed" and calls == [1]


def test_transient_error_is_retried_despite_retry_on() -> None:
    calls: list[int] = []

    class Fetch(volnux.Event):
        retry = RetryPolicy(max_attempts=3, retry_on=(KeyError,))

        def process(self, ctx: volnux.Context) -> str:
            calls.append(ctx.attempt)
            if ctx.attempt < 3:
                raise volnux.TransientError("503")
            return "ok"

    r = Workflow.from_text("Fetch", [Fetch]).run()
    assert r.status == "succeeded" and calls == [1, 2, 3]


def test_timeout_fails_the_attempt_and_retries() -> None:
    release = threading.Event()
    calls: list[int] = []

    class Hang(volnux.Event):
        retry = RetryPolicy(max_attempts=2, timeout_s=0.5)

        def process(self, ctx: volnux.Context) -> str:
            calls.append(ctx.attempt)
            if ctx.attempt == 1:
                release.wait(10)  # stuck until the test lets it go
                return "too late"
            return "in time"

    # Attempt 1 times out at 0.5 s; attempt 2 waits for it (never beside it)
    # and starts once it returns, at 0.7 s, within its own timeout.
    threading.Timer(0.7, release.set).start()
    start = time.monotonic()
    r = Workflow.from_text("Hang", [Hang]).run()
    assert r.status == "succeeded", r.error
    assert r.results["Hang"] == "in time"
    assert calls == [1, 2]
    assert time.monotonic() - start < 5


def test_timeout_attribute_in_the_dsl_and_its_message() -> None:
    release = threading.Event()

    @volnux.event
    def Stuck() -> None:
        release.wait(10)

    r = Workflow.from_text("Stuck[timeout=0.2]", [Stuck]).run()
    release.set()
    assert r.status == "failed"
    err = r.tasks["Stuck"].error
    assert err is not None and err.type == "TimeoutError"
    assert "ran past its 0.2 s timeout" in err.message


def test_needs_operator_pauses_and_resume_continues(tmp_path: Path) -> None:
    approved = {"yes": False}
    calls: list[tuple[str, int]] = []

    @volnux.event
    def Prepare(ctx: volnux.Context) -> str:
        calls.append((ctx.node_id, ctx.attempt))
        return "ready"

    @volnux.event
    def Approve(ctx: volnux.Context) -> str:
        calls.append((ctx.node_id, ctx.attempt))
        if not approved["yes"]:
            raise volnux.NeedsOperator("a manager must approve orders over 10,000")
        return "approved"

    @volnux.event
    def Ship(ctx: volnux.Context) -> str:
        calls.append((ctx.node_id, ctx.attempt))
        return "shipped"

    journal = SQLiteJournal(tmp_path / "j.db")
    wf = Workflow.from_text("Prepare -> Approve -> Ship", [Prepare, Approve, Ship])
    run = wf.run(store=journal)
    assert run.state is RunState.PAUSED
    assert run.error == "Approve needs an operator: a manager must approve orders over 10,000"
    assert run.tasks["Approve"].state is TaskState.PENDING
    assert journal.load(run.id).run.state is RunState.PAUSED
    assert journal.load(run.id).run.error == run.error

    approved["yes"] = True
    resumed = Workflow.resume(run.id, store=journal, workflow=wf)
    assert resumed.status == "succeeded"
    assert calls == [("Prepare", 1), ("Approve", 1), ("Approve", 2), ("Ship", 1)]


def test_pause_lets_running_siblings_finish_and_starts_nothing_new() -> None:
    gate = threading.Event()
    seen: list[str] = []

    @volnux.event
    def Slow() -> str:
        gate.wait(10)
        seen.append("Slow")
        return "slow"

    @volnux.event
    def Stop() -> None:
        gate.set()
        raise volnux.NeedsOperator("look at this")

    @volnux.event
    def After() -> None:
        seen.append("After")

    r = Workflow.from_text("(Slow || Stop) -> After", [Slow, Stop, After]).run()
    assert r.state is RunState.PAUSED
    assert seen == ["Slow"]
    assert r.tasks["Slow"].state is TaskState.SUCCEEDED


def test_unencodable_result_fails_that_task_not_the_journal(tmp_path: Path) -> None:
    @volnux.event
    def Tags() -> set[str]:
        return {"a", "b"}

    @volnux.event
    def After() -> str:
        return "never"

    journal = SQLiteJournal(tmp_path / "j.db")
    r = Workflow.from_text("Tags (0 -> After)", [Tags, After]).run(store=journal)
    err = r.tasks["Tags"].error
    assert r.tasks["Tags"].state is TaskState.FAILED
    assert err is not None and err.type == "UnencodableResult"
    assert "Tags@1.0.0" in err.message and "is a set, which" in err.message
    # The failure went down the 0 branch, and the journal holds the whole run.
    assert r.status == "succeeded" and r.results["After"] == "never"
    states = [t.state for t in journal.load(r.id).tasks if t.node_id == "Tags"]
    assert states == [TaskState.RUNNING, TaskState.FAILED]


def test_a_timed_out_attempt_is_not_run_beside_its_retry(tmp_path: Path) -> None:
    spans = tmp_path / "spans"

    @volnux.event(retry=volnux.RetryPolicy(max_attempts=3, timeout_s=0.5))
    def Slow(ctx: volnux.Context) -> str:
        began = time.monotonic()
        time.sleep(0.8 if ctx.attempt == 1 else 0.05)  # the first outlives its timeout
        with spans.open("a") as f:
            f.write(f"{ctx.attempt} {began} {time.monotonic()}\n")
        return f"ok on attempt {ctx.attempt}"

    run = Workflow.from_text("Slow", [Slow]).run()
    assert run.succeeded, run.error
    assert run.results["Slow"] == "ok on attempt 2"
    rows = sorted(tuple(map(float, line.split())) for line in spans.read_text().splitlines())
    (one, _start1, end1), (two, start2, _end2) = rows
    assert (one, two) == (1, 2)
    assert start2 >= end1  # the retry waited for the attempt it replaced
    assert run.abandoned == ()


def test_a_run_that_ends_with_a_timed_out_attempt_still_running_says_so() -> None:
    release = threading.Event()

    @volnux.event(retry=volnux.RetryPolicy(timeout_s=0.1))
    def Stuck() -> str:
        release.wait(10)
        return "late"

    journal = MemoryJournal()
    try:
        run = Workflow.from_text("Stuck", [Stuck]).run(store=journal)
    finally:
        release.set()
    assert run.status == "failed" and "ran past its 0.1 s timeout" in (run.error or "")
    assert run.abandoned == ("Stuck",)
    kinds = [n.kind for n in journal.load(run.id).notes]
    assert "abandoned" in kinds

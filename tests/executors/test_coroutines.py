"""``async def`` events on the asyncio executor: one loop, real cancellation, same rules."""

from __future__ import annotations

import asyncio
import threading

import pytest

import volnux
from volnux import PointyError, RunState, TaskState, Workflow
from volnux.executors.coroutines import AsyncioExecutor
from volnux.store import MemoryJournal

#: What the events below saw, for the tests to read.
SEEN: dict[str, object] = {}


@volnux.event
async def Nap(seconds: float = 0.05) -> str:
    SEEN.setdefault("threads", set()).add(threading.get_ident())  # type: ignore[union-attr]
    count = SEEN["now"] = int(SEEN.get("now", 0)) + 1  # type: ignore[call-overload]
    SEEN["most"] = max(int(SEEN.get("most", 0)), count)  # type: ignore[call-overload]
    try:
        await asyncio.sleep(seconds)
    finally:
        SEEN["now"] = int(SEEN["now"]) - 1  # type: ignore[call-overload]
    return "rested"


class Fetch(volnux.Event):
    retry = volnux.RetryPolicy(max_attempts=3)

    async def process(self, ctx: volnux.Context) -> int:
        ctx.log.info("fetching, attempt %d", ctx.attempt)
        await asyncio.sleep(0)
        if ctx.attempt < 2:
            raise volnux.TransientError("the service blinked")
        return ctx.attempt


@volnux.event
async def Stuck() -> None:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        SEEN["cancelled"] = True
        raise


@volnux.event
async def Votes() -> list[bool]:
    return [True, False, True]


@volnux.event
def Plain() -> str:
    return "plain"


@pytest.fixture(autouse=True)
def fresh() -> None:
    SEEN.clear()


def test_async_functions_and_classes_run_on_one_loop_with_retries_and_logs() -> None:
    journal = MemoryJournal()
    with Workflow.from_text("Nap -> Fetch -> Plain", [Nap, Fetch, Plain]) as flow:
        run = flow.run(store=journal)
    assert run.state is RunState.SUCCEEDED
    assert run.results == {"Nap": "rested", "Fetch": 2, "Plain": "plain"}
    assert run.tasks["Fetch"].attempts == 2  # the TransientError was retried
    lines = [(e.attempt, e.message) for e in journal.logs(run.id, "Fetch")]
    assert lines == [(1, "fetching, attempt 1"), (2, "fetching, attempt 2")]


def test_a_thousand_waits_share_one_thread() -> None:
    text = " || ".join(["Nap"] * 1000)
    before = threading.active_count()
    with Workflow.from_text(text, [Nap]) as flow:
        run = flow.run({"seconds": 0.2})
        during = threading.active_count()
    assert run.state is RunState.SUCCEEDED
    assert SEEN["most"] == 1000  # all waited at once
    assert len(SEEN["threads"]) == 1  # type: ignore[arg-type]
    assert during - before <= 1  # the loop's thread, and nothing per attempt


def test_an_attempt_past_its_timeout_is_cancelled() -> None:
    with Workflow.from_text("Stuck[timeout=0.2] -> Plain", [Stuck, Plain]) as flow:
        run = flow.run()
    assert run.state is RunState.FAILED
    assert SEEN.get("cancelled") is True  # really stopped, not left running
    assert run.abandoned == ()
    error = run.tasks["Stuck"].error
    assert error is not None and error.type == "TimeoutError"
    assert error.message == "the attempt ran past its 0.2 s timeout: it was cancelled"
    assert run.tasks["Plain"].state is TaskState.PENDING


def test_result_evaluation_applies_to_async_events() -> None:
    text = 'Votes[result_evaluation_strategy="majority"] -> Plain'
    with Workflow.from_text(text, [Votes, Plain]) as flow:
        assert flow.run().state is RunState.SUCCEEDED
    text = 'Votes[result_evaluation_strategy="all"] (0 -> Plain)'
    with Workflow.from_text(text, [Votes, Plain]) as flow:
        run = flow.run()
    assert run.tasks["Votes"].state is TaskState.FAILED
    assert run.tasks["Plain"].state is TaskState.SUCCEEDED


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_an_async_event_on_another_executor_is_refused_at_check_time(executor: str) -> None:
    flow = Workflow.from_text(f'Plain -> Nap[executor="{executor}"]', [Nap, Plain])
    with pytest.raises(PointyError) as caught:
        flow.run()
    assert caught.value.line == 1 and caught.value.column == 10
    assert (
        f"event Nap@1.0.0 is an async def, which runs on the asyncio executor, not "
        f"'{executor}': drop executor='{executor}'"
    ) in str(caught.value)


def test_a_plain_event_on_the_asyncio_executor_is_refused_and_the_default_does_not_move_async() -> (
    None
):
    flow = Workflow.from_text('Plain[executor="asyncio"]', [Plain])
    with pytest.raises(PointyError, match="is a plain def, and the asyncio executor runs only"):
        flow.run()
    # A project default of "process" leaves an async event on the asyncio executor.
    with Workflow.from_text("Nap", [Nap], default_executor="process") as flow:
        assert flow.run().state is RunState.SUCCEEDED


def test_shutdown_without_waiting_cancels_what_runs() -> None:
    executor = AsyncioExecutor()
    heard: list[BaseException | None] = []
    finished = threading.Event()

    async def forever() -> None:
        await asyncio.sleep(30)

    def done(result: object, error: BaseException | None) -> None:
        heard.append(error)
        finished.set()

    executor.submit(forever, (), done)
    executor.shutdown(wait=False)
    assert finished.wait(5)
    assert isinstance(heard[0], asyncio.CancelledError)
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit(forever, (), done)

"""Execution semantics, case by case from POINTY.md's "Execution semantics"."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import pytest

import volnux
from volnux import Failure, Route, TaskState, Workflow


class Trace:
    """Events that append what they did to one shared list."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def add(self, name: str) -> None:
        with self.lock:
            self.calls.append(name)


def make_events(trace: Trace, **behaviour: Any) -> list[Any]:
    """One function event per name; ``behaviour[name]`` decides what it does."""
    events = []
    for name, act in behaviour.items():

        def fn(ctx: volnux.Context, piped: Any = None, _name: str = name, _act: Any = act) -> Any:
            trace.add(ctx.node_id)
            if callable(_act):
                return _act(ctx, piped)
            return _act

        fn.__name__ = name
        events.append(volnux.event(name=name)(fn))
    return events


def raise_(exc: BaseException) -> Any:
    def act(ctx: volnux.Context, piped: Any) -> Any:
        raise exc

    return act


def run(text: str, trace: Trace, **behaviour: Any) -> volnux.Run:
    return Workflow.from_text(text, make_events(trace, **behaviour)).run()


def states(r: volnux.Run) -> dict[str, str]:
    return {k: v.state.value for k, v in r.tasks.items()}


# ---------------------------------------------------------------- sequence


def test_sequence_runs_in_order_and_succeeds() -> None:
    t = Trace()
    r = run("A -> B -> C", t, A=1, B=2, C=3)
    assert r.status == "succeeded"
    assert t.calls == ["A", "B", "C"]
    assert r.results == {"A": 1, "B": 2, "C": 3}


def test_arrow_waits_for_success_and_failure_fails_the_run() -> None:
    t = Trace()
    r = run("A -> B -> C", t, A=1, B=raise_(ValueError("bad row 7")), C=3)
    assert r.status == "failed"
    assert t.calls == ["A", "B"]
    assert states(r) == {"A": "succeeded", "B": "failed", "C": "pending"}
    assert r.failed_nodes == ("B",)
    assert r.error is not None and "B" in r.error and "bad row 7" in r.error
    err = r.tasks["B"].error
    assert err is not None and err.type == "ValueError" and "bad row 7" in err.traceback


def test_returned_failure_fails_without_raising() -> None:
    t = Trace()
    r = run("A -> B", t, A=Failure("no stock", {"sku": 3}), B=1)
    assert r.status == "failed"
    assert r.tasks["A"].error is not None and r.tasks["A"].error.message == "no stock"
    assert t.calls == ["A"]


# ---------------------------------------------------------------- branches


def test_zero_branch_handles_failure_and_run_succeeds() -> None:
    t = Trace()
    r = run("A (0 -> Fix, 1 -> Ok)", t, A=raise_(KeyError("k")), Fix="fixed", Ok="ok")
    assert r.status == "succeeded"
    assert states(r) == {"A": "failed", "Fix": "succeeded", "Ok": "skipped"}
    assert t.calls == ["A", "Fix"]


def test_one_branch_on_success_and_zero_skipped() -> None:
    t = Trace()
    r = run("A (0 -> Fix, 1 -> Ok)", t, A=5, Fix="fixed", Ok="ok")
    assert r.status == "succeeded"
    assert states(r) == {"A": "succeeded", "Fix": "skipped", "Ok": "succeeded"}


def test_pipe_branch_on_failure_receives_failure_info() -> None:
    t = Trace()
    seen: list[Any] = []

    def fix(ctx: volnux.Context, piped: Any) -> str:
        seen.append(piped)
        return "handled"

    r = run("A (0 |-> Fix)", t, A=raise_(ValueError("broken input")), Fix=fix)
    assert r.status == "succeeded"
    (info,) = seen
    assert isinstance(info, volnux.FailureInfo)
    assert (info.node_id, info.type, info.message) == ("A", "ValueError", "broken input")


def test_custom_descriptor_routes_to_its_branch() -> None:
    t = Trace()
    r = run(
        "A (0 -> F, 1 -> Ok, 3 -> Review) -> Done",
        t,
        A=Route(3, "needs eyes"),
        F=0,
        Ok=1,
        Review=lambda ctx, piped: "reviewed",
        Done="done",
    )
    assert r.status == "succeeded"
    assert t.calls == ["A", "Review", "Done"]
    assert states(r)["F"] == "skipped" and states(r)["Ok"] == "skipped"
    assert r.tasks["A"].descriptor == 3


def test_raised_route_is_a_routing_value_not_a_failure() -> None:
    t = Trace()
    r = run("A (2 |-> Two)", t, A=raise_(Route(2, {"why": "big"})), Two=lambda c, p: p)
    assert r.status == "succeeded"
    assert r.results["Two"] == {"why": "big"}
    assert r.tasks["A"].state is TaskState.SUCCEEDED


def test_descriptor_without_branch_fails_naming_descriptor_and_event() -> None:
    t = Trace()
    r = run("A (0 -> F, 1 -> Ok) -> B", t, A=Route(5), F=0, Ok=1, B=1)
    assert r.status == "failed"
    assert r.error is not None
    assert "A chose descriptor 5" in r.error and "'5 ->'" in r.error
    assert "B" not in t.calls


def test_sink_after_branches_runs_after_whichever_branch_ran() -> None:
    for a, expected in [(1, ["A", "Ok", "D", "E"]), (raise_(OSError("x")), ["A", "F", "D", "E"])]:
        t = Trace()
        r = run("A (0 -> F, 1 -> Ok) -> D -> E", t, A=a, F="f", Ok="ok", D="d", E="e")
        assert r.status == "succeeded"
        assert t.calls == expected


def test_sink_follows_directly_when_outcome_has_no_branch() -> None:
    t = Trace()
    r = run("A (0 -> F) -> D", t, A=1, F="f", D="d")
    assert r.status == "succeeded"
    assert t.calls == ["A", "D"]
    assert states(r)["F"] == "skipped"


def test_failed_branch_fails_the_run_and_stops_the_sink() -> None:
    t = Trace()
    r = run("A (0 -> F) -> D", t, A=raise_(OSError("x")), F=raise_(OSError("y")), D=1)
    assert r.status == "failed"
    assert r.failed_nodes == ("F",)
    assert "D" not in t.calls


def test_sink_receives_branch_result_through_pipe() -> None:
    t = Trace()
    r = run("A (1 -> B) |-> C", t, A=1, B="from B", C=lambda c, p: p)
    assert r.results["C"] == "from B"


# ---------------------------------------------------------------- piping


def test_pipe_hands_result_and_arrow_hands_nothing() -> None:
    t = Trace()
    got: dict[str, Any] = {}

    def b(ctx: volnux.Context, piped: Any) -> int:
        got["B"] = piped
        return 2

    def c(ctx: volnux.Context, piped: Any) -> int:
        got["C"] = piped
        return 3

    r = run("A |-> B -> C", t, A={"n": 1}, B=b, C=c)
    assert r.status == "succeeded"
    assert got == {"B": {"n": 1}, "C": None}


def test_parallel_group_results_are_piped_by_node_name() -> None:
    t = Trace()
    r = run("(A || B || A) |-> C", t, A="a", B="b", C=lambda c, p: p)
    assert r.results["C"] == {"A": "a", "B": "b", "A#2": "a"}


def test_pipe_into_parallel_gives_every_member_the_result() -> None:
    t = Trace()
    r = run("A |-> B || C", t, A=7, B=lambda c, p: p * 2, C=lambda c, p: p * 3)
    assert (r.results["B"], r.results["C"]) == (14, 21)


def test_every_event_reads_workflow_inputs() -> None:
    @volnux.event
    def Greet(name: str, greeting: str = "hello") -> str:
        return f"{greeting} {name}"

    r = Workflow.from_text("Greet", [Greet]).run(inputs={"name": "ada"})
    assert r.results["Greet"] == "hello ada"


def test_missing_input_is_refused_before_anything_runs() -> None:
    t = Trace()

    @volnux.event
    def Needs(order_id: str) -> str:
        t.add("Needs")
        return order_id

    first = make_events(t, First=1)
    wf = Workflow.from_text("First -> Needs", [*first, Needs])
    with pytest.raises(volnux.InputError, match=r"order_id.*Needs"):
        wf.run()
    assert t.calls == []


def test_piped_parameter_without_pipe_is_a_reference_error() -> None:
    @volnux.event
    def Wants(piped: int) -> int:
        return piped

    @volnux.event
    def Start() -> int:
        return 1

    with pytest.raises(volnux.PointyError) as info:
        Workflow.from_text("Start -> Wants", [Start, Wants]).check()
    assert (info.value.line, info.value.column) == (1, 10)
    assert "nothing is piped" in str(info.value)


# ---------------------------------------------------------------- parallel


def test_parallel_members_really_run_at_the_same_time() -> None:
    barrier = threading.Barrier(3, timeout=10)
    t = Trace()

    def meet(ctx: volnux.Context, piped: Any) -> int:
        return barrier.wait()  # deadlocks (BrokenBarrierError) unless all 3 run at once

    r = run("A || B || C", t, A=meet, B=meet, C=meet)
    assert r.status == "succeeded", r.error
    assert sorted(r.results.values()) == [0, 1, 2]


def test_member_failure_does_not_cancel_siblings() -> None:
    t = Trace()
    gate = threading.Event()

    def slow(ctx: volnux.Context, piped: Any) -> str:
        gate.wait(10)
        return "done"

    def fail(ctx: volnux.Context, piped: Any) -> None:
        gate.set()
        raise RuntimeError("member down")

    r = run("(A || (B -> C)) -> D", t, A=fail, B=slow, C="c", D="d")
    assert r.status == "failed"
    assert states(r) == {"A": "failed", "B": "succeeded", "C": "succeeded", "D": "pending"}


@pytest.mark.parametrize(
    ("strategy", "ok"),
    [
        ("any", True),
        ("majority", False),
        ("all", False),
        ("at_least:1", True),
        ("at_least:2", False),
        ("at_least:30%", True),
        ("at_least:50%", False),
    ],
)
def test_group_result_evaluation_strategies(strategy: str, ok: bool) -> None:
    t = Trace()
    text = f'(A || B || C)[result_evaluation_strategy="{strategy}"] (0 -> Low, 1 -> High)'
    r = run(text, t, A=1, B=raise_(ValueError("b")), C=raise_(ValueError("c")), Low=0, High=1)
    assert r.status == "succeeded"
    assert ("High" in t.calls) is ok
    assert ("Low" in t.calls) is (not ok)


def test_unknown_strategy_is_a_positioned_error() -> None:
    t = Trace()
    with pytest.raises(volnux.PointyError, match="result_evaluation_strategy"):
        Workflow.from_text(
            '(A || B)[result_evaluation_strategy="most"]', make_events(t, A=1, B=1)
        ).check()


# ---------------------------------------------------------------- retries


def flaky(failures: int, value: Any = "ok") -> Any:
    def act(ctx: volnux.Context, piped: Any) -> Any:
        if ctx.attempt <= failures:
            raise ConnectionError(f"attempt {ctx.attempt}")
        return value

    return act


@pytest.mark.parametrize("text", ["A * 3", "3 * A", "A[retry_attempts=3]"])
def test_retry_gives_attempts_in_total(text: str) -> None:
    t = Trace()
    r = run(text, t, A=flaky(2))
    assert r.status == "succeeded"
    assert r.tasks["A"].attempts == 3
    assert t.calls == ["A", "A", "A"]


def test_retries_run_out() -> None:
    t = Trace()
    r = run("A * 2 -> B", t, A=flaky(5), B=1)
    assert r.status == "failed"
    assert r.tasks["A"].attempts == 2
    assert r.error is not None and "after 2 attempts" in r.error


def test_returned_failure_is_not_retried_unless_policy_says() -> None:
    t = Trace()
    r = run("A * 3", t, A=Failure("permanent"))
    assert r.tasks["A"].attempts == 1

    calls = []

    class Sometimes(volnux.Event):
        retry = volnux.RetryPolicy(max_attempts=3, retry_failures=True)

        def process(self, ctx: volnux.Context) -> Any:
            calls.append(ctx.attempt)
            return Failure("again") if ctx.attempt < 3 else "fine"

    r = Workflow.from_text("Sometimes", [Sometimes]).run()
    assert r.status == "succeeded" and calls == [1, 2, 3]


def test_policy_filters_exceptions() -> None:
    calls = []

    class Picky(volnux.Event):
        retry = volnux.RetryPolicy(max_attempts=5, never_retry_on=(PermissionError,))

        def process(self, ctx: volnux.Context) -> None:
            calls.append(ctx.attempt)
            raise PermissionError("denied")

    r = Workflow.from_text("Picky", [Picky]).run()
    assert r.status == "failed" and calls == [1]


def test_dsl_count_overrides_policy_count_but_keeps_its_filters() -> None:
    calls = []

    class Picky(volnux.Event):
        retry = volnux.RetryPolicy(max_attempts=5, retry_on=(TimeoutError,))

        def process(self, ctx: volnux.Context) -> None:
            calls.append(ctx.attempt)
            raise TimeoutError("slow")

    r = Workflow.from_text("Picky * 2", [Picky]).run()
    assert r.status == "failed" and calls == [1, 2]


def test_backoff_delay_is_waited() -> None:
    import time

    class Slow(volnux.Event):
        retry = volnux.RetryPolicy(max_attempts=3, delay_s=0.05, backoff=2)

        def process(self, ctx: volnux.Context) -> str:
            if ctx.attempt < 3:
                raise OSError("later")
            return "ok"

    start = time.monotonic()
    r = Workflow.from_text("Slow", [Slow]).run()
    assert r.status == "succeeded"
    assert time.monotonic() - start >= 0.05 + 0.1


def test_group_retry_reruns_the_whole_group() -> None:
    t = Trace()

    def fails_once(ctx: volnux.Context, piped: Any) -> str:
        if t.calls.count("B") == 1:
            raise ConnectionError("first time")
        return "b"

    r = run("{A -> B} * 2 -> C", t, A="a", B=fails_once, C="c")
    assert r.status == "succeeded"
    assert t.calls == ["A", "B", "A", "B", "C"]
    # Each task starts its attempts over in the group's second round.
    assert r.tasks["B"].attempts == 1 and r.tasks["B"].round == 1


def test_group_branches_and_attributes() -> None:
    t = Trace()
    r = run("(A || B) (0 -> Fix) -> C", t, A=1, B=raise_(ValueError("b")), Fix=1, C=1)
    assert r.status == "succeeded"
    assert t.calls[-2:] == ["Fix", "C"]


# ---------------------------------------------------------------- events and runs


def test_repeated_events_are_separate_nodes_with_stable_ids() -> None:
    t = Trace()
    r = run("A -> B -> A", t, A=lambda c, p: c.node_id, B=1)
    assert list(r.tasks) == ["A", "B", "A#2"]
    assert r.results["A#2"] == "A#2"
    assert t.calls == ["A", "B", "A#2"]


def test_context_carries_run_node_attempt_and_logger() -> None:
    seen: dict[str, Any] = {}

    @volnux.event
    def Look(ctx: volnux.Context) -> None:
        seen.update(run=ctx.run_id, node=ctx.node_id, attempt=ctx.attempt, ev=ctx.event)
        ctx.log.info("hello")

    r = Workflow.from_text("Look", [Look]).run()
    assert seen == {"run": r.id, "node": "Look", "attempt": 1, "ev": "Look@1.0.0"}


def test_class_and_function_events_share_the_calling_convention() -> None:
    class Klass(volnux.Event):
        version = "2.0.0"

        def process(self, x: int, ctx: volnux.Context, piped: Any = None, **rest: Any) -> Any:
            return (x, ctx.node_id, piped, sorted(rest))

    @volnux.event(name="Func", version="1.1.0")
    def func(x: int, ctx: volnux.Context, piped: Any = None, **rest: Any) -> Any:
        return (x, ctx.node_id, piped, sorted(rest))

    r = Workflow.from_text("Klass |-> Func", [Klass, func]).run(inputs={"x": 1, "y": 2})
    assert r.results["Klass"] == (1, "Klass", None, ["y"])
    assert r.results["Func"] == (1, "Func", (1, "Klass", None, ["y"]), ["y"])
    assert r.tasks["Klass"].event == "Klass@2.0.0"


def test_run_lists_every_task_with_times_and_errors() -> None:
    t = Trace()
    r = run("A -> B (0 -> C)", t, A=1, B=raise_(ValueError("nope")), C=1)
    a, b = r.tasks["A"], r.tasks["B"]
    assert a.started_at is not None and a.ended_at is not None and a.duration is not None
    assert a.ended_at <= b.started_at  # type: ignore[operator]
    assert b.error is not None and "ValueError: nope" in b.error.traceback
    assert r.failed_tasks() == [b]


def test_unknown_event_is_reported_before_anything_runs() -> None:
    t = Trace()
    wf = Workflow.from_text("Alpha ->\n  Betta", make_events(t, Alpha=1, Beta=2))
    with pytest.raises(volnux.PointyError) as info:
        wf.run()
    err = info.value
    assert (err.line, err.column) == (2, 3)
    assert "Betta" in str(err) and "did you mean Beta" in str(err)
    assert t.calls == []


def test_generator_result_fails_the_task_with_a_clear_error() -> None:
    @volnux.event
    def Gen() -> Any:
        return (i for i in range(3))

    r = Workflow.from_text("Gen", [Gen]).run()
    assert r.status == "failed"
    err = r.tasks["Gen"].error
    assert err is not None and "returned a generator" in err.message


def test_process_executor_runs_in_another_process() -> None:
    from tests.engine import cpu_events

    r = Workflow.from_text('Pid[executor="process"] -> Square', cpu_events).run(inputs={"n": 12})
    assert r.status == "succeeded", r.error
    assert r.results["Pid"] != os.getpid()
    assert r.results["Square"] == 144


# ---------------------------------------------------------------- size


def test_long_chain_and_wide_group_run_without_recursion() -> None:
    @volnux.event
    def N() -> int:
        return 1

    chain = Workflow.from_text(" -> ".join(["N"] * 100_000), [N]).run()
    assert chain.status == "succeeded" and len(chain.tasks) == 100_000
    wide = Workflow.from_text(" || ".join(["N"] * 10_000), [N]).run()
    assert wide.status == "succeeded" and len(wide.results) == 10_000


def test_project_default_executor_applies_to_events_that_do_not_choose() -> None:
    from tests.engine import cpu_events

    @volnux.event(executor="thread")
    def Here() -> int:
        return os.getpid()

    wf = Workflow.from_text("Pid || Here", [cpu_events, Here], default_executor="process")
    r = wf.run()
    assert r.status == "succeeded", r.error
    assert r.results["Pid"] != os.getpid()  # no choice of its own: the default
    assert r.results["Here"] == os.getpid()  # chose threads: stays here


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ("[timeout=5]", "timeout applies to events, not to a group"),
        ('[executor="nowhere"]', "executor 'nowhere' is not one of thread, process"),
        ("[retry_attempts=-1]", "retry_attempts must be a whole number of 0 or more"),
        ('[retry_attempts="3"]', "retry_attempts must be a whole number of 0 or more"),
    ],
)
def test_group_attributes_that_do_nothing_are_errors(attrs: str, message: str) -> None:
    t = Trace()
    with pytest.raises(volnux.PointyError, match=message) as info:
        Workflow.from_text(f"(A || B){attrs}", make_events(t, A=1, B=1)).check()
    assert (info.value.line, info.value.column) == (1, 1)


def test_a_workflows_runs_share_its_executors_until_it_is_closed() -> None:
    from tests.engine import cpu_events
    from volnux.executors import ThreadExecutor

    threads = ThreadExecutor(2)
    wf = Workflow.from_text("Square", cpu_events)
    try:
        first = wf.run(inputs={"n": 3}, executors={"thread": threads})
        process = wf.pools.get("process")
        worker = process._pool  # type: ignore[attr-defined]
        assert worker is not None  # started by the first run, kept for the next
        second = wf.run(inputs={"n": 4})
        assert process._pool is worker  # type: ignore[attr-defined]
    finally:
        wf.close()
        threads.shutdown()
    assert (first.results["Square"], second.results["Square"]) == (9, 16)
    assert process._pool is None  # type: ignore[attr-defined]  # shut down by close()


def test_an_engine_without_pools_shuts_down_the_executors_it_made() -> None:
    from tests.engine import cpu_events
    from volnux.engine import Engine
    from volnux.store import MemoryJournal, RunRecord

    wf = Workflow.from_text("Square", cpu_events)
    made: list[Any] = []
    journal = MemoryJournal()
    journal.create_run(
        RunRecord("r", "w", "Square", "f", wf.plan.pins(), {"n": 5}, volnux.RunState.RUNNING, 0, 0)
    )
    engine = Engine(wf.plan, journal, "r", {"n": 5})
    original = engine._pools.get

    def spy(name: str, *args: Any) -> Any:
        made.append(original(name, *args))
        return made[-1]

    engine._pools.get = spy  # type: ignore[method-assign]
    state, _ = engine.execute()
    assert state is volnux.RunState.SUCCEEDED and engine.views["Square"].result == 25
    (process,) = made
    assert process._pool is None  # shut down by the engine that made it


def test_an_ended_attempt_completes_at_once_and_evaluation_and_branches_still_decide() -> None:
    # A finished attempt's task completes without the completion queue
    # (Scheduler._after_attempts(at_once=True)); a judged result and a
    # branch choice must still be taken into account on the way.
    trace = Trace()
    wf = Workflow.from_text(
        'A -> B (1 -> C) -> D[result_evaluation_strategy="any"] |-> E',
        make_events(trace, A=1, B=1, C=1, D=[0, 1], E=lambda ctx, piped: piped),
    )
    run = wf.run()
    assert run.succeeded, run.error
    assert trace.calls == ["A", "B", "C", "D", "E"]
    assert run.results["E"] == [0, 1]  # D's result, judged, then piped on


def test_a_misspelt_attribute_is_an_error_with_a_suggestion() -> None:
    t = Trace()
    for text, message in [
        ("A[timout=5]", "A: unknown attribute 'timout'; did you mean 'timeout'?"),
        ("(A || B)[retry_atempts=2]", "unknown attribute 'retry_atempts'; did you mean"),
        ('A[region="eu"]', "unknown attribute 'region' (known: executor,"),
    ]:
        with pytest.raises(volnux.PointyError, match=re.escape(message)) as info:
            Workflow.from_text(text, make_events(t, A=1, B=1)).check()
        assert info.value.line == 1
    assert "an 'extras' parameter" in str(info.value)


def test_an_event_that_takes_extras_gets_the_tasks_own_attributes() -> None:
    @volnux.event
    def Ship(extras: dict[str, object]) -> dict[str, object]:
        return extras

    run = Workflow.from_text('Ship[region="eu", express=true, timeout=5]', [Ship]).run()
    assert run.results["Ship"] == {"region": "eu", "express": True}
    plain = Workflow.from_text("Ship", [Ship]).run()
    assert plain.results["Ship"] == {}
    # A name close to one of Volnux's own is still taken for a typo.
    with pytest.raises(volnux.PointyError, match="did you mean 'executor'"):
        Workflow.from_text('Ship[excutor="thread"]', [Ship]).check()

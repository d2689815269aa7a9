"""Volnux 2.x attributes: each means here what it meant there, or is refused at check time."""

from __future__ import annotations

import os
from typing import Any

import pytest

import volnux
from volnux import PointyError, Workflow

from . import cpu_events


def events(**values: Any) -> list[Any]:
    out = []
    for name, value in values.items():

        def fn(_v: Any = value) -> Any:
            if isinstance(_v, BaseException):
                raise _v
            return _v

        out.append(volnux.event(name=name)(fn))
    return out


def plan_of(text: str, evs: list[Any] | None = None) -> Any:
    return Workflow.from_text(text, evs if evs is not None else events(A=1, B=2, C=3)).plan


def refused(text: str, evs: list[Any] | None = None) -> str:
    with pytest.raises(PointyError) as caught:
        plan_of(text, evs)
    return str(caught.value)


@pytest.mark.parametrize(
    ("written", "ours"),
    [
        ("ThreadPoolExecutor", "thread"),
        ("DefaultExecutor", "thread"),
        ("ProcessPoolExecutor", "process"),
        ("DynamicProcessPoolExecutor", "process"),
        ("concurrent.futures.ThreadPoolExecutor", "thread"),
        ("volnux.executors.ProcessPoolExecutor", "process"),
    ],
)
def test_executor_class_names_mean_our_executors(written: str, ours: str) -> None:
    assert plan_of(f'A[executor="{written}"]').nodes["A"].executor == ours


@pytest.mark.parametrize(
    ("written", "advice"),
    [
        ("GPUTaskExecutor", 'resources=volnux.Resources(gpus=1) and write "process"'),
        ("XMLRPCExecutor", "ran tasks on another machine; here that is a Dask cluster"),
        ("volnux.executors.GRPCExecutor", 'write "dask"'),
    ],
)
def test_executors_with_no_counterpart_are_refused_with_what_to_write(
    written: str, advice: str
) -> None:
    error = refused(f'A -> B[executor="{written}"]')
    assert ":1:6: B: executor" in error and "(Volnux 2.x)" in error and advice in error


def test_executor_config_max_workers_gives_the_task_a_pool_of_that_size() -> None:
    text = (
        '(SlowPid || SlowPid || SlowPid)[executor="ProcessPoolExecutor",'
        " executor_config=\"{'max_workers': 1}\"] -> Pid"
    )
    flow = Workflow.from_text(text, [cpu_events.SlowPid, cpu_events.Pid])
    nodes = flow.plan.nodes
    assert [(nodes[n].executor, nodes[n].pool_size) for n in ("SlowPid", "SlowPid#3")] == [
        ("process", 1),
        ("process", 1),
    ]
    assert nodes["Pid"].pool_size is None
    with flow:
        run = flow.run()
    assert run.status == "succeeded", run.error
    pids = {run.results[n] for n in ("SlowPid", "SlowPid#2", "SlowPid#3")}
    assert len(pids) == 1 and os.getpid() not in pids  # one worker process did all three
    # JSON works too, and a group's executor_config sizes the pool of every task in it.
    json_text = '{A -> B}[executor="thread", executor_config="{\\"max_workers\\": 3}"]'
    assert {n.pool_size for n in plan_of(json_text).nodes.values()} == {3}


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ("{'host': 'localhost', 'port': 8090}", "'host': it addressed a 2.x remote executor"),
        ("{'max_tasks_per_child': 5}", "process pool keeps its workers; remove it"),
        ("{'timeout': 3}", "write the task's own [timeout=SECONDS] instead"),
        ("{'max_workers': 0}", "max_workers must be a positive integer, got 0"),
        ("{'workers': 2}", "'workers' is not a setting; the one read is max_workers"),
        ("max_workers=2", "must be a dict of settings, written as a string"),
    ],
)
def test_executor_config_settings_with_no_meaning_here_are_refused(config: str, said: str) -> None:
    error = refused(f'A[executor="process", executor_config="{config}"]')
    assert "A: executor_config" in error and said in error


def test_a_group_executor_places_every_task_in_it_and_wins_over_theirs() -> None:
    nodes = plan_of('{A -> B[executor="thread"]}[executor="process"] -> C').nodes
    assert [nodes[n].executor for n in ("A", "B", "C")] == ["process", "process", "thread"]
    # The outermost group wins, and a branch is outside its group's box.
    text = '{ {A}[executor="thread"] -> B }[executor="process"] (0 -> C)'
    nodes = plan_of(text).nodes
    assert [nodes[n].executor for n in ("A", "B", "C")] == ["process", "process", "thread"]
    assert "group:1: executor_config needs an executor" in refused(
        "{A}[executor_config=\"{'max_workers': 2}\"]"
    )


@pytest.mark.parametrize(
    ("strategy", "values", "passed"),
    [
        ("ALL_MUST_SUCCEED", [1, 1, ValueError("x")], False),
        ("NO_FAILURES_ALLOWED", [1, 1, 1], True),
        ("ANY_MUST_SUCCEED", [ValueError("x"), 1, ValueError("y")], True),
        ("any_must_succeed", [ValueError("x"), ValueError("y"), ValueError("z")], False),
        # 2.x's majority counted a tie as a pass; ours ("majority") does not.
        ("MAJORITY_MUST_SUCCEED", [1, 1, ValueError("x"), ValueError("y")], True),
        ("majority", [1, 1, ValueError("x"), ValueError("y")], False),
    ],
)
def test_strategy_names_of_2x_mean_what_they_meant(
    strategy: str, values: list[Any], passed: bool
) -> None:
    names = [f"M{i}" for i in range(len(values))]
    text = f'({" || ".join(names)})[result_evaluation_strategy="{strategy}"] (0 -> Low)'
    evs = events(**dict(zip(names, values, strict=True)), Low=0)
    run = Workflow.from_text(text, evs).run()
    assert run.status == "succeeded"
    assert ("Low" in run.results) is (not passed)


def test_stop_condition_on_error_is_what_a_chain_does_and_the_others_say_what_to_write() -> None:
    run = Workflow.from_text(
        'A[stop_condition="ON_ERROR"] -> B', events(A=ValueError("x"), B=2)
    ).run()
    assert run.status == "failed" and "B" not in run.results
    assert plan_of('{A -> B}[stop_condition="on_error"]').nodes
    error = refused('A[stop_condition="ON_ERROR"] (0 -> B)')
    assert "stops at a failure, but the 0 branch here takes it" in error
    assert "write a 0 branch: A (0 -> Next)" in refused('A[stop_condition="NEVER"] -> B')
    assert "has no counterpart" in refused('A[stop_condition="ON_SUCCESS"]')
    assert "never stopped anything in Volnux 2.x" in refused('A[stop_condition="ON_EXCEPTION"]')
    assert "is not one of NEVER, ON_ERROR" in refused('A[stop_condition="SOMETIMES"]')
    assert "has no counterpart" in refused('A[stop_condition="ON_ERROR,ON_ANY"]')


def test_bypass_event_checks_false_is_what_happens_and_true_is_refused() -> None:
    assert plan_of("A[bypass_event_checks=false]").nodes["A"]
    assert "bypass_event_checks: Volnux always runs the event" in refused(
        "A[bypass_event_checks=true]"
    )


def test_retry_attempts_0_leaves_the_event_its_own_policy() -> None:
    @volnux.event(retry=volnux.RetryPolicy(max_attempts=4))
    def Flaky() -> int:
        return 1

    assert plan_of("Flaky[retry_attempts=0]", [Flaky]).nodes["Flaky"].policy.max_attempts == 4
    assert plan_of("Flaky[retry_attempts=1]", [Flaky]).nodes["Flaky"].policy.max_attempts == 1
    assert "0 or more, got -1" in refused("Flaky[retry_attempts=-1]", [Flaky])


def test_a_retry_after_a_branch_list_retries_the_branching_task() -> None:
    tries = {"n": 0}

    @volnux.event
    def Check() -> int:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("once")
        return 1

    text = "Check (0 -> Fail, 1 -> Ok) * 2 -> After"
    run = Workflow.from_text(text, [Check, *events(Fail=0, Ok=1, After=2)]).run()
    assert run.status == "succeeded" and run.tasks["Check"].attempts == 2
    assert "Ok" in run.results and "Fail" not in run.results and "After" in run.results
    assert volnux.format_graph(volnux.parse(text)) == ("Check * 2 (0 -> Fail, 1 -> Ok) -> After\n")

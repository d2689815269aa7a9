"""Result evaluation for events and parallel groups: strategies and predicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux import Failure, ResultEvaluation, Workflow
from volnux.query import describe_run
from volnux.store.sqlite import SQLiteJournal

from . import predicates


def events(**values: Any) -> list[Any]:
    out = []
    for name, value in values.items():

        def fn(_v: Any = value) -> Any:
            if isinstance(_v, BaseException):
                raise _v
            return _v

        out.append(volnux.event(name=name)(fn))
    return out


@pytest.mark.parametrize(
    ("strategy", "items", "passed"),
    [
        ("all", [1, 1, 1], True),
        ("all", [1, 0, 1], False),
        ("any", [0, 0, 1], True),
        ("any", [0, Failure("x"), 0], False),
        ("majority", [1, 1, 0], True),
        ("majority", [1, 0, 0, 1], False),
        ("at_least:3", [1, 1, 1, 0], True),
        ("at_least:75%", [1, 1, 1, 0], True),
        ("at_least:80%", [1, 1, 1, 0], False),
    ],
)
def test_event_strategy_judges_list_results(strategy: str, items: list[Any], passed: bool) -> None:
    class Batch(volnux.Event):
        evaluation = ResultEvaluation(strategy=strategy)

        def process(self) -> list[Any]:
            return items

    r = Workflow.from_text("Batch (0 -> Low, 1 -> High)", [Batch, *events(Low=0, High=1)]).run()
    assert r.status == "succeeded"
    assert ("High" in r.results) is passed and ("Low" in r.results) is (not passed)
    if not passed:
        err = r.tasks["Batch"].error
        assert err is not None and err.type == "EvaluationFailed" and strategy in err.message


def test_dsl_attribute_overrides_the_event() -> None:
    class Batch(volnux.Event):
        evaluation = ResultEvaluation(strategy="all")

        def process(self) -> list[int]:
            return [1, 0, 0]

    r = Workflow.from_text('Batch[result_evaluation_strategy="any"]', [Batch]).run()
    assert r.status == "succeeded"


def test_event_predicate_can_choose_a_descriptor() -> None:
    class Score(volnux.Event):
        evaluation = ResultEvaluation(predicate=lambda r: 3 if r > 90 else r > 50)

        def process(self, score: int) -> int:
            return score

    wf = Workflow.from_text(
        "Score (0 -> Fail, 1 -> Pass, 3 -> Honours)", [Score, *events(Fail=0, Pass=1, Honours=3)]
    )
    for score, branch in ((95, "Honours"), (70, "Pass"), (10, "Fail")):
        r = wf.run(inputs={"score": score})
        assert r.status == "succeeded" and branch in r.results, (score, r.results)


def test_predicate_named_in_the_dsl() -> None:
    wf = Workflow.from_text(
        'N[result_predicate="tests.engine.predicates:positive"] (0 -> Neg)', events(N=-4, Neg="neg")
    )
    assert "Neg" in wf.run().results


def test_a_predicate_that_raises_fails_the_task() -> None:
    class Bad(volnux.Event):
        evaluation = ResultEvaluation(predicate=lambda r: r["missing"])

        def process(self) -> dict[str, int]:
            return {}

    r = Workflow.from_text("Bad", [Bad]).run()
    assert r.status == "failed"
    err = r.tasks["Bad"].error
    assert err is not None and err.type == "KeyError"


def test_group_predicate_and_descriptor_routing() -> None:
    text = (
        '(A || B || C)[result_predicate="tests.engine.predicates:route_by_count"]'
        " (1 -> Clean, 3 -> Partial)"
    )
    r = Workflow.from_text(text, events(A=1, B=ValueError("b"), C=1, Clean=1, Partial=3)).run()
    assert r.status == "succeeded" and "Partial" in r.results and "Clean" not in r.results

    text = '(A || B || C)[result_predicate="tests.engine.predicates:two_or_more"] (0 -> Low)'
    r = Workflow.from_text(text, events(A=1, B=ValueError("b"), C=ValueError("c"), Low=0)).run()
    assert "Low" in r.results


JUDGED = '(A || B)[result_predicate="tests.engine.predicates:judged"] -> D'


@pytest.mark.parametrize(
    ("verdict", "said"),
    [
        ({"raise": "predicate exploded"}, "raised RuntimeError: predicate exploded"),
        ({"answer": False}, "returned False (succeeded: A, B; failed: none)"),
        ({"answer": "yes"}, "raised ValueError: a result predicate returned 'yes'"),
    ],
)
def test_a_group_predicate_failure_is_the_recorded_error_and_retry_reruns_the_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verdict: dict[str, Any], said: str
) -> None:
    monkeypatch.setattr(predicates, "VERDICT", {"raise": None, "answer": False, **verdict})
    ran: list[str] = []

    def counted(name: str) -> Any:
        return volnux.event(name=name)(lambda: ran.append(name) or name)

    flow = Workflow.from_text(JUDGED, [counted("A"), counted("B"), counted("D")])
    store = SQLiteJournal(tmp_path / "runs.db")
    r = flow.run(store=store)
    expected = f"group:1 failed: its result_predicate tests.engine.predicates:judged {said}"
    assert r.status == "failed" and r.error is not None and r.error.startswith(expected)
    assert set(r.failed_nodes) == {"A", "B"}
    assert sorted(ran) == ["A", "B"]
    shown = describe_run(store, r.id)
    assert shown.run.error == r.error  # recorded, not only returned
    assert sorted(shown.resume.rerun) == ["A", "B"]

    monkeypatch.setattr(predicates, "VERDICT", {"raise": None, "answer": True})
    again = Workflow.retry(r.id, store=store, events=[counted("A"), counted("B"), counted("D")])
    assert again.status == "succeeded"
    assert sorted(ran[:2]) == ["A", "B"] and sorted(ran[2:4]) == ["A", "B"] and ran[4] == "D"


def test_a_group_choosing_a_descriptor_it_has_no_branch_for_is_retried_whole(
    tmp_path: Path,
) -> None:
    text = '(A || B)[result_predicate="tests.engine.predicates:three"] (1 -> C) -> D'
    store = SQLiteJournal(tmp_path / "runs.db")
    r = Workflow.from_text(text, events(A=1, B=2, C=3, D=4)).run(store=store)
    assert r.status == "failed"
    assert r.error == "group:1 chose descriptor 3, but it has no '3 ->' branch"
    assert sorted(r.failed_nodes) == ["A", "B"]
    assert sorted(describe_run(store, r.id).resume.rerun) == ["A", "B"]


def test_a_predicate_that_cannot_take_its_arguments_is_refused_at_check_time() -> None:
    text = '(A || B)[result_predicate="tests.engine.predicates:results_only"]'
    with pytest.raises(volnux.PointyError, match=r"called as results_only\(results, failures\)"):
        Workflow.from_text(text, events(A=1, B=1)).check()
    with pytest.raises(volnux.PointyError, match=r"task's predicate is called as judged\(result\)"):
        Workflow.from_text(
            'A[result_predicate="tests.engine.predicates:judged"]', events(A=1)
        ).check()


def test_bad_predicate_references_are_positioned_errors() -> None:
    with pytest.raises(volnux.PointyError, match="cannot import"):
        Workflow.from_text('N[result_predicate="nope.mod:f"]', events(N=1)).check()
    with pytest.raises(volnux.PointyError, match=r"form 'package\.module:function'"):
        Workflow.from_text('(N || N)[result_predicate="nocolon"]', events(N=1)).check()


def test_invalid_strategy_in_python_is_refused() -> None:
    with pytest.raises(ValueError, match="at_least:N"):
        ResultEvaluation(strategy="most")


def test_function_events_take_an_evaluation_too() -> None:
    @volnux.event(evaluation=ResultEvaluation(strategy="majority"))
    def Checks() -> list[bool]:
        return [True, False, False]

    r = Workflow.from_text("Checks (0 -> Low)", [Checks, *events(Low="low")]).run()
    assert "Low" in r.results


def test_an_evaluation_of_the_wrong_type_is_a_definition_error() -> None:
    with pytest.raises(volnux.EventDefinitionError, match="ResultEvaluation"):

        @volnux.event(evaluation="majority")  # type: ignore[arg-type]
        def Wrong() -> None:
            return None

"""``<unit@version>``: parsed, formatted back, and its mistakes placed."""

from __future__ import annotations

import pytest

from volnux.dsl.formatter import format_graph
from volnux.dsl.parser import parse
from volnux.errors import PointyError
from volnux.graph import Task


def test_a_sub_workflow_is_a_task_that_names_a_unit() -> None:
    graph = parse("Validate -> <orders@1.2>[retry_attempts=2] (0 -> Alert) |-> Report")
    sub = graph.task("workflow:orders")
    assert sub.workflow and str(sub.ref) == "orders@1.2"
    assert sub.options == {"retry_attempts": 2}
    assert [b.descriptor for b in sub.branches] == [0]
    assert [str(r) for r in graph.refs()] == ["Validate", "Alert", "Report"]
    assert [str(r) for r in graph.workflow_refs()] == ["orders@1.2"]


@pytest.mark.parametrize(
    "text",
    [
        "A -> <orders@1.2> |-> B",
        "<orders> * 3 (0 -> Alert, 1 |-> Report)",
        "(<a.b@v1> || <c@latest>) |-> <a.b@v1> -> D",
        '2 * <orders>[result_evaluation_strategy="ALL_MUST_SUCCEED"]',
    ],
)
def test_formatting_round_trips(text: str) -> None:
    graph = parse(text)
    again = parse(format_graph(graph))
    assert again == graph
    assert format_graph(again) == format_graph(graph)


def test_ids_count_each_unit_apart_from_events() -> None:
    graph = parse("orders -> <orders> -> <orders> -> orders")
    tasks = [t for t in graph.tasks() if isinstance(t, Task)]
    assert [t.id for t in tasks] == ["orders", "workflow:orders", "workflow:orders#2", "orders#2"]


def test_the_graph_fingerprint_tells_a_unit_from_an_event() -> None:
    assert parse("A -> <B>").fingerprint() != parse("A -> B").fingerprint()


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("A -> <orders", "1:13", "expected '>' after 'orders'"),
        ("A -> <>", "1:7", "expected a workflow name after '<'"),
        ("A -> <orders@x>", "1:14", "expected a version (1.2.3, 1.2, v1 or latest)"),
        ("A -> <orders -> B>", "1:14", "expected '>'"),
    ],
)
def test_mistakes_are_placed(text: str, where: str, message: str) -> None:
    with pytest.raises(PointyError) as caught:
        parse(text)
    assert f"{caught.value.line}:{caught.value.column}" == where
    assert message in str(caught.value)

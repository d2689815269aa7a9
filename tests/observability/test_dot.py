"""DOT export: clusters, branch and pipe edges, retries, run colouring, no recursion."""

from __future__ import annotations

import re

import pytest

from volnux.dsl import parse
from volnux.graph import EventRef, Graph, Group, Sequence, Task
from volnux.observability.dot import STATE_COLOURS, to_dot

TIMES = "\u00d7"


def dot_of(text: str, **kwargs: object) -> str:
    return to_dot(parse(text, "wf.pty"), **kwargs)  # type: ignore[arg-type]


def edges(dot: str) -> list[str]:
    return [line.strip() for line in dot.splitlines() if " -> " in line]


def test_a_sequence_is_plain_edges_and_a_pipe_is_styled() -> None:
    dot = dot_of("A -> B |-> C")
    assert dot.startswith("digraph workflow {\n") and dot.endswith("}\n")
    assert edges(dot) == [
        '"A" -> "B";',
        '"B" -> "C" [style="bold", color="#1f6feb", arrowhead="vee"];',
    ]


def test_retries_and_versions_and_attributes_show_in_labels() -> None:
    dot = dot_of('Charge@1.2[timeout=5, note="say \\"hi\\""] * 3 -> Charge')
    assert f'"Charge" [label="Charge@1.2 {TIMES}3\\n[timeout=5, note=\\"say \\\\\\"hi' in dot
    # The second occurrence shows its own node id under the name.
    assert '"Charge#2" [label="Charge\\nCharge#2"];' in dot


def test_parallel_members_sit_in_a_cluster_and_fan_in_and_out() -> None:
    dot = dot_of("A -> B || C -> D")
    assert 'subgraph "cluster_parallel_1" {' in dot
    cluster = dot.split('subgraph "cluster_parallel_1" {')[1].split("}")[0]
    assert '"B"' in cluster and '"C"' in cluster and '"A"' not in cluster
    assert set(edges(dot)) == {'"A" -> "B";', '"A" -> "C";', '"B" -> "D";', '"C" -> "D";'}


def test_two_wide_groups_in_a_row_are_joined_by_one_clipped_edge() -> None:
    dot = dot_of("(A || B) -> (C || D)")
    assert edges(dot) == [
        '"A" -> "C" [ltail="cluster_group:1", lhead="cluster_group:2"];',
    ]
    assert "compound=true" in dot


def test_a_group_is_a_cluster_labelled_with_its_id_and_retries() -> None:
    dot = dot_of("{A -> B} * 2 -> C")
    assert 'subgraph "cluster_group:1" {' in dot
    assert f'label="group:1 {TIMES}2"' in dot
    assert '"B" -> "C";' in edges(dot)


def test_branches_are_labelled_by_descriptor_and_the_chain_continues() -> None:
    dot = dot_of("A (0 |-> F, 1 -> S, 3 -> R) -> D")
    found = edges(dot)
    assert (
        '"A" -> "F" [label="0", color="#d73a49", fontcolor="#d73a49", '
        'style="dashed,bold", arrowhead="vee"];'
    ) in found
    assert '"A" -> "S" [label="1", color="#22863a", fontcolor="#22863a"];' in found
    assert '"A" -> "R" [label="3", color="#6f42c1", fontcolor="#6f42c1"];' in found
    # D follows whichever branch ran; with a `1` branch, never A directly.
    assert {'"F" -> "D";', '"S" -> "D";', '"R" -> "D";'} <= set(found)
    assert '"A" -> "D";' not in found


def test_without_a_success_branch_the_chain_continues_from_the_task_itself() -> None:
    found = edges(dot_of("A (0 -> F) -> D"))
    assert '"A" -> "D";' in found
    assert '"F" -> "D";' in found


def test_states_colour_tasks_and_group_borders() -> None:
    dot = dot_of(
        "A -> {B} -> C",
        states={"A": "succeeded", "B": "failed", "group:1": "failed", "C": "skipped"},
    )
    green = STATE_COLOURS["succeeded"]
    assert f'"A" [label="A", style="rounded,filled", fillcolor="{green}"' in dot
    # The path not taken is greyed out: the box and the arrow into it.
    assert (
        f'style="rounded,filled,dashed", fillcolor="{STATE_COLOURS["skipped"]}", '
        'color="#9a9a9a", fontcolor="#9a9a9a", tooltip="C: skipped"'
    ) in dot
    assert '"B" -> "C" [color="#9a9a9a", fontcolor="#9a9a9a", style="dashed"];' in dot
    assert f'color="{STATE_COLOURS["failed"]}"; penwidth=3' in dot


def test_a_coloured_graph_has_a_legend_of_its_states_and_a_plain_one_has_none() -> None:
    dot = dot_of("A -> B (0 -> C)", states={"A": "succeeded", "B": "handled", "C": "succeeded"})
    label = next(line for line in dot.splitlines() if line.startswith("  graph ["))
    assert f'<td bgcolor="{STATE_COLOURS["handled"]}" border="1">failed (handled)</td>' in label
    assert f'<td bgcolor="{STATE_COLOURS["succeeded"]}" border="1">succeeded</td>' in label
    assert ">failed<" not in label and ">skipped<" not in label  # only the states present
    assert 'style="rounded,filled,dashed", color="#d73a49"' in dot
    assert "<table" not in dot_of("A -> B")


def test_the_title_is_escaped_in_the_legend() -> None:
    graph = Graph(Task("A", EventRef("A")), filename="a<b>&c.pty")
    assert "a&lt;b&gt;&amp;c.pty" in to_dot(graph, states={"A": "succeeded"})


def test_an_unknown_state_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown state name.*exploded"):
        dot_of("A", states={"A": "exploded"})


def test_the_filename_is_escaped_in_the_graph_label() -> None:
    graph = Graph(Task("A", EventRef("A")), filename='we"ird\\.pty')
    assert 'label="we\\"ird\\\\.pty"' in to_dot(graph)


def test_a_100000_step_chain_exports() -> None:
    n = 100_000
    steps = tuple(Task(f"T{i}", EventRef(f"T{i}")) for i in range(n))
    dot = to_dot(Graph(Sequence(steps, (False,) * (n - 1))))
    assert len(edges(dot)) == n - 1
    assert '"T99998" -> "T99999";' in dot


def test_nesting_deeper_than_the_recursion_limit_exports() -> None:
    block: Task | Group = Task("A", EventRef("A"))
    depth = 3000
    for i in range(depth):
        block = Group(f"group:{depth - i}", block)
    dot = to_dot(Graph(block))
    assert dot.count("subgraph ") == depth
    assert dot.count("{") == dot.count("}")


def test_every_node_of_the_orders_example_is_drawn() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "orders" / "orders.pty"
    dot = to_dot(parse(path.read_text(encoding="utf-8"), str(path)))
    for node in ("PrepareOutputs", "ReadOrders", "ValidateOrders", "WriteRejects", "SaveOrders"):
        assert re.search(rf'^\s+"{node}" \[label=', dot, re.M), node
    assert f"FetchExchangeRates {TIMES}3" in dot

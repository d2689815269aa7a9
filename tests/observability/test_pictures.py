"""Pictures: collapsed big graphs, SVG coloured by run state, valid xdot, notebook reprs.

Drawing uses the real Graphviz ``dot`` program (installed by .ci/run).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux import Run, TaskState, TaskView, Workflow
from volnux.dsl import parse
from volnux.errors import RenderError
from volnux.graph import EventRef, Graph, Parallel, Sequence, Task
from volnux.observability.collapse import collapse
from volnux.observability.dot import STATE_COLOURS, to_dot
from volnux.observability.pictures import run_dot, svg_or_none
from volnux.observability.render import render

from .xdot import parse_ops, statements

SVG = "{http://www.w3.org/2000/svg}"
TIMES = "\u00d7"


def wide(n: int) -> Graph:
    members = tuple(Task("Noop" if i == 0 else f"Noop#{i + 1}", EventRef("Noop")) for i in range(n))
    return Graph(Sequence((Task("Start", EventRef("Start")), Parallel(members)), (False,)))


# ----------------------------------------------------------------- collapse


def test_a_10000_wide_group_is_one_box_counting_its_states() -> None:
    states = {f"Noop#{i}": "succeeded" for i in range(2, 10_001)}
    states.update({"Noop": "succeeded", "Noop#77": "failed", "Noop#9000": "failed"})
    states["Start"] = "succeeded"
    dot = to_dot(wide(10_000), states=states, collapse=10)
    boxes = [line for line in dot.splitlines() if "[label=" in line]
    assert len(boxes) == 2  # Start and the stand-in
    box = next(b for b in boxes if "Noop" in b)
    assert f"Noop {TIMES}10,000 in parallel" in box
    assert "9,998 succeeded, 2 failed" in box
    assert f'fillcolor="{STATE_COLOURS["failed"]}"' in box  # the most pressing state shows
    assert "shape=box3d" in box
    assert '"Start" -> "Noop..Noop#10000";' in dot


def test_a_long_chain_of_identical_tasks_is_one_box_and_its_neighbours_keep_their_edges() -> None:
    text = "A |-> " + " -> ".join(["Noop"] * 12) + " |-> B"
    graph, stand_ins = collapse(parse(text), 10)
    assert list(stand_ins) == ["Noop..Noop#12"]
    assert stand_ins["Noop..Noop#12"].arrangement == "in a row"
    assert len(stand_ins["Noop..Noop#12"].members) == 12
    assert [t.id for t in graph.tasks()] == ["A", "Noop..Noop#12", "B"]
    dot = to_dot(parse(text), collapse=10)
    assert '"A" -> "Noop..Noop#12" [style="bold"' in dot  # the pipe into the run stays
    assert '"Noop..Noop#12" -> "B" [style="bold"' in dot
    assert f"Noop {TIMES}12 in a row" in dot


def test_short_runs_and_tasks_with_branches_do_not_collapse() -> None:
    text = " -> ".join(["Noop"] * 9) + " -> " + " -> ".join(["Check (0 -> Fix)"] * 12)
    graph, stand_ins = collapse(parse(text), 10)
    assert stand_ins == {}
    assert graph == parse(text)
    assert to_dot(parse(text), collapse=10) == to_dot(parse(text))


def test_collapse_walks_deep_nesting_without_recursion() -> None:
    graph, stand_ins = collapse(_nested(3000), 10)
    assert len(stand_ins) == 1
    assert [t.id for t in graph.tasks()] == ["Noop#0..Noop#19"]


def _nested(depth: int) -> Graph:
    from volnux.graph import Group

    block: Any = Parallel(tuple(Task(f"Noop#{i}", EventRef("Noop")) for i in range(20)))
    for i in range(depth):
        block = Group(f"group:{depth - i}", block)
    return Graph(block)


# ----------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def failed_run() -> Run:
    tries = {"n": 0}

    @volnux.event
    def Fetch() -> list[int]:
        return [1, 2]

    @volnux.event
    def Price(piped: Any = None) -> int:
        return 10

    @volnux.event
    def Flaky(piped: Any = None) -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("once")
        return "ok"

    @volnux.event
    def Check() -> int:
        return 1

    @volnux.event
    def Notify() -> str:
        return "told"

    @volnux.event
    def Charge() -> None:
        raise ValueError("card declined")

    events = [Fetch, Price, Flaky, Check, Notify, Charge]
    text = "Fetch |-> (Price || Flaky * 2) -> Check (0 -> Notify, 1 -> Charge)"
    run = Workflow.from_text(text, events, name="shop").run()
    assert run.status == "failed"
    return run


EXPECTED = {
    "Fetch": "succeeded",
    "Price": "succeeded",
    "Flaky": "succeeded",
    "Check": "succeeded",
    "Notify": "skipped",
    "Charge": "failed",
}


def svg_nodes(svg: str) -> dict[str, tuple[str, str]]:
    """Node id -> (fill colour of its shape, its label text) in Graphviz SVG."""
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "node":
            continue
        title = g.findtext(f"{SVG}title") or ""
        # A tooltip wraps the shape in a link: look below the node's group, not just in it.
        shape = next(
            el for el in g.iter() if el.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse")
        )
        label = " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        found[title] = (shape.get("fill", ""), label)
    return found


def test_the_run_svg_has_a_node_per_task_filled_with_its_state_colour(failed_run: Run) -> None:
    svg = render(run_dot(failed_run.graph, failed_run.tasks, title="shop"), "svg").decode()
    nodes = svg_nodes(svg)
    assert set(nodes) == set(EXPECTED)
    for node, state in EXPECTED.items():
        fill, label = nodes[node]
        assert fill == STATE_COLOURS[state], (node, fill)
        assert state in label
    assert "2 attempts" in nodes["Flaky"][1]
    assert re.search(r"1 attempt, \d+\.\d\ds", nodes["Charge"][1])
    # The path not taken is grey: its box border and the arrow into it.
    assert '"#9a9a9a"' in svg and "stroke-dasharray" in svg


def test_a_handled_failure_looks_unlike_an_unhandled_one_and_the_legend_says_which(
    failed_run: Run,
) -> None:
    @volnux.event
    def Probe() -> None:
        raise ValueError("not there")

    @volnux.event
    def Fallback() -> str:
        return "used the cache"

    handled = Workflow.from_text("Probe (0 -> Fallback)", [Probe, Fallback], name="h").run()
    assert handled.status == "succeeded" and handled.tasks["Probe"].state is TaskState.FAILED
    dot = run_dot(handled.graph, handled.tasks, title="h", failed_nodes=handled.failed_nodes)
    svg = render(dot, "svg").decode()
    fill, label = svg_nodes(svg)["Probe"]
    assert fill == STATE_COLOURS["handled"] != STATE_COLOURS["failed"]
    assert "failed (handled)" in label
    # The unhandled failure keeps the red fill, with a heavier border.
    unhandled = run_dot(
        failed_run.graph, failed_run.tasks, title="shop", failed_nodes=failed_run.failed_nodes
    )
    fill, label = svg_nodes(render(unhandled, "svg").decode())["Charge"]
    assert fill == STATE_COLOURS["failed"] and "handled" not in label
    charge = next(line for line in unhandled.splitlines() if line.startswith('  "Charge" ['))
    probe = next(line for line in dot.splitlines() if line.startswith('  "Probe" ['))
    assert "penwidth=2" in charge and "dashed" in probe and "dashed" not in charge
    # A legend in the title: a swatch per state present, in words.
    root = ET.fromstring(svg)
    legend = [
        t.text
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "graph"
        for t in g.iter(f"{SVG}text")
    ]
    assert {"failed (handled)", "succeeded"} <= set(legend), legend
    swatches = {p.get("fill") for p in root.iter(f"{SVG}polygon")}
    assert STATE_COLOURS["handled"] in swatches
    # Without failed_nodes (a run still going on) every failure is drawn alike.
    assert "failed (handled)" not in run_dot(handled.graph, handled.tasks)


def test_xdot_output_is_valid_xdot(failed_run: Run) -> None:
    text = render(run_dot(failed_run.graph, failed_run.tasks), "xdot").decode()
    found = statements(text)
    graph_attrs = {k: v for s in found if s.kind == "graph" for k, v in s.attrs.items()}
    assert "xdotversion" in graph_attrs
    nodes = {s.ids[0]: s.attrs for s in found if s.kind == "node" and "_draw_" in s.attrs}
    assert set(nodes) == set(EXPECTED)
    for node, attrs in nodes.items():
        draw, ldraw = parse_ops(attrs["_draw_"]), parse_ops(attrs["_ldraw_"])
        assert any(op in "PpBbLEe" for op, _ in draw), node  # it draws a shape
        texts = [args[-1] for op, args in ldraw if op == "T"]
        assert node in " ".join(str(t) for t in texts)
        fills = [args[0] for op, args in draw if op == "C"]
        assert STATE_COLOURS[EXPECTED[node]] in [str(f).lower() for f in fills]
    edges = [s for s in found if s.kind == "edge"]
    assert edges and all("_draw_" in e.attrs and "_hdraw_" in e.attrs for e in edges)
    for edge in edges:
        parse_ops(edge.attrs["_draw_"])
        parse_ops(edge.attrs["_hdraw_"])


def test_the_xdot_reader_refuses_malformed_operations() -> None:
    assert parse_ops("c 7 -#000000 P 3 1 2 3 4 5 6 T 1 2 0 30 5 -hello") == [
        ("c", ("#000000",)),
        ("P", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)),
        ("T", (1.0, 2.0, 0, 30.0, "hello")),
    ]
    for bad in ("P 3 1 2 3", "T 1 2 7 30 5 -hello", "c 9 -#000", "Q 1", "B 2 1 2 3 4"):
        with pytest.raises(ValueError):
            parse_ops(bad)


def test_png_is_a_png() -> None:
    assert render(to_dot(parse("A -> B")), "png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_dot_program_is_one_line_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    with pytest.raises(RenderError) as info:
        render(to_dot(parse("A")), "svg")
    message = str(info.value)
    assert "\n" not in message
    assert "Graphviz" in message and "apt-get install graphviz" in message
    assert render("digraph {}", "dot") == b"digraph {}"  # DOT text needs no program
    assert svg_or_none(to_dot(parse("A"))) is None


# ------------------------------------------------------------------ notebooks


def test_workflows_and_runs_show_as_svg_in_notebooks(failed_run: Run) -> None:
    wf = Workflow.from_text("A -> (B || C)", [])
    svg = wf._repr_svg_()
    assert svg is not None and svg.lstrip().startswith(("<?xml", "<svg", "<!--"))
    assert set(svg_nodes(svg)) == {"A", "B", "C"}
    run_svg = failed_run._repr_svg_()
    assert run_svg is not None
    assert {k: v[0] for k, v in svg_nodes(run_svg).items()} == {
        k: STATE_COLOURS[v] for k, v in EXPECTED.items()
    }


def test_a_run_without_its_graph_is_drawn_from_its_tasks() -> None:
    tasks = {
        "A": TaskView("A", "A@1.0.0", TaskState.SUCCEEDED, 1, started_at=1.0, ended_at=1.5),
        "B": TaskView("B", "B@1.0.0", TaskState.FAILED, 3, started_at=2.0, ended_at=4.0),
        "C": TaskView("C", "C@1.0.0", TaskState.PENDING),
    }
    run = Run("r1", "wf", volnux.RunState.FAILED, tasks)
    svg = run._repr_svg_()
    assert svg is not None
    nodes = svg_nodes(svg)
    assert nodes["A"][0] == STATE_COLOURS["succeeded"]
    assert nodes["B"][0] == STATE_COLOURS["failed"] and "3 attempts" in nodes["B"][1]
    assert nodes["C"][0] == STATE_COLOURS["pending"]
    assert "not available" in svg

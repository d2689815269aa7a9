"""`volnux graph -f ascii`: a workflow or a run as text, one task a line."""

from __future__ import annotations

from volnux.dsl import parse
from volnux.graph import EventRef, Graph, Group, Sequence, Task
from volnux.observability.ascii import ascii_lines, to_ascii


def drawn(text: str, **kwargs: object) -> str:
    return to_ascii(parse(text, "flow.pty"), **kwargs)  # type: ignore[arg-type]


def test_a_chain_stacks_its_steps_and_a_pipe_says_so() -> None:
    assert drawn("A -> B |-> C") == "A\n|\nB\n| piped\nC\n"


def test_parallel_members_hang_from_a_rail() -> None:
    assert drawn("A -> B || C || D -> E") == "A\n|\n+-- B\n+-- C\n`-- D\n|\nE\n"
    # A member that is a chain keeps the rail beside it; `(E || F -> G)` is
    # (E || F) -> G; brackets that only group draw nothing.
    assert drawn("A -> (B -> C) || D -> (E || F -> G)") == (
        "A\n|\n+-- B\n|   |\n|   C\n`-- D\n|\n+-- E\n`-- F\n|\nG\n"
    )
    assert drawn("(A -> B)[timeout=3]") == "( group:1 [timeout=3]\n: A\n: |\n: B\n)\n"


def test_branches_show_their_descriptor_and_a_piped_branch_its_arrow() -> None:
    assert drawn("Check (0 -> Notify, 1 |-> Charge -> Ship) -> Done") == (
        "Check\n+-- 0 -> Notify\n`-- 1 |-> Charge\n          |\n          Ship\n|\nDone\n"
    )


def test_retries_versions_attributes_and_repeated_ids_read_as_written() -> None:
    assert drawn('Charge@1.2[timeout=5] * 3 -> Charge@1.2 -> A[note="x y"]') == (
        'Charge@1.2 [timeout=5] * 3\n|\nCharge@1.2 (Charge#2)\n|\nA [note="x y"]\n'
    )


def test_a_group_is_set_in_between_its_brackets_with_its_retries_and_branches() -> None:
    assert drawn('{A || B}[result_predicate="m:f"] * 2 (0 -> Undo) -> C') == (
        '{ group:1 [result_predicate="m:f"]\n: +-- A\n: `-- B\n} * 2\n`-- 0 -> Undo\n|\nC\n'
    )


def test_states_and_notes_line_up_in_a_column_tagged_for_colour() -> None:
    text = drawn(
        "Fetch -> Check (0 -> Notify)",
        states={"Fetch": "succeeded", "Check": "handled", "Notify": "running"},
        notes={"Fetch": "succeeded, 1 attempt\nchanged when resumed"},
    )
    assert text == (
        "Fetch            succeeded, 1 attempt; changed when resumed\n"
        "|\n"
        "Check            failed (handled)\n"
        "`-- 0 -> Notify  running\n"
    )
    lines = ascii_lines(parse("A -> B", "f"), states={"A": "failed"})
    assert [[(p.text, p.state) for p in line] for line in lines] == [
        [("A", "failed"), ("  ", ""), ("failed", "failed")],
        [("|", "")],
        [("B", "")],
    ]


def test_long_runs_of_identical_tasks_are_one_line_with_their_states_counted() -> None:
    text = "Load -> " + " -> ".join(["Noop"] * 10_000) + " -> Save"
    graph = parse(text, "big.pty")
    states = {t.id: "succeeded" for t in graph.tasks()}
    states["Noop#9999"] = "failed"
    assert to_ascii(graph, states=states, collapse=10).splitlines() == [
        "Load                                         succeeded",
        "|",
        "Noop x10,000 in a row (Noop ... Noop#10000)  9,999 succeeded, 1 failed",
        "|",
        "Save                                         succeeded",
    ]


def test_a_100000_step_chain_and_nesting_past_the_recursion_limit_draw() -> None:
    n = 100_000
    chain = Graph(
        Sequence(tuple(Task(f"T{i}", EventRef("T")) for i in range(n)), (False,) * (n - 1))
    )
    lines = to_ascii(chain).splitlines()
    assert len(lines) == 2 * n - 1 and lines[-1] == "T (T99999)"
    block: Task | Group = Task("A", EventRef("A"))
    depth = 1500
    for i in range(depth):
        block = Group(f"group:{depth - i}", block, attempts=2)
    nested = to_ascii(Graph(block)).splitlines()
    assert len(nested) == 2 * depth + 1
    assert nested[depth] == ": " * depth + "A"
    assert nested[-1] == ") * 2" and nested[-2] == ": ) * 2"

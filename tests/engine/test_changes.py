"""What a resume reports when the workflow changed: the language's words, not reprs."""

from __future__ import annotations

from volnux.dsl import parse
from volnux.engine.recovery import compare
from volnux.store import EventPin


def changes(before: str, after: str, started: set[str] | None = None) -> list[str]:
    return [str(c) for c in compare(parse(before), {}, parse(after), {}, started or set())]


def test_an_unchanged_workflow_reports_nothing() -> None:
    assert changes("A -> B || C -> D\n", "A -> B || C -> D\n") == []


def test_appending_a_step_moves_nothing_before_it() -> None:
    assert changes("A -> B -> C\n", "A -> B -> C -> D\n") == ["D (line 1 now): added"]


def test_inserting_a_step_moves_only_what_follows() -> None:
    reported = changes("A |-> B -> C\n", "A |-> B -> X -> C\n", {"A", "B"})
    assert reported == [
        "C (line 1 before, line 1 now): it sits elsewhere in the workflow"
        " (what runs before it changed)",
        "X (line 1 now): added",
    ]


def test_each_kind_of_change_is_said_with_lines() -> None:
    before = "A -> B\n-> C (0 -> F, 1 -> G)\n-> D\n"
    after = 'A -> B[timeout=5, queue="io"] * 3\n\n-> C (0 |-> F, 1 -> G)\n-> E\n'
    reported = changes(before, after, {"A", "B", "C", "D"})
    assert "B (line 1 before, line 1 now): its attributes changed from none to" in reported[0]
    assert (
        '[timeout=5, queue="io"]; its retries changed from no retry count to * 3' in (reported[0])
    )
    assert reported[0].endswith("(already started)")
    assert (
        "C (line 2 before, line 3 now): its branches changed from (0 ->, 1 ->) to (0 |->, 1 ->)"
        " (already started)"
    ) in reported
    assert "D (line 3 before): removed from the workflow (already started)" in reported
    assert "E (line 4 now): added" in reported


def test_event_version_and_code_changes_name_the_event() -> None:
    graph = parse("A -> B\n")
    old = {"A": EventPin("A", "1.0", "x.py", "aaaaaaaa11"), "B": EventPin("B", "1.0", "x.py", "b1")}
    new = {"A": EventPin("A", "2.0", "x.py", "cccccccc22"), "B": EventPin("B", "1.0", "x.py", "b2")}
    reported = [str(c) for c in compare(graph, old, graph, new, {"A"})]
    assert reported == [
        "A (line 1 before, line 1 now): event A@1.0 is now A@2.0 (already started)",
        "B (line 1 before, line 1 now): the code of B@1.0 changed (fingerprint b1 -> b2)",
    ]


def test_directive_changes_are_reported() -> None:
    assert changes("A\n", "@mode: DAG\nA\n") == ["(directives): the @ directives changed"]

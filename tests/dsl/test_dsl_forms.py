"""Every form in POINTY.md parses to the model it means."""

from __future__ import annotations

import pytest

from volnux.dsl import parse
from volnux.graph.model import (
    AttrValue,
    Block,
    Branch,
    EventRef,
    Group,
    Parallel,
    Position,
    Sequence,
    Task,
)


def t(
    name: str,
    id: str | None = None,
    *,
    version: str | None = None,
    attrs: tuple[tuple[str, AttrValue], ...] = (),
    attempts: int | None = None,
    branches: tuple[Branch, ...] = (),
) -> Task:
    return Task(
        id=id or name,
        ref=EventRef(name, version),
        attrs=attrs,
        attempts=attempts,
        branches=branches,
    )


def seq(*steps: Block, pipes: str = "") -> Sequence:
    """``pipes`` spells each arrow: '-' for '->', '|' for '|->'."""
    flags = tuple(c == "|" for c in (pipes or "-" * (len(steps) - 1)))
    return Sequence(steps=steps, pipes=flags)


def par(*members: Block) -> Parallel:
    return Parallel(members=members)


def root(text: str) -> Block:
    return parse(text).root


# -- operators -------------------------------------------------------------------


def test_single_event() -> None:
    assert root("A") == t("A")


def test_arrow() -> None:
    assert root("A -> B") == seq(t("A"), t("B"))


def test_pipe() -> None:
    assert root("A |-> B") == seq(t("A"), t("B"), pipes="|")


def test_parallel() -> None:
    assert root("A || B") == par(t("A"), t("B"))


def test_chain_is_flat() -> None:
    graph = root("A -> B |-> C -> D")
    assert graph == seq(t("A"), t("B"), t("C"), t("D"), pipes="-|-")
    assert isinstance(graph, Sequence)
    assert not any(isinstance(step, Sequence) for step in graph.steps)


def test_parallel_is_flat() -> None:
    assert root("A || B || C") == par(t("A"), t("B"), t("C"))


def test_no_whitespace_needed() -> None:
    assert root("A->B|->C||D") == seq(t("A"), t("B"), par(t("C"), t("D")), pipes="-|")


# -- precedence ------------------------------------------------------------------


def test_parallel_binds_tighter_than_arrow() -> None:
    text = "ValidateInput -> ProcessData || EnrichData -> PersistResults"
    assert root(text) == seq(
        t("ValidateInput"), par(t("ProcessData"), t("EnrichData")), t("PersistResults")
    )


def test_parallel_then_pipe() -> None:
    assert root("A || B |-> C") == seq(par(t("A"), t("B")), t("C"), pipes="|")


def test_branch_list_binds_tighter_than_parallel() -> None:
    assert root("A (0 -> B) || C") == par(t("A", branches=(Branch(0, t("B")),)), t("C"))


def test_retry_binds_tighter_than_branch_list() -> None:
    expected = t("A", attempts=2, branches=(Branch(0, t("B")),))
    assert root("A * 2 (0 -> B)") == expected
    assert root("2 * A (0 -> B)") == expected


def test_retry_binds_tighter_than_parallel() -> None:
    assert root("10 * A || B") == par(t("A", attempts=10), t("B"))
    assert root("A || B * 10") == par(t("A"), t("B", attempts=10))


def test_tutorial_mixed_chain() -> None:
    assert root("A -> B || C -> D") == seq(t("A"), par(t("B"), t("C")), t("D"))


# -- retries ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["A * 3", "3 * A", "A*3", "3*A", "A\n*\n3"])
def test_retry_both_ways(text: str) -> None:
    assert root(text) == t("A", attempts=3)


def test_retry_on_group() -> None:
    body = seq(t("A"), t("B"))
    assert root("(A -> B) * 2") == Group("group:1", body, attempts=2)
    assert root("2 * {A -> B}") == Group("group:1", body, attempts=2)


def test_retry_with_attributes() -> None:
    expected = t("A", attrs=(("timeout", 5),), attempts=4)
    assert root("A[timeout=5] * 4") == expected
    assert root("4 * A[timeout=5]") == expected


# -- attributes ------------------------------------------------------------------


def test_attribute_literals() -> None:
    task = root('A[s="x", i=3, n=-7, f=2.5, e=1e3, y=true, no=false, lead=.5]')
    assert isinstance(task, Task)
    assert task.attrs == (
        ("s", "x"),
        ("i", 3),
        ("n", -7),
        ("f", 2.5),
        ("e", 1000.0),
        ("y", True),
        ("no", False),
        ("lead", 0.5),
    )
    assert [type(v) for _, v in task.attrs] == [str, int, int, float, float, bool, bool, float]
    assert task.options["i"] == 3


def test_attribute_order_is_kept() -> None:
    task = root("A[z=1, a=2, m=3]")
    assert isinstance(task, Task)
    assert [k for k, _ in task.attrs] == ["z", "a", "m"]


def test_string_escapes() -> None:
    task = root(r'A[s="q\"b\\n\n\t\r\'\/\u00e9"]')
    assert isinstance(task, Task)
    assert task.options["s"] == "q\"b\\n\n\t\r'/\u00e9"


def test_string_may_hold_any_character() -> None:
    task = root('A[s="# not a comment -> || é\nsecond line"]')
    assert isinstance(task, Task)
    assert task.options["s"] == "# not a comment -> || é\nsecond line"


def test_attributes_on_group() -> None:
    assert root('{A || B}[executor="threads"]') == Group(
        "group:1", par(t("A"), t("B")), attrs=(("executor", "threads"),)
    )


def test_keywords_are_plain_names_elsewhere() -> None:
    assert root("true -> false[true=false]") == seq(t("true"), t("false", attrs=(("true", False),)))


# -- branches --------------------------------------------------------------------


def test_branch_list() -> None:
    assert root("A (0 -> X, 1 -> Y, 3 -> Z)") == t(
        "A", branches=(Branch(0, t("X")), Branch(1, t("Y")), Branch(3, t("Z")))
    )


def test_single_branch_is_allowed() -> None:
    assert root("A (1 -> B)") == t("A", branches=(Branch(1, t("B")),))


def test_every_descriptor() -> None:
    text = "A (" + ", ".join(f"{d} -> E{d}" for d in range(10)) + ")"
    task = root(text)
    assert isinstance(task, Task)
    assert [b.descriptor for b in task.branches] == list(range(10))


def test_pipe_branch() -> None:
    assert root("A (0 |-> B, 1 -> C)") == t(
        "A", branches=(Branch(0, t("B"), pipe=True), Branch(1, t("C")))
    )


def test_branch_bodies_are_chains() -> None:
    assert root("A (0 -> B -> C, 1 |-> D || E |-> F, 2 -> {G})") == t(
        "A",
        branches=(
            Branch(0, seq(t("B"), t("C"))),
            Branch(1, seq(par(t("D"), t("E")), t("F"), pipes="|"), pipe=True),
            Branch(2, Group("group:1", t("G"))),
        ),
    )


def test_sink_after_branches() -> None:
    assert root("A (0 -> B, 1 -> C) -> D") == seq(
        t("A", branches=(Branch(0, t("B")), Branch(1, t("C")))), t("D")
    )


def test_nested_branches() -> None:
    assert root("A (1 -> B (0 -> C))") == t(
        "A", branches=(Branch(1, t("B", branches=(Branch(0, t("C")),))),)
    )


def test_branch_list_after_group() -> None:
    expected = Group("group:1", seq(t("A"), t("B")), branches=(Branch(0, t("C")),))
    assert root("(A -> B) (0 -> C)") == expected
    assert root("{A -> B} (0 -> C)") == expected


def test_everything_on_a_group() -> None:
    assert root('(A || B)[k="v"] * 3 (0 -> C)') == Group(
        "group:1",
        par(t("A"), t("B")),
        attrs=(("k", "v"),),
        attempts=3,
        branches=(Branch(0, t("C")),),
    )


def test_branch_positions() -> None:
    task = root("A (\n  0 -> B,\n  1 |-> C\n)")
    assert isinstance(task, Task)
    assert [b.pos for b in task.branches] == [Position(2, 3), Position(3, 3)]


# -- groups ----------------------------------------------------------------------


@pytest.mark.parametrize("bracket", ["{}", "()"])
def test_group_keeps_its_bracket(bracket: str) -> None:
    group = root(f"{bracket[0]}A -> B{bracket[1]}")
    assert isinstance(group, Group)
    assert group.body == seq(t("A"), t("B"))
    assert group.bracket == bracket[0]


def test_group_around_parallel_in_chain() -> None:
    assert root("A -> (B || C) -> D") == seq(t("A"), Group("group:1", par(t("B"), t("C"))), t("D"))


def test_group_inside_parallel() -> None:
    assert root("A || {B -> C}") == par(t("A"), Group("group:1", seq(t("B"), t("C"))))


def test_group_ids_follow_source_order() -> None:
    graph = parse("{ (A) } -> (B (0 -> {C}))")
    assert [g.id for g in graph.groups()] == ["group:1", "group:2", "group:3", "group:4"]
    outer = graph.groups()[0]
    assert isinstance(outer.body, Group) and outer.body.id == "group:2"


def test_group_position_is_its_bracket() -> None:
    group = root("\n  {A}")
    assert isinstance(group, Group)
    assert group.pos == Position(2, 3)


# -- names, versions, ids --------------------------------------------------------


@pytest.mark.parametrize("version", ["1.2.3", "1.2", "1", "v1", "v1.2", "latest"])
def test_versions(version: str) -> None:
    task = root(f"Charge@{version}")
    assert task == t("Charge", version=version)


def test_dotted_names() -> None:
    assert root("payments.cards.Charge@1.4 -> audit.Log") == seq(
        t("payments.cards.Charge", version="1.4"), t("audit.Log")
    )


def test_names_are_case_sensitive() -> None:
    assert [x.id for x in parse("a -> A -> a").tasks()] == ["a", "A", "a#2"]


def test_repeated_events_get_stable_ids() -> None:
    graph = parse("A -> B -> A (0 -> A) -> A@2 || A")
    assert [x.id for x in graph.tasks()] == ["A", "B", "A#2", "A#3", "A#4", "A#5"]
    assert graph.task("A#4").ref == EventRef("A", "2")


def test_ids_ignore_the_version() -> None:
    assert [x.id for x in parse("A@1 -> A@2").tasks()] == ["A", "A#2"]


def test_task_positions() -> None:
    graph = parse('A ->\n\tB -> C[s="é€😀"] -> D\n  -> E')
    # Columns count characters, not bytes; a tab is one.
    assert [x.pos for x in graph.tasks()] == [
        Position(1, 1),
        Position(2, 2),
        Position(2, 7),
        Position(2, 21),
        Position(3, 6),
    ]


# -- lexical ---------------------------------------------------------------------


def test_comments_and_blank_lines() -> None:
    text = "# header\n\nA -> # trailing\n  # alone\n  B # end\n# last"
    assert root(text) == seq(t("A"), t("B"))


def test_crlf() -> None:
    graph = parse("@mode: CFG\r\nA ->\r\n  B (0 -> C,\r\n 1 -> D)\r\n")
    assert graph.root == seq(t("A"), t("B", branches=(Branch(0, t("C")), Branch(1, t("D")))))
    assert graph.directives == (("mode", "CFG"),)
    assert graph.tasks()[1].pos == Position(3, 3)


def test_byte_order_mark_is_ignored() -> None:
    graph = parse("\ufeffA -> B")
    assert graph.root == seq(t("A"), t("B"))
    assert graph.tasks()[0].pos == Position(1, 1)


def test_multi_line_text() -> None:
    assert root("A\n->\nB\n||\nC") == seq(t("A"), par(t("B"), t("C")))


# -- directives ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "directives"),
    [
        ("@mode:CFG\nA", (("mode", "CFG"),)),
        ("@mode: DAG\nA", (("mode", "DAG"),)),
        ("@mode:\tcfg\nA", (("mode", "cfg"),)),
        ('@mode: "DAG"\nA', (("mode", "DAG"),)),
        ("@recursive-depth:3000\nA", (("recursive-depth", "3000"),)),
        (
            "# hi\n@recursive-depth: 10  # note\n\n@mode: CFG\nA",
            (("recursive-depth", "10"), ("mode", "CFG")),
        ),
        ("@mode: CFG @mode: DAG A", (("mode", "CFG"), ("mode", "DAG"))),
    ],
)
def test_directives(text: str, directives: tuple[tuple[str, str], ...]) -> None:
    graph = parse(text)
    assert graph.directives == directives
    assert graph.root == t("A")


def test_graph_keeps_source_and_filename() -> None:
    graph = parse("A", "flows/a.pty")
    assert graph.source == "A"
    assert graph.filename == "flows/a.pty"

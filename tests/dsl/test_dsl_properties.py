"""Property tests: formatting round-trips, and no text raises anything but PointyError."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volnux.dsl import format_graph, parse
from volnux.errors import PointyError
from volnux.graph.model import (
    AttrValue,
    Block,
    Branch,
    EventRef,
    Graph,
    Group,
    Parallel,
    Sequence,
    Task,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLES = [p.read_text("utf-8") for p in sorted((Path(__file__).parent / "samples").glob("*.pty"))]

# -- graph models ------------------------------------------------------------------

_IDENT = r"[A-Za-z_][A-Za-z0-9_]{0,6}"
names = st.from_regex(rf"{_IDENT}(\.{_IDENT}){{0,2}}", fullmatch=True)
versions = st.none() | st.sampled_from(["1", "1.2", "1.2.3", "v1", "v2.0", "v10.0.3", "latest"])
values: st.SearchStrategy[AttrValue] = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
attrs = st.lists(
    st.tuples(st.from_regex(_IDENT, fullmatch=True), values),
    max_size=3,
    unique_by=lambda kv: kv[0],
).map(tuple)
attempts = st.none() | st.integers(2, 10**9)
directives = st.lists(
    st.sampled_from(
        [("mode", "CFG"), ("mode", "DAG"), ("mode", "cfg"), ("recursive-depth", "3000")]
    ),
    max_size=3,
).map(tuple)


def _task(draw_name: str, version: str | None, a: tuple, n: int | None) -> Task:  # type: ignore[type-arg]
    return Task(id="", ref=EventRef(draw_name, version), attrs=a, attempts=n)


leaves = st.builds(_task, names, versions, attrs, attempts)


def _group(body: Block, bracket: str, a: tuple, n: int | None) -> Group:  # type: ignore[type-arg]
    return Group(id="", body=body, bracket=bracket, attrs=a, attempts=n)


def _wrap(block: Block) -> Block:
    """Put a Group around blocks that cannot sit where they are unbracketed."""
    return Group(id="", body=block) if isinstance(block, Sequence | Parallel) else block


def _sequence(steps: list[Block], pipes: list[bool]) -> Sequence:
    steps = [Group(id="", body=s) if isinstance(s, Sequence) else s for s in steps]
    return Sequence(steps=tuple(steps), pipes=tuple(pipes[: len(steps) - 1]))


def _with_branches(target: Block, bodies: list[tuple[int, Block, bool]]) -> Block:
    owner = _wrap(target)
    assert isinstance(owner, Task | Group)
    branches = tuple(Branch(d, body, pipe) for d, body, pipe in bodies)
    return dataclasses.replace(owner, branches=branches)


def _extend(children: st.SearchStrategy[Block]) -> st.SearchStrategy[Block]:
    return st.one_of(
        st.builds(
            _sequence,
            st.lists(children, min_size=2, max_size=4),
            st.lists(st.booleans(), min_size=3, max_size=3),
        ),
        st.lists(children.map(_wrap), min_size=2, max_size=4).map(
            lambda ms: Parallel(members=tuple(ms))
        ),
        st.builds(_group, children, st.sampled_from("{("), attrs, attempts),
        st.builds(
            _with_branches,
            children,
            st.lists(
                st.tuples(st.integers(0, 9), children, st.booleans()),
                min_size=1,
                max_size=3,
                unique_by=lambda b: b[0],
            ),
        ),
    )


blocks = st.recursive(leaves, _extend, max_leaves=12)


def _number(root: Block) -> Block:
    """Give every task and group the id the parser would (source order)."""
    seen: dict[str, int] = {}
    groups = 0

    def visit(block: Block) -> Block:
        nonlocal groups
        if isinstance(block, Task):
            name = block.ref.name
            seen[name] = seen.get(name, 0) + 1
            node_id = name if seen[name] == 1 else f"{name}#{seen[name]}"
            branches = tuple(dataclasses.replace(b, body=visit(b.body)) for b in block.branches)
            return dataclasses.replace(block, id=node_id, branches=branches)
        if isinstance(block, Group):
            groups += 1
            node_id = f"group:{groups}"
            body = visit(block.body)
            branches = tuple(dataclasses.replace(b, body=visit(b.body)) for b in block.branches)
            return dataclasses.replace(block, id=node_id, body=body, branches=branches)
        if isinstance(block, Sequence):
            return dataclasses.replace(block, steps=tuple(visit(s) for s in block.steps))
        return dataclasses.replace(block, members=tuple(visit(m) for m in block.members))

    return visit(root)


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    # A composite keeps the strategy's repr short; the recursive one's is 45 kB.
    return Graph(root=_number(draw(blocks)), directives=draw(directives))


@SETTINGS
@given(graphs())
def test_generated_graphs_round_trip(graph: Graph) -> None:
    text = format_graph(graph)
    again = parse(text)
    assert again == graph
    assert format_graph(again) == text


# -- round trips of parsed text -------------------------------------------------


@SETTINGS
@given(st.sampled_from(SAMPLES))
def test_formatted_samples_reparse_equal(text: str) -> None:
    graph = parse(text)
    formatted = format_graph(graph)
    assert parse(formatted) == graph
    assert format_graph(parse(formatted)) == formatted


# -- fuzzing ---------------------------------------------------------------------

# Characters that mean something in the language, so random text gets past
# the first token more often than plain st.text() would.
_SYMBOLS = list("AB_.@0123456789 ->|*()[]{}=,\"\\#:\n\r\t'$é")
_WORDS = ["->", "|->", "||", "true", "false", "@mode: CFG\n", "@recursive-depth:3\n", "1.2", "e5"]
_ALPHABET = st.sampled_from([*_SYMBOLS, *_WORDS])
texts = st.lists(_ALPHABET, max_size=40).map("".join)


def _check(text: str) -> None:
    """Parse ``text``: either a graph that round-trips, or a well-formed PointyError."""
    try:
        graph = parse(text, "fuzz.pty")
    except PointyError as error:
        assert error.line >= 1 and error.column >= 1
        head = f"fuzz.pty:{error.line}:{error.column}: {error.message}"
        assert str(error).startswith(head)
        lines = text[1:].split("\n") if text.startswith("\ufeff") else text.split("\n")
        if error.line <= len(lines):
            assert error.source_line == lines[error.line - 1].rstrip("\r\n")
        return
    assert parse(format_graph(graph)) == graph


@SETTINGS
@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_pointy_errors(text: str) -> None:
    _check(text)


@SETTINGS
@given(texts)
def test_language_like_text_raises_only_pointy_errors(text: str) -> None:
    _check(text)


@st.composite
def mutated_samples(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(_ALPHABET)
        if kind == "insert":
            text = text[:at] + piece + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text


@SETTINGS
@given(mutated_samples())
def test_mutated_programs_raise_only_pointy_errors(text: str) -> None:
    _check(text)


@SETTINGS
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_programs_raise_only_pointy_errors(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(text)))
    _check(text[:cut])


def test_ids_in_format_are_not_written() -> None:
    # The formatter writes names, not ids: ids come back from source order.
    text = format_graph(parse("A -> A -> {A}"))
    assert re.fullmatch(r"A -> A -> \{A\}\n", text)

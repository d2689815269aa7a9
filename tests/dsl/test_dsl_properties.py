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


def _task(
    name: str, version: str | None, a: tuple[tuple[str, AttrValue], ...], n: int | None
) -> Task:
    return Task(id="", ref=EventRef(name, version), attrs=a, attempts=n)


leaves = st.builds(_task, names, versions, attrs, attempts)


def _wrap(block: Block) -> Block:
    """Put a Group around blocks that cannot sit where they are unbracketed."""
    return Group(id="", body=block) if isinstance(block, Sequence | Parallel) else block


def _block(draw: st.DrawFn, depth: int) -> Block:
    """A random block in a shape the parser can produce (ids filled in later).

    A plain recursive helper rather than st.recursive: the latter's repr is
    tens of kilobytes, which hypothesis warns about on every run.
    """
    kind = draw(st.sampled_from(["task", "sequence", "parallel", "group", "branches"]))
    if depth == 0 or kind == "task":
        return draw(leaves)
    if kind == "sequence":
        count = draw(st.integers(2, 4))
        steps = [_block(draw, depth - 1) for _ in range(count)]
        steps = [Group(id="", body=s) if isinstance(s, Sequence) else s for s in steps]
        pipes = tuple(draw(st.booleans()) for _ in range(count - 1))
        return Sequence(steps=tuple(steps), pipes=pipes)
    if kind == "parallel":
        count = draw(st.integers(2, 4))
        return Parallel(members=tuple(_wrap(_block(draw, depth - 1)) for _ in range(count)))
    if kind == "group":
        return Group(
            id="",
            body=_block(draw, depth - 1),
            bracket=draw(st.sampled_from("{(")),
            attrs=draw(attrs),
            attempts=draw(attempts),
        )
    owner = _wrap(_block(draw, depth - 1))
    assert isinstance(owner, Task | Group)
    descriptors = draw(st.lists(st.integers(0, 9), min_size=1, max_size=3, unique=True))
    branches = tuple(Branch(d, _block(draw, depth - 1), draw(st.booleans())) for d in descriptors)
    return dataclasses.replace(owner, branches=branches)


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
    root = _block(draw, depth=draw(st.integers(0, 4)))
    return Graph(root=_number(root), directives=draw(directives))


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

"""Long chains and wide groups parse and format without recursion limits."""

from __future__ import annotations

import sys

from volnux.dsl import format_graph, parse
from volnux.graph.model import Branch, Group, Parallel, Sequence, Task, iter_blocks


def test_chain_of_100k_events_is_one_flat_sequence() -> None:
    n = 100_000
    graph = parse(" -> ".join(["A"] * n))
    root = graph.root
    assert isinstance(root, Sequence)
    assert len(root.steps) == n
    assert root.pipes == (False,) * (n - 1)
    assert all(isinstance(step, Task) for step in root.steps)
    assert [t.id for t in graph.tasks()[:: n - 1]] == ["A", f"A#{n}"]
    text = format_graph(graph)
    assert text == " -> ".join(["A"] * n) + "\n"


def test_mixed_arrows_over_a_long_chain() -> None:
    n = 20_000
    text = "".join(f"E{i} {'|->' if i % 2 else '->'} " for i in range(n)) + "End"
    root = parse(text).root
    assert isinstance(root, Sequence)
    assert len(root.steps) == n + 1
    assert root.pipes == tuple(bool(i % 2) for i in range(n))


def test_parallel_group_10k_wide() -> None:
    n = 10_000
    graph = parse(" || ".join(["A"] * n))
    root = graph.root
    assert isinstance(root, Parallel)
    assert len(root.members) == n
    assert format_graph(graph) == " || ".join(["A"] * n) + "\n"


def test_deep_nesting_needs_no_recursion() -> None:
    depth = sys.getrecursionlimit() + 500
    graph = parse("{" * depth + "A" + "}" * depth)
    # Walk down without recursion: each group wraps the next.
    block = graph.root
    for level in range(1, depth + 1):
        assert isinstance(block, Group) and block.id == f"group:{level}"
        block = block.body
    assert block == graph.tasks()[0]
    assert format_graph(graph) == "{" * depth + "A" + "}" * depth + "\n"


def test_deeply_nested_branches() -> None:
    depth = sys.getrecursionlimit() + 500
    graph = parse("A (0 -> " * depth + "B" + ")" * depth)
    assert len(list(iter_blocks(graph.root))) == depth + 1
    block = graph.root
    for _ in range(depth):
        assert isinstance(block, Task) and len(block.branches) == 1
        branch: Branch = block.branches[0]
        block = branch.body
    assert block == graph.task("B")
    assert format_graph(graph) == "A (0 -> " * depth + "B" + ")" * depth + "\n"

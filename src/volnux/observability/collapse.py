"""Keeping big pictures readable: many identical tasks become one box with counts.

A *run* of identical tasks (same event reference, attributes and retries, no
branches of their own) is replaced by one stand-in task when it has at least
``threshold`` members:

* consecutive steps of a chain (``Noop -> Noop -> ... -> Noop``), and
* members of one parallel group (``Noop || Noop || ... || Noop``).

The stand-in's id is ``FIRST..LAST`` (its first and last member's ids), so it
never clashes with a real node.  :func:`collapse` returns the new graph and,
for each stand-in, its members; the DOT export labels it ``Noop \u00d710,000 in
parallel`` and, for a run, counts its members' states.

Like the DOT export, it walks the graph with an explicit stack: a chain of
any length and nesting of any depth are fine.  The last few graphs collapsed
are remembered (by their root, which graphs never change): a live picture of
a 100,000-task run redraws its states, not its shape (0.5-1 s).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from ..graph import Block, Branch, Graph, Group, Parallel, Sequence, Task, children

__all__ = [
    "COLLAPSE_AT",
    "HANDLED",
    "STATE_WORDS",
    "Collapsed",
    "collapse",
    "member_states",
    "summarise",
    "summarise_states",
]

#: Default threshold: this many identical tasks in a row (or side by side) collapse.
COLLAPSE_AT = 10

#: A failed task whose failure a ``0`` branch took: the run went on.
HANDLED = "handled"
#: How a state reads in a count or a legend, where not as its name.
STATE_WORDS: Mapping[str, str] = {HANDLED: "failed (handled)"}

#: The order states are counted in, and (first present wins) the stand-in's colour.
_COLOUR_ORDER = ("failed", "retrying", "running", HANDLED, "pending", "succeeded", "skipped")
_COUNT_ORDER = ("succeeded", "failed", HANDLED, "retrying", "running", "pending", "skipped")


@dataclass(frozen=True, slots=True)
class Collapsed:
    """One stand-in: the node ids it replaces and how they were arranged."""

    members: tuple[str, ...]
    #: ``"in a row"`` (a chain) or ``"in parallel"``.
    arrangement: str


#: How many collapsed graphs are remembered (each keeps its graph: 35 MB at 100,000 tasks).
REMEMBERED = 2
# (id of the root, threshold) -> (the root, the collapsed root, its stand-ins).
_remembered: OrderedDict[tuple[int, int], tuple[Block, Block, dict[str, Collapsed]]]
_remembered = OrderedDict()
_lock = threading.Lock()


def collapse(graph: Graph, threshold: int = COLLAPSE_AT) -> tuple[Graph, dict[str, Collapsed]]:
    """``graph`` with long runs of identical tasks replaced; and what each stand-in
    holds (shared with later calls: not to be changed)."""
    if threshold < 2:
        raise ValueError(f"the collapse threshold must be at least 2, got {threshold}")
    key = (id(graph.root), threshold)
    with _lock:
        kept = _remembered.get(key)
        if kept is not None and kept[0] is graph.root:
            _remembered.move_to_end(key)
    if kept is None or kept[0] is not graph.root:
        root, stand_ins = _collapse(graph.root, threshold)
        with _lock:
            _remembered[key] = (graph.root, root, stand_ins)
            while len(_remembered) > REMEMBERED:
                _remembered.popitem(last=False)
    else:
        root, stand_ins = kept[1], kept[2]
    if not stand_ins:
        return graph, {}
    return Graph(root, graph.directives, graph.source, graph.filename), stand_ins


def _collapse(top: Block, threshold: int) -> tuple[Block, dict[str, Collapsed]]:
    stand_ins: dict[str, Collapsed] = {}
    done: dict[int, Block] = {}
    stack: list[tuple[Block, bool]] = [(top, False)]
    while stack:
        block, children_done = stack.pop()
        if not children_done:
            stack.append((block, True))
            stack.extend((child, False) for child in children(block))
            continue
        done[id(block)] = _rebuild(block, done, threshold, stand_ins)
    return done[id(top)], stand_ins


def summarise_states(states: list[str]) -> tuple[str, str]:
    """The stand-in's colour state and its count line (``9,998 succeeded, 2 failed``)."""
    counts = {s: states.count(s) for s in _COUNT_ORDER}
    colour = next((s for s in _COLOUR_ORDER if counts[s]), "pending")
    line = ", ".join(f"{counts[s]:,} {STATE_WORDS.get(s, s)}" for s in _COUNT_ORDER if counts[s])
    return colour, line


def _key(block: Block) -> tuple[object, ...] | None:
    """What makes tasks identical for collapsing; None for what never collapses."""
    if isinstance(block, Task) and not block.branches:
        return (block.ref, block.attrs, block.attempts)
    return None


def _stand_in(run: list[Task], arrangement: str, stand_ins: dict[str, Collapsed]) -> Task:
    first = run[0]
    node_id = f"{first.id}..{run[-1].id}"
    stand_ins[node_id] = Collapsed(tuple(t.id for t in run), arrangement)
    return Task(node_id, first.ref, first.attrs, first.attempts, (), first.pos)


def _rebuild(
    block: Block, done: dict[int, Block], threshold: int, stand_ins: dict[str, Collapsed]
) -> Block:
    if isinstance(block, Task):
        if not block.branches:
            return block
        branches = tuple(
            Branch(b.descriptor, done.pop(id(b.body)), b.pipe, b.pos) for b in block.branches
        )
        return Task(block.id, block.ref, block.attrs, block.attempts, branches, block.pos)
    if isinstance(block, Group):
        body = done.pop(id(block.body))
        branches = tuple(
            Branch(b.descriptor, done.pop(id(b.body)), b.pipe, b.pos) for b in block.branches
        )
        return Group(
            block.id, body, block.attrs, block.attempts, branches, block.pos, block.bracket
        )
    if isinstance(block, Sequence):
        return _rebuild_sequence(block, done, threshold, stand_ins)
    return _rebuild_parallel(block, done, threshold, stand_ins)


def _rebuild_sequence(
    seq: Sequence, done: dict[int, Block], threshold: int, stand_ins: dict[str, Collapsed]
) -> Block:
    steps = [done.pop(id(s)) for s in seq.steps]
    out_steps: list[Block] = []
    out_pipes: list[bool] = []
    i = 0
    while i < len(steps):
        key = _key(steps[i])
        j = i + 1
        while key is not None and j < len(steps) and _key(steps[j]) == key:
            j += 1
        if i:
            out_pipes.append(seq.pipes[i - 1])  # the pipe into this step (or run) stays
        if key is not None and j - i >= threshold:
            run = [s for s in steps[i:j] if isinstance(s, Task)]
            out_steps.append(_stand_in(run, "in a row", stand_ins))
            i = j
        else:
            out_steps.append(steps[i])
            i += 1
    if len(out_steps) == 1:
        return out_steps[0]
    return Sequence(tuple(out_steps), tuple(out_pipes))


def _rebuild_parallel(
    par: Parallel, done: dict[int, Block], threshold: int, stand_ins: dict[str, Collapsed]
) -> Block:
    members = [done.pop(id(m)) for m in par.members]
    alike: dict[tuple[object, ...], list[Task]] = {}
    for member in members:
        key = _key(member)
        if key is not None and isinstance(member, Task):
            alike.setdefault(key, []).append(member)
    big = {key: run for key, run in alike.items() if len(run) >= threshold}
    if not big:
        return Parallel(tuple(members))
    out: list[Block] = []
    for member in members:
        key = _key(member)
        if key in big and key is not None:
            run = big[key]
            if member is run[0]:  # the stand-in takes its first member's place
                out.append(_stand_in(run, "in parallel", stand_ins))
            continue
        out.append(member)
    return out[0] if len(out) == 1 else Parallel(tuple(out))


def member_states(stand_in: Collapsed, states: Mapping[str, str]) -> list[str]:
    """The states of a stand-in's members (``pending`` for one with no state)."""
    return [states.get(m, "pending") for m in stand_in.members]


def summarise(
    stand_ins: Mapping[str, Collapsed],
    states: Mapping[str, str] | None,
    notes: Mapping[str, str] | None,
) -> tuple[dict[str, str] | None, dict[str, str]]:
    """``states`` and ``notes`` with each stand-in's colour and count line added."""
    new_notes = dict(notes or {})
    if states is None:
        return None, new_notes
    new_states = dict(states)
    for node_id, stand_in in stand_ins.items():
        colour, counts = summarise_states(member_states(stand_in, states))
        new_states[node_id] = colour
        new_notes[node_id] = counts
    return new_states, new_notes

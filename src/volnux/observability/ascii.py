"""A workflow or a run as text for the terminal: ``volnux graph -f ascii``.

The picture reads top to bottom, in plain ASCII so that it survives any
terminal, log file or e-mail::

    Fetch                succeeded, 1 attempt, 0.01s
    | piped
    +-- Price            succeeded, 1 attempt, 0.20s
    `-- Check            succeeded, 1 attempt, 0.00s
    |
    Check (Check#2)      succeeded, 1 attempt, 0.00s
    +-- 0 -> Notify      skipped
    `-- 1 -> Charge * 2  failed, 2 attempts, 0.02s

* the steps of a chain are stacked, joined by ``|`` (``| piped`` for ``|->``);
* the members of a parallel group (``||``) hang from ``+--`` and ``\\`--``;
* a task's branches follow it as ``+-- 0 -> Body`` (``|->`` when piped);
* a group with attributes, retries or branches opens with its bracket, id
  and attributes, its body is set in by ``: ``, and it closes with its
  bracket and retries (brackets that only group draw nothing);
* retries and attributes read as in the language (``Charge * 3``,
  ``[timeout=5]``); a task's node id follows in brackets when it differs
  from the event's name; long runs of identical tasks are one line with a
  count, as in the DOT picture (see :mod:`.collapse`).

With ``states`` each task's line ends in its state (or its ``notes``: the
state, attempts and time of a run), lined up in a column.
:func:`ascii_lines` keeps the state each piece shows, so that the CLI can
colour it on a terminal.  Lines are laid out top-down from an explicit
stack: a chain of any length and nesting of any depth are fine, and the
work is proportional to the text drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..graph import Block, Branch, Graph, Group, Sequence, Task
from .collapse import STATE_WORDS, Collapsed, summarise
from .collapse import collapse as collapse_graph
from .dot import format_attrs

__all__ = ["Piece", "ascii_lines", "to_ascii"]

#: Notes line up in a column at most this far from the left edge.
NOTE_COLUMN_MAX = 56


class Piece(NamedTuple):
    """Part of a line: its text, and the state it shows (``""``: drawing, no task)."""

    text: str
    state: str = ""


class _Line(NamedTuple):
    prefix: str
    label: Piece
    note: Piece | None = None


def to_ascii(
    graph: Graph,
    *,
    states: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    collapse: int | None = None,
) -> str:
    """The graph as plain text, a task a line (see the module's docstring)."""
    lines = ascii_lines(graph, states=states, notes=notes, collapse=collapse)
    return "".join("".join(piece.text for piece in line) + "\n" for line in lines)


def ascii_lines(
    graph: Graph,
    *,
    states: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    collapse: int | None = None,
) -> list[list[Piece]]:
    """The picture's lines as pieces, each tagged with the state it shows."""
    stand_ins: dict[str, Collapsed] = {}
    if collapse is not None:
        graph, stand_ins = collapse_graph(graph, collapse)
    if stand_ins:
        states, notes = summarise(stand_ins, states, notes)
    lines = _lay_out(graph.root, states or {}, notes or {}, stand_ins)
    noted = [_width(line) for line in lines if line.note is not None]
    column = min(NOTE_COLUMN_MAX, max(noted, default=0)) + 2
    out: list[list[Piece]] = []
    for line in lines:
        pieces = [Piece(line.prefix), line.label] if line.prefix else [line.label]
        if line.note is not None:
            pieces += [Piece(" " * max(2, column - _width(line))), line.note]
        out.append(pieces)
    return out


def _width(line: _Line) -> int:
    return len(line.prefix) + len(line.label.text)


# What the layout stack holds: a block to lay out with the prefix of its first
# line and of the rest, or a finished line.
_Item = tuple[Block, str, str] | _Line


def _lay_out(
    root: Block,
    states: Mapping[str, str],
    notes: Mapping[str, str],
    stand_ins: Mapping[str, Collapsed],
) -> list[_Line]:
    """Every line, top-down: each block pushes its pieces in reverse order."""
    lines: list[_Line] = []
    stack: list[_Item] = [(root, "", "")]
    while stack:
        item = stack.pop()
        if isinstance(item, _Line):
            lines.append(item)
            continue
        block, first, rest = item
        todo: list[_Item]
        if isinstance(block, Task):
            label = _task_label(block, stand_ins.get(block.id))
            state = states.get(block.id, "")
            todo = [_Line(first, Piece(label, state), _note(block.id, state, notes))]
            todo += _branches(block.branches, rest)
        elif isinstance(block, Group) and not (block.attrs or block.attempts or block.branches):
            todo = [(block.body, first, rest)]  # brackets that only group: no frame
        elif isinstance(block, Group):
            todo = _group(block, first, rest, states, notes)
        elif isinstance(block, Sequence):
            todo = [(block.steps[0], first, rest)]
            for pipe, step in zip(block.pipes, block.steps[1:], strict=True):
                todo += [_Line(rest, Piece("| piped" if pipe else "|")), (step, rest, rest)]
        else:
            todo = _hang(list(block.members), ["+-- "] * len(block.members), first, rest)
        stack.extend(reversed(todo))
    return lines


def _task_label(task: Task, stand_in: Collapsed | None) -> str:
    if stand_in is not None:
        # Retries are left out: "* 3" would read as a count next to the member count.
        members = stand_in.members
        return (
            f"{task.ref} x{len(members):,} {stand_in.arrangement} ({members[0]} ... {members[-1]})"
        )
    label = str(task.ref) + (f" ({task.id})" if task.id != task.ref.name else "")
    if task.attrs:
        label += " " + format_attrs(task.attrs)
    return label + (f" * {task.attempts}" if task.attempts else "")


def _note(node_id: str, state: str, notes: Mapping[str, str]) -> Piece | None:
    text = notes.get(node_id) or STATE_WORDS.get(state, state)
    return Piece(text.replace("\n", "; "), state) if text else None


def _group(
    group: Group,
    first: str,
    rest: str,
    states: Mapping[str, str],
    notes: Mapping[str, str],
) -> list[_Item]:
    state = states.get(group.id, "")
    head = f"{group.bracket} {group.id}"
    if group.attrs:
        head += " " + format_attrs(group.attrs)
    closing = ("}" if group.bracket == "{" else ")") + (
        f" * {group.attempts}" if group.attempts else ""
    )
    return [
        _Line(first, Piece(head, state), _note(group.id, state, notes)),
        (group.body, rest + ": ", rest + ": "),
        _Line(rest, Piece(closing, state)),
        *_branches(group.branches, rest),
    ]


def _branches(branches: tuple[Branch, ...], rest: str) -> list[_Item]:
    heads = [f"+-- {b.descriptor} {'|->' if b.pipe else '->'} " for b in branches]
    return _hang([b.body for b in branches], heads, rest, rest)


def _hang(parts: list[Block], heads: list[str], first: str, rest: str) -> list[_Item]:
    """``parts`` hung from a rail: ``head`` before each, ``\\`--`` before the last.

    The first part's first line continues the caller's ``first`` prefix; the
    lines under a part carry the rail (``|``), or blanks under the last part.
    """
    todo: list[_Item] = []
    for i, (part, head) in enumerate(zip(parts, heads, strict=True)):
        last = i == len(parts) - 1
        if last:
            head = "`" + head[1:]
        under = " " * len(head) if last else "|".ljust(len(head))
        todo.append((part, (first if i == 0 else rest) + head, rest + under))
    return todo

"""Pictures of workflows and runs: DOT for a run, SVG for notebooks.

A run's picture is its workflow's graph with each task filled by its state
and labelled with its state, attempts and duration; the path not taken is
greyed out; long runs of identical tasks are one box with counts.  Without
the graph (a run whose workflow text is gone) the tasks alone are drawn, in
the order they started.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Collection, Mapping
from typing import Protocol

from ..errors import RenderError
from ..graph import EventRef, Graph, Sequence, Task
from .ascii import Piece, ascii_lines
from .collapse import COLLAPSE_AT, HANDLED, STATE_WORDS
from .dot import STATE_COLOURS, to_dot
from .render import render

__all__ = ["TaskLike", "run_ascii", "run_dot", "run_states", "svg_or_none", "task_note"]

log = logging.getLogger("volnux.observability")


class TaskLike(Protocol):
    """What a picture needs of a task (``volnux.TaskView`` has it)."""

    @property
    def node_id(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def started_at(self) -> float | None: ...
    @property
    def duration(self) -> float | None: ...


def task_note(task: TaskLike, state: str | None = None) -> str:
    """``succeeded, 2 attempts, 0.31s`` (``, on gpu 0`` for a GPU event): the line a
    run's picture adds to a task.

    ``state`` overrides the task's own (``handled`` for a failure a branch took).
    """
    state = state or str(task.state)
    parts = [STATE_WORDS.get(state, state)]
    if task.attempts:
        parts.append(f"{task.attempts} attempt{'s' if task.attempts != 1 else ''}")
    if task.duration is not None:
        parts.append(_seconds(task.duration))
    # Where a GPU event's last attempt ran (a TaskView has it; other task-likes may not).
    placement = getattr(task, "placement", None)
    if placement:
        parts.append(f"on {placement}")
    return ", ".join(parts)


def run_dot(
    graph: Graph | None,
    tasks: Mapping[str, TaskLike],
    *,
    title: str = "",
    collapse: int | None = COLLAPSE_AT,
    failed_nodes: Collection[str] | None = None,
    changed: Mapping[str, str] | None = None,
) -> str:
    """DOT text of a run: ``graph`` coloured by the tasks' states (or the tasks alone).

    ``failed_nodes`` are the tasks whose failure failed the run (``Run.failed_nodes``
    of a run that ended): every other failed task's failure was handled, and
    is drawn so.  None draws every failure alike (a run still going on).
    ``changed`` (node id -> text) adds a line to a task's label: how it changed
    when the run was resumed.
    """
    states, notes = run_states(tasks, failed_nodes, changed)
    if graph is not None:
        if title:
            graph = Graph(graph.root, graph.directives, graph.source, title)
        return to_dot(graph, states=states, notes=notes, collapse=collapse)
    return _tasks_only(tasks, title, states, notes)


def run_ascii(
    graph: Graph | None,
    tasks: Mapping[str, TaskLike],
    *,
    collapse: int | None = COLLAPSE_AT,
    failed_nodes: Collection[str] | None = None,
    changed: Mapping[str, str] | None = None,
) -> list[list[Piece]]:
    """A run as text lines (see :mod:`.ascii`), each task ending in its state, attempts and time.

    The arguments are :func:`run_dot`'s.  Without the graph the tasks are a
    chain in the order they started: the order, not the graph.
    """
    states, notes = run_states(tasks, failed_nodes, changed)
    if graph is None:
        ordered = _in_start_order(tasks)
        if not ordered:
            return []
        steps = tuple(Task(t.node_id, EventRef(t.event)) for t in ordered)
        root = steps[0] if len(steps) == 1 else Sequence(steps, (False,) * (len(steps) - 1))
        graph = Graph(root)
    return ascii_lines(graph, states=states, notes=notes, collapse=collapse)


def run_states(
    tasks: Mapping[str, TaskLike],
    failed_nodes: Collection[str] | None = None,
    changed: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Each task's state (``handled`` for a failure that did not fail the run) and note."""
    states = {node: str(t.state) for node, t in tasks.items()}
    if failed_nodes is not None:
        culprits = set(failed_nodes)
        states.update(
            (node, HANDLED) for node, s in states.items() if s == "failed" and node not in culprits
        )
    notes = {node: task_note(t, states[node]) for node, t in tasks.items()}
    for node, text in (changed or {}).items():
        if node in notes:
            notes[node] += "\n" + text
    return states, notes


def _in_start_order(tasks: Mapping[str, TaskLike]) -> list[TaskLike]:
    """The tasks that started, in the order they did, then the rest."""
    started = sorted(
        (t for t in tasks.values() if t.started_at is not None),
        key=lambda t: t.started_at or 0.0,
    )
    return [*started, *(t for t in tasks.values() if t.started_at is None)]


def svg_or_none(dot: str) -> str | None:
    """``dot`` as SVG text; None (logged) when Graphviz cannot draw it (notebook reprs)."""
    try:
        return render(dot, "svg").decode("utf-8")
    except RenderError as exc:
        log.warning("no picture: %s", exc)
        return None


def _tasks_only(
    tasks: Mapping[str, TaskLike],
    title: str,
    states: Mapping[str, str],
    notes: Mapping[str, str],
) -> str:
    """The tasks as boxes in start order, joined by grey arrows: the order, not the graph."""
    ordered = _in_start_order(tasks)
    label = _escape(f"{title} (tasks only: the workflow text is not available)")
    lines = [
        "digraph run {",
        f'  graph [rankdir=LR, fontname="Helvetica", label="{label}", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [color="#bbbbbb", arrowhead=none];',
    ]
    for t in ordered:
        fill = STATE_COLOURS.get(states[t.node_id], "#ffffff")
        text = "\\n".join(_escape(p) for p in (t.event, t.node_id, notes[t.node_id]))
        lines.append(f'  "{_escape(t.node_id)}" [label="{text}", fillcolor="{fill}"];')
    started = [t for t in ordered if t.started_at is not None]
    for a, b in itertools.pairwise(started):
        lines.append(f'  "{_escape(a.node_id)}" -> "{_escape(b.node_id)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

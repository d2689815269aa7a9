"""The picture of a big run, drawn from the journal's task index.

A run of more than ``BIG_RUN`` tasks that the index shows (running,
succeeded, pending) is drawn from each task's latest state as the index
keeps it, not from the whole run loaded and folded again (0.7 s for
100,000 tasks); its workflow is parsed once and its shape collapsed once
(both remembered); only the tasks still drawn after collapsing get a label
of their own.  A run that ended is the same picture until it changes
again: the last few are kept as DOT text.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Collection
from functools import lru_cache
from typing import Any, Final

from ..errors import PointyError
from ..graph import Graph
from ..observability.collapse import HANDLED
from ..observability.collapse import collapse as collapse_graph
from ..observability.dot import to_dot
from ..observability.pictures import task_note
from ..states import RunState, TaskState
from ..store import Journal, RunRecord, TaskRow
from .api import ENDED_STATES

__all__ = ["big_run_dot"]

#: How many ended runs' pictures are kept.
KEPT: Final = 8

_STATE_TEXT: Final = {state: state.value for state in TaskState}

_kept: OrderedDict[tuple[str, float, int | None], str] = OrderedDict()
_lock = threading.Lock()


def big_run_dot(
    journal: Journal,
    record: RunRecord,
    collapse: int | None,
    all_rows: int,
    unhandled: Collection[str] | None,
) -> str | None:
    """DOT text of ``record``'s run from the task index; None where the index or
    the workflow's text cannot say (the caller draws it from the whole run).

    ``unhandled`` are the tasks whose failure failed the run; every other
    failure is drawn as handled (None: every failure alike, as for a run that
    goes on: ``Run.unhandled``)."""
    ended = record.state is not RunState.RUNNING
    key = (record.id, record.updated_at, collapse)
    if ended:
        with _lock:
            dot = _kept.get(key)
            if dot is not None:
                _kept.move_to_end(key)
                return dot
    rows: list[TaskRow] | None = journal.task_rows(  # type: ignore[attr-defined]
        record.id, None, 0, all_rows
    )
    graph = _parsed(record.text, record.filename)
    if rows is None or graph is None:
        return None
    text = _STATE_TEXT
    states = {row[0]: text[row[2]] for row in rows}  # (node, state: by position, for speed)
    if unhandled is not None:
        culprits = set(unhandled)
        states.update(
            (node, HANDLED) for node, s in states.items() if s == "failed" and node not in culprits
        )
    members: set[str] = set()
    if collapse is not None:
        for stand_in in collapse_graph(graph, collapse)[1].values():
            members.update(stand_in.members)
    notes = {
        row.node_id: task_note(_Row(row, record), states[row.node_id])
        for row in rows
        if row.node_id not in members
    }
    for node in record.events:  # never started: pending, as a whole run's view says
        if node not in states:
            states[node] = "pending"
            if node not in members:
                notes[node] = "pending"
    title = f"{record.workflow}: run {record.id} {record.state.value}"
    titled = Graph(graph.root, graph.directives, graph.source, title)
    dot = to_dot(titled, states=states, notes=notes, collapse=collapse)
    if ended:
        with _lock:
            _kept[key] = dot
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    return dot


@lru_cache(maxsize=2)  # (a 100,000-task workflow parsed is about 35 MB)
def _parsed(text: str, filename: str) -> Graph | None:
    from ..dsl import parse

    with contextlib.suppress(PointyError):
        return parse(text, filename)
    return None


class _Row:
    """A task index row as a picture reads a task (:class:`~volnux.observability.TaskLike`)."""

    __slots__ = ("attempts", "duration", "event", "node_id", "placement", "started_at", "state")

    def __init__(self, row: TaskRow, record: RunRecord) -> None:
        pin = record.events.get(row.node_id)
        begun = row.attempt > 0  # (a task skipped before it ran has no attempt)
        self.node_id = row.node_id
        self.event = f"{pin.name}@{pin.version}" if pin else ""
        self.state: Any = row.state.value
        self.attempts = row.attempt
        self.started_at = row.started_at if begun else None
        ended = begun and row.state.value in ENDED_STATES
        self.duration = row.at - row.started_at if ended else None
        self.placement = None

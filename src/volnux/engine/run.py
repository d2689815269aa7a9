"""What a run looks like from outside: :class:`Run` and :class:`TaskView`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..graph import Graph
from ..states import RunState, TaskState
from ..store import ErrorInfo
from ..store.results import value_of

__all__ = ["Run", "TaskView"]


@dataclass(slots=True)
class TaskView:
    """One task of a run: where it stands and what it produced."""

    node_id: str
    event: str
    state: TaskState = TaskState.PENDING
    attempts: int = 0
    round: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    result: Any = None
    error: ErrorInfo | None = None
    descriptor: int | None = None
    interrupted: int = 0
    #: Where its last attempt ran, for an event that wants a GPU: ``gpu 0``,
    #: ``gpus 0,1``, ``cpu (fallback: none free after 2s)``; None for the others.
    placement: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from the first attempt's start to the end, if it ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(slots=True)
class Run:
    """One execution of a workflow."""

    id: str
    workflow: str
    state: RunState
    tasks: dict[str, TaskView]
    error: str | None = None
    #: Node ids whose unhandled failure failed the run.
    failed_nodes: tuple[str, ...] = ()
    created_at: float = 0.0
    ended_at: float | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    #: The graph the run followed, when known (for pictures of the run).
    graph: Graph | None = field(default=None, repr=False, compare=False)
    #: Tasks whose attempts, given up after their timeout, still ran when the run
    #: ended (on threads, which cannot be stopped): their results are not recorded.
    abandoned: tuple[str, ...] = ()
    #: Node id -> the items that failed in the task's success ((key, why), ...),
    #: for the tasks whose event returned a ``volnux.Partial``.
    failed_items: dict[str, tuple[tuple[Any, str], ...]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """The state as a plain string: ``"succeeded"``, ``"failed"`` ..."""
        return self.state.value

    @property
    def succeeded(self) -> bool:
        """True when the run ended SUCCEEDED."""
        return self.state is RunState.SUCCEEDED

    @property
    def results(self) -> dict[str, Any]:
        """Node id to result, for every task that succeeded.

        Results kept in the result store are read from it (and checked); to
        read just one, use :meth:`result`.
        """
        return {
            node_id: value_of(view.result)
            for node_id, view in self.tasks.items()
            if view.state is TaskState.SUCCEEDED
        }

    def result(self, node_id: str) -> Any:
        """The result of task ``node_id`` (read from the result store if kept there).

        Raises ``KeyError`` for a node the run does not have.
        """
        return value_of(self.tasks[node_id].result)

    def failed_tasks(self) -> list[TaskView]:
        """Tasks whose last attempt failed (handled or not), in source order."""
        return [v for v in self.tasks.values() if v.state is TaskState.FAILED]

    def _repr_svg_(self) -> str | None:
        """The run as SVG for Jupyter: tasks coloured by state (None without Graphviz)."""
        from ..observability.pictures import run_dot, svg_or_none

        title = f"{self.workflow}: run {self.id} {self.status}"
        dot = run_dot(self.graph, self.tasks, title=title, failed_nodes=self.unhandled())
        return svg_or_none(dot)

    def unhandled(self) -> tuple[str, ...] | None:
        """The tasks whose failure failed the run, once that is known.

        Every other failed task's failure was handled (a ``0`` branch took it,
        or its group's strategy let it pass).  None while the run goes on (a
        failure may yet be taken by a branch), and for a failed run that does
        not name them (recorded by an older version).
        """
        if self.state is RunState.RUNNING:
            return None
        if self.state is RunState.FAILED and not self.failed_nodes:
            return None
        return self.failed_nodes

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.workflow} {self.status} tasks={len(self.tasks)}>"

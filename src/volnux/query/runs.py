"""Runs as the journal has them: a line per run, or one run in full, loaded once."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..batch.summary import BATCH_KINDS, Summarizer
from ..engine.owners import Owner, first_owner, last_owner
from ..engine.recovery import Recorded, Rehydrated, failed_nodes, gc_paused, recorded, rehydrate
from ..engine.run import Run, TaskView
from ..engine.runner import earlier_failed_items
from ..errors import PointyError, RunNotFound, StoreError
from ..graph import Graph
from ..notes import (
    Changed,
    Operator,
    PoolResized,
    Resumed,
    RunNote,
    Scheduled,
    SubWorkflow,
    WebAction,
    WorkflowUnit,
    kinds_of,
)
from ..states import RunState, TaskState
from ..store import EventPin, Journal, LogEntry, RunRecord

#: A note detail's type (see :func:`noted`).
Noted = TypeVar("Noted")

__all__ = [
    "ChangeSet",
    "ResumePlan",
    "RunDetail",
    "RunSummary",
    "describe_run",
    "list_runs",
    "notes_read",
    "recorded_workflow_path",
    "resolve_run_id",
    "resume_plan",
]


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """How the workflow had changed when the run was resumed or retried."""

    at: float
    #: ``"resume"`` or ``"retry"``: the command that found the change.
    verb: str
    #: True when a change touched a task that had started, and ``--force`` took it.
    forced: bool
    #: The changed node ids.
    nodes: tuple[str, ...]
    #: One line per change, as the refusal (or the note) said it.
    lines: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """As plain JSON data (``volnux runs show --json``'s ``changes``)."""
        return {
            "at": self.at,
            "verb": self.verb,
            "forced": self.forced,
            "nodes": list(self.nodes),
            "changes": list(self.lines),
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run in a list: what ran, how it stands, and the task that failed it."""

    id: str
    workflow: str
    state: RunState
    created_at: float
    ended_at: float | None
    error: str | None
    #: The first task whose failure failed the run (None unless it failed).
    failed_task: str | None
    #: A batch run's progress (``412/1000 batches (3 failed)``); None for other runs.
    batches: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, once it ended."""
        return None if self.ended_at is None else self.ended_at - self.created_at


def resolve_run_id(journal: Journal, text: str) -> str:
    """The run ``text`` names: its whole id, or the start of exactly one run's id.

    :class:`RunNotFound` when none matches; a :class:`StoreError` listing the
    candidates when the start is shared (give more of it).
    """
    found = journal.run_ids(text, 11) if text else []
    if text in found or len(found) == 1:
        return text if text in found else found[0]
    if not found:
        raise RunNotFound(text, journal.location)
    shown = ", ".join(found[:10]) + (", ..." if len(found) > 10 else "")
    raise StoreError(
        f"run id {text!r} is the start of {'more than 10' if len(found) > 10 else len(found)} "
        f"runs' ids in {journal.location}: {shown}; give more of it"
    )


def list_runs(journal: Journal, limit: int = 50, *, parts: bool = False) -> list[RunSummary]:
    """The newest runs first, each with its failing task (from its notes, not its text).

    A batch run is one line with its progress; its batches' runs are listed
    only with ``parts``.
    """
    return [run_summary(journal, record) for record in journal.list_runs(limit, parts=parts)]


def run_summary(journal: Journal, record: RunRecord) -> RunSummary:
    """The line of ``record`` in a list of runs (its notes say the rest)."""
    failed: Sequence[str] = ()
    summarizer, notes = notes_read(journal, record)
    batches = summarizer.summary(running=record.state is RunState.RUNNING)
    if record.state is RunState.FAILED and batches is None:
        failed = failed_nodes(notes)
    return RunSummary(
        record.id,
        record.workflow,
        record.state,
        record.created_at,
        record.ended_at,
        record.error,
        failed[0] if failed else None,
        batches.progress() if batches is not None else None,
    )


#: Runs whose notes a reader keeps (journal, run, creation time) -> what they say.
_READ: OrderedDict[tuple[str, str, float], tuple[Summarizer, list[RunNote]]] = OrderedDict()
_READ_KEPT = 64
_READ_LOCK = threading.Lock()


def notes_read(journal: Journal, record: RunRecord) -> tuple[Summarizer, list[RunNote]]:
    """The run's notes as a reader that comes back needs them: a batch summarizer fed
    every note, and the notes other than the batches' (a few).

    Notes are only ever appended: from a journal that can read the notes after
    the first N (``load_notes_from``), a run read before is brought up to date
    with what was noted since, not read again (a batch run of 10,000 batches
    has 20,000 notes), and without the items of its batches (what an iterable's
    batch keeps to run again: a summary needs none).  The latest 64 runs read
    are kept.
    """
    key = (journal.location, record.id, record.created_at)
    read_from = getattr(journal, "load_notes_from", None)
    with _READ_LOCK:
        kept = _READ.get(key) if read_from is not None else None
        if kept is None:
            kept = (Summarizer(), [])
        elif read_from is not None:
            _READ.move_to_end(key)
        if read_from is None:
            notes = journal.load_notes(record.id)
        else:
            notes = read_from(record.id, kept[0].seen, batch_items=False)
        summarizer, others = kept
        summarizer.feed(notes)
        others.extend(n for n in notes if n.kind not in BATCH_KINDS)
        if read_from is not None:
            _READ[key] = kept
            while len(_READ) > _READ_KEPT:
                _READ.popitem(last=False)
        return summarizer, list(others)


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """What continuing a run would do, without doing it."""

    state: RunState
    #: Tasks whose outcome is journaled: not run again (unless a retry re-runs them).
    kept: list[str]
    #: Tasks cut off while running: they run again.
    interrupted: list[str]
    #: Failed tasks a retry runs again (empty unless the run failed).
    rerun: list[str]
    #: Tasks that have not started.
    pending: list[str]

    def as_dict(self) -> dict[str, Any]:
        """As plain JSON data (``volnux runs show --json``'s ``resume``)."""
        return {
            "state": self.state.value,
            "kept": self.kept,
            "interrupted": self.interrupted,
            "rerun": self.rerun,
            "pending": self.pending,
        }


def resume_plan(
    state: RunState,
    replay: Rehydrated,
    views: Iterable[TaskView],
    failed: Sequence[str],
) -> ResumePlan:
    """What resume (or, for a failed run, retry) would run again and keep."""
    return ResumePlan(
        state,
        sorted(n for (n, _round) in replay.outcomes),
        [n for n, _ in replay.interrupted],
        list(failed) if state is RunState.FAILED else [],
        [v.node_id for v in views if v.state is TaskState.PENDING],
    )


@dataclass
class RunDetail:
    """One run, loaded once: its record, notes, tasks and what continuing it would do."""

    record: RunRecord
    notes: list[RunNote]
    #: Every task in source order (the never-reached ones pending), failures, graph.
    run: Run
    #: What the run follows now: text, event pins and sources, as recorded.
    program: Recorded
    resume: ResumePlan
    #: The journal it came from (for what is read on demand: log lines).
    journal: Journal = field(repr=False)
    _unparsable: bool = field(default=False, repr=False)

    @property
    def id(self) -> str:
        """The run's id."""
        return self.record.id

    @property
    def pins(self) -> dict[str, EventPin]:
        """Node id -> the event code it runs now."""
        return self.program.pins

    def graph(self) -> Graph | None:
        """The workflow the run follows, parsed now (and kept, also as ``run.graph``).

        None when this version cannot parse its text.  Parsed on demand: a
        100,000-task workflow takes half a second to read back, and listing
        tasks needs only the recorded event pins, which are in source order.
        """
        from ..dsl import parse

        if self.run.graph is None and not self._unparsable:
            with gc_paused(), contextlib.suppress(PointyError):
                self.run.graph = parse(self.program.text, self.program.filename)
            self._unparsable = self.run.graph is None
        return self.run.graph

    @property
    def tasks(self) -> dict[str, TaskView]:
        """Node id -> task, in source order."""
        return self.run.tasks

    def counts(self) -> Counter[TaskState]:
        """How many tasks are in each state."""
        return Counter(v.state for v in self.run.tasks.values())

    def path(self) -> list[str]:
        """The tasks that started, in the order they first started."""
        started = [v for v in self.run.tasks.values() if v.started_at is not None]
        started.sort(key=lambda v: v.started_at or 0.0)
        return [v.node_id for v in started]

    def failed(self) -> list[TaskView]:
        """The tasks whose failure failed the run (empty unless it failed)."""
        return [self.run.tasks[n] for n in self.run.failed_nodes if n in self.run.tasks]

    def cut_off(self) -> list[TaskView]:
        """Tasks that were running when the run stopped, or were cut off by a crash before."""
        interrupted = set(self.resume.interrupted)
        return [
            v
            for v in self.run.tasks.values()
            if v.state in (TaskState.RUNNING, TaskState.RETRYING)
            or v.node_id in interrupted
            or v.interrupted
        ]

    def changes(self) -> list[ChangeSet]:
        """Each time the run went on with a changed workflow or event code, oldest first."""
        out: list[ChangeSet] = []
        pending: tuple[float, Changed] | None = None
        for note in self.notes:
            detail = note.read() if note.kind in _CHANGE_KINDS else None
            if isinstance(detail, Changed):
                pending = (note.at, detail)
            elif isinstance(detail, Resumed) and pending is not None:
                at, changed = pending
                verb = "retry" if detail.retry else "resume"
                nodes = changed.changed_nodes()
                out.append(ChangeSet(at, verb, changed.forced, nodes, changed.changes))
                pending = None
        return out

    def operator_actions(self) -> list[tuple[float, Operator]]:
        """Each rework an operator did (retry --from, skip, mark-succeeded), oldest first."""
        return noted(self.notes, Operator)

    def scheduled(self) -> Scheduled | None:
        """The schedule and slot that fired the run; None for a run started otherwise."""
        found = noted(self.notes, Scheduled)
        return found[0][1] if found else None

    def unit(self) -> WorkflowUnit | None:
        """The workflow unit (name, version, where found) the run is of; None for a file's."""
        found = noted(self.notes, WorkflowUnit)
        return found[0][1] if found else None

    def sub_workflows(self) -> list[dict[str, Any]]:
        """Each sub-workflow node (``<orders>``) with its latest child run: collapsed to
        ``node``, ``workflow``, ``child`` (None before one started), ``state``, ``children``."""
        from ..engine.subflows import child_prefix

        graph = self.graph()
        if graph is None:
            return []
        found = []
        for task in graph.tasks():
            if not task.workflow:
                continue
            prefix = child_prefix(self.id, task.id)
            ids = sorted(
                (i for i in self.journal.run_ids(prefix, limit=1_000_000)
                 if i[len(prefix):].isdigit()),
                key=lambda i: int(i[len(prefix):]),
            )  # fmt: skip
            child = ids[-1] if ids else None
            state = self.journal.load_run(child).state.value if child else None
            found.append(
                {"node": task.id, "workflow": str(task.ref), "child": child, "state": state,
                 "children": ids}
            )  # fmt: skip
        return found

    def part_of(self) -> SubWorkflow | None:
        """The sub-workflow node whose child run this is; None for other runs."""
        found = noted(self.notes, SubWorkflow)
        return found[-1][1] if found else None

    def web_actions(self) -> list[tuple[float, WebAction]]:
        """Each action asked through ``volnux serve`` (who, how, what), oldest first."""
        return noted(self.notes, WebAction)

    def pool_resizes(self) -> list[tuple[float, PoolResized]]:
        """Each size the run's pools took while it ran, and why, oldest first."""
        return noted(self.notes, PoolResized)

    def failed_items(self) -> dict[str, tuple[tuple[Any, str], ...]]:
        """Node id -> the items its event reported failed in its success (a Partial)."""
        return earlier_failed_items(self.notes)

    def first_owner(self) -> Owner | None:
        """Who started the run, as noted."""
        return first_owner(self.notes)

    def last_owner(self) -> Owner | None:
        """Who last started or continued the run, as noted."""
        return last_owner(self.notes)

    def logs(self, node_id: str | None = None) -> list[LogEntry]:
        """The log lines of one task (or all), read now."""
        return self.journal.logs(self.record.id, node_id)

    def failure_logs(self) -> dict[str, list[LogEntry]]:
        """The log lines of each task that failed the run."""
        return {node: self.logs(node) for node in self.run.failed_nodes}

    def workflow_path(self) -> Path | None:
        """The run's workflow file, if it still exists (a relative name as run from)."""
        return recorded_workflow_path(self.record, self.notes)


#: The note kinds :meth:`RunDetail.changes` reads.
_CHANGE_KINDS = kinds_of(Changed, Resumed)


def noted(notes: Sequence[RunNote], kind: type[Noted]) -> list[tuple[float, Noted]]:
    """``(at, detail)`` of each note of ``notes`` whose detail is a ``kind``, oldest first."""
    # Noted is one of the note details: mypy cannot see it through the TypeVar.
    wanted = kinds_of(kind)  # type: ignore[arg-type]
    out = []
    for note in notes:
        if note.kind in wanted:
            detail = note.read()
            if isinstance(detail, kind):
                out.append((note.at, detail))
    return out


def recorded_workflow_path(record: RunRecord, notes: Sequence[RunNote]) -> Path | None:
    """A run's workflow file, if it still exists (a relative name as the run was
    started from): from its record and notes alone, without its tasks."""
    filename = recorded(record, notes).filename
    if filename.startswith("<"):
        return None
    path = Path(filename)
    if not path.is_absolute():
        owner = first_owner(notes)
        base = Path(owner.cwd) if owner is not None and owner.cwd else Path.cwd()
        path = base / path
    return path if path.is_file() else None


def describe_run(journal: Journal, run_id: str) -> RunDetail:
    """Everything about ``run_id``, from one read of the journal (RunNotFound if none).

    The graph is parsed only when asked for (:meth:`RunDetail.graph`).
    """
    with gc_paused():  # a big run is a million objects, none in a cycle
        snapshot = journal.load(run_id)
        replay = rehydrate(snapshot)
        record, notes = snapshot.run, list(snapshot.notes)
        del snapshot  # its records are folded into the views: let them go
        program = recorded(record, notes)
        views = _in_source_order(program.pins, replay.views)
    failed = failed_nodes(notes) if record.state is RunState.FAILED else ()
    run = Run(
        id=record.id,
        workflow=record.workflow,
        state=record.state,
        tasks=views,
        error=record.error,
        failed_nodes=tuple(failed),
        created_at=record.created_at,
        ended_at=record.ended_at,
        inputs=record.inputs,
    )
    plan = resume_plan(record.state, replay, views.values(), failed)
    return RunDetail(record, notes, run, program, plan, journal)


def _in_source_order(pins: dict[str, EventPin], views: dict[str, TaskView]) -> dict[str, TaskView]:
    """Every task of the run in source order, pending where the journal has nothing.

    The journal only holds tasks that did something; a task downstream of a
    failure or a cancel has no record, yet is part of the run.  The recorded
    event pins name every task the run was planned with, in source order.
    """
    out: dict[str, TaskView] = {}
    get = views.get
    for node_id, pin in pins.items():
        view = get(node_id)
        out[node_id] = view if view is not None else TaskView(node_id, f"{pin.name}@{pin.version}")
    extra = views.keys() - out.keys()  # tasks the pins do not name (a text that changed)
    if extra:
        out.update((k, v) for k, v in views.items() if k in extra)
    return out

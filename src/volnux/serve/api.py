"""What the web view's JSON API answers, built from the query layer (no HTTP here).

Each function takes the journal and returns plain JSON data; the routes in
:mod:`volnux.serve.app` and the pages in :mod:`volnux.serve.pages` share them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from ..batch.summary import BatchSummary, batch_json
from ..engine import Run, TaskView
from ..engine.recovery import failed_nodes, gc_paused, rehydrate
from ..errors import VolnuxError
from ..notes import Scheduled, WebAction, WorkflowUnit
from ..query import RunSummary, describe_run, run_summary
from ..query.explain import HANDLED, TASKS_EXPLAINED, explain, explain_counted, state_label
from ..query.runs import noted, notes_read
from ..states import RunState, TaskState
from ..store import Journal, RunNote, RunRecord, RunSnapshot, TaskRow
from ..store.results import ResultRef
from .actions import allowed
from .indexer import ALL as _ALL

__all__ = [
    "PAGE_SIZE",
    "BadQuery",
    "batches_json",
    "run_json",
    "runs_json",
    "task_json",
]

#: Rows in a page of runs or tasks unless asked otherwise; the most one page holds.
PAGE_SIZE: Final = 50
MAX_PAGE: Final = 500
#: Bars of a batch run's duration histogram.
HISTOGRAM_BARS: Final = 12
#: Runs of more tasks than this are shown from the journal's task index (counts
#: and a page of rows), not folded whole, while they run or once they succeeded.
BIG_RUN: Final = 2000


def from_index(record: RunRecord) -> bool:
    """Whether a run is shown from the journal's task index: more than BIG_RUN
    tasks, in any state (a failed one is explained from its failed tasks alone)."""
    return len(record.events) > BIG_RUN


#: A task's states that end it (its duration is known).
ENDED_STATES: Final = frozenset({"succeeded", "failed", "skipped", "cancelled"})


class BadQuery(VolnuxError):
    """A query parameter the API cannot use (answered 400, saying which and why)."""


def page_bounds(offset: str | None, limit: str | None) -> tuple[int, int]:
    """``(offset, limit)`` from the query string; BadQuery when not whole numbers in range."""
    try:
        first = int(offset) if offset is not None else 0
        count = int(limit) if limit is not None else PAGE_SIZE
    except ValueError:
        raise BadQuery("offset and limit are whole numbers") from None
    if first < 0 or not 1 <= count <= MAX_PAGE:
        raise BadQuery(f"offset is 0 or more and limit 1 to {MAX_PAGE}")
    return first, count


def _day(text: str | None, name: str, end: bool) -> float | None:
    """A ``YYYY-MM-DD`` (or ISO date-time) bound as seconds since the epoch, local time."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} is a date (YYYY-MM-DD) or an ISO date-time, not {text!r}") from None
    try:
        seconds = when.timestamp()
    except (ValueError, OverflowError, OSError):  # a day no clock here can say
        raise BadQuery(f"{name} {text!r} is out of range") from None
    if end and len(text) == 10:  # a whole day: up to its end
        seconds += 86400
    return seconds


def runs_json(
    journal: Journal,
    *,
    state: str | None = None,
    workflow: str | None = None,
    since: str | None = None,
    until: str | None = None,
    offset: str | None = None,
    limit: str | None = None,
) -> dict[str, Any]:
    """A page of runs, newest first, filtered by state, workflow (a part of its
    name) and start date; batch runs are one line each, with their progress."""
    first, count = page_bounds(offset, limit)
    if state is not None and state not in {s.value for s in RunState}:
        known = ", ".join(s.value for s in RunState)
        raise BadQuery(f"state is one of {known}, not {state!r}")
    after, before = _day(since, "since", False), _day(until, "until", True)
    records = [
        r
        for r in journal.list_runs(_ALL, parts=False)
        if (state is None or r.state.value == state)
        and (not workflow or workflow.lower() in r.workflow.lower())
        and (after is None or r.created_at >= after)
        and (before is None or r.created_at < before)
    ]
    shown = records[first : first + count]
    summaries = {r.id: run_summary(journal, r) for r in shown}
    return {
        "total": len(records),
        "offset": first,
        "limit": count,
        "runs": [_run_line(r, summaries.get(r.id)) for r in shown],
    }


def _run_line(record: RunRecord, summary: RunSummary | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "workflow": record.workflow,
        "state": record.state.value,
        "created_at": record.created_at,
        "ended_at": record.ended_at,
        "duration": None if record.ended_at is None else record.ended_at - record.created_at,
        "error": record.error,
        "failed_task": summary.failed_task if summary else None,
        "batches": summary.batches if summary else None,
        "parent": record.parent,
    }


def run_json(
    journal: Journal,
    run_id: str,
    *,
    state: str | None = None,
    offset: str | None = None,
    limit: str | None = None,
) -> dict[str, Any]:
    """A run: its header, counts by state, a page of its tasks (of one state if
    asked), the failure explained, what resume or retry would do, the actions
    that apply, and for a batch run its batches."""
    first, count = page_bounds(offset, limit)
    record = journal.load_run(run_id)
    summarizer, notes = notes_read(journal, record)  # (the batches' notes left out)
    batches = summarizer.summary(running=record.state is RunState.RUNNING)
    if batches is not None:
        return {
            **_header(record),
            "kind": "batch",
            **batches_json(record, batches),
            "actions": allowed(record.state, batch=True),
            "web_actions": _web_actions(notes),
        }
    if state and state not in {s.value for s in TaskState}:
        known = ", ".join(s.value for s in TaskState)
        raise BadQuery(f"state is one of {known}, not {state!r}")
    if from_index(record):
        big = _big_run_json(journal, record, notes, state, first, count)
        if big is not None:
            return big
    detail = describe_run(journal, run_id)
    run = detail.run
    views = [v for v in run.tasks.values() if state is None or v.state.value == state]
    logs = detail.failure_logs() if run.failed_nodes else {}
    return {
        **_header(record),
        "kind": "run",
        "counts": {s.value: n for s, n in detail.counts().items()},
        "tasks_total": len(run.tasks),
        "tasks_shown": {"state": state, "offset": first, "limit": count, "total": len(views)},
        "tasks": [_task_line(run, v) for v in views[first : first + count]],
        "explanation": explain(run, detail.resume, logs=logs)
        if run.status in ("failed", "cancelled", "paused")
        else [],
        "resume": detail.resume.as_dict(),
        "path": detail.path()[:200],
        "actions": allowed(record.state, batch=False),
        "web_actions": _web_actions(notes),
        "scheduled": fired.to_json() if (fired := detail.scheduled()) is not None else None,
        "unit": unit.to_json() if (unit := detail.unit()) is not None else None,
    }


def _big_run_json(
    journal: Journal,
    record: RunRecord,
    notes: Sequence[RunNote],
    state: str | None,
    first: int,
    count: int,
) -> dict[str, Any] | None:
    """A run of more than BIG_RUN tasks, from the journal's task index: counts
    and one page of rows, never every task (None: the journal has no index, or
    for a run that did not succeed, cannot read one task's records alone)."""
    counted = getattr(journal, "task_counts", None)
    ended = record.state in (RunState.FAILED, RunState.CANCELLED, RunState.PAUSED)
    if ended and getattr(journal, "task_history", None) is None:
        return None  # its failure is explained from the whole run
    started = counted(record.id) if counted is not None else None
    if started is None:
        return None
    culprits = failed_nodes(notes) if record.state is RunState.FAILED else ()
    total = len(record.events)
    waiting = total - sum(started.values())
    by_state = {**started, "pending": started.get("pending", 0) + waiting}
    counts = {s.value: by_state[s.value] for s in TaskState if by_state.get(s.value)}
    shown = counts.get(state, 0) if state else total
    lines: list[dict[str, Any]] = []
    if state != "pending":  # started tasks first, in the order they started
        rows = journal.task_rows(record.id, state, first, count) or []  # type: ignore[attr-defined]
        lines = [_row_line(record, row, culprits) for row in rows]
    if (state is None or state == "pending") and len(lines) < count and waiting:
        begun = sum(started.values()) if state is None else 0
        skip = max(0, first - begun)
        lines += _waiting_lines(journal, record, skip, count - len(lines))
    resume: dict[str, Any] = {
        "summary": "a run this large is summed up from its counts: resume runs again "
        "what was running and runs what is pending; every finished task is kept",
        "running": counts.get("running", 0),
        "pending": counts.get("pending", 0),
    }
    explanation: list[str] = []
    if ended:
        explanation = _counted_explanation(journal, record, culprits, counts)
        resume = {
            "state": record.state.value,
            "rerun": list(culprits[:50]),
            "interrupted": counts.get("running", 0),
            "kept": counts.get("succeeded", 0) + counts.get("skipped", 0),
            "pending": counts.get("pending", 0),
        }
    return {
        **_header(record),
        "kind": "run",
        "counts": counts,
        "tasks_total": total,
        "tasks_shown": {"state": state, "offset": first, "limit": count, "total": shown},
        "tasks": lines,
        "explanation": explanation,
        "resume": resume,
        "path": [],
        "actions": allowed(record.state, batch=False),
        "web_actions": _web_actions(notes),
        "scheduled": next((d.to_json() for _, d in noted(notes, Scheduled)), None),
        "unit": next((d.to_json() for _, d in noted(notes, WorkflowUnit)), None),
        "indexed": True,
    }


#: Of the tasks that failed a big run, those whose records are read to explain it.
_CULPRITS_READ: Final = 50


def _counted_explanation(
    journal: Journal, record: RunRecord, culprits: Sequence[str], counts: Mapping[str, int]
) -> list[str]:
    """:func:`explain_counted` of a big run: the tasks that failed it read alone."""
    history = journal.task_history  # type: ignore[attr-defined]
    read = list(culprits[:_CULPRITS_READ])
    records = history(record.id, read) if read else []
    views = rehydrate(RunSnapshot(record, records, ())).views
    run = Run(
        id=record.id,
        workflow=record.workflow,
        state=record.state,
        tasks={n: views[n] for n in read if n in views},
        error=record.error,
        failed_nodes=tuple(culprits),
        created_at=record.created_at,
        ended_at=record.ended_at,
    )
    logs = {n: journal.logs(record.id, n) for n in read[:TASKS_EXPLAINED]}

    def first(state: str) -> list[str]:
        rows = journal.task_rows(record.id, state, 0, 12) or []  # type: ignore[attr-defined]
        return [row.node_id for row in rows]

    return explain_counted(run, counts, first, logs=logs)


def unhandled(journal: Journal, record: RunRecord) -> tuple[str, ...] | None:
    """The tasks whose failure failed the run, as ``Run.unhandled`` says them: None
    while it runs (or for a failed run whose notes do not name them)."""
    if record.state is RunState.RUNNING:
        return None
    if record.state is not RunState.FAILED:
        return ()
    return tuple(failed_nodes(journal.load_notes(record.id))) or None


def _row_line(record: RunRecord, row: TaskRow, culprits: Collection[str]) -> dict[str, Any]:
    """A task's line from its index row; ``culprits`` failed the run (any other
    failure was handled, as :func:`state_label` says)."""
    pin = record.events.get(row.node_id)
    begun = row.attempt > 0  # (a task skipped before it ran has no attempt)
    ended = row.state.value in ENDED_STATES
    state = row.state.value
    return {
        "node": row.node_id,
        "event": f"{pin.name}@{pin.version}" if pin else "",
        "state": state,
        "label": HANDLED if state == "failed" and row.node_id not in culprits else state,
        "attempts": row.attempt,
        "started_at": row.started_at if begun else None,
        "ended_at": row.at if ended else None,
        "duration": row.at - row.started_at if ended and begun else None,
        "placement": None,
        "error": row.error,
        "result_ref": None,
    }


def _waiting_lines(
    journal: Journal, record: RunRecord, skip: int, count: int
) -> list[dict[str, Any]]:
    """Tasks that have not started, in the workflow's order: ``count`` after ``skip``."""
    rows = journal.task_rows(record.id, None, 0, _ALL) or []  # type: ignore[attr-defined]
    begun = {row.node_id for row in rows}
    lines = []
    for node, pin in record.events.items():
        if node in begun:
            continue
        if skip:
            skip -= 1
            continue
        lines.append(
            {"node": node, "event": f"{pin.name}@{pin.version}", "state": "pending",
             "label": "pending", "attempts": 0, "started_at": None, "ended_at": None,
             "duration": None, "placement": None, "error": None, "result_ref": None}
        )  # fmt: skip
        if len(lines) == count:
            break
    return lines


def _header(record: RunRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "workflow": record.workflow,
        "state": record.state.value,
        "error": record.error,
        "created_at": record.created_at,
        "ended_at": record.ended_at,
        "parent": record.parent,
    }


def _web_actions(notes: Sequence[RunNote]) -> list[dict[str, Any]]:
    """The actions asked through the web view, oldest first, with a line for people."""
    return [
        {"at": at, **detail.to_json(), "text": detail.describe(at)}
        for at, detail in noted(notes, WebAction)
    ]


def _task_line(run: Any, view: Any) -> dict[str, Any]:
    result = view.result
    return {
        "node": view.node_id,
        "event": view.event,
        "state": view.state.value,
        "label": state_label(run, view),
        "attempts": view.attempts,
        "started_at": view.started_at,
        "ended_at": view.ended_at,
        "duration": view.duration,
        "placement": view.placement,
        "error": f"{view.error.type}: {view.error.message}" if view.error else None,
        "result_ref": result.to_json() if type(result) is ResultRef else None,
    }


def task_json(journal: Journal, run_id: str, node: str) -> dict[str, Any]:
    """One task: each attempt (start, end, state, error with traceback), where it
    ran, its log lines, and its result (or the reference of one kept outside).

    Only this task's records are read where the journal can pick them out
    (``task_history``), else the run is loaded and the others dropped.
    """
    history = getattr(journal, "task_history", None)
    notes: Sequence[RunNote]
    if history is not None:
        record = journal.load_run(run_id)
        records = history(run_id, node)
        notes = journal.load_notes(run_id) if record.state is RunState.FAILED else []
    else:
        with gc_paused():
            snapshot = journal.load(run_id)
            records = [r for r in snapshot.tasks if r.node_id == node]
            record, notes = snapshot.run, snapshot.notes
            del snapshot
    pin = record.events.get(node)
    view = rehydrate(RunSnapshot(record, records, ())).views.get(node)
    if view is None:
        if pin is None:
            raise KeyError(node)
        view = TaskView(node, f"{pin.name}@{pin.version}")  # never reached: pending
    failed = failed_nodes(notes) if record.state is RunState.FAILED else ()
    run = _Failed(tuple(failed))
    attempts: dict[tuple[int, int], dict[str, Any]] = {}
    for rec in records:
        entry = attempts.setdefault(
            (rec.round, rec.attempt),
            {"round": rec.round, "attempt": rec.attempt, "started_at": rec.at, "ended_at": None},
        )
        entry["state"] = rec.state.value
        if rec.state is not TaskState.RUNNING:
            entry["ended_at"] = rec.at
        if rec.error is not None:
            entry["error"] = rec.error.to_dict()
    result = view.result
    return {
        "run": run_id,
        **_task_line(run, view),
        "attempt_list": list(attempts.values()),
        "traceback": view.error.traceback if view.error else None,
        "logs": [
            {"at": e.at, "attempt": e.attempt, "level": e.level, "message": e.message}
            for e in journal.logs(run_id, node)[-200:]
        ],
        "result": None if type(result) is ResultRef else _plain(result),
    }


class _Failed(NamedTuple):
    """What :func:`state_label` reads of a run: the tasks whose failure failed it."""

    failed_nodes: tuple[str, ...]


def _plain(value: Any) -> Any:
    """``value`` as JSON data: itself when it is, else its ``repr`` (cut short)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value[:1000]]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in list(value.items())[:1000]}
    text = repr(value)
    return text if len(text) <= 2000 else text[:2000] + "..."


def batches_json(record: RunRecord, summary: BatchSummary) -> dict[str, Any]:
    """A batch run's counts by state, its failed batches with their first error, and
    a histogram of its batches' durations (``bars`` of equal width, in seconds)."""
    data = batch_json(record, summary)
    seconds = sorted(b.seconds for b in summary.batches.values() if b.seconds is not None)
    data["histogram"] = _histogram(seconds)
    data["states"] = dict(Counter(b.state for b in summary.batches.values()))
    data["progress"] = summary.progress()
    return data


def _histogram(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"low": 0.0, "width": 0.0, "bars": []}
    low, high = seconds[0], seconds[-1]
    width = (high - low) / HISTOGRAM_BARS or 1.0
    bars = [0] * HISTOGRAM_BARS
    for value in seconds:
        bars[min(int((value - low) / width), HISTOGRAM_BARS - 1)] += 1
    return {"low": low, "width": width, "bars": bars}

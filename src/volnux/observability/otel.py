"""OpenTelemetry: a span per run, a child span per task attempt, and task metrics.

Opt in per run or for every run::

    from volnux.observability.otel import OtelObserver, enable

    workflow.run(inputs, observers=[OtelObserver()])  # this run
    enable()                                           # every run from now on

Only the OpenTelemetry *API* is used: spans and metrics go wherever the
application's SDK sends them (``pip install 'volnux[otel]'`` brings the SDK);
without an SDK they cost next to nothing.  ``import volnux`` never imports
OpenTelemetry; this module does.

Spans.  ``run WORKFLOW`` for the run (under whatever span is current when the
run starts), and ``task NODE`` for each attempt, from its RUNNING record to
the record that ended it, with the attributes below.  A failed attempt
records the exception (type, message, trimmed traceback) and has status
ERROR; so does a failed run.  The run span's trace and span id are kept in
the journal (a ``trace`` run note), so when the run is resumed or retried,
maybe by another process, the new run span links to every earlier one.

The attempt's span context is handed to the worker (``Context.carrier``,
W3C trace context) and attached there, in threads and processes alike, so
spans an event starts are children of its attempt span.

==========================  =====================================================
span attribute              value
==========================  =====================================================
``volnux.workflow``         the workflow's name
``volnux.run.id``           the run id
``volnux.node.id``          the task's node id (attempt spans)
``volnux.event.name``       the event's name (attempt spans)
``volnux.event.version``    the event's version (attempt spans)
``volnux.attempt``          1-based attempt number (attempt spans)
``volnux.round``            group-retry round, 0 the first time (attempt spans)
``volnux.executor``         ``thread``, ``process`` ... (attempt spans)
``volnux.device``           where it ran: ``cpu``, or for an event that wants a GPU
                            its placement (``gpu 0``, ``cpu (fallback: ...)``)
``volnux.descriptor``       the descriptor chosen, when the attempt ended
``volnux.task.state``       the state the attempt ended in
``volnux.run.state``        the state the run ended in (run span)
``volnux.resumed``          True on the span of a resumed or retried run
==========================  =====================================================

Metrics (meter ``volnux``):

* ``volnux.task.duration`` (histogram, s): each attempt's duration, by
  workflow, event and the state it ended in;
* ``volnux.tasks`` (counter): tasks that ended, by workflow and final state
  (succeeded, failed, skipped);
* ``volnux.task.retries`` (counter): failed attempts that will be retried,
  by workflow and event;
* ``volnux.tasks.running`` (up-down counter): attempts handed to an executor
  and not yet ended: the queue depth;
* ``volnux.pool.size`` (up-down counter): workers in the pools running a
  workflow's runs, by workflow and executor; runs of one workflow share its
  pools, which are counted once, while any of those runs goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ..notes import NoteKind, RunNote, Trace
from ..states import RunState, TaskState
from ..store import TaskRecord
from .observer import Observer, RunInfo, add_default_observer, remove_default_observer

__all__ = ["DEVICE", "OtelObserver", "disable", "enable", "trace_links"]

#: The device attribute of attempt spans, unless the attempt was placed (a GPU event).
DEVICE = "cpu"
#: How the record that ends a placed attempt says where it ran (``on gpu 0``).
_PLACED = "on "
#: The kind of the run note that keeps a run span's ids.
TRACE_NOTE = NoteKind.TRACE.value

_ENDS_ATTEMPT = frozenset(
    {TaskState.RETRYING, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.PENDING}
)
_FINAL = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.SKIPPED})


@dataclass(slots=True)
class _Attempt:
    span: Span
    at: float
    event: str


@dataclass(slots=True)
class _Traced:
    """What the observer keeps about one run while it runs."""

    info: RunInfo
    span: Span
    attempts: dict[str, _Attempt] = field(default_factory=dict)
    pools: dict[str, int] = field(default_factory=dict)


class OtelObserver(Observer):
    """Makes spans and metrics of the runs it observes (see the module doc).

    ``tracer_provider`` and ``meter_provider`` default to the global ones.
    The trace ids of each session are kept with the run as a ``trace`` note,
    through the engine (:attr:`RunInfo.note`).
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        device: str = DEVICE,
    ) -> None:
        self._tracer = trace.get_tracer("volnux", tracer_provider=tracer_provider)
        meter = metrics.get_meter("volnux", meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "volnux.task.duration", unit="s", description="Duration of each task attempt."
        )
        self._tasks = meter.create_counter(
            "volnux.tasks", unit="{task}", description="Tasks that ended, by final state."
        )
        self._retries = meter.create_counter(
            "volnux.task.retries", unit="{attempt}", description="Failed attempts retried."
        )
        self._running = meter.create_up_down_counter(
            "volnux.tasks.running",
            unit="{attempt}",
            description="Attempts handed to an executor and not yet ended.",
        )
        # (workflow, executor) -> the pool size counted, and how many running
        # runs of the workflow use that pool: runs of one workflow share it.
        self._pool_sizes: dict[tuple[str, str], int] = {}
        self._pool_users: dict[tuple[str, str], int] = {}
        self._pool = meter.create_up_down_counter(
            "volnux.pool.size",
            unit="{worker}",
            description="Workers in the pools running a workflow's runs.",
        )
        self._resizes = meter.create_counter(
            "volnux.pool.resizes",
            unit="{resize}",
            description="Times a pool running a run's tasks grew, shrank or held, by reason.",
        )
        self._device = device
        self._runs: dict[str, _Traced] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ runs

    def run_started(self, info: RunInfo) -> None:
        """Start the run span (linked to earlier sessions' spans) and note its ids."""
        links = trace_links(info.notes, info.run_id) if info.resumed else []
        span = self._tracer.start_span(
            f"run {info.workflow}",
            kind=SpanKind.INTERNAL,
            attributes={
                "volnux.workflow": info.workflow,
                "volnux.run.id": info.run_id,
                "volnux.resumed": info.resumed,
            },
            links=links,
        )
        with self._lock:
            self._runs[info.run_id] = _Traced(info, span)
        ids = span.get_span_context()
        if info.note is not None and ids.is_valid:
            info.note(Trace(f"{ids.trace_id:032x}", f"{ids.span_id:016x}"))

    def run_ended(self, run_id: str, state: RunState, error: str | None) -> None:
        """End what is still open, then the run span (ERROR if the run failed)."""
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        now = time.time()
        for node_id, attempt in list(run.attempts.items()):
            self._end_attempt(run, node_id, attempt, now, state=None, error=None)
        for executor in run.pools:  # the last run of the workflow on a pool uncounts it
            key = (run.info.workflow, executor)
            with self._lock:
                users = self._pool_users[key] = self._pool_users.get(key, 1) - 1
                size = self._pool_sizes.pop(key, 0) if users <= 0 else 0
                if users <= 0:
                    del self._pool_users[key]
            if size:
                attrs = {"volnux.workflow": run.info.workflow, "volnux.executor": executor}
                self._pool.add(-size, attrs)
        run.span.set_attribute("volnux.run.state", state.value)
        if state is RunState.FAILED:
            run.span.set_status(Status(StatusCode.ERROR, error or "the run failed"))
        elif state is RunState.SUCCEEDED:
            run.span.set_status(Status(StatusCode.OK))
        run.span.end()

    def pool_resized(self, run_id: str, executor: str, workers: int, reason: str = "") -> None:
        """Move ``volnux.pool.size`` by the change (once, however many runs share the pool)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            key = (run.info.workflow, executor)
            if executor not in run.pools:
                self._pool_users[key] = self._pool_users.get(key, 0) + 1
            run.pools[executor] = workers
            delta = workers - self._pool_sizes.get(key, 0)
            self._pool_sizes[key] = workers
        attrs = {"volnux.workflow": run.info.workflow, "volnux.executor": executor}
        if delta:
            self._pool.add(delta, attrs)
        if reason and reason != "started":  # a size heard as the run starts is no change
            self._resizes.add(1, {**attrs, "volnux.pool.reason": reason})

    # ----------------------------------------------------------- tasks

    def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
        """Open an attempt span on RUNNING; close it on the record that ends the attempt."""
        run = self._runs.get(run_id)
        if run is None:
            return
        workflow = run.info.workflow
        for rec in records:
            state = rec.state
            if state is TaskState.RUNNING:
                self._start_attempt(run, rec)
            elif state in _ENDS_ATTEMPT:
                attempt = run.attempts.get(rec.node_id)
                if attempt is not None:
                    if rec.note is not None and rec.note.startswith(_PLACED):
                        attempt.span.set_attribute("volnux.device", rec.note[len(_PLACED) :])
                    self._end_attempt(
                        run, rec.node_id, attempt, rec.at, state, rec.error, rec.descriptor
                    )
                if state is TaskState.RETRYING:
                    self._retries.add(
                        1, {"volnux.workflow": workflow, "volnux.event": self._event(run, rec)}
                    )
            if state in _FINAL:
                self._tasks.add(1, {"volnux.workflow": workflow, "volnux.task.state": state.value})

    def carrier(self, run_id: str, node_id: str) -> Mapping[str, str] | None:
        """The open attempt span of ``node_id`` as W3C trace context headers."""
        run = self._runs.get(run_id)
        attempt = run.attempts.get(node_id) if run is not None else None
        if attempt is None:
            return None
        headers: dict[str, str] = {}
        propagate.inject(headers, context=trace.set_span_in_context(attempt.span))
        return headers

    def _event(self, run: _Traced, rec: TaskRecord) -> str:
        node = run.info.nodes.get(rec.node_id)
        return f"{node.event}@{node.version}" if node is not None else rec.node_id

    def _start_attempt(self, run: _Traced, rec: TaskRecord) -> None:
        node = run.info.nodes.get(rec.node_id)
        attributes: dict[str, Any] = {
            "volnux.workflow": run.info.workflow,
            "volnux.run.id": run.info.run_id,
            "volnux.node.id": rec.node_id,
            "volnux.attempt": rec.attempt,
            "volnux.round": rec.round,
            "volnux.device": self._device,
        }
        if node is not None:
            attributes["volnux.event.name"] = node.event
            attributes["volnux.event.version"] = node.version
            attributes["volnux.executor"] = node.executor
        span = self._tracer.start_span(
            f"task {rec.node_id}",
            context=trace.set_span_in_context(run.span),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(rec.at),
        )
        previous = run.attempts.get(rec.node_id)
        if previous is not None:  # never left open: a record was missed
            self._end_attempt(run, rec.node_id, previous, rec.at, None, None)
        event = self._event(run, rec)
        run.attempts[rec.node_id] = _Attempt(span, rec.at, event)
        self._running.add(1, {"volnux.workflow": run.info.workflow})

    def _end_attempt(
        self,
        run: _Traced,
        node_id: str,
        attempt: _Attempt,
        at: float,
        state: TaskState | None,
        error: Any,
        descriptor: int | None = None,
    ) -> None:
        run.attempts.pop(node_id, None)
        span = attempt.span
        outcome = state.value if state is not None else "abandoned"
        span.set_attribute("volnux.task.state", outcome)
        if descriptor is not None:
            span.set_attribute("volnux.descriptor", descriptor)
        if error is not None:
            span.add_event(
                "exception",
                {
                    "exception.type": error.type,
                    "exception.message": error.message,
                    "exception.stacktrace": error.traceback,
                },
                timestamp=_ns(at),
            )
            if state is not TaskState.PENDING:  # parked for an operator: not a failure
                span.set_status(Status(StatusCode.ERROR, f"{error.type}: {error.message}"))
        elif state is TaskState.SUCCEEDED:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=_ns(at))
        workflow = run.info.workflow
        self._running.add(-1, {"volnux.workflow": workflow})
        attrs = {"volnux.workflow": workflow, "volnux.event": attempt.event}
        self._duration.record(max(at - attempt.at, 0.0), {**attrs, "volnux.task.state": outcome})


def trace_links(notes: Sequence[RunNote], run_id: str) -> list[Link]:
    """Links to the run spans of every earlier session of ``run_id`` (oldest first)."""
    links = []
    traces = (n.read() for n in notes if n.kind == NoteKind.TRACE)
    for i, trace_note in enumerate(t for t in traces if isinstance(t, Trace)):
        try:
            ids = SpanContext(
                int(trace_note.trace_id, 16),
                int(trace_note.span_id, 16),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        except ValueError:
            continue  # a note this code did not write; a link is not worth failing for
        kind = "original" if i == 0 else "resumed"
        links.append(Link(ids, {"volnux.run.id": run_id, "volnux.link": kind}))
    return links


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


_enabled: OtelObserver | None = None
_enabled_lock = threading.Lock()


def enable(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> OtelObserver:
    """Trace every run from now on (replacing an earlier :func:`enable`); returns the observer."""
    global _enabled
    observer = OtelObserver(tracer_provider=tracer_provider, meter_provider=meter_provider)
    with _enabled_lock:
        if _enabled is not None:
            remove_default_observer(_enabled)
        _enabled = observer
        add_default_observer(observer)
    return observer


def disable() -> None:
    """Stop tracing every run (runs given an OtelObserver themselves still are)."""
    global _enabled
    with _enabled_lock:
        if _enabled is not None:
            remove_default_observer(_enabled)
            _enabled = None

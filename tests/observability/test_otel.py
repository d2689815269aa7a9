"""OpenTelemetry: the span tree, attributes, exceptions, links and metrics of real runs.

Uses the SDK's in-memory span exporter and metric reader.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import volnux
from volnux import Context, RunState, Workflow
from volnux.engine.attempt import run_attempt
from volnux.events import spec_of
from volnux.executors import ProcessExecutor, ThreadExecutor
from volnux.observability import otel
from volnux.observability.observer import NodeInfo, RunInfo
from volnux.states import TaskState
from volnux.store import SQLiteJournal, TaskRecord


class Telemetry:
    """An SDK tracer and meter provider writing to memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def observer(self) -> otel.OtelObserver:
        return otel.OtelObserver(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, value) of each data point of metric ``name``."""
        data = self.reader.get_metrics_data()
        out = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name != name:
                        continue
                    for p in metric.data.data_points:
                        value = getattr(p, "value", None)
                        if value is None:
                            value = (p.count, p.sum)  # a histogram point
                        out.append((dict(p.attributes or {}), value))
        return out


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


def shop_events(telemetry: Telemetry) -> list[Any]:
    tries = {"n": 0}
    tracer = telemetry.tracer_provider.get_tracer("shop")

    @volnux.event
    def Fetch() -> list[int]:
        return [1, 2]

    @volnux.event
    def Price(piped: Any = None) -> int:
        return 10

    @volnux.event
    def Flaky(piped: Any = None) -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("first try fails")
        return "ok"

    @volnux.event(version="2.1.0")
    def Inner(piped: Any = None) -> str:
        with tracer.start_as_current_span("inner work"):
            return "done"

    @volnux.event
    def Charge() -> None:
        raise ValueError("card declined")

    return [Fetch, Price, Flaky, Inner, Charge]


SHOP = "Fetch |-> (Price || Flaky * 2 || Inner) -> Charge"


def by_name(spans: list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def test_a_run_is_a_span_with_a_child_span_per_attempt(telemetry: Telemetry) -> None:
    wf = Workflow.from_text(SHOP, shop_events(telemetry), name="shop")
    run = wf.run(observers=[telemetry.observer()])
    assert run.status == "failed"
    spans = by_name(telemetry.finished())
    (root,) = spans["run shop"]
    assert root.parent is None
    assert root.status.status_code is StatusCode.ERROR and "card declined" in (
        root.status.description or ""
    )
    assert root.attributes is not None
    assert root.attributes["volnux.run.id"] == run.id
    assert root.attributes["volnux.run.state"] == "failed"
    attempts = {name: len(s) for name, s in spans.items() if name.startswith("task ")}
    assert attempts == {
        "task Fetch": 1,
        "task Price": 1,
        "task Flaky": 2,
        "task Inner": 1,
        "task Charge": 1,
    }
    for name, group in spans.items():
        if not name.startswith("task "):
            continue
        for span in group:
            assert span.parent is not None and span.parent.span_id == root.context.span_id
            assert span.context.trace_id == root.context.trace_id
    inner = spans["task Inner"][0].attributes or {}
    assert {k: inner[k] for k in inner} == {
        "volnux.workflow": "shop",
        "volnux.run.id": run.id,
        "volnux.node.id": "Inner",
        "volnux.event.name": "Inner",
        "volnux.event.version": "2.1.0",
        "volnux.attempt": 1,
        "volnux.round": 0,
        "volnux.executor": "thread",
        "volnux.device": "cpu",
        "volnux.task.state": "succeeded",
        "volnux.descriptor": 1,
    }
    first, second = sorted(spans["task Flaky"], key=lambda s: s.start_time or 0)
    assert (first.attributes or {})["volnux.attempt"] == 1
    assert (second.attributes or {})["volnux.attempt"] == 2
    assert first.status.status_code is StatusCode.ERROR
    assert (first.attributes or {})["volnux.task.state"] == "retrying"
    assert second.status.status_code is StatusCode.OK
    assert (first.end_time or 0) <= (second.start_time or 0)


def test_a_failed_attempt_records_its_exception(telemetry: Telemetry) -> None:
    Workflow.from_text(SHOP, shop_events(telemetry)).run(observers=[telemetry.observer()])
    (charge,) = by_name(telemetry.finished())["task Charge"]
    assert charge.status.status_code is StatusCode.ERROR
    assert charge.status.description == "ValueError: card declined"
    (event,) = [e for e in charge.events if e.name == "exception"]
    attrs = event.attributes or {}
    assert attrs["exception.type"] == "ValueError"
    assert attrs["exception.message"] == "card declined"
    assert "raise ValueError" in str(attrs["exception.stacktrace"])
    assert (charge.attributes or {})["volnux.descriptor"] == 0


def test_metrics_count_tasks_retries_durations_and_queue_depth(telemetry: Telemetry) -> None:
    Workflow.from_text(SHOP, shop_events(telemetry), name="shop").run(
        observers=[telemetry.observer()]
    )
    tasks = {a["volnux.task.state"]: v for a, v in telemetry.points("volnux.tasks")}
    assert tasks == {"succeeded": 4, "failed": 1}
    retries = telemetry.points("volnux.task.retries")
    assert retries == [({"volnux.workflow": "shop", "volnux.event": "Flaky@1.0.0"}, 1)]
    durations = {
        (a["volnux.event"], a["volnux.task.state"]): v
        for a, v in telemetry.points("volnux.task.duration")
    }
    assert {k: count for k, (count, _sum) in durations.items()} == {
        ("Fetch@1.0.0", "succeeded"): 1,
        ("Price@1.0.0", "succeeded"): 1,
        ("Flaky@1.0.0", "retrying"): 1,
        ("Flaky@1.0.0", "succeeded"): 1,
        ("Inner@2.1.0", "succeeded"): 1,
        ("Charge@1.0.0", "failed"): 1,
    }
    assert all(total >= 0 for _count, total in durations.values())
    assert telemetry.points("volnux.tasks.running") == [({"volnux.workflow": "shop"}, 0)]


def test_skipped_tasks_are_counted(telemetry: Telemetry) -> None:
    @volnux.event
    def Check() -> int:
        return 1

    @volnux.event
    def Fix() -> int:
        return 0

    Workflow.from_text("Check (0 -> Fix)", [Check, Fix], name="w").run(
        observers=[telemetry.observer()]
    )
    tasks = {a["volnux.task.state"]: v for a, v in telemetry.points("volnux.tasks")}
    assert tasks == {"succeeded": 1, "skipped": 1}
    assert "task Fix" not in by_name(telemetry.finished())


def test_pool_size_follows_the_resize_hook(telemetry: Telemetry) -> None:
    observer = telemetry.observer()
    info = RunInfo("r1", "w", {"A": NodeInfo("A", "A", "1.0.0", "thread")})
    observer.run_started(info)
    observer.pool_resized("r1", "thread", 2)
    observer.pool_resized("r1", "thread", 4)
    assert telemetry.points("volnux.pool.size") == [
        ({"volnux.workflow": "w", "volnux.executor": "thread"}, 4)
    ]
    observer.run_ended("r1", RunState.SUCCEEDED, None)  # the pool went with the run
    assert telemetry.points("volnux.pool.size")[0][1] == 0


def test_resizes_are_counted_by_reason(telemetry: Telemetry) -> None:
    observer = telemetry.observer()
    observer.run_started(RunInfo("r1", "w", {"A": NodeInfo("A", "A", "1.0.0", "thread")}))
    observer.pool_resized("r1", "thread", 4, "started")  # heard as the run starts: no change
    observer.pool_resized("r1", "thread", 8, "queued")
    observer.pool_resized("r1", "thread", 16, "queued")
    observer.pool_resized("r1", "thread", 15, "idle")
    base = {"volnux.workflow": "w", "volnux.executor": "thread"}
    assert sorted(
        telemetry.points("volnux.pool.resizes"), key=lambda p: p[0]["volnux.pool.reason"]
    ) == [
        ({**base, "volnux.pool.reason": "idle"}, 1),
        ({**base, "volnux.pool.reason": "queued"}, 2),
    ]


def test_a_run_reports_its_pool_size(telemetry: Telemetry) -> None:
    @volnux.event
    def A() -> int:
        return 1

    Workflow.from_text("A || A", [A], name="w").run(observers=[telemetry.observer()])
    points = telemetry.points("volnux.pool.size")
    assert points and points[0][1] == 0  # grew, then went back to 0 at shutdown


def test_a_resumed_run_links_to_the_original_trace(telemetry: Telemetry, tmp_path: Path) -> None:
    approved = {"yes": False}

    @volnux.event
    def Approve() -> str:
        if not approved["yes"]:
            raise volnux.NeedsOperator("needs a manager")
        return "ok"

    journal = SQLiteJournal(tmp_path / "j.db")
    wf = Workflow.from_text("Approve", [Approve], name="approval")
    first = wf.run(store=journal, observers=[telemetry.observer()])
    assert first.state is RunState.PAUSED
    approved["yes"] = True
    Workflow.resume(first.id, store=journal, workflow=wf, observers=[telemetry.observer()])
    notes = [n for n in journal.load(first.id).notes if n.kind == "trace"]
    journal.close()
    original, resumed = by_name(telemetry.finished())["run approval"]
    assert (original.attributes or {})["volnux.run.state"] == "paused"
    assert (resumed.attributes or {})["volnux.resumed"] is True
    (link,) = resumed.links
    assert link.context.trace_id == original.context.trace_id
    assert link.context.span_id == original.context.span_id
    assert (link.attributes or {})["volnux.link"] == "original"
    assert [n.detail["span_id"] for n in notes] == [
        f"{original.context.span_id:016x}",
        f"{resumed.context.span_id:016x}",
    ]
    # The parked attempt is not an error: it waits for a person.
    approve = by_name(telemetry.finished())["task Approve"]
    assert approve[0].status.status_code is StatusCode.UNSET
    assert (approve[0].attributes or {})["volnux.task.state"] == "pending"


def test_the_engine_hands_the_journal_to_observers(telemetry: Telemetry, tmp_path: Path) -> None:
    @volnux.event
    def A() -> int:
        return 1

    journal = SQLiteJournal(tmp_path / "j.db")
    run = Workflow.from_text("A", [A]).run(store=journal, observers=[telemetry.observer()])
    kinds = [n.kind for n in journal.load(run.id).notes]
    journal.close()
    assert "trace" in kinds


def _attempt_under_span(
    telemetry: Telemetry, executor: Any, event: Any
) -> tuple[otel.OtelObserver, Any, Any]:
    """Open an attempt span as the engine would, run the attempt with its carrier."""
    observer = telemetry.observer()
    spec = spec_of(event)
    assert spec is not None
    info = RunInfo("r1", "w", {"T": NodeInfo("T", spec.name, str(spec.version), executor.name)})
    observer.run_started(info)
    observer.transitions("r1", [TaskRecord("r1", "T", TaskState.RUNNING, 1, 1.0)])
    carrier = observer.carrier("r1", "T")
    assert carrier and "traceparent" in carrier
    ctx = Context("r1", "T", spec.key, 1, {}, carrier=carrier)
    done = threading.Event()
    box: list[Any] = []
    executor.submit(run_attempt, (spec, ctx), lambda r, e: (box.append((r, e)), done.set()))
    assert done.wait(30)
    executor.shutdown()
    result, error = box[0]
    assert error is None, error
    observer.transitions("r1", [TaskRecord("r1", "T", TaskState.SUCCEEDED, 1, 2.0, 0, 1)])
    observer.run_ended("r1", RunState.SUCCEEDED, None)
    return observer, result, by_name(telemetry.finished())["task T"][0]


def test_spans_made_inside_an_event_on_a_thread_nest_under_its_attempt(
    telemetry: Telemetry,
) -> None:
    events = shop_events(telemetry)
    inner_event = next(e for e in events if e.__name__ == "Inner")
    _, result, task_span = _attempt_under_span(telemetry, ThreadExecutor(1), inner_event)
    assert result.result == "done"
    (inner,) = by_name(telemetry.finished())["inner work"]
    assert inner.parent is not None and inner.parent.span_id == task_span.context.span_id
    assert inner.context.trace_id == task_span.context.trace_id


def test_trace_context_reaches_an_event_in_a_worker_process(telemetry: Telemetry) -> None:
    from . import otel_events

    _, result, task_span = _attempt_under_span(telemetry, ProcessExecutor(1), otel_events.WhereAmI)
    assert result.result == {
        "trace_id": f"{task_span.context.trace_id:032x}",
        "span_id": f"{task_span.context.span_id:016x}",
    }


def test_the_engine_passes_the_carrier_so_event_spans_nest(telemetry: Telemetry) -> None:
    Workflow.from_text(SHOP, shop_events(telemetry)).run(observers=[telemetry.observer()])
    spans = by_name(telemetry.finished())
    (inner,) = spans["inner work"]
    (task,) = spans["task Inner"]
    assert inner.parent is not None and inner.parent.span_id == task.context.span_id


def test_enable_traces_every_run_until_disabled(telemetry: Telemetry) -> None:
    @volnux.event
    def A() -> int:
        return 1

    wf = Workflow.from_text("A", [A], name="global")
    observer = otel.enable(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        assert isinstance(observer, otel.OtelObserver)
        wf.run()
    finally:
        otel.disable()
    wf.run()
    assert [s.name for s in telemetry.finished()] == ["task A", "run global"]


def test_without_an_sdk_the_api_costs_nothing_and_breaks_nothing() -> None:
    @volnux.event
    def A() -> int:
        return 1

    # The global provider is the API's no-op one unless an application set it.
    observer = otel.OtelObserver()
    run = Workflow.from_text("A", [A]).run(observers=[observer])
    assert run.status == "succeeded"
    provider = trace.get_tracer_provider()
    assert isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def test_runs_of_one_workflow_count_their_shared_pool_once(telemetry: Telemetry) -> None:
    observer = telemetry.observer()
    for run_id in ("r1", "r2"):
        observer.run_started(RunInfo(run_id, "w", {"A": NodeInfo("A", "A", "1.0.0", "thread")}))
    observer.pool_resized("r1", "thread", 2)
    observer.pool_resized("r2", "thread", 2)  # the same pool, heard by both runs
    observer.pool_resized("r2", "thread", 3)
    assert telemetry.points("volnux.pool.size")[0][1] == 3
    observer.run_ended("r1", RunState.SUCCEEDED, None)
    assert telemetry.points("volnux.pool.size")[0][1] == 3  # r2 still runs on it
    observer.run_ended("r2", RunState.SUCCEEDED, None)
    assert telemetry.points("volnux.pool.size")[0][1] == 0


def test_an_attempt_span_says_which_gpu_or_fallback_it_ran_on(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "1")
    hold = threading.Barrier(2, timeout=10)

    @volnux.event(resources=volnux.Resources(gpus=1, gpu="prefer", gpu_wait_s=0.3))
    def Train() -> None:
        hold.wait()  # both attempts at once: one takes the GPU, one the CPU

    run = Workflow.from_text("Train || Train", [Train]).run(observers=[telemetry.observer()])
    assert run.state is RunState.SUCCEEDED
    devices = sorted(
        str((s.attributes or {})["volnux.device"])
        for s in telemetry.finished()
        if s.name.startswith("task ")
    )
    assert devices == ["cpu (fallback: none free after 0.3s)", "gpu 0"]

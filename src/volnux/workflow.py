"""The façade: a Workflow is a graph, the events it uses, and how to run it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from .engine import Engine, Plan, Run, build_plan, find_plan_errors
from .errors import InputError, PointyError, StoreError
from .events import EventRegistry
from .executors import Executor
from .graph import Graph
from .states import RunState
from .store import Journal, MemoryJournal, RunNote, RunRecord, UnencodableResult

__all__ = ["Workflow", "make_registry"]

EventsArg = EventRegistry | Iterable[Any] | None


def make_registry(events: EventsArg) -> EventRegistry:
    """A registry from modules, module names, ``.py`` paths, classes or functions."""
    if isinstance(events, EventRegistry):
        return events
    registry = EventRegistry()
    if events is None:
        return registry
    if isinstance(events, str | ModuleType):
        events = [events]
    for item in events:
        if isinstance(item, ModuleType):
            registry.add_module(item)
        elif isinstance(item, str | Path):
            registry.load(str(item))
        elif isinstance(item, EventRegistry):
            for name in item.names():
                for spec in item.versions(name):
                    registry.add(spec)
        else:
            registry.add(item)
    return registry


class Workflow:
    """A parsed workflow bound to the events it may use."""

    def __init__(self, graph: Graph, registry: EventRegistry, *, name: str | None = None) -> None:
        self.graph = graph
        self.registry = registry
        self.name = name or _name_from(graph.filename)

    @classmethod
    def from_text(
        cls,
        text: str,
        events: EventsArg = None,
        *,
        filename: str = "<text>",
        name: str | None = None,
    ) -> Workflow:
        """Parse Pointy-lang ``text``; ``events`` says where its events come from."""
        from .dsl import parse

        return cls(parse(text, filename), make_registry(events), name=name)

    @classmethod
    def from_file(
        cls, path: str | Path, events: EventsArg = None, *, name: str | None = None
    ) -> Workflow:
        """Parse a ``.pty`` file; ``events`` says where its events come from."""
        from .dsl import parse_file

        return cls(parse_file(path), make_registry(events), name=name)

    @cached_property
    def fingerprint(self) -> str:
        """The graph's fingerprint (computed once: it walks the whole graph)."""
        return self.graph.fingerprint()

    @cached_property
    def plan(self) -> Plan:
        """Every task resolved to its event; raises PointyError on the first problem."""
        return build_plan(self.graph, self.registry)

    def problems(self) -> list[PointyError]:
        """Every reference error in the workflow (empty when it can run)."""
        return find_plan_errors(self.graph, self.registry)[1]

    def check(self, inputs: Mapping[str, Any] | None = None) -> None:
        """Raise if the workflow cannot run (with ``inputs``, if given)."""
        plan = self.plan
        if inputs is not None:
            plan.check_inputs(inputs)

    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Journal | None = None,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Run the workflow to its end and return the run.

        ``store`` is the journal to record in (default: in memory, gone with
        the process; pass a SQLite journal to make the run resumable).
        """
        inputs = dict(inputs or {})
        plan = self.plan
        plan.check_inputs(inputs)
        journal = store if store is not None else MemoryJournal()
        run_id = run_id or new_run_id()
        now = time.time()
        record = RunRecord(
            id=run_id,
            workflow=self.name,
            text=self.graph.source,
            fingerprint=self.fingerprint,
            events=plan.pins(),
            inputs=inputs,
            state=RunState.RUNNING,
            created_at=now,
            updated_at=now,
            filename=self.graph.filename,
        )
        try:
            journal.create_run(record)
        except UnencodableResult as exc:
            raise InputError(
                f"workflow inputs cannot be recorded: {exc} (inputs must be JSON-friendly)"
            ) from None
        engine = Engine(plan, journal, run_id, inputs, executors=executors, max_workers=max_workers)
        return finish(engine, self.name, record.created_at)


def finish(engine: Engine, workflow: str, created_at: float) -> Run:
    """Execute ``engine`` to the end, journal the run's final state, return the run."""
    state, outcome = engine.execute()
    run = engine.snapshot(state, outcome, workflow=workflow, created_at=created_at)
    ended = time.time()
    journal = engine.journal
    try:
        if run.failed_nodes:
            journal.add_note(RunNote(run.id, "failed", ended, {"nodes": list(run.failed_nodes)}))
        journal.set_run_state(run.id, state, ended, run.error)
    except StoreError:
        raise
    run.ended_at = ended
    return run


def new_run_id() -> str:
    """A short random run id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


def _name_from(filename: str) -> str:
    if filename.startswith("<"):
        return "workflow"
    return Path(filename).stem

"""The façade: a Workflow is a graph, the events it uses, and how to run it."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from .engine import Engine, Plan, Run, build_plan, find_plan_errors
from .engine.owners import first_owner, last_owner, owner_alive, owner_detail
from .engine.recovery import compare, recorded_program, rehydrate, with_unreached
from .errors import InputError, PointyError, ResumeRefused, RunError
from .events import EventRegistry
from .events.deprecation import deprecations
from .events.deprecation import warn as warn_deprecated
from .executors import Executor
from .graph import Graph
from .observability.observer import Observer, default_observers
from .states import RunState, TaskState, check_run_transition
from .store import (
    EventPin,
    Journal,
    MemoryJournal,
    RunNote,
    RunRecord,
    RunSnapshot,
    TaskRecord,
    UnencodableResult,
)

__all__ = ["Workflow", "make_registry"]

EventsArg = EventRegistry | Iterable[Any] | None


def event_sources(events: EventsArg) -> list[str]:
    """What ``events`` was loaded from, as strings a later process can load again."""
    if events is None or isinstance(events, EventRegistry):
        return []
    if isinstance(events, str | ModuleType | Path):
        events = [events]
    sources: list[str] = []
    for item in events:
        if isinstance(item, ModuleType):
            name = item.__name__
            if name.startswith("volnux_events_") and getattr(item, "__file__", None):
                sources.append(str(item.__file__))  # a file loaded by path
            elif name != "__main__":
                sources.append(name)
        elif isinstance(item, str | Path):
            text = str(item)
            looks_like_path = text.endswith(".py") or "/" in text or "\\" in text
            sources.append(str(Path(text).resolve()) if looks_like_path else text)
        else:
            module = getattr(item, "__module__", None)
            if module and module != "__main__" and not module.startswith("volnux_events_"):
                sources.append(module)
    return list(dict.fromkeys(sources))


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

    def __init__(
        self,
        graph: Graph,
        registry: EventRegistry,
        *,
        name: str | None = None,
        sources: list[str] | None = None,
        default_executor: str | None = None,
    ) -> None:
        self.graph = graph
        self.registry = registry
        #: The executor for events that do not choose one (None: threads).
        self.default_executor = default_executor
        self.name = name or _name_from(graph.filename)
        #: Where the events came from (module names, file paths), so that
        #: ``volnux runs resume`` in another process can load them again.
        self.sources = sources or []

    @classmethod
    def from_text(
        cls,
        text: str,
        events: EventsArg = None,
        *,
        filename: str = "<text>",
        name: str | None = None,
        default_executor: str | None = None,
    ) -> Workflow:
        """Parse Pointy-lang ``text``; ``events`` says where its events come from."""
        from .dsl import parse

        return cls(
            parse(text, filename),
            make_registry(events),
            name=name,
            sources=event_sources(events),
            default_executor=default_executor,
        )

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        events: EventsArg = None,
        *,
        name: str | None = None,
        default_executor: str | None = None,
    ) -> Workflow:
        """Parse a ``.pty`` file; ``events`` says where its events come from."""
        from .dsl import parse_file

        return cls(
            parse_file(path),
            make_registry(events),
            name=name,
            sources=event_sources(events),
            default_executor=default_executor,
        )

    @cached_property
    def fingerprint(self) -> str:
        """The graph's fingerprint (computed once: it walks the whole graph)."""
        return self.graph.fingerprint()

    @cached_property
    def plan(self) -> Plan:
        """Every task resolved to its event; raises PointyError on the first problem."""
        return build_plan(self.graph, self.registry, self.default_executor)

    def problems(self) -> list[PointyError]:
        """Every reference error in the workflow (empty when it can run)."""
        return find_plan_errors(self.graph, self.registry, self.default_executor)[1]

    def check(self, inputs: Mapping[str, Any] | None = None) -> None:
        """Raise if the workflow cannot run (with ``inputs``, if given)."""
        plan = self.plan
        if inputs is not None:
            plan.check_inputs(inputs)

    @classmethod
    def resume(
        cls,
        run_id: str,
        *,
        store: Journal,
        events: EventsArg = None,
        workflow: Workflow | None = None,
        force: bool = False,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        observers: Sequence[Observer] = (),
    ) -> Run:
        """Continue a crashed, cancelled or paused run from its journal alone.

        Tasks whose success is journaled are not run again (their results are
        loaded); tasks cut off by the crash run again.  ``workflow`` is the
        workflow as it is now: if it or its events changed where the run
        already started, resuming is refused unless ``force``.  Without it,
        the recorded text is used, with events from ``events`` or from where
        the run loaded them.
        """
        return resume(
            store,
            run_id,
            events=events,
            workflow=workflow,
            force=force,
            executors=executors,
            max_workers=max_workers,
            observers=observers,
        )

    @classmethod
    def retry(
        cls,
        run_id: str,
        *,
        store: Journal,
        events: EventsArg = None,
        workflow: Workflow | None = None,
        force: bool = False,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        observers: Sequence[Observer] = (),
    ) -> Run:
        """Re-run a FAILED run's failed tasks and what follows, keeping the rest."""
        return resume(
            store,
            run_id,
            events=events,
            workflow=workflow,
            force=force,
            retry=True,
            executors=executors,
            max_workers=max_workers,
            observers=observers,
        )

    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Journal | None = None,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        run_id: str | None = None,
        observers: Sequence[Observer] = (),
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
        started = owner_detail(self.sources)
        if self.registry.pins:  # a resume must resolve bare names the same way
            started["pins"] = dict(self.registry.pins)
        if self.default_executor:  # ... and place events the same way
            started["executor"] = self.default_executor
        journal.add_note(RunNote(run_id, "started", now, started))
        notices = deprecations({node: n.spec for node, n in plan.nodes.items()})
        if notices:  # once per run, and recorded with it
            journal.add_note(
                RunNote(run_id, "deprecated", now, {"events": [n.as_dict() for n in notices]})
            )
            warn_deprecated(notices, stacklevel=2)
        engine = Engine(
            plan,
            journal,
            run_id,
            inputs,
            executors=executors,
            max_workers=max_workers,
            observers=(*default_observers(), *observers),
            workflow=self.name,
        )
        return finish(engine, record.created_at)

    def _repr_svg_(self) -> str | None:
        """The graph as SVG, for Jupyter (None when Graphviz is not installed)."""
        from .observability.collapse import COLLAPSE_AT
        from .observability.dot import to_dot
        from .observability.pictures import svg_or_none

        return svg_or_none(to_dot(self.graph, collapse=COLLAPSE_AT))


def finish(engine: Engine, created_at: float) -> Run:
    """Execute ``engine`` to the end and return the run."""
    state, outcome = engine.execute()
    run = engine.snapshot(state, outcome, created_at=created_at)
    run.ended_at = time.time()
    run.graph = engine.plan.graph  # for pictures of the run (Run._repr_svg_)
    return run


def new_run_id() -> str:
    """A short random run id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


def _name_from(filename: str) -> str:
    if filename.startswith("<"):
        return "workflow"
    return Path(filename).stem


# ------------------------------------------------------------------ resuming


def resume(
    journal: Journal,
    run_id: str,
    *,
    events: EventsArg = None,
    workflow: Workflow | None = None,
    force: bool = False,
    retry: bool = False,
    executors: Mapping[str, Executor] | None = None,
    max_workers: int | None = None,
    observers: Sequence[Observer] = (),
    snapshot: RunSnapshot | None = None,
) -> Run:
    """Continue a run from its journal alone (see :meth:`Workflow.resume`).

    ``snapshot`` is the run as just loaded from ``journal``, by a caller
    that needed it first (the command line), so it is not read twice.
    """
    from .dsl import parse

    if snapshot is None:
        try:
            snapshot = journal.load(run_id)
        except KeyError:
            raise RunError(f"no run {run_id!r} in the store {journal!r}") from None
    run = snapshot.run
    verb = "retry" if retry else "resume"
    if run.state is RunState.SUCCEEDED:
        raise ResumeRefused(f"run {run_id} already succeeded; there is nothing to {verb}")
    if retry and run.state is not RunState.FAILED:
        raise ResumeRefused(
            f"run {run_id} is {run.state}, not failed; use 'volnux runs resume {run_id}'"
        )
    if not retry and run.state is RunState.FAILED:
        raise ResumeRefused(
            f"run {run_id} failed; 'volnux runs retry {run_id}' re-runs its failed tasks "
            "and what follows them"
        )
    owner = last_owner(snapshot)
    if run.state is RunState.RUNNING and not force and owner is not None and owner_alive(owner):
        raise ResumeRefused(
            f"run {run_id} is still running in process {owner['pid']} on {owner['host']}; "
            "cancel it first ('volnux runs cancel') or pass --force if that process is gone"
        )
    text, filename, old_pins, sources = _program(snapshot)
    old_graph = parse(text, filename)
    if workflow is None:
        registry = registry_for_resume(snapshot, events)
        workflow = Workflow(
            old_graph,
            registry,
            name=run.workflow,
            sources=sources,
            default_executor=recorded_default_executor(snapshot),
        )
    plan = workflow.plan
    state = rehydrate(snapshot)
    culprits = _failed_nodes(snapshot) if retry else []
    # A retry runs its failed tasks from scratch, so fixing their code is the point.
    started = state.started - set(culprits)
    changes = compare(old_graph, old_pins, workflow.graph, plan.pins(), started)
    now = time.time()
    blocking = [c for c in changes if c.started]
    if blocking and not force:
        raise ResumeRefused(
            f"run {run_id} cannot be {verb}d: the workflow or its events changed where the "
            "run already started:\n  "
            + "\n  ".join(str(c) for c in blocking)
            + "\nrun the recorded version again, or pass --force to continue anyway"
            " (recorded in the run)"
        )
    if changes:
        journal.add_note(
            RunNote(
                run_id,
                "forced-change" if blocking else "changed",
                now,
                {
                    "changes": [str(c) for c in changes],
                    "text": workflow.graph.source,
                    "filename": workflow.graph.filename,
                    "events": {k: _pin_dict(p) for k, p in plan.pins().items()},
                    "sources": workflow.sources or sources,
                },
            )
        )
    records = [
        TaskRecord(
            run_id,
            node,
            TaskState.PENDING,
            state.views[node].attempts,
            now,
            round=rnd,
            note="interrupted",
        )
        for node, rnd in state.interrupted
        if node in plan.nodes
    ]
    if retry:
        for node in culprits:
            view = state.views.get(node)
            if view is not None and view.state is not TaskState.PENDING:
                records.append(
                    TaskRecord(
                        run_id,
                        node,
                        TaskState.PENDING,
                        view.attempts,
                        now,
                        round=view.round,
                        note="retry",
                    )
                )
    if records:
        journal.record(records)
        # What the journal now holds, without reading the whole run back:
        # a journal returns records exactly as written.
        snapshot = dataclasses.replace(snapshot, tasks=[*snapshot.tasks, *records])
        state = rehydrate(snapshot)
    inputs = dict(run.inputs)
    plan.check_inputs(inputs)
    check_run_transition(run_id, run.state, RunState.RUNNING)
    journal.set_run_state(run_id, RunState.RUNNING, now)
    detail = owner_detail(workflow.sources or sources)
    detail.update(
        {
            "verb": verb,
            "interrupted": [n for n, _ in state.interrupted],
            "retrying": culprits,
            "forced": bool(force and blocking),
        }
    )
    journal.add_note(RunNote(run_id, "resumed" if not retry else "retried", now, detail))
    engine = Engine(
        plan,
        journal,
        run_id,
        inputs,
        executors=executors,
        max_workers=max_workers,
        replay=state,
        observers=(*default_observers(), *observers),
        workflow=workflow.name,
    )
    return finish(engine, run.created_at)


def plan_resume(journal: Journal, run_id: str) -> dict[str, Any]:
    """What resuming or retrying ``run_id`` would do, without doing it."""
    snapshot = journal.load(run_id)
    state = rehydrate(snapshot)
    done = sorted(n for (n, _r) in state.outcomes)
    culprits = _failed_nodes(snapshot)
    views = with_unreached(snapshot, state.views)
    return {
        "state": snapshot.run.state.value,
        "kept": done,
        "interrupted": [n for n, _ in state.interrupted],
        "rerun": culprits if snapshot.run.state is RunState.FAILED else [],
        "pending": [n for n, v in views.items() if v.state is TaskState.PENDING],
    }


def _program(snapshot: RunSnapshot) -> tuple[str, str, dict[str, EventPin], list[str]]:
    """The workflow text, filename, event pins and sources the run now follows."""
    return recorded_program(snapshot)


def registry_for_resume(snapshot: RunSnapshot, events: EventsArg = None) -> EventRegistry:
    """The events a resumed run resolves against: ``events``, else where the run
    loaded them from, with the version pins the run started with."""
    registry = make_registry(events if events is not None else _program(snapshot)[3])
    for name, spec in _recorded_version_pins(snapshot).items():
        registry.pin(name, spec)
    return registry


def recorded_default_executor(snapshot: RunSnapshot) -> str | None:
    """The project default executor the run started with, if any."""
    for note in snapshot.notes:
        if note.kind == "started":
            value = note.detail.get("executor")
            return str(value) if value else None
    return None


def _recorded_version_pins(snapshot: RunSnapshot) -> dict[str, str]:
    """The version pins the run's registry had when it started."""
    for note in snapshot.notes:
        if note.kind == "started":
            return dict(note.detail.get("pins", {}))
    return {}


def _failed_nodes(snapshot: RunSnapshot) -> list[str]:
    for note in reversed(snapshot.notes):
        if note.kind == "failed":
            return list(note.detail.get("nodes", []))
    return []


def _pin_dict(pin: EventPin) -> dict[str, str]:
    return {
        "name": pin.name,
        "version": pin.version,
        "origin": pin.origin,
        "fingerprint": pin.fingerprint,
    }


def recorded_graph(snapshot: RunSnapshot) -> Graph:
    """The graph the run follows now (its recorded text, as last changed by a resume)."""
    from .dsl import parse

    text, filename, _pins, _sources = _program(snapshot)
    return parse(text, filename)


def recorded_sources(snapshot: RunSnapshot) -> list[str]:
    """Where the run loaded its events from, as recorded."""
    return _program(snapshot)[3]


def recorded_workflow_path(snapshot: RunSnapshot) -> Path | None:
    """The run's workflow file, if it still exists (relative paths as run from)."""
    filename = _program(snapshot)[1]
    if filename.startswith("<"):
        return None
    path = Path(filename)
    if not path.is_absolute():
        owner = first_owner(snapshot)
        base = Path(owner["cwd"]) if owner and owner.get("cwd") else Path.cwd()
        path = base / path
    return path if path.is_file() else None

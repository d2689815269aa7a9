"""The façade: a Workflow is a graph, the events it uses, and how to run it.

Starting, resuming and retrying runs happen in :mod:`volnux.engine.lifecycle`;
a Workflow binds a parsed graph to its events and owns the executors its
runs share (:meth:`Workflow.close` stops them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from .batch import BatchRun, Splitter
from .batch.driver import BatchEvent
from .batch.limits import Tolerance
from .engine import Plan, Run, build_plan, find_plan_errors
from .engine.lifecycle import Execution, Program, continue_run, start_run
from .engine.rework import Rework
from .engine.stop import StopRequest
from .errors import PointyError, ResumeRefused
from .events import EventRegistry, EventsArg, event_sources, make_registry
from .executors import Executor, Pools, PoolSettings
from .graph import Graph
from .notes import BatchStarted, NoteDetail
from .observability.observer import Observer
from .store import Journal, MemoryJournal

__all__ = ["Workflow", "make_registry"]


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
        pool_settings: Mapping[str, PoolSettings] | None = None,
    ) -> None:
        for executor, settings in (pool_settings or {}).items():
            settings.check(executor)
        #: Executor name -> how big the pools this workflow's runs share may be.
        self.pool_settings = dict(pool_settings or {})
        self.graph = graph
        self.registry = registry
        #: The executor for events that do not choose one (None: threads).
        self.default_executor = default_executor
        self.name = name or _name_from(graph.filename)
        #: Where the events came from (module names, file paths), so that
        #: ``volnux runs resume`` in another process can load them again.
        self.sources = sources or []
        # The executors this workflow's runs share, made on first use.
        self._pools: Pools | None = None
        self._pools_lock = threading.Lock()

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

    @property
    def pools(self) -> Pools:
        """The executors this workflow's runs share (made on first use; see :meth:`close`)."""
        with self._pools_lock:
            if self._pools is None:
                self._pools = Pools(self.pool_settings)
            return self._pools

    def close(self, wait: bool = True) -> None:
        """Stop the worker threads and processes this workflow's runs used.

        Optional: they are daemon threads, and processes end with this one.  A
        later run starts new ones.  ``wait``: until calls still running end
        (an attempt given up after its timeout may still run); without it,
        they are left to finish in the background.
        """
        with self._pools_lock:
            pools, self._pools = self._pools, None
        if pools is not None:
            pools.close(wait=wait)

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def program(self) -> Program:
        """The workflow as the engine runs it (planned: raises PointyError if it cannot run)."""
        return Program(
            self.plan,
            self.name,
            self.registry,
            tuple(self.sources),
            self.default_executor,
            self.fingerprint,
        )

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
        stop: StopRequest | None = None,
        fuse: bool = False,
    ) -> Run:
        """Continue a crashed, cancelled or paused run from its journal alone.

        Tasks whose success is journaled are not run again (their results are
        loaded); tasks cut off by the crash run again.  ``workflow`` is the
        workflow as it is now: if it or its events changed where the run
        already started, resuming is refused unless ``force``.  Without it,
        the recorded text is used, with events from ``events`` or from where
        the run loaded them.  ``fuse``: as for :meth:`run`.
        """
        how = Execution(executors, None, max_workers, observers, stop, fuse=fuse)
        return cls._continue(run_id, store, False, events, workflow, force, how)

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
        stop: StopRequest | None = None,
        from_node: str | None = None,
    ) -> Run:
        """Re-run a FAILED run's failed tasks and what follows, keeping the rest.

        ``from_node`` runs that task again instead, though it succeeded, and
        every task after it, in a run in any state but running (a result
        found wrong later); the rest is kept.
        """
        how = Execution(executors, None, max_workers, observers, stop)
        rework = Rework(rerun_from=from_node) if from_node is not None else None
        return cls._continue(run_id, store, True, events, workflow, force, how, rework)

    @classmethod
    def skip(
        cls,
        run_id: str,
        node: str,
        *,
        store: Journal,
        result: Any = None,
        events: EventsArg = None,
        workflow: Workflow | None = None,
        force: bool = False,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        observers: Sequence[Observer] = (),
        stop: StopRequest | None = None,
    ) -> Run:
        """Declare a failed, paused or unstarted task skipped, then go on with the run.

        The task is recorded ``skipped`` (it did not run) by an operator, who
        is noted with the time; ``result`` is what a ``|->`` after it
        receives.  A failed run is retried, any other resumed.
        """
        how = Execution(executors, None, max_workers, observers, stop)
        rework = Rework(declare=node, action="skip", result=result)
        return cls._continue(run_id, store, False, events, workflow, force, how, rework)

    @classmethod
    def mark_succeeded(
        cls,
        run_id: str,
        node: str,
        *,
        store: Journal,
        result: Any = None,
        events: EventsArg = None,
        workflow: Workflow | None = None,
        force: bool = False,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        observers: Sequence[Observer] = (),
        stop: StopRequest | None = None,
    ) -> Run:
        """As :meth:`skip`, but the task is recorded ``succeeded`` with ``result``."""
        how = Execution(executors, None, max_workers, observers, stop)
        rework = Rework(declare=node, action="mark-succeeded", result=result)
        return cls._continue(run_id, store, False, events, workflow, force, how, rework)

    @classmethod
    def _continue(
        cls,
        run_id: str,
        store: Journal,
        retry: bool,
        events: EventsArg,
        workflow: Workflow | None,
        force: bool,
        how: Execution,
        rework: Rework | None = None,
    ) -> Run:
        """Resume or retry (see :func:`volnux.engine.lifecycle.continue_run`)."""
        from .batch import is_batch_run
        from .batch.driver import refuse_batch_child

        if is_batch_run(store.load_notes(run_id)):
            raise ResumeRefused(
                f"run {run_id} is a batch run: Workflow.resume_batches({run_id!r}, ...) "
                "takes it up (failed=True retries its failed batches)"
            )
        refuse_batch_child(store, store.load_run(run_id), "retry" if retry else "resume")
        if workflow is not None:  # its runs share its executors
            how = how._replace(pools=workflow.pools)
        return continue_run(
            store,
            run_id,
            retry=retry,
            force=force,
            events=events,
            now_program=workflow.program() if workflow is not None else None,
            how=how,
            rework=rework,
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
        stop: StopRequest | None = None,
        pools: Mapping[str, PoolSettings] | None = None,
        notes: Sequence[NoteDetail] = (),
        fuse: bool = False,
    ) -> Run:
        """Run the workflow to its end and return the run.

        ``store`` is the journal to record in (default: in memory, gone with
        the process; pass a SQLite journal to make the run resumable).  The
        run's attempts execute on this workflow's executors (``executors``
        overrides them by name), which later runs reuse.  ``stop`` lets another
        thread (or a signal handler) stop the run: see :class:`volnux.StopRequest`.
        ``pools`` sizes this run's pools by executor name (``{"thread":
        volnux.PoolSettings(min_workers=2, max_workers=16)}``), over the
        workflow's ``pool_settings``.  ``notes`` are recorded with the run as it
        is created (``volnux run NAME`` notes the workflow unit it runs).  With
        ``fuse``, tasks that follow one another on the process executor go to a
        worker in one call, their records journaled when it returns (see
        docs/running.md).
        """
        journal = store if store is not None else MemoryJournal()
        how = Execution(executors, self.pools, max_workers, observers, stop, pools, fuse)
        return start_run(
            self.program(), journal, inputs or {}, how, run_id=run_id, stacklevel=3, notes=notes
        )

    def run_batches(
        self,
        source: Any,
        *,
        batch_size: int,
        split: str | None = None,
        input_name: str = "batch",
        parallel: int | None = None,
        tolerate: int | str | None = None,
        fail_fast: bool = False,
        tolerate_items: int | str | None = None,
        inputs: Mapping[str, Any] | None = None,
        store: Journal | None = None,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        observers: Sequence[Observer] = (),
        stop: StopRequest | None = None,
        pools: Mapping[str, PoolSettings] | None = None,
        run_id: str | None = None,
        on_batch: Callable[[BatchEvent], None] | None = None,
        fuse: bool = True,
        **options: Any,
    ) -> BatchRun:
        """Run the workflow once per batch of ``source``, as a batch run; return it.

        ``source`` is a path (a text, CSV, JSON lines or Parquet file, a
        directory or a glob pattern) or any iterable; ``split`` names the
        kind (default: told by the path's suffix; see docs/batch.md) and
        ``options`` are the kind's options (``encoding``, ``delimiter``,
        ``using`` ...).  Each batch is a child run given the batch's items as
        input ``input_name`` and ``inputs`` beside it; at most ``parallel``
        run at once (default: from the executors' capacity).  A failed batch
        does not stop the others (``fail_fast`` to stop starting more);
        ``tolerate`` failed batches (a count, or ``"2%"``) still let the run
        succeed.  ``tolerate_items`` is the same for the items events report
        failed (``volnux.Partial``); without it, any number may.  ``on_batch``
        is told of each batch as it begins and ends.  With ``fuse`` (the
        default) a batch's tasks that follow one another on the process
        executor go to a worker in one call, their records journaled when it
        returns (see docs/batch.md); ``fuse=False`` sends each on its own.
        """
        from .batch import guess_kind, recordable, splitter
        from .batch.driver import start_batches
        from .batch.limits import check_parallel, default_parallel
        from .notes import BatchStarted

        journal = store if store is not None else MemoryJournal()
        how = Execution(executors, self.pools, max_workers, observers, stop, pools)
        kind = split or guess_kind(source)
        split_by = splitter(kind, source, batch_size, **options)
        text, recorded = recordable(kind, source, options)
        program = self.program()
        spec = BatchStarted(
            kind,
            text,
            batch_size,
            input_name,
            recorded,
            parallel=check_parallel(parallel)
            if parallel is not None
            else default_parallel(program, how),
            tolerate=Tolerance.parse(tolerate).text,
            fail_fast=fail_fast,
            tolerate_items=Tolerance.parse(tolerate_items).text,
            fuse=fuse,
        )
        return start_batches(
            program, journal, split_by, spec, inputs or {}, how, run_id=run_id, watcher=on_batch
        )

    @classmethod
    def resume_batches(
        cls,
        run_id: str,
        *,
        store: Journal,
        failed: bool = False,
        failed_items: bool = False,
        source: Any = None,
        events: EventsArg = None,
        workflow: Workflow | None = None,
        force: bool = False,
        executors: Mapping[str, Executor] | None = None,
        max_workers: int | None = None,
        observers: Sequence[Observer] = (),
        stop: StopRequest | None = None,
        on_batch: Callable[[BatchEvent], None] | None = None,
    ) -> BatchRun:
        """Resume a crashed, cancelled or paused batch run; ``failed``: retry its failed
        batches; ``failed_items``: run a new batch of the items its events reported
        failed (``volnux.Partial``).

        Batches that succeeded are not run again; batches cut off run on from
        their own journals (only their unfinished tasks); then the rest of
        the source is split.  The source is read again from where the run
        recorded it (``source`` gives it again: needed for an iterable, which
        the journal cannot read again); one that changed since the run
        started is refused unless ``force``.
        """
        from .batch import splitter
        from .batch.driver import continue_batches
        from .engine.lifecycle import recorded_program

        how = Execution(executors, None, max_workers, observers, stop)
        if workflow is not None:
            how = how._replace(pools=workflow.pools)
            program = workflow.program()
        else:
            program = recorded_program(store.load(run_id), events)

        def make_split(spec: BatchStarted) -> Splitter:
            given = source if source is not None else spec.source
            return splitter(spec.source_kind, given, spec.batch_size, **spec.options)

        return continue_batches(
            store,
            run_id,
            program,
            how,
            failed=failed,
            failed_items=failed_items,
            force=force,
            make_split=make_split,
            given_source=source is not None,
            watcher=on_batch,
        )

    def _repr_svg_(self) -> str | None:
        """The graph as SVG, for Jupyter (None when Graphviz is not installed)."""
        from .observability.collapse import COLLAPSE_AT
        from .observability.dot import to_dot
        from .observability.pictures import svg_or_none

        return svg_or_none(to_dot(self.graph, collapse=COLLAPSE_AT))


def _name_from(filename: str) -> str:
    if filename.startswith("<"):
        return "workflow"
    return Path(filename).stem

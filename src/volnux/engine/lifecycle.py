"""Starting, resuming and retrying runs: where a run is created or taken up again.

:func:`start_run` records a new run (its workflow text, event pins, inputs
and who started it) and executes it.  :func:`continue_run` takes a recorded
run up again from its journal alone: it refuses what would not be safe (a
run that succeeded, a live owner, a workflow changed where the run had
started), records what it decided (the workflow as it is now, the tasks cut
off by a crash, the failed tasks a retry runs again) and executes the rest.

Both are called by the façade (``Workflow.run``, ``Workflow.resume``,
``Workflow.retry``), by the command line, and by anything below the façade
that starts runs of its own (batch runs, sub-workflows).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import InputError, ResumeRefused, UnencodableResult
from ..events import BatchInfo, EventRegistry, EventsArg, event_sources, make_registry
from ..events.deprecation import deprecations
from ..events.deprecation import warn as warn_deprecated
from ..executors import Executor, Pools, PoolSettings
from ..graph import Graph
from ..notes import Changed, Deprecated, NoteDetail, Operator, Resumed, RunNote, Started
from ..observability.observer import Observer, default_observers
from ..states import RunState, TaskState, check_run_transition
from ..store import EpochNote, EventPin, Journal, RunRecord, RunSnapshot, TaskRecord
from .owners import own_ticks, owner_alive, owner_id, run_owner, this_process, user_name
from .plan import Plan, build_plan
from .recovery import Change, Recorded, compare, failed_nodes, gc_paused, recorded, rehydrate
from .rework import Rework, check_rework, declared_record, tasks_after
from .run import Run
from .runner import EndNote, Engine
from .stop import StopRequest

__all__ = [
    "Execution",
    "Part",
    "Program",
    "continue_run",
    "drive_opened",
    "new_run_id",
    "open_run",
    "recorded_program",
    "start_run",
    "take_up",
]


class Program(NamedTuple):
    """A workflow as a run needs it: its plan, its name, and where its events come from."""

    plan: Plan
    name: str
    #: The registry the plan was resolved against (its version pins are recorded).
    registry: EventRegistry
    #: Module names and file paths a later process loads to find the events again.
    sources: tuple[str, ...] = ()
    #: The project's default executor for events that choose none.
    default_executor: str | None = None
    #: The graph's fingerprint, when the caller has it already (else computed).
    fingerprint: str | None = None

    @property
    def graph(self) -> Graph:
        """The parsed workflow."""
        return self.plan.graph


class Part(NamedTuple):
    """What a run that is part of another one (a batch of a batch run) is given.

    ``supplied`` are inputs the run uses but does not record: a batch's items,
    read again from their source by position on every start and resume, so
    that the journal keeps a few numbers rather than a copy of the data.
    """

    #: The run this one is a part of (set on the run's record when it is created).
    parent: str | None = None
    #: Inputs given to the run's events but not journaled with it.
    supplied: Mapping[str, Any] = {}
    #: What ``ctx.batch`` tells the run's events.
    batch: BatchInfo | None = None
    #: Notes of the run this one is part of, written with this run's creation
    #: (a batch run's note of the batch it begins): one write.
    notes: Sequence[EpochNote] = ()
    #: The note the run this one is part of keeps of how it ended, made from
    #: its state, its error and how many items failed in it, and written with
    #: its end (a batch run's note of the batch that ended): one write.
    ended: EndNote | None = None


class Execution(NamedTuple):
    """Where a run's attempts execute, and who watches."""

    #: Executor name -> the executor to use for it (others come from ``pools``).
    executors: Mapping[str, Executor] | None = None
    #: The caller's executors, kept across runs (None: the run makes its own).
    pools: Pools | None = None
    #: Workers per executor the run makes (None: each executor's default).
    max_workers: int | None = None
    #: Told of the run's transitions, after the default observers.
    observers: Sequence[Observer] = ()
    #: Asks the run to stop from outside (a signal); None: nothing can.
    stop: StopRequest | None = None
    #: Executor name -> how big the pools the run takes for it may be.
    pool_settings: Mapping[str, PoolSettings] | None = None
    #: Whether tasks that follow one another on a pool of worker processes go
    #: to a worker in one call (see .chains).
    fuse: bool = False


def new_run_id() -> str:
    """A short random run id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


# ------------------------------------------------------------------ starting


def start_run(
    program: Program,
    journal: Journal,
    inputs: Mapping[str, Any],
    how: Execution | None = None,
    *,
    run_id: str | None = None,
    stacklevel: int = 2,
    part: Part | None = None,
    notes: Sequence[NoteDetail] = (),
) -> Run:
    """Record a new run of ``program`` and execute it to its end.

    ``stacklevel`` points deprecation warnings at the caller's caller
    (2: whoever called this function).  ``part``: the run is a part of
    another one (its parent, inputs it is given but does not record).
    ``notes`` are noted with the run as it is created (see :func:`open_run`).
    """
    how = how or Execution()
    part = part or Part()
    record, given = open_run(
        program,
        journal,
        inputs,
        run_id=run_id,
        part=part,
        stacklevel=stacklevel + 1,
        notes=notes,
    )
    return drive_opened(program, journal, record, given, how, part)


def drive_opened(
    program: Program,
    journal: Journal,
    record: RunRecord,
    given: dict[str, Any],
    how: Execution | None = None,
    part: Part | None = None,
) -> Run:
    """Execute to its end a run :func:`open_run` recorded (``record``, ``given``)."""
    part = part or Part()
    engine = _engine(
        program,
        journal,
        record.id,
        given,
        how or Execution(),
        epoch=1,
        batch=part.batch,
        end_note=part.ended,
    )
    return _finish(engine, record.created_at)


def open_run(
    program: Program,
    journal: Journal,
    inputs: Mapping[str, Any],
    *,
    run_id: str | None = None,
    part: Part | None = None,
    stacklevel: int = 2,
    notes: Sequence[NoteDetail] = (),
) -> tuple[RunRecord, dict[str, Any]]:
    """Record a new run of ``program``, driven by this process (epoch 1), without
    executing it: its record, who started it, the deprecated events it uses.

    Returns the record and the inputs its events are given (the recorded
    ones, converted, and ``part``'s supplied ones).  A batch run records its
    parent run this way, and drives it itself.  ``notes`` are noted with the
    run as it is created (a scheduled run's schedule and slot, the workflow
    unit it runs).
    """
    part = part or Part()
    plan = program.plan
    given = {**inputs, **part.supplied}
    plan.check_inputs(given)
    given = plan.coerce_inputs(given)  # before recording: the run keeps what ran
    inputs = {k: v for k, v in given.items() if k not in part.supplied}
    run_id = run_id or new_run_id()
    now = time.time()
    graph = program.graph
    record = RunRecord(
        id=run_id,
        workflow=program.name,
        text=graph.source,
        fingerprint=program.fingerprint or graph.fingerprint(),
        events=plan.pins(),
        inputs=inputs,
        state=RunState.RUNNING,
        created_at=now,
        updated_at=now,
        filename=graph.filename,
        # This process drives the run from its first write: epoch 1 of its lease.
        owner=owner_id(),
        epoch=1,
        heartbeat_at=now,
        parent=part.parent,
    )
    pid, host, cwd = this_process()
    started = Started(
        pid,
        host,
        cwd,
        program.sources,
        # A resume must resolve bare names the same way, and place events the same way.
        pins=program.registry.pins,
        executor=program.default_executor,
        owner=record.owner or "",
        ticks=own_ticks(),
    )
    # The run, who started it, what it was given to note, and the part's notes
    # of it (a batch run's): one write.
    written: list[EpochNote] = [*part.notes, (RunNote.of(run_id, now, started), None)]
    written += [(RunNote.of(run_id, now, detail), None) for detail in notes]
    notices = deprecations({node: n.spec for node, n in plan.nodes.items()})
    if notices:  # once per run, and recorded with it
        detail = Deprecated(tuple(n.as_dict() for n in notices))
        written.append((RunNote.of(run_id, now, detail), None))
    try:
        journal.create_run(record, notes=written)
    except UnencodableResult as exc:
        raise InputError(
            f"workflow inputs cannot be recorded: {exc} (inputs must be JSON-friendly)"
        ) from None
    if notices:
        warn_deprecated(notices, stacklevel=stacklevel + 1)
    return record, given


# ---------------------------------------------------------------- continuing


def recorded_program(
    snapshot: RunSnapshot, events: EventsArg = None, graph: Graph | None = None
) -> Program:
    """The program a recorded run continues with.

    ``graph`` is the workflow as it is now (default: the text the run
    follows, as recorded); its events come from ``events``, else from where
    the run loaded them, resolved with the version pins the run started with.
    """
    from ..dsl import parse

    was = recorded(snapshot.run, snapshot.notes)
    registry = make_registry(events if events is not None else was.sources)
    for name, spec in was.version_pins.items():
        registry.pin(name, spec)
    if graph is None:
        graph = parse(was.text, was.filename)
    sources = tuple(event_sources(events)) if events is not None else tuple(was.sources)
    return Program(
        build_plan(graph, registry, was.executor),
        snapshot.run.workflow,
        registry,
        sources,
        was.executor,
    )


def continue_run(
    journal: Journal,
    run_id: str,
    *,
    retry: bool = False,
    force: bool = False,
    events: EventsArg = None,
    now_program: Program | None = None,
    graph: Graph | None = None,
    how: Execution | None = None,
    rework: Rework | None = None,
    part: Part | None = None,
) -> Run:
    """Resume a crashed, cancelled or paused run, or (``retry``) re-run a failed one.

    ``rework`` is an operator's change made first (:mod:`.rework`): a task
    run again with everything after it (a retry, whatever the run's state),
    or a task declared done (a retry if the run failed, else a resume).

    Tasks whose success is journaled are not run again (their results are
    loaded); tasks cut off by a crash run again; a retry runs the failed
    tasks again, from scratch, and what follows them.  The workflow as it is
    now is ``now_program``, else ``graph`` with the run's events, else the
    recorded text: if it or its events changed where the run had already
    started, continuing is refused unless ``force`` (recorded in the run).

    The run is claimed first (:meth:`Journal.claim`): a run still driven by a
    live process is refused, or with ``force`` taken over (that process can
    write nothing more of it); two processes continuing one run at once are
    told apart by the epoch, and the later one is refused.  The run is read
    after the claim, so it holds everything its last owner wrote.  ``part``
    gives a part of another run what it was given at its start (a batch's
    items), again.
    """
    how = how or Execution()
    run = journal.load_run(run_id)
    if rework is not None:
        retry = rework.rerun_from is not None or run.state is RunState.FAILED
    _refuse_by_state(run, retry, rework)
    epoch, took_over = take_up(journal, run, force)
    try:
        with gc_paused():
            snapshot = journal.load(run_id)
        return _continue(
            journal,
            snapshot,
            epoch,
            (retry, force, took_over, rework),
            events,
            now_program,
            graph,
            how,
            part or Part(),
        )
    except BaseException:
        journal.release(run_id, epoch)  # refused, or failed to start: nobody drives it
        raise


def _continue(
    journal: Journal,
    snapshot: RunSnapshot,
    epoch: int,
    asked: tuple[bool, bool, bool, Rework | None],
    events: EventsArg,
    now_program: Program | None,
    graph: Graph | None,
    how: Execution,
    part: Part,
) -> Run:
    """:func:`continue_run` once the run is claimed (as ``epoch``) and read."""
    from ..dsl import parse

    retry, force, took_over, rework = asked
    run = snapshot.run
    run_id = run.id
    _refuse_by_state(run, retry, rework)  # its state may have moved on before the claim
    was = recorded(run, snapshot.notes)
    program = now_program or recorded_program(snapshot, events, graph)
    plan = program.plan
    with gc_paused():
        state = rehydrate(snapshot)
    culprits = list(failed_nodes(snapshot.notes)) if retry else []
    if rework is not None:
        check_rework(rework, plan.nodes, state.views)
        if rework.rerun_from is not None:
            culprits = [rework.rerun_from, *tasks_after(program.graph, rework.rerun_from)]
        else:
            culprits = [c for c in culprits if c != rework.declare]
    # A retry runs its failed tasks from scratch, so fixing their code is the point.
    started = state.started - set(culprits)
    now_graph = program.graph
    if now_graph.source == was.text and now_graph.filename == was.filename:
        old_graph = now_graph  # the recorded text itself: parsed once, not twice
    else:
        old_graph = parse(was.text, was.filename)
    changes = compare(old_graph, was.pins, now_graph, plan.pins(), started)
    now = time.time()
    blocking = [c for c in changes if c.started]
    if blocking and not force:
        raise ResumeRefused(
            f"run {run_id} cannot be {'retried' if retry else 'resumed'}: the workflow or its "
            "events changed where the run already started:\n  "
            + "\n  ".join(str(c) for c in blocking)
            + "\nrun the recorded version again, or pass --force to continue anyway"
            " (recorded in the run)"
        )
    if changes:
        note = RunNote.of(run_id, now, _changed(program, was, changes, bool(blocking)))
        journal.add_note(note, epoch=epoch)
    records = _reset_records(run_id, state, plan, culprits, now)
    if rework is not None:
        journal.add_note(RunNote.of(run_id, now, _operator(rework)), epoch=epoch)
        if rework.declare is not None:
            records.append(declared_record(run_id, rework, state.views.get(rework.declare), now))
    if records:
        journal.record(records, epoch=epoch)
        # What the journal now holds, without reading the whole run back:
        # a journal returns records exactly as written.
        snapshot = dataclasses.replace(snapshot, tasks=[*snapshot.tasks, *records])
        state = rehydrate(snapshot)
    inputs = {**run.inputs, **part.supplied}
    plan.check_inputs(inputs)
    if part.supplied:  # converted as they were at the start (recorded inputs already are)
        inputs = plan.coerce_inputs(inputs)
    check_run_transition(run_id, run.state, RunState.RUNNING)
    journal.set_run_state(run_id, RunState.RUNNING, now, epoch=epoch)
    pid, host, cwd = this_process()
    resumed = Resumed(
        pid,
        host,
        cwd,
        program.sources or tuple(was.sources),
        retry=retry,
        interrupted=tuple(n for n, _ in state.interrupted),
        retrying=tuple(culprits),
        forced=bool(force and blocking),
        owner=owner_id(),
        ticks=own_ticks(),
        took_over=took_over,
    )
    journal.add_note(RunNote.of(run_id, now, resumed), epoch=epoch)
    engine = _engine(
        program,
        journal,
        run_id,
        inputs,
        how,
        replay=state,
        notes=snapshot.notes,
        epoch=epoch,
        batch=part.batch,
        end_note=part.ended,
    )
    return _finish(engine, run.created_at)


def _operator(rework: Rework) -> Operator:
    """The note of an operator's rework, naming who did it."""
    pid, host, _cwd = this_process()
    if rework.rerun_from is not None:
        return Operator("rerun-from", rework.rerun_from, pid, user_name(), host)
    assert rework.declare is not None
    return Operator(
        rework.action, rework.declare, pid, user_name(), host, rework.result is not None
    )


def take_up(journal: Journal, run: RunRecord, force: bool) -> tuple[int, bool]:
    """Claim recorded ``run`` to continue it: (the new epoch, whether ``force`` took
    it from a live owner).  A run a live process drives is refused, unless ``force``."""
    took_over = _take_over(run, force, journal.load_notes(run.id))
    epoch = journal.claim(run.id, owner_id(), time.time(), None if took_over else run.epoch)
    return epoch, took_over


def _refuse_by_state(run: RunRecord, retry: bool, rework: Rework | None = None) -> None:
    """ResumeRefused unless the run's state allows ``retry`` or a resume (or ``rework``)."""
    run_id = run.id
    if rework is not None and rework.rerun_from is not None:
        return  # any run may run a task again (a live owner is refused by the claim)
    if rework is not None and run.state is RunState.SUCCEEDED:
        raise ResumeRefused(f"run {run_id} succeeded; there is no task to declare done")
    if rework is not None:
        return
    if run.state is RunState.SUCCEEDED:
        verb = "retry" if retry else "resume"
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


def _take_over(run: RunRecord, force: bool, notes: Sequence[RunNote]) -> bool:
    """False when nobody drives the run; True when ``force`` takes it from a live owner;
    else ResumeRefused naming that owner."""
    if run.state is not RunState.RUNNING or not owner_alive(run, notes):
        return False
    if force:
        return True
    who = run_owner(run, notes)
    where = f"process {who.pid} on {who.host}" if who is not None else "another process"
    beat = (
        f"; its lease was renewed {time.time() - run.heartbeat_at:.1f} s ago"
        if run.heartbeat_at is not None
        else ""
    )
    raise ResumeRefused(
        f"run {run.id} is still running in {where}{beat}; cancel it first "
        "('volnux runs cancel'), or pass --force to take it over (that process then "
        "records and starts nothing more of it)"
    )


def _changed(program: Program, was: Recorded, changes: list[Change], forced: bool) -> Changed:
    """The note of a workflow that changed since the run began: what it follows now."""
    return Changed(
        tuple(str(c) for c in changes),
        program.graph.source,
        program.graph.filename,
        {k: _pin_dict(p) for k, p in program.plan.pins().items()},
        program.sources or tuple(was.sources),
        forced,
        tuple(c.node_id for c in changes),
    )


def _reset_records(
    run_id: str, state: Any, plan: Plan, culprits: list[str], now: float
) -> list[TaskRecord]:
    """PENDING records for the tasks a crash cut off and, for a retry, the failed ones."""
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
    return records


def _pin_dict(pin: EventPin) -> dict[str, str]:
    return {
        "name": pin.name,
        "version": pin.version,
        "origin": pin.origin,
        "fingerprint": pin.fingerprint,
    }


# -------------------------------------------------------------------- running


def _engine(
    program: Program,
    journal: Journal,
    run_id: str,
    inputs: dict[str, Any],
    how: Execution,
    **resume: Any,
) -> Engine:
    return Engine(
        program.plan,
        journal,
        run_id,
        inputs,
        executors=how.executors,
        pools=how.pools,
        max_workers=how.max_workers,
        pool_settings=how.pool_settings,
        observers=(*default_observers(), *how.observers),
        workflow=program.name,
        stop=how.stop,
        fuse=how.fuse,
        **resume,
    )


def _finish(engine: Engine, created_at: float) -> Run:
    """Execute ``engine`` to the end and return the run."""
    state, outcome = engine.execute()
    run = engine.snapshot(state, outcome, created_at=created_at)
    run.ended_at = time.time()
    run.graph = engine.plan.graph  # for pictures of the run (Run._repr_svg_)
    return run

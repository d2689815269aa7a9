"""Sub-workflows: a node that runs a workflow unit (``<orders@1.2>``) as a child run.

Why a child run rather than splicing the unit's graph into its parent: the
child is journaled, shown, resumed and retried on its own, with the same
parent/child link a batch run's batches have (``RunRecord.parent``), and the
parent sees one node whose outcome is the child's.

Planning (:class:`Workflows`) resolves the reference through the project's
workflow units (``[workflows]`` in volnux.toml), plans the unit's graph with
the parent's events and the unit's own, recursively, and refuses a cycle
(``a`` runs ``b`` runs ``a``) naming it.

Running (:meth:`SubWorkflow.attempt`, handed to a thread by the engine in
place of an event's attempt): each attempt starts a child run with id
``PARENT.NAME.N`` (``N`` counts the node's children), given the parent's
inputs over the unit's defaults and, when something is piped into the node,
``piped_in``.  Its result is what the child's last step returned; a child
that does not succeed fails the attempt with an exception, so ``* 3`` and
the event's retry rules apply and each new attempt starts a fresh child.  An
attempt whose parent was killed while it ran is taken up where it stopped
when the parent resumes: the child is resumed, or its outcome taken if it had
ended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PointyError, RunError, WorkflowNotFound, WorkflowUnitError
from ..events import Context, EventRegistry, EventSpec, RetryPolicy
from ..graph import Block, Graph, Group, Parallel, Sequence, Task
from ..notes import SubWorkflow as SubWorkflowNote
from ..notes import WorkflowUnit as UnitNote
from ..states import RunState
from ..store import Journal
from .attempt import AttemptResult, error_info
from .stop import StopRequest

if TYPE_CHECKING:
    from ..units import WorkflowCatalog, WorkflowUnit
    from .plan import NodePlan, Plan
    from .run import Run

__all__ = ["INPUT", "SubWorkflow", "Workflows", "child_prefix"]

#: The workflow input a child run is handed what was piped into its node.
INPUT = "piped_in"

#: The attributes a sub-workflow node takes (an executor or a timeout would
#: mean nothing: the child runs its own events where they say).
ATTRIBUTES = ("result_evaluation_strategy", "result_predicate", "retry_attempts")


def child_prefix(parent: str, node_id: str) -> str:
    """``3f2a9c1b0e4d.orders.``: the start of the ids of node ``node_id``'s child runs."""
    name = node_id.removeprefix("workflow:").replace("#", "-")
    return f"{parent}.{name}."


def _no_call(ctx: Context) -> None:
    """Stands in for the event of a sub-workflow node: the engine runs the child instead."""
    raise RunError(f"{ctx.node_id} is a sub-workflow; only the engine runs it")


@dataclasses.dataclass(frozen=True, eq=False)
class SubWorkflow:
    """A planned ``<unit>`` node: the unit and the plan of its graph."""

    unit: WorkflowUnit
    plan: Plan
    registry: EventRegistry
    default_executor: str | None

    @property
    def key(self) -> str:
        """``orders@1.2.0``."""
        return self.unit.key

    def spec(self) -> EventSpec:
        """What the parent's plan, pins and pictures see for the node: the unit, by
        name and version, fingerprinted by its graph and the events it runs."""
        spec = EventSpec(
            name=self.unit.name,
            version=str(self.unit.version),
            target=_no_call,
            is_class=False,
            executor="thread",
            retry=RetryPolicy(),
            origin=f"workflow unit {self.unit.key} ({self.unit.origin})",
        )
        import hashlib

        digest = hashlib.sha256(self.plan.graph.fingerprint().encode())
        for node_id, pin in sorted(self.plan.pins().items()):
            digest.update(f"{node_id}={pin.name}@{pin.version}:{pin.fingerprint}".encode())
        spec._fingerprint = digest.hexdigest()[:16]
        return spec

    # ------------------------------------------------------------ running

    def attempt(
        self,
        journal: Journal,
        ctx: Context,
        round_: int,
        cut_off: bool,
        piped_in: bool,
        stop: StopRequest | None = None,
    ) -> AttemptResult:
        """One attempt of the node: its child run, driven to its end.  Never raises."""
        try:
            run = self._drive(journal, ctx, round_, cut_off, piped_in, stop)
        except Exception as exc:
            return AttemptResult(0, None, error_info(exc), exc)
        if run.state is RunState.SUCCEEDED:
            return AttemptResult(1, _last_result(run), None, None)
        failed = RunError(
            f"workflow {self.key}: child run {run.id} {run.status}"
            + (f": {run.error}" if run.error else "")
            + f" (see 'volnux runs show {run.id}')"
        )
        return AttemptResult(0, None, error_info(failed), failed)

    def _drive(
        self,
        journal: Journal,
        ctx: Context,
        round_: int,
        cut_off: bool,
        piped_in: bool,
        stop: StopRequest | None,
    ) -> Run:
        from .lifecycle import Execution, Part, Program, continue_run, start_run
        from .recovery import recorded

        parent, node_id = ctx.run_id, ctx.node_id
        prefix = child_prefix(parent, node_id)
        children = _children(journal, prefix)
        record = journal.load_run(parent)
        sources = (*recorded(record, journal.load_notes(parent)).sources,
                   *self.unit.event_sources())  # fmt: skip
        program = Program(
            self.plan,
            self.unit.name,
            self.registry,
            tuple(dict.fromkeys(sources)),
            self.default_executor,
        )
        if cut_off and children:
            # The parent was killed while this node's previous attempt ran: take
            # up that attempt's child, if it was the one that started it.
            latest = f"{prefix}{children[-1]}"
            note = _note_of(journal, latest)
            if note is not None and note.round == round_ and note.attempt == ctx.attempt - 1:
                child = journal.load_run(latest)
                if child.state is RunState.SUCCEEDED or child.state is RunState.FAILED:
                    return _ended(journal, latest)
                how = Execution(stop=stop)
                return continue_run(journal, latest, now_program=program, how=how)
        child_id = f"{prefix}{(children[-1] + 1) if children else 1}"
        inputs = {**self.unit.inputs, **ctx.inputs}
        if piped_in:
            inputs[INPUT] = ctx.piped
        notes = (
            UnitNote(
                self.unit.name,
                str(self.unit.version),
                self.unit.origin,
                self.unit.source.as_dict(),
                str(self.unit.workflow),
                self.unit.deprecated.describe() if self.unit.deprecated else "",
            ),
            SubWorkflowNote(parent, node_id, ctx.attempt, round_),
        )
        return start_run(
            program,
            journal,
            inputs,
            Execution(stop=stop),
            run_id=child_id,
            part=Part(parent=parent),
            notes=notes,
        )


def _children(journal: Journal, prefix: str) -> list[int]:
    """The numbers of the child runs whose ids start with ``prefix``, in order."""
    found = []
    for run_id in journal.run_ids(prefix, limit=1_000_000):
        tail = run_id[len(prefix) :]
        if tail.isdigit():
            found.append(int(tail))
    return sorted(found)


def _note_of(journal: Journal, run_id: str) -> SubWorkflowNote | None:
    from ..notes import latest

    found = latest(journal.load_notes(run_id), SubWorkflowNote)
    return found if isinstance(found, SubWorkflowNote) else None


def _ended(journal: Journal, run_id: str) -> Run:
    """The run ``run_id`` as it ended, read back from the journal."""
    from ..dsl import parse
    from .recovery import rehydrate
    from .run import Run

    snapshot = journal.load(run_id)
    record = snapshot.run
    return Run(
        record.id,
        record.workflow,
        record.state,
        rehydrate(snapshot).views,
        inputs=record.inputs,
        created_at=record.created_at,
        graph=parse(record.text, record.filename),
    )


def _last_result(run: Run) -> Any:
    """What the child's last step returned: one task's result, or a mapping of node
    id to result when the last step is a parallel group (as a pipe hands it on)."""
    if run.graph is None:
        return None
    exits = _exits(run.graph.root)
    results = run.results
    if len(exits) == 1:
        return results.get(exits[0])
    return {node_id: results[node_id] for node_id in exits if node_id in results}


def _exits(root: Block) -> list[str]:
    """The ids of the tasks that end ``root`` (the last step, through groups)."""
    found: list[str] = []
    stack = [root]
    while stack:
        block = stack.pop()
        if isinstance(block, Task):
            found.append(block.id)
        elif isinstance(block, Group):
            stack.append(block.body)
        elif isinstance(block, Sequence):
            stack.append(block.steps[-1])
        elif isinstance(block, Parallel):
            stack.extend(reversed(block.members))
    return found


# ------------------------------------------------------------------ planning


class Workflows:
    """Resolves ``<unit>`` references: the project's workflow units, planned once each."""

    def __init__(self, catalog: WorkflowCatalog) -> None:
        self.catalog = catalog
        self._planned: dict[str, SubWorkflow] = {}

    @classmethod
    def of_project(cls, start: Path | None = None) -> Workflows:
        """The units of the project whose volnux.toml is found from ``start`` (the
        working folder)."""
        from ..config import load_config
        from ..units import project_units

        return cls(project_units(load_config(start)))

    def plan_node(
        self,
        graph: Graph,
        task: Task,
        registry: EventRegistry,
        default_executor: str | None,
        within: tuple[str, ...],
        plan: Callable[..., Plan],
    ) -> SubWorkflow:
        """The sub-workflow ``task`` names, planned (PointyError at the task if it
        cannot be: unknown unit or version, a cycle, a mistake in its graph)."""
        from ..dsl import parse
        from .plan import _error

        def fail(message: str) -> PointyError:
            return _error(graph, task.pos, f"{task.id}: {message}")

        try:
            unit = self.catalog.resolve(str(task.ref))
        except WorkflowNotFound as exc:
            raise fail(exc.message) from None
        except WorkflowUnitError as exc:
            raise fail(str(exc)) from None
        if unit.key in within:
            cycle = [*within[within.index(unit.key) :], unit.key]
            raise fail(f"workflows run each other in a cycle: {' -> '.join(cycle)}")
        found = self._planned.get(unit.key)
        if found is not None:
            return found
        try:
            child_graph = parse(unit.text(), str(unit.workflow))
            child_registry = EventRegistry(registry.specs(), pins=registry.pins)
            for source in unit.event_sources():
                child_registry.load(source)
        except PointyError:
            raise
        except Exception as exc:  # a unit whose file or events cannot be read
            raise fail(f"workflow {unit.key}: {exc}") from exc
        child_plan = plan(child_graph, child_registry, default_executor, self, (*within, unit.key))
        found = self._planned[unit.key] = SubWorkflow(
            unit, child_plan, child_registry, default_executor
        )
        return found


def plan_workflow_node(
    task: Task, sub: SubWorkflow, piped_in: bool, make: type[NodePlan]
) -> NodePlan:
    """The node plan of a sub-workflow task (ValueError for what it cannot take)."""
    opts: Mapping[str, Any] = task.options
    for key in opts:
        if key not in ATTRIBUTES:
            raise ValueError(
                f"a sub-workflow takes only {', '.join(ATTRIBUTES)} and retries, not {key!r} "
                "(put it on the events of the workflow)"
            )
    spec = sub.spec()
    policy = spec.retry
    attempts = task.attempts
    if attempts is None and "retry_attempts" in opts:
        value = opts["retry_attempts"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"retry_attempts must be a whole number of 0 or more, got {value!r}")
        attempts = value or None
    if attempts is not None:
        policy = dataclasses.replace(policy, max_attempts=attempts)
    from .plan import _evaluation

    return make(task, spec, policy, "thread", piped_in, _evaluation(opts, spec), sub=sub)

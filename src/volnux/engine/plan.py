"""From a parsed graph and a registry to a plan: every task's event and policy.

Planning is where reference errors are found: an unknown event, a version that
does not exist, a ``piped`` parameter with nothing piped in, an attribute of
the wrong type.  Each is a :class:`PointyError` at the task's position, so the
author sees the line and a caret, and nothing has run yet.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, EventNotFound, InputError, PointyError, WorkflowUnitError
from ..events import EventRegistry, EventSpec, RetryPolicy
from ..events.base import ASYNC_EXECUTOR
from ..events.evaluation import (
    GROUP_PREDICATE,
    TASK_PREDICATE,
    ResultEvaluation,
    load_predicate,
    parse_strategy,
)
from ..executors import CLUSTER, check_executor, device_slots
from ..graph import Block, Branch, Graph, Group, Parallel, Sequence, Task, iter_blocks
from ..graph.model import Position
from ..observability.observer import NodeInfo
from ..store import EventPin
from . import compat

if TYPE_CHECKING:
    from .chains import Chain
    from .subflows import SubWorkflow, Workflows

__all__ = [
    "GROUP_ATTRIBUTES",
    "TASK_ATTRIBUTES",
    "GroupPlan",
    "NodePlan",
    "Plan",
    "build_plan",
    "find_plan_errors",
]

#: No extra attributes (shared, never changed: most tasks have none).  Plain
#: dicts, not read-only proxies: a Context crosses to worker processes.
NO_EXTRAS: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class NodePlan:
    """One task, resolved: its event, retry policy and executor."""

    task: Task
    spec: EventSpec
    policy: RetryPolicy
    executor: str
    piped_in: bool
    #: How a successful result is judged (None: every success counts).
    evaluation: ResultEvaluation | None = None
    #: The task's own attributes, for an event that takes ``extras``.
    extras: Mapping[str, Any] = dataclasses.field(default_factory=lambda: NO_EXTRAS)
    #: Workers of the task's own pool of its executor (``executor_config``'s
    #: ``max_workers``); None: the pool the run's other tasks share.
    pool_size: int | None = None
    #: The workflow unit a sub-workflow node (``<orders@1.2>``) runs as a child
    #: run, planned; None for an event.
    sub: SubWorkflow | None = None


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """How a parallel group's members' outcomes are judged."""

    strategy: tuple[str, float] = ("all", 0.0)
    #: ``predicate(results, failures) -> bool | int`` replaces the strategy.
    predicate: Callable[..., Any] | None = None
    #: The predicate as the workflow names it (``module:function``), for messages.
    name: str = ""


@dataclass(frozen=True)
class Plan:
    """A graph whose every task is resolved and checked."""

    graph: Graph
    nodes: Mapping[str, NodePlan]
    #: Group id -> how it is judged, for groups that say so.
    groups: Mapping[str, GroupPlan] = dataclasses.field(default_factory=dict)

    def pins(self) -> Mapping[str, EventPin]:
        """Node id to the event code it runs (recorded with every run).

        The same read-only mapping every time, so that a journal can encode a
        plan's pins once however many runs it records.
        """
        return self._pins

    @cached_property
    def _pins(self) -> Mapping[str, EventPin]:
        # One pin per event, shared by its nodes: a journal stores each once.
        by_spec = {
            id(spec): EventPin(spec.name, str(spec.version), spec.origin, spec.fingerprint)
            for spec, _ in self._nodes_by_spec
        }
        return MappingProxyType({node_id: by_spec[id(n.spec)] for node_id, n in self.nodes.items()})

    @cached_property
    def node_infos(self) -> Mapping[str, NodeInfo]:
        """What observers are told about each node (built once per plan, not per run)."""
        return MappingProxyType(
            {
                node_id: NodeInfo(node_id, n.spec.name, str(n.spec.version), n.executor)
                for node_id, n in self.nodes.items()
            }
        )

    @cached_property
    def chains(self) -> Mapping[str, Chain]:
        """Node id -> the tasks that may go in one call with it (see .chains)."""
        from .chains import chains_of

        return chains_of(self)

    @cached_property
    def sent(self) -> dict[int, bytes | None]:
        """Spec id -> the spec as sent to worker processes (attempt.sendable), filled
        by the runs of this plan as they first send it."""
        return {}

    @cached_property
    def event_keys(self) -> frozenset[str]:
        """The key (``name@version``) of every event the plan runs."""
        return frozenset(spec.key for spec, _ in self._nodes_by_spec)

    @cached_property
    def _nodes_by_spec(self) -> tuple[tuple[EventSpec, tuple[str, ...]], ...]:
        """Each event once, with the nodes that run it (in plan order)."""
        users: dict[int, tuple[EventSpec, list[str]]] = {}
        for node_id, node in self.nodes.items():
            users.setdefault(id(node.spec), (node.spec, []))[1].append(node_id)
        return tuple((spec, tuple(ids)) for spec, ids in users.values())

    def coerce_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs checked against the events' annotations (InputError naming each
        mismatch), converted where that loses nothing (see :mod:`.inputs`)."""
        from .inputs import coerce_inputs

        return coerce_inputs(inputs, self._typed_specs)

    @cached_property
    def _typed_specs(self) -> list[tuple[EventSpec, tuple[str, ...], dict[str, Any]]]:
        """The events whose input parameters carry annotations, with them (read once)."""
        typed = ((spec, ids, spec.input_types()) for spec, ids in self._nodes_by_spec)
        return [(spec, ids, types) for spec, ids, types in typed if types]

    def check_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Raise InputError if some event needs an input that is not given."""
        missing: dict[str, list[str]] = {}
        for spec, node_ids in self._nodes_by_spec:  # an event's needs, asked once per event
            for name in spec.missing_inputs(inputs):
                missing.setdefault(name, []).extend(f"{n} ({spec.key})" for n in node_ids)
        if missing:
            lines = [f"'{name}', needed by {', '.join(users)}" for name, users in missing.items()]
            raise InputError(
                "missing workflow input "
                + "; ".join(lines)
                + " (pass --input NAME=VALUE, or give the parameter a default)"
            )


def _error(graph: Graph, pos: Position, message: str) -> PointyError:
    return PointyError(
        message,
        line=max(pos.line, 1),
        column=max(pos.column, 1),
        filename=graph.filename,
        source=graph.source or None,
    )


def _entries(block: Block) -> Iterable[Task]:
    """The tasks that start first when ``block`` starts (they receive a pipe)."""
    stack = [block]
    while stack:
        b = stack.pop()
        if isinstance(b, Task):
            yield b
        elif isinstance(b, Group):
            stack.append(b.body)
        elif isinstance(b, Sequence):
            stack.append(b.steps[0])
        else:
            stack.extend(b.members)


def _piped_ids(graph: Graph) -> set[str]:
    piped: set[str] = set()
    for block in iter_blocks(graph.root):
        if isinstance(block, Sequence):
            for i, pipe in enumerate(block.pipes):
                if pipe:
                    piped.update(t.id for t in _entries(block.steps[i + 1]))
        if isinstance(block, Task | Group):
            for branch in block.branches:
                if branch.pipe:
                    piped.update(t.id for t in _entries(branch.body))
    return piped


def find_plan_errors(
    graph: Graph,
    registry: EventRegistry,
    default_executor: str | None = None,
    workflows: Workflows | None = None,
) -> tuple[dict[str, NodePlan], list[PointyError]]:
    """Resolve every task; return the node plans and every error found."""
    nodes, _groups, errors = _resolve(graph, registry, default_executor, workflows)
    return nodes, errors


def _resolve(
    graph: Graph,
    registry: EventRegistry,
    default_executor: str | None,
    workflows: Workflows | None = None,
    within: tuple[str, ...] = (),
) -> tuple[dict[str, NodePlan], dict[str, GroupPlan], list[PointyError]]:
    nodes: dict[str, NodePlan] = {}
    groups: dict[str, GroupPlan] = {}
    errors: list[PointyError] = []
    piped = _piped_ids(graph)
    #: Task id -> the executor (and pool size) a group around it names; the
    #: outermost group wins (groups come before what they hold, pre-order).
    placed: dict[str, tuple[str, int | None]] = {}
    for block in iter_blocks(graph.root):
        if isinstance(block, Group):
            try:
                group = _plan_group(block)
                placement = _group_placement(block)
            except ValueError as exc:
                errors.append(_error(graph, block.pos, f"{block.id}: {exc}"))
                continue
            if group is not None:
                groups[block.id] = group
            if placement is not None:
                for inner in iter_blocks(block.body):
                    if isinstance(inner, Task):
                        placed.setdefault(inner.id, placement)
            continue
        if not isinstance(block, Task):
            continue
        task = block
        if task.workflow:
            try:
                if workflows is None:
                    workflows = _project_workflows(graph, task)
                nodes[task.id] = _plan_sub(
                    graph, task, registry, default_executor, workflows, within, task.id in piped
                )
            except PointyError as exc:
                errors.append(exc)
            continue
        try:
            spec = registry.resolve(task.ref.name, task.ref.version)
        except EventNotFound as exc:
            errors.append(_error(graph, task.pos, exc.message))
            continue
        try:
            node = _plan_task(task, spec, task.id in piped, default_executor)
            if task.id in placed:
                executor, size = placed[task.id]
                node = dataclasses.replace(node, executor=executor, pool_size=size)
            _check_placement(node)
            nodes[task.id] = node
        except ValueError as exc:
            errors.append(_error(graph, task.pos, f"{task.id}: {exc}"))
    return nodes, groups, errors


def _project_workflows(graph: Graph, task: Task) -> Workflows:
    """The workflow units of the project found from the working folder."""
    from .subflows import Workflows

    try:
        return Workflows.of_project()
    except (ConfigError, WorkflowUnitError) as exc:
        raise _error(graph, task.pos, f"{task.id}: {exc}") from None


def _plan_sub(
    graph: Graph,
    task: Task,
    registry: EventRegistry,
    default_executor: str | None,
    workflows: Workflows,
    within: tuple[str, ...],
    piped_in: bool,
) -> NodePlan:
    """A sub-workflow node, its unit planned (recursively, refusing cycles)."""
    from .subflows import plan_workflow_node

    def plan(
        child: Graph,
        child_registry: EventRegistry,
        executor: str | None,
        resolver: Workflows,
        inside: tuple[str, ...],
    ) -> Plan:
        nodes, groups, errors = _resolve(child, child_registry, executor, resolver, inside)
        if errors:
            raise errors[0]
        return Plan(child, nodes, groups)

    sub = workflows.plan_node(graph, task, registry, default_executor, within, plan)
    try:
        return plan_workflow_node(task, sub, piped_in, NodePlan)
    except ValueError as exc:
        raise _error(graph, task.pos, f"{task.id}: {exc}") from None


#: The attributes the engine reads, on a task and on a group (with those of
#: Volnux 2.x that keep a meaning here, see :mod:`.compat`).
TASK_ATTRIBUTES: tuple[str, ...] = (
    "executor",
    "result_evaluation_strategy",
    "result_predicate",
    "retry_attempts",
    "timeout",
    *compat.ATTRIBUTES,
)
GROUP_ATTRIBUTES: tuple[str, ...] = (
    "executor",
    "result_evaluation_strategy",
    "result_predicate",
    "retry_attempts",
    *compat.ATTRIBUTES,
)


def _extras(
    attrs: Mapping[str, Any], known: tuple[str, ...], where: str, takes_extras: bool
) -> dict[str, Any]:
    """The attributes that are not Volnux's own; ValueError for a misspelt one (a
    name close to a known one), or for any of them where nothing takes extras."""
    extra = {key: value for key, value in attrs.items() if key not in known}
    for key in extra:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        if close:
            raise ValueError(f"unknown attribute {key!r}; did you mean {close[0]!r}?")
        if not takes_extras:
            raise ValueError(f"unknown attribute {key!r} (known: {', '.join(known)}); {where}")
    return extra


def _plan_group(group: Group) -> GroupPlan | None:
    opts = group.options
    if "timeout" in opts:
        raise ValueError("timeout applies to events, not to a group; put it on the events inside")
    _extras(opts, GROUP_ATTRIBUTES, "a group takes no other attributes", False)
    _check_compat(opts, group.branches)
    if "retry_attempts" in opts:
        _retry_attempts(opts["retry_attempts"])
    strategy = opts.get("result_evaluation_strategy")
    predicate = opts.get("result_predicate")
    if strategy is None and predicate is None:
        return None
    if predicate is not None and not isinstance(group.body, Parallel):
        raise ValueError("result_predicate applies to a parallel group ( A || B ... )")
    return GroupPlan(
        parse_strategy(strategy) if strategy is not None else ("all", 0.0),
        load_predicate(str(predicate), GROUP_PREDICATE) if predicate is not None else None,
        str(predicate) if predicate is not None else "",
    )


def _evaluation(opts: Mapping[str, Any], spec: EventSpec) -> ResultEvaluation | None:
    """The task's result evaluation: DSL attributes win over the event's own."""
    strategy = opts.get("result_evaluation_strategy")
    predicate = opts.get("result_predicate")
    if predicate is not None:
        return ResultEvaluation(predicate=load_predicate(str(predicate), TASK_PREDICATE))
    if strategy is not None:
        if not isinstance(strategy, str):
            raise ValueError("result_evaluation_strategy must be a string")
        return ResultEvaluation(strategy=strategy)
    return spec.evaluation


def _group_placement(group: Group) -> tuple[str, int | None] | None:
    """The executor (and pool size) a group names for every task in it, if it does."""
    opts = group.options
    if "executor" not in opts:
        if "executor_config" in opts:
            raise ValueError(
                'executor_config needs an executor beside it: [executor="process", ...]'
            )
        return None
    size = compat.pool_size(opts["executor_config"]) if "executor_config" in opts else None
    return check_executor(opts["executor"]), size


def _check_compat(opts: Mapping[str, Any], branches: tuple[Branch, ...]) -> None:
    """Volnux 2.x's stop_condition and bypass_event_checks: ValueError unless they
    mean here what they meant there."""
    if "stop_condition" in opts:
        compat.check_stop_condition(
            opts["stop_condition"], any(b.descriptor == 0 for b in branches)
        )
    if "bypass_event_checks" in opts:
        compat.check_bypass(opts["bypass_event_checks"])


def _retry_attempts(value: Any) -> int | None:
    """``retry_attempts``: a whole number; 0 (Volnux 2.x's "none") leaves the retry
    policy as it is, as a 1 does not: 1 means one attempt."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"retry_attempts must be a whole number of 0 or more, got {value!r}")
    return value or None


def _plan_task(
    task: Task, spec: EventSpec, piped_in: bool, default_executor: str | None = None
) -> NodePlan:
    opts = task.options
    extras = _extras(
        opts,
        TASK_ATTRIBUTES,
        f"event {spec.key} takes no others (an event that takes the task's own "
        "attributes has an 'extras' parameter)",
        spec.takes_extras,
    )
    if spec.wants_piped and not piped_in:
        raise ValueError(
            f"event {spec.key} takes 'piped' but nothing is piped into it "
            "(use '|->' before it, or give 'piped' a default)"
        )
    _check_compat(opts, task.branches)
    policy = spec.retry
    attempts = task.attempts
    if attempts is None and "retry_attempts" in opts:
        attempts = _retry_attempts(opts["retry_attempts"])
    if attempts is not None:
        policy = dataclasses.replace(policy, max_attempts=attempts)
    if "timeout" in opts:
        value = opts["timeout"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {value!r}")
        policy = dataclasses.replace(policy, timeout_s=float(value))
    # The task's attribute, else the event's own choice, else the project's default.
    # An async def event runs on the asyncio executor whatever the project's default.
    chosen = spec.executor_chosen or spec.is_async
    own = spec.executor if chosen else (default_executor or spec.executor)
    executor = check_executor(opts.get("executor", own))
    size = compat.pool_size(opts["executor_config"]) if "executor_config" in opts else None
    return NodePlan(
        task,
        spec,
        policy,
        executor,
        piped_in,
        _evaluation(opts, spec),
        extras or NO_EXTRAS,
        size,
    )


def _check_placement(node: NodePlan) -> None:
    """An ``async def`` event runs on the asyncio executor, and nothing else does;
    a memory limit needs a process of the event's own."""
    spec, executor = node.spec, node.executor
    res = spec.resources
    # Found here for any GPU event: a malformed VOLNUX_GPUS is said at the task, not
    # mid-run.  A cluster's workers declare their own GPUs: not this machine's business.
    slots = device_slots() if res.wants_gpu and executor not in CLUSTER else None
    if slots is not None and res.gpu == "require" and not slots.fits(res.gpus, res.gpu_memory_mb):
        devices = slots.devices
        have = (
            "no GPU" if not devices
            else ", ".join(
                f"gpu {d.index}" + (f" ({d.memory_mb:,} MiB)" if d.memory_mb else "")
                for d in devices
            )
        )  # fmt: skip
        need = f"{res.gpus:g} GPU{'s' if res.gpus > 1 else ''}" + (
            f" with {res.gpu_memory_mb:,} MiB" if res.gpu_memory_mb else ""
        )
        raise ValueError(
            f"event {spec.key} requires {need}, and this machine has {have} (found through "
            'VOLNUX_GPUS, NVML or CUDA_VISIBLE_DEVICES): set gpu="prefer" to run it on the '
            "CPU where there is none"
        )
    if res.memory_mb is not None and executor != "process" and executor not in CLUSTER:
        raise ValueError(
            f"event {spec.key} sets memory_mb, which limits a worker process: it runs on "
            f'the {executor!r} executor; choose executor="process" (or "dask", whose '
            "workers declare their memory)"
        )
    if spec.is_async and executor != ASYNC_EXECUTOR:
        raise ValueError(
            f"event {spec.key} is an async def, which runs on the {ASYNC_EXECUTOR} executor, "
            f"not {executor!r}: drop executor={executor!r} (or make the event a plain def)"
        )
    if executor == ASYNC_EXECUTOR and not spec.is_async:
        raise ValueError(
            f"event {spec.key} is a plain def, and the {ASYNC_EXECUTOR} executor runs only "
            'async def events: make it async def, or choose "thread" or "process"'
        )


def build_plan(
    graph: Graph,
    registry: EventRegistry,
    default_executor: str | None = None,
    workflows: Workflows | None = None,
) -> Plan:
    """Resolve and check every task; raise the first error found.

    Sub-workflow nodes (``<orders@1.2>``) resolve through ``workflows``
    (default: the units of the project found from the working folder).
    """
    nodes, groups, errors = _resolve(graph, registry, default_executor, workflows)
    if errors:
        raise errors[0]
    return Plan(graph, nodes, groups)

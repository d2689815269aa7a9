"""Chains: consecutive tasks on one worker pool, run in one call to a worker.

A sequence of plain tasks on the same pool of worker processes (``Check ->
Keys |-> Tally``, each on ``process``) crosses to a worker and back once per
task: the inputs are pickled again for each, and each result waits for the
engine before the next task may start.  With chains on (an
:class:`~volnux.engine.lifecycle.Execution` with ``fuse``; on by default for
the batches of a batch run), the engine sends a task together with the tasks
after it that may go with it (:func:`links_after`) as one call
(:func:`~volnux.engine.attempt.run_chain`): the worker runs them in turn
while the one before succeeded, and returns every outcome with the time it
ended.

What the journal holds, and when:

* the first task's start, before the call is sent (as for any attempt);
* once the call returns, each task's end and the next one's start, at the
  times the worker saw, in the order they happened: all in one transaction,
  written before anything that follows them is submitted and before the run
  ends.

So a crash while the call runs leaves the first task RUNNING, and a resume
runs the chain again from it: a later task that had run meanwhile had no
record yet, and runs again, as an attempt cut off by a crash does.  A
journaled success never runs again.  What the journal does not show while
the call runs is which task of the chain is running: the first one stands
for the chain.

The chain stops at the first task that does not succeed (it failed, chose a
descriptor, or reported failed items): the engine decides what follows, as
for any attempt (a retry of that task goes with the tasks after it again).
A call that fails as a whole (a worker that died, something that could not
be pickled, an event that cannot be loaded there) is sent again one task at
a time, so that the failure is the task's own: the first task may then run
twice, its first run unrecorded, as after a crash.

What may go in a chain (:func:`links_after`): the tasks of one sequence, one
after the other, on the same pool (same executor, pool size and memory
limit), without a timeout (a timeout stops one attempt's worker), GPUs, a
sub-workflow or ``async``; every task but the last also without descriptor
branches or a result evaluation (what follows it is then a choice made on
its result).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from ..graph import Sequence, Task, iter_blocks

if TYPE_CHECKING:
    from .plan import NodePlan, Plan

__all__ = ["Chain", "Link", "chains_of", "links_after"]


class Link(NamedTuple):
    """A task that may run in the call of the tasks before it."""

    node: NodePlan
    #: Whether it is handed the result of the task before it (``|->``).
    piped: bool


class Chain(NamedTuple):
    """The tasks that may follow a task in its call, and the workflow inputs they all
    take (None: every input, where one of them takes the context or ``**kwargs``)."""

    links: tuple[Link, ...]
    inputs: frozenset[str] | None


def chains_of(plan: Plan) -> Mapping[str, Chain]:
    """Node id -> its :class:`Chain`, for every task that may lead one (computed once
    per plan: :attr:`Plan.chains`)."""
    out: dict[str, Chain] = {}
    for block in iter_blocks(plan.graph.root):
        if not isinstance(block, Sequence):
            continue
        for index, step in enumerate(block.steps):
            if not isinstance(step, Task):
                continue
            head = plan.nodes[step.id]
            links = links_after(plan, block, index, head)
            if not links:
                continue
            names: frozenset[str] | None = frozenset()
            for spec in (head.spec, *(link.node.spec for link in links)):
                taken = spec.input_names
                names = None if names is None or taken is None else names | taken
            out[step.id] = Chain(links, names)
    return out


def may_lead(node: NodePlan) -> bool:
    """Whether ``node``'s attempt may go in one call with tasks after it: it runs on a
    pool as a plain call, and what follows it is no choice made on its result."""
    return _plain(node) and not node.task.branches and node.evaluation is None


def links_after(plan: Plan, seq: Sequence, index: int, head: NodePlan) -> tuple[Link, ...]:
    """The tasks after step ``index`` of ``seq`` (``head``'s task) that may run in the
    same call as it, in order; empty when none may (see the module docstring)."""
    if not may_lead(head):
        return ()
    links: list[Link] = []
    steps, pipes = seq.steps, seq.pipes
    prev = head
    while index + 1 < len(steps) and may_lead(prev):
        block = steps[index + 1]
        if not isinstance(block, Task):
            break
        node = plan.nodes[block.id]
        if not (_plain(node) and _same_pool(head, node)):
            break
        links.append(Link(node, pipes[index]))
        prev = node
        index += 1
    return tuple(links)


def _plain(node: NodePlan) -> bool:
    """A call with nothing the engine must tend while it runs (a timeout, GPUs, a child
    run, an event loop)."""
    spec = node.spec
    return (
        node.policy.timeout_s is None
        and not spec.resources.wants_gpu
        and node.sub is None
        and not spec.is_async
    )


def _same_pool(a: NodePlan, b: NodePlan) -> bool:
    return (
        a.executor == b.executor
        and a.pool_size == b.pool_size
        and a.spec.resources.memory_mb == b.spec.resources.memory_mb
    )

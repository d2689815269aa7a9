"""Rebuilding a run from its journal, and deciding whether it may continue.

:func:`rehydrate` reads a :class:`RunSnapshot` and gives back what the engine
needs to continue: every task's view, the outcome of each finished task (so
it is not run again) and the attempts already spent.  :func:`recorded` reads
what the run follows now (text, event pins, sources) from its record and
notes, and :func:`failed_nodes` which tasks failed its last session.
:func:`compare` says how the workflow and its events changed since the run
was recorded, and whether the change touches anything that already started.
"""

from __future__ import annotations

import contextlib
import gc
import json
import zlib
from collections.abc import Iterator, Mapping
from collections.abc import Sequence as Sequence_
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..graph import Graph, Group, Parallel, Sequence, Task
from ..notes import Changed, Failed, Resumed, RunNote, Started, kinds_of
from ..states import TaskState
from ..store import EventPin, RunRecord, RunSnapshot
from .attempt import AttemptResult
from .run import TaskView

__all__ = [
    "Change",
    "Recorded",
    "Rehydrated",
    "compare",
    "failed_nodes",
    "gc_paused",
    "recorded",
    "rehydrate",
    "task_signatures",
]


@dataclass(slots=True)
class Rehydrated:
    """A run's tasks as its journal left them."""

    views: dict[str, TaskView]
    #: (node id, round) -> final attempt outcome (SUCCEEDED or FAILED).
    outcomes: dict[tuple[str, int], AttemptResult]
    #: (node id, round) -> failed attempts so far (they count against retries).
    failures: dict[tuple[str, int], int]
    #: (node id, round) -> wall-clock time its next attempt was due.
    next_attempt_at: dict[tuple[str, int], float]
    #: Every (node id, round) that has any record.
    seen: set[tuple[str, int]]
    #: Nodes whose last record is RUNNING: their attempt was cut off by a crash.
    interrupted: list[tuple[str, int]] = field(default_factory=list)
    #: Nodes that had started (any record past PENDING), in any round.
    started: set[str] = field(default_factory=set)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a run is loaded and folded.

    Loading a 100,000-task run makes some million lists, tuples and views,
    none in a cycle; the collector, run again and again as they pile up, took
    a third of the time (1.46 s against 0.99 s to load, 1.07 against 0.54 to
    fold, on the machine of the bench).  It is switched back on, if it was
    on, when the block ends.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def rehydrate(snapshot: RunSnapshot) -> Rehydrated:
    """Fold the journal's task records, oldest first, into per-task state.

    (Locals bound and records unpacked by position: a 100,000-task run folds
    200,000 records, and ``volnux runs show`` of it has 2 s in all.)
    """
    pins = snapshot.run.events
    views: dict[str, TaskView] = {}
    outcomes: dict[tuple[str, int], AttemptResult] = {}
    failures: dict[tuple[str, int], int] = {}
    next_at: dict[tuple[str, int], float] = {}
    last: dict[tuple[str, int], TaskState] = {}
    started: set[str] = set()
    pending, running, retrying = TaskState.PENDING, TaskState.RUNNING, TaskState.RETRYING
    succeeded, skipped = TaskState.SUCCEEDED, TaskState.SKIPPED
    new_result = tuple.__new__
    get_view = views.get
    for rec in snapshot.tasks:
        (_run, node, state, attempt, at, round_, descriptor, result, error, next_attempt_at,
         note) = rec  # fmt: skip
        key = (node, round_)
        view = get_view(node)
        if view is None:
            pin = pins.get(node)
            view = views[node] = TaskView(node, f"{pin.name}@{pin.version}" if pin else node)
        last[key] = state
        if state is pending:
            if note == "interrupted" or note == "paused":
                # Attempt numbering and the retry budget carry on after a crash
                # or a pause for an operator.
                view.interrupted += note == "interrupted"
                view.state = state
                if error is not None:
                    view.error = error
                continue
            outcomes.pop(key, None)
            failures.pop(key, None)
            next_at.pop(key, None)
            view.state, view.round = state, round_
            view.attempts, view.started_at, view.ended_at = 0, None, None
            view.result = view.error = view.descriptor = None
            continue
        if view.round != round_:
            view.round = round_
        view.state = state
        if attempt > view.attempts:
            view.attempts = attempt
        if state is running:
            started.add(node)
            if view.started_at is None:
                view.started_at = at
        elif state is retrying:
            failures[key] = failures.get(key, 0) + 1
            view.error = error
            if note is not None and note[:3] == "on ":  # where a GPU event's attempt ran
                view.placement = note[3:]
            if next_attempt_at is not None:
                next_at[key] = next_attempt_at
        elif state is skipped:
            view.ended_at = at
            if note == "operator":  # declared done by an operator: the run goes on past it
                view.result, view.descriptor = result, descriptor
                outcomes[key] = new_result(AttemptResult, (descriptor or 1, result, None, None, ()))
        else:  # SUCCEEDED or FAILED
            view.ended_at = at
            view.result, view.error, view.descriptor = result, error, descriptor
            if note is not None and note[:3] == "on ":
                view.placement = note[3:]
            if descriptor is None:
                descriptor = 1 if state is succeeded else 0
            outcomes[key] = new_result(AttemptResult, (descriptor, result, error, None, ()))
            if state is not succeeded:
                failures[key] = failures.get(key, 0) + 1
    interrupted = [key for key, state in last.items() if state is running]
    return Rehydrated(views, outcomes, failures, next_at, set(last), interrupted, started)


# ----------------------------------------------------------------- changes


@dataclass(frozen=True, slots=True)
class Change:
    """One node that differs between the recorded run and the workflow now."""

    node_id: str
    what: str
    started: bool

    def __str__(self) -> str:
        flag = " (already started)" if self.started else ""
        return f"{self.node_id}{self.what}{flag}"


class Signature(NamedTuple):
    """A task as a resume compares it: what it runs, how, and where it sits."""

    ref: str
    attrs: tuple[tuple[str, Any], ...]
    attempts: int | None
    #: Its branches' descriptors, ``|`` where the branch takes the result.
    branches: tuple[str, ...]
    #: The chain of blocks above it and its index in each (internal: compared only).
    place: str
    #: The line the task is on (for messages; not compared).
    line: int

    def key(self) -> tuple[Any, ...]:
        """What must be equal for the task to count as unchanged."""
        return self[:5]


def task_signatures(graph: Graph) -> dict[str, Signature]:
    """Node id -> the task's signature: the task, its options and its place.

    Two graphs give a node the same signature key when the task, its options
    and its place (the chain of blocks above it and its index in each) are
    the same.
    """
    out: dict[str, Signature] = {}
    stack: list[tuple[Any, str]] = [(graph.root, "")]
    while stack:
        block, path = stack.pop()
        if isinstance(block, Task):
            branches = tuple(f"{b.descriptor}{'|' if b.pipe else ''}" for b in block.branches)
            out[block.id] = Signature(
                str(block.ref), block.attrs, block.attempts, branches, path or "/", block.pos.line
            )
            stack.extend((b.body, f"{path}/{block.id}({b.descriptor})") for b in block.branches)
        elif isinstance(block, Group):
            tag = f"{path}/{block.id}{dict(block.attrs)}x{block.attempts}"
            stack.append((block.body, tag))
            stack.extend((b.body, f"{tag}({b.descriptor})") for b in block.branches)
        elif isinstance(block, Sequence):
            # A step's place is its index and how the steps before it hand
            # on results (as a running digest: spelled out, a long chain's
            # pattern would repeat in every step's signature, quadratic).
            # What follows it does not count: appending a step moves nothing.
            digest = 0
            for i, step in enumerate(block.steps):
                stack.append((step, f"{path}/seq:{i}-{digest:08x}"))
                if i < len(block.pipes):
                    digest = zlib.crc32(b"|" if block.pipes[i] else b"-", digest)
        elif isinstance(block, Parallel):
            stack.extend(
                (m, f"{path}/par{len(block.members)}:{i}") for i, m in enumerate(block.members)
            )
    return out


def _attrs(attrs: tuple[tuple[str, Any], ...]) -> str:
    if not attrs:
        return "none"
    shown = ", ".join(f"{k}={json.dumps(v) if isinstance(v, str) else v}" for k, v in attrs)
    return f"[{shown}]"


def _branches(branches: tuple[str, ...]) -> str:
    if not branches:
        return "none"
    return (
        "(" + ", ".join(f"{b[:-1]} |->" if b.endswith("|") else f"{b} ->" for b in branches) + ")"
    )


def _difference(old: Signature, new: Signature) -> str:
    """What changed in a task, in the language's words."""
    parts = []
    if old.ref != new.ref:
        parts.append(f"it runs {new.ref}, where it ran {old.ref}")
    if old.attrs != new.attrs:
        parts.append(f"its attributes changed from {_attrs(old.attrs)} to {_attrs(new.attrs)}")
    if old.attempts != new.attempts:
        was = f"* {old.attempts}" if old.attempts else "no retry count"
        now = f"* {new.attempts}" if new.attempts else "no retry count"
        parts.append(f"its retries changed from {was} to {now}")
    if old.branches != new.branches:
        parts.append(
            f"its branches changed from {_branches(old.branches)} to {_branches(new.branches)}"
        )
    if old.place != new.place:
        parts.append("it sits elsewhere in the workflow (what runs before it changed)")
    return "; ".join(parts)


def compare(
    old_graph: Graph,
    old_pins: Mapping[str, EventPin],
    new_graph: Graph,
    new_pins: Mapping[str, EventPin],
    started: set[str],
) -> list[Change]:
    """How the workflow changed since the run was recorded, node by node."""
    if old_graph is new_graph and not any(
        _pin_change(node, old_pins.get(node), after, "", started)
        for node, after in new_pins.items()
    ):  # the same text and the same code: nothing to compare node by node
        return []
    old_sig, new_sig = task_signatures(old_graph), task_signatures(new_graph)
    changes: list[Change] = []
    # In the order a reader meets them: by line now (removed ones by line before).
    nodes = sorted({*old_sig, *new_sig}, key=lambda n: ((new_sig.get(n) or old_sig[n]).line, n))
    for node in nodes:
        old, new = old_sig.get(node), new_sig.get(node)
        if new is None:
            assert old is not None
            where = f" (line {old.line} before)"
            changes.append(Change(node, f"{where}: removed from the workflow", node in started))
            continue
        if old is None:
            changes.append(Change(node, f" (line {new.line} now): added", False))
            continue
        where = f" (line {old.line} before, line {new.line} now)"
        if old.key() != new.key():
            changes.append(Change(node, f"{where}: {_difference(old, new)}", node in started))
            continue
        change = _pin_change(node, old_pins.get(node), new_pins.get(node), where, started)
        if change is not None:
            changes.append(change)
    if old_graph.directives != new_graph.directives:
        changes.append(Change("(directives)", ": the @ directives changed", False))
    return changes


def _pin_change(
    node: str, before: EventPin | None, after: EventPin | None, where: str, started: set[str]
) -> Change | None:
    """The change of the event code a node runs, if any (``where``: its lines)."""
    if before is None or after is None or before == after:
        return None
    if (before.name, before.version) != (after.name, after.version):
        what = f"event {before.name}@{before.version} is now {after.name}@{after.version}"
    elif before.fingerprint != after.fingerprint:
        what = (
            f"the code of {after.name}@{after.version} changed "
            f"(fingerprint {before.fingerprint[:8]} -> {after.fingerprint[:8]})"
        )
    else:  # only its origin moved (the same code, found elsewhere): not a change
        return None
    return Change(node, f"{where}: {what}", node in started)


class Recorded(NamedTuple):
    """What a run follows now, as its record and notes say.

    The run record holds what the run started with; a resume that accepted a
    changed workflow notes the new one (:class:`~volnux.notes.Changed`), and
    the latest such note wins.
    """

    text: str
    filename: str
    #: Node id -> the event code it runs.
    pins: dict[str, EventPin]
    #: Where the events come from (module names, file paths).
    sources: list[str]
    #: The registry's version pins when the run started (``[pins]``).
    version_pins: dict[str, str]
    #: The project's default executor when the run started.
    executor: str | None


def recorded(run: RunRecord, notes: Sequence_[RunNote]) -> Recorded:
    """What ``run`` follows now: its text, file name, event pins and event sources."""
    text, filename, pins = run.text, run.filename, dict(run.events)
    sources: list[str] = []
    version_pins: dict[str, str] = {}
    executor: str | None = None
    seen_start = False
    for note in notes:
        detail = note.read() if note.kind in _PROGRAM_KINDS else None
        if isinstance(detail, Started) and not seen_start:
            seen_start = True
            sources = list(detail.sources)
            version_pins = dict(detail.pins)
            executor = detail.executor
        elif isinstance(detail, Changed):
            text, filename = detail.text or text, detail.filename
            pins = {k: EventPin(**v) for k, v in detail.events.items()}
            sources = list(detail.sources) or sources
    return Recorded(text, filename, pins, sources, version_pins, executor)


#: The note kinds :func:`recorded` reads.
_PROGRAM_KINDS = kinds_of(Started, Changed)


def failed_nodes(notes: Sequence_[RunNote]) -> tuple[str, ...]:
    """The tasks whose failure ended the run's last session (empty if it did not fail)."""
    for note in reversed(notes):
        detail = note.read() if note.kind in _ENDING_KINDS else None
        if isinstance(detail, Failed):
            return detail.nodes
        if isinstance(detail, Resumed):
            return ()
    return ()


_ENDING_KINDS = kinds_of(Failed, Resumed)

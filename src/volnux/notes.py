"""Run notes: what happened to a run as a whole, by kind, with typed details.

A :class:`RunNote` is the journal's record (run id, kind, time, and its
detail as JSON data); the classes here are what the code reads and writes.
Every kind is in :class:`NoteKind`, and each has one detail class::

    started          Started        who started the run, event sources, pins, executor
    resumed/retried  Resumed        who continued it, and what was cut off or re-run
    changed          Changed        the workflow or its events changed since the run began
    forced-change    Changed        ... where the run had started, and --force took it
    deprecated       Deprecated     the deprecated event versions the run uses
    paused           Paused         a task needs an operator
    unrouted         Unrouted       a task chose a descriptor with no branch
    group-retry      GroupRetry     a group runs its body again
    failed           Failed         the tasks whose failure failed the run
    cancel-requested CancelRequested  the engine saw a cancel request
    cancelled        Cancelled      someone cancelled the run (or asked its owner to)
    pause-requested  PauseAsked     someone paused the run (or asked its owner to)
    operator         Operator       an operator re-ran a task and what follows, or declared one done
    trace            Trace          the OpenTelemetry ids of one session of the run
    stopped          Stopped        a signal (or a caller) stopped the run, and what it cut off
    abandoned        Abandoned      timed-out attempts still ran when the run ended
    pool-resized     PoolResized    a pool running the run's tasks changed its size
    batch-started    BatchStarted   a batch run: its source, how it splits, its limits
    batch-begun      BatchBegun     a batch's child run is about to start (its position)
    batch-ended      BatchEnded     a batch's child run ended (its state, size, time)
    batch-source-end BatchSourceEnd every batch of the source has begun (how many)
    batch-updated    BatchUpdated   an operator changed a batch run's parallelism or tolerance
    items-failed     ItemsFailed    a task succeeded with some of its items failed (a Partial)
    web-action       WebAction      an operator acted on the run through ``volnux serve``
    scheduled        Scheduled      a schedule fired the run for one of its slots
    workflow-unit    WorkflowUnit   the run is of a workflow unit: name, version, where found
    sub-workflow     SubWorkflow    the run is the child run of a sub-workflow node (parent, node)

Writers build a detail and call :meth:`RunNote.of`; readers call
:meth:`RunNote.read`, which gives the detail object (``None`` for a kind this
version does not know).  The JSON is the same as Volnux wrote before these
classes existed, and reading is lenient: a key missing from an old note
takes its default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = [
    "KINDS",
    "Abandoned",
    "BatchBegun",
    "BatchEnded",
    "BatchSourceEnd",
    "BatchStarted",
    "BatchUpdated",
    "CancelRequested",
    "Cancelled",
    "Changed",
    "Deprecated",
    "Failed",
    "GroupRetry",
    "ItemsFailed",
    "NoteDetail",
    "NoteKind",
    "Operator",
    "PauseAsked",
    "Paused",
    "PoolResized",
    "Resumed",
    "RunNote",
    "Scheduled",
    "Started",
    "Stopped",
    "SubWorkflow",
    "Trace",
    "Unrouted",
    "WebAction",
    "WorkflowUnit",
    "kinds_of",
    "latest",
]


class NoteKind(StrEnum):
    """Every kind of run note, as written in the journal."""

    STARTED = "started"
    RESUMED = "resumed"
    RETRIED = "retried"
    CHANGED = "changed"
    FORCED_CHANGE = "forced-change"
    DEPRECATED = "deprecated"
    PAUSED = "paused"
    UNROUTED = "unrouted"
    GROUP_RETRY = "group-retry"
    FAILED = "failed"
    CANCEL_REQUESTED = "cancel-requested"
    CANCELLED = "cancelled"
    PAUSE_REQUESTED = "pause-requested"
    OPERATOR = "operator"
    TRACE = "trace"
    STOPPED = "stopped"
    ABANDONED = "abandoned"
    POOL_RESIZED = "pool-resized"
    BATCH_STARTED = "batch-started"
    BATCH_BEGUN = "batch-begun"
    BATCH_ENDED = "batch-ended"
    BATCH_SOURCE_END = "batch-source-end"
    BATCH_UPDATED = "batch-updated"
    ITEMS_FAILED = "items-failed"
    WEB_ACTION = "web-action"
    SCHEDULED = "scheduled"
    WORKFLOW_UNIT = "workflow-unit"
    SUB_WORKFLOW = "sub-workflow"


@dataclass(frozen=True, slots=True)
class RunNote:
    """One note as the journal keeps it: something that happened to a run as a whole."""

    run_id: str
    kind: str
    at: float
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, run_id: str, at: float, detail: NoteDetail) -> RunNote:
        """The note that records ``detail``."""
        return cls(run_id, detail.kind.value, at, detail.to_json())

    def read(self) -> NoteDetail | None:
        """The typed detail; None if this version of Volnux does not know the kind."""
        try:
            kind = NoteKind(self.kind)
        except ValueError:
            return None
        data = self.detail if isinstance(self.detail, Mapping) else {}
        return _READERS[kind](kind, data)


# ------------------------------------------------------------------ readers


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    return value if isinstance(value, str) else default


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _strs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, ())
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value)


def _map(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    return dict(value) if isinstance(value, Mapping) else {}


def _with_owner(out: dict[str, Any], owner: str, ticks: int | None) -> dict[str, Any]:
    """``out`` with the lease's owner id and the process's start (when known)."""
    if owner:
        out["owner"] = owner
    if ticks is not None:
        out["ticks"] = ticks
    return out


# ------------------------------------------------------------------ details


class Started(NamedTuple):
    """The process that started the run, and how it resolved and placed events."""

    pid: int
    host: str
    cwd: str
    #: Where the events came from (module names, file paths), to load them again.
    sources: tuple[str, ...] = ()
    #: The registry's version pins (``[pins]``), so bare names resolve the same way.
    pins: Mapping[str, str] = MappingProxyType({})
    #: The project's default executor, if one was set.
    executor: str | None = None
    #: The owner id the run's lease names (empty before leases existed).
    owner: str = ""
    #: When the process started, in the system's own count (clock ticks since
    #: boot on Linux; None where unknown): a pid reused by another process has
    #: another start.
    ticks: int | None = None

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.STARTED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pid": self.pid,
            "host": self.host,
            "cwd": self.cwd,
            "sources": list(self.sources),
        }
        if self.pins:
            out["pins"] = dict(self.pins)
        if self.executor:
            out["executor"] = self.executor
        return _with_owner(out, self.owner, self.ticks)

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Started:
        return cls(
            _int(data, "pid"),
            _str(data, "host"),
            _str(data, "cwd"),
            _strs(data, "sources"),
            {str(k): str(v) for k, v in _map(data, "pins").items()},
            _str(data, "executor") or None,
            _str(data, "owner"),
            _int(data, "ticks", -1) if "ticks" in data else None,
        )


class Resumed(NamedTuple):
    """The process that resumed (or retried) the run, and what it took up again."""

    pid: int
    host: str
    cwd: str
    sources: tuple[str, ...] = ()
    #: True for ``runs retry`` (kind ``retried``), False for ``runs resume``.
    retry: bool = False
    #: Tasks that were running when the run stopped (they run again).
    interrupted: tuple[str, ...] = ()
    #: Failed tasks a retry runs again.
    retrying: tuple[str, ...] = ()
    #: Whether ``--force`` was needed (the workflow changed where the run had started).
    forced: bool = False
    #: The owner id the run's lease names from now on (see :class:`Started`).
    owner: str = ""
    ticks: int | None = None
    #: Whether this process took the run over from an owner still alive (``--force``).
    took_over: bool = False

    @property
    def kind(self) -> NoteKind:
        return NoteKind.RETRIED if self.retry else NoteKind.RESUMED

    def to_json(self) -> dict[str, Any]:
        out = {
            "pid": self.pid,
            "host": self.host,
            "cwd": self.cwd,
            "sources": list(self.sources),
            "verb": "retry" if self.retry else "resume",
            "interrupted": list(self.interrupted),
            "retrying": list(self.retrying),
            "forced": self.forced,
            **({"took_over": True} if self.took_over else {}),
        }
        return _with_owner(out, self.owner, self.ticks)

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Resumed:
        return cls(
            _int(data, "pid"),
            _str(data, "host"),
            _str(data, "cwd"),
            _strs(data, "sources"),
            kind is NoteKind.RETRIED,
            _strs(data, "interrupted"),
            _strs(data, "retrying"),
            data.get("forced") is True,
            _str(data, "owner"),
            _int(data, "ticks", -1) if "ticks" in data else None,
            data.get("took_over") is True,
        )


class Changed(NamedTuple):
    """The workflow or its events changed since the run began; the run follows the new one."""

    #: One line per changed node.
    changes: tuple[str, ...]
    #: The workflow text, file name, event pins and sources the run follows from now on.
    text: str
    filename: str
    #: Node id -> ``{"name", "version", "origin", "fingerprint"}``.
    events: Mapping[str, Mapping[str, str]]
    sources: tuple[str, ...] = ()
    #: True when a change touched a task that had started (``--force`` took it).
    forced: bool = False
    #: The changed nodes, one per line of ``changes`` (empty in notes written
    #: before it was kept: :meth:`changed_nodes` reads them from the lines).
    nodes: tuple[str, ...] = ()

    @property
    def kind(self) -> NoteKind:
        return NoteKind.FORCED_CHANGE if self.forced else NoteKind.CHANGED

    def to_json(self) -> dict[str, Any]:
        out = {
            "changes": list(self.changes),
            "text": self.text,
            "filename": self.filename,
            "events": {node: dict(pin) for node, pin in self.events.items()},
            "sources": list(self.sources),
        }
        if self.nodes:
            out["nodes"] = list(self.nodes)
        return out

    def changed_nodes(self) -> tuple[str, ...]:
        """The node ids that changed (``(directives)`` left out)."""
        if self.nodes:
            return tuple(n for n in self.nodes if n != "(directives)")
        # Older notes: "Save (line 3 before, ...)" or, older still, "Save: changed: ...".
        found = (line.split(" (line", 1)[0].split(": ", 1)[0] for line in self.changes)
        return tuple(n for n in found if n and n != "(directives)")

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Changed:
        events = {
            str(node): {str(k): str(v) for k, v in pin.items()}
            for node, pin in _map(data, "events").items()
            if isinstance(pin, Mapping)
        }
        return cls(
            _strs(data, "changes"),
            _str(data, "text"),
            _str(data, "filename", "<text>"),
            events,
            _strs(data, "sources"),
            kind is NoteKind.FORCED_CHANGE,
            _strs(data, "nodes"),
        )


class Deprecated(NamedTuple):
    """The deprecated event versions the run uses (each notice as plain data)."""

    events: tuple[Mapping[str, Any], ...]

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.DEPRECATED

    def to_json(self) -> dict[str, Any]:
        return {"events": [dict(e) for e in self.events]}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Deprecated:
        found = data.get("events", [])
        return cls(tuple(dict(e) for e in found if isinstance(e, Mapping)))


class Paused(NamedTuple):
    """A task needs an operator: the run stopped starting tasks and paused."""

    node: str
    reason: str

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.PAUSED

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "reason": self.reason}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Paused:
        return cls(_str(data, "node"), _str(data, "reason"))


class Unrouted(NamedTuple):
    """A task (or group) chose a descriptor that has no branch."""

    node: str
    descriptor: int
    message: str

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.UNROUTED

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "descriptor": self.descriptor, "message": self.message}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Unrouted:
        return cls(_str(data, "node"), _int(data, "descriptor"), _str(data, "message"))


class GroupRetry(NamedTuple):
    """A group's body failed and runs again: try number ``attempt``, because of ``culprits``."""

    group: str
    #: The try about to start, 2 for the first retry (``"try"`` in the journal).
    attempt: int
    culprits: tuple[str, ...] = ()

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.GROUP_RETRY

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "try": self.attempt, "culprits": list(self.culprits)}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> GroupRetry:
        return cls(_str(data, "group"), _int(data, "try"), _strs(data, "culprits"))


class Failed(NamedTuple):
    """The tasks whose unhandled failure failed the run (in the order they failed it)."""

    nodes: tuple[str, ...]

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.FAILED

    def to_json(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes)}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Failed:
        return cls(_strs(data, "nodes"))


class CancelRequested(NamedTuple):
    """The engine running the run saw a cancel request and stopped starting tasks."""

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.CANCEL_REQUESTED

    def to_json(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> CancelRequested:
        return cls()


class Cancelled(NamedTuple):
    """Someone cancelled the run: marked it cancelled, or asked its owner to stop."""

    #: The pid of the process that cancelled it.
    by: int
    #: ``"gone"`` when the run's owner process had died (marked cancelled),
    #: ``"asked"`` when its owner was alive and was asked to stop; None for a
    #: paused run (marked cancelled).
    owner: str | None = None
    #: Who cancelled it: the user name, and the host it ran on ("": not recorded).
    user: str = ""
    host: str = ""

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.CANCELLED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"by": self.by}
        if self.owner is not None:
            out["owner"] = self.owner
        if self.user:
            out["user"] = self.user
        if self.host:
            out["host"] = self.host
        return out

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Cancelled:
        return cls(
            _int(data, "by"),
            _str(data, "owner") or None,
            _str(data, "user"),
            _str(data, "host"),
        )

    def describe(self, when: float) -> str:
        """``cancelled by ann@web1 (pid 4242) at 2026-12-07 01:38:50 UTC``."""
        return _operator_line("cancelled", self.by, self.owner, self.user, self.host, when)


class Operator(NamedTuple):
    """An operator reworked the run: ran a task again with what follows it
    (``rerun-from``), or declared a task done (``skip``, ``mark-succeeded``)."""

    action: str
    node: str
    by: int
    user: str = ""
    host: str = ""
    #: Whether the operator gave the declared task a result (kept in its record).
    with_result: bool = False

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.OPERATOR

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "node": self.node,
            "by": self.by,
            "user": self.user,
            "host": self.host,
            "with_result": self.with_result,
        }

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Operator:
        return cls(
            _str(data, "action"),
            _str(data, "node"),
            _int(data, "by"),
            _str(data, "user"),
            _str(data, "host"),
            data.get("with_result") is True,
        )

    def describe(self, when: float) -> str:
        """``skip Charge, by ann@web1 (pid 9) at 2026-12-07 02:16:51 UTC``."""
        return _operator_line(
            f"{self.action} {self.node},", self.by, None, self.user, self.host, when
        )


class PauseAsked(NamedTuple):
    """Someone paused the run (``volnux runs pause``): asked its owner, or marked it."""

    #: The pid of the process that asked.
    by: int
    #: ``"asked"`` (its owner was alive) or ``"gone"`` (marked paused at once).
    owner: str = "asked"
    user: str = ""
    host: str = ""

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.PAUSE_REQUESTED

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "owner": self.owner, "user": self.user, "host": self.host}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> PauseAsked:
        return cls(
            _int(data, "by"), _str(data, "owner", "asked"), _str(data, "user"), _str(data, "host")
        )

    def describe(self, when: float) -> str:
        """``paused by ann@web1 (pid 4242) at 2026-12-07 01:38:50 UTC``."""
        return _operator_line("paused", self.by, self.owner, self.user, self.host, when)


def _operator_line(
    verb: str, pid: int, owner: str | None, user: str, host: str, when: float
) -> str:
    who = f"{user or 'pid'}@{host}" if host else "another process"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(when))
    gone = "; its process had died" if owner == "gone" else ""
    return f"{verb} by {who} (pid {pid}) at {stamp}{gone}"


class Stopped(NamedTuple):
    """The run was stopped from outside (Ctrl-C, SIGTERM): it ended cancelled, resumable."""

    #: What stopped it (``"SIGINT"``, ``"SIGTERM"``, or the reason a caller gave).
    reason: str
    #: Tasks whose attempts were still running when the grace period ended (or a
    #: second request came): left ``running`` in the journal, run again on resume.
    cut_off: tuple[str, ...] = ()

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.STOPPED

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "cut_off": list(self.cut_off)}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Stopped:
        return cls(_str(data, "reason"), _strs(data, "cut_off"))


class Abandoned(NamedTuple):
    """The run ended while attempts given up after their timeout still ran (on threads,
    which cannot be stopped): their results were never recorded."""

    nodes: tuple[str, ...]

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.ABANDONED

    def to_json(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes)}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Abandoned:
        return cls(_strs(data, "nodes"))


class PoolResized(NamedTuple):
    """A pool running the run's tasks changed (or held) its size, and why: ``queued``,
    ``long-tasks``, ``idle``, ``cpu-bound``, ``memory``, ``started``, ``shutdown``."""

    executor: str
    workers: int
    reason: str

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.POOL_RESIZED

    def to_json(self) -> dict[str, Any]:
        return {"executor": self.executor, "workers": self.workers, "reason": self.reason}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> PoolResized:
        return cls(_str(data, "executor"), _int(data, "workers"), _str(data, "reason"))

    def describe(self) -> str:
        """``thread pool: 8 workers (queued: calls were waiting)``."""
        why = _RESIZE_WORDS.get(self.reason, self.reason)
        size = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        return f"{self.executor} pool: {size}" + (f" ({why})" if why else "")


# How a pool's reason to resize reads in `volnux runs show --verbose`.
_RESIZE_WORDS = {
    "started": "its size as the run started",
    "queued": "grew: calls were waiting",
    "long-tasks": "grew at once: these events ran long in earlier runs",
    "idle": "shrank: workers were idle",
    "cpu-bound": "held: its workers keep the CPUs busy",
    "memory": "held: memory is low",
    "shutdown": "shut down",
}


class BatchStarted(NamedTuple):
    """A batch run: what it splits, how, into which input, and its limits.

    Everything a resume in another process needs to read the same batches
    again: the kind of source and its options, the source itself (a path or
    pattern; empty for an iterable, whose batches' items are journaled in
    the children instead), and what the source was (``identity``).
    """

    #: The splitter's kind (``lines``, ``csv``, ...; see volnux.batch.KINDS).
    source_kind: str
    #: The path or pattern split (empty when the source is not one).
    source: str
    batch_size: int
    #: The workflow input each batch is given as (``batch`` by default).
    input: str
    #: The splitter's options (JSON data), ``using`` as ``module:function``.
    options: Mapping[str, Any] = MappingProxyType({})
    #: What the source was when the run started (see volnux.batch.SourceIdentity).
    identity: Mapping[str, Any] = MappingProxyType({})
    #: Whether a batch's items can be read again from its position.
    rereadable: bool = True
    #: How many batches run at once.
    parallel: int = 1
    #: How many failed batches still let the run succeed: ``""`` none, ``"3"``, ``"2%"``.
    tolerate: str = ""
    #: Whether the first failed batch stops the run from starting more.
    fail_fast: bool = False
    #: How many items reported failed (``Partial``) still let the run succeed:
    #: ``""`` any number, ``"10"``, ``"0.1%"`` of the source's items.
    tolerate_items: str = ""
    #: Whether a batch's tasks that follow one another on a pool of worker
    #: processes go to a worker in one call (see volnux.engine.chains).
    fuse: bool = True

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.BATCH_STARTED

    def to_json(self) -> dict[str, Any]:
        return {
            "source_kind": self.source_kind,
            "source": self.source,
            "batch_size": self.batch_size,
            "input": self.input,
            "options": dict(self.options),
            "identity": dict(self.identity),
            "rereadable": self.rereadable,
            "parallel": self.parallel,
            "tolerate": self.tolerate,
            "fail_fast": self.fail_fast,
            **({"tolerate_items": self.tolerate_items} if self.tolerate_items else {}),
            **({} if self.fuse else {"fuse": False}),
        }

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> BatchStarted:
        return cls(
            _str(data, "source_kind"),
            _str(data, "source"),
            _int(data, "batch_size", 1),
            _str(data, "input", "batch"),
            _map(data, "options"),
            _map(data, "identity"),
            data.get("rereadable") is not False,
            _int(data, "parallel", 1),
            _str(data, "tolerate"),
            data.get("fail_fast") is True,
            _str(data, "tolerate_items"),
            data.get("fuse") is not False,
        )


class BatchBegun(NamedTuple):
    """A batch's child run is about to be created: which batch, where, how big."""

    #: The batch's index in its source (0 for the first).
    batch: int
    #: The child run's id (recorded before the child exists, so a crash
    #: between the two leaves nothing unnamed).
    child: str
    #: Where the batch is in its source (see volnux.batch.Position).
    position: Mapping[str, Any]
    size: int
    #: The batch's items themselves, for a source that cannot be read again
    #: (an iterable); None for the others, read again by position.
    items: list[Any] | None = None

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.BATCH_BEGUN

    def to_json(self) -> dict[str, Any]:
        out = {
            "batch": self.batch,
            "child": self.child,
            "position": dict(self.position),
            "size": self.size,
        }
        if self.items is not None:
            out["items"] = list(self.items)
        return out

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> BatchBegun:
        return cls(
            _int(data, "batch", -1),
            _str(data, "child"),
            _map(data, "position"),
            _int(data, "size"),
            list(data["items"]) if isinstance(data.get("items"), list) else None,
        )


class BatchEnded(NamedTuple):
    """A batch's child run ended (the latest such note of a batch says where it stands)."""

    batch: int
    child: str
    #: The child run's state: ``succeeded``, ``failed``, ``cancelled``, ``paused``.
    state: str
    size: int
    #: Seconds from the child's start (or this session's resume of it) to its end.
    seconds: float = 0.0
    #: Why it failed (one line), when it did.
    error: str = ""
    #: How many of its items failed though its tasks succeeded (see ItemsFailed).
    failed_items: int = 0

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.BATCH_ENDED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "batch": self.batch,
            "child": self.child,
            "state": self.state,
            "size": self.size,
            "seconds": round(self.seconds, 6),
        }
        if self.error:
            out["error"] = self.error
        if self.failed_items:
            out["failed_items"] = self.failed_items
        return out

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> BatchEnded:
        seconds = data.get("seconds", 0.0)
        return cls(
            _int(data, "batch", -1),
            _str(data, "child"),
            _str(data, "state"),
            _int(data, "size"),
            float(seconds) if isinstance(seconds, int | float) else 0.0,
            _str(data, "error"),
            _int(data, "failed_items"),
        )


class BatchSourceEnd(NamedTuple):
    """Every batch of the source has begun: there are ``batches`` of them, ``items`` in all."""

    batches: int
    items: int

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.BATCH_SOURCE_END

    def to_json(self) -> dict[str, Any]:
        return {"batches": self.batches, "items": self.items}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> BatchSourceEnd:
        return cls(_int(data, "batches"), _int(data, "items"))


class BatchUpdated(NamedTuple):
    """Someone changed a running batch run's parallelism or tolerance (None: unchanged)."""

    parallel: int | None
    tolerate: str | None
    pid: int = 0
    user: str = ""
    host: str = ""
    tolerate_items: str | None = None

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.BATCH_UPDATED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pid": self.pid, "user": self.user, "host": self.host}
        if self.parallel is not None:
            out["parallel"] = self.parallel
        if self.tolerate is not None:
            out["tolerate"] = self.tolerate
        if self.tolerate_items is not None:
            out["tolerate_items"] = self.tolerate_items
        return out

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> BatchUpdated:
        return cls(
            _int(data, "parallel") if "parallel" in data else None,
            _str(data, "tolerate") if "tolerate" in data else None,
            _int(data, "pid"),
            _str(data, "user"),
            _str(data, "host"),
            _str(data, "tolerate_items") if "tolerate_items" in data else None,
        )


class ItemsFailed(NamedTuple):
    """Task ``node`` succeeded with these items failed: ((key, why), ...).

    The latest such note of a node counts; one with no items says that a
    later attempt of the node left none failed.
    """

    node: str
    attempt: int
    items: tuple[tuple[Any, str], ...]

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.ITEMS_FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "attempt": self.attempt,
            "items": [[key, why] for key, why in self.items],
        }

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> ItemsFailed:
        items = data.get("items", [])
        pairs = tuple(
            (pair[0], str(pair[1]))
            for pair in (items if isinstance(items, list) else [])
            if isinstance(pair, list) and len(pair) == 2
        )
        return cls(_str(data, "node"), _int(data, "attempt"), pairs)


class WebAction(NamedTuple):
    """An operator asked ``volnux serve`` to act on the run: ``action`` (``cancel``,
    ``pause``, ``resume``, ``retry``, ``retry-failed-batches``), from the client at
    ``client``, proven ``via`` the server's token (``bearer``) or a login (``session``)."""

    action: str
    client: str
    via: str
    #: The server's process and machine.
    pid: int = 0
    host: str = ""

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.WEB_ACTION

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "client": self.client,
            "via": self.via,
            "pid": self.pid,
            "host": self.host,
        }

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> WebAction:
        return cls(
            _str(data, "action"),
            _str(data, "client"),
            _str(data, "via"),
            _int(data, "pid"),
            _str(data, "host"),
        )

    def describe(self, at: float) -> str:
        """``retry asked from 127.0.0.1 (token) through volnux serve on web1 at ...``."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
        where = f" on {self.host}" if self.host else ""
        who = f"{self.client} ({self.via})"
        return f"{self.action} asked from {who} through volnux serve{where} at {when}"


class Scheduled(NamedTuple):
    """Schedule ``schedule`` fired the run for its slot at ``slot`` (seconds since
    the epoch; ``local`` is that time on the schedule's clock, ``zone``)."""

    schedule: str
    slot: float
    local: str = ""
    zone: str = "UTC"
    #: The process and machine that fired it.
    pid: int = 0
    host: str = ""

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.SCHEDULED

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "slot": self.slot,
            "local": self.local,
            "zone": self.zone,
            "pid": self.pid,
            "host": self.host,
        }

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Scheduled:
        slot = data.get("slot")
        return cls(
            _str(data, "schedule"),
            float(slot) if isinstance(slot, (int, float)) else 0.0,
            _str(data, "local"),
            _str(data, "zone", "UTC"),
            _int(data, "pid"),
            _str(data, "host"),
        )

    def describe(self, at: float) -> str:
        """``fired by schedule nightly for its 2026-12-07 03:00:00 slot (Europe/Berlin)``."""
        where = f" on {self.host}" if self.host else ""
        return f"fired by schedule {self.schedule} for its {self.local} slot ({self.zone}){where}"


class WorkflowUnit(NamedTuple):
    """The run is of workflow unit ``name`` at ``version``, found where ``origin`` says
    (the run's record holds its text, as for any run)."""

    name: str
    version: str
    #: Where it was found, in words (``folder /srv/app/workflows``).
    origin: str
    #: The same as data: ``kind``, ``loadable`` (the manifest), ``registry``, ``ref``,
    #: ``commit``, ``url``.
    source: Mapping[str, Any] = MappingProxyType({})
    #: The unit's ``.pty`` file when the run started.
    file: str = ""
    #: Why the version is deprecated, and what to use instead ("" when it is not).
    deprecated: str = ""

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.WORKFLOW_UNIT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "origin": self.origin,
            "source": dict(self.source),
            "file": self.file,
        }
        if self.deprecated:
            out["deprecated"] = self.deprecated
        return out

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> WorkflowUnit:
        return cls(
            _str(data, "name"),
            _str(data, "version"),
            _str(data, "origin"),
            _map(data, "source"),
            _str(data, "file"),
            _str(data, "deprecated"),
        )

    def describe(self) -> str:
        """``workflow unit orders@1.2.0 (folder /srv/app/workflows)``, and any deprecation."""
        said = f"workflow unit {self.name}@{self.version} ({self.origin})"
        return f"{said}; {self.deprecated}" if self.deprecated else said


class SubWorkflow(NamedTuple):
    """The run is the child run of sub-workflow node ``node`` of run ``parent``
    (``<orders@1.2>``), started by that node's attempt ``attempt`` in ``round``."""

    parent: str
    node: str
    attempt: int
    round: int = 0

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.SUB_WORKFLOW

    def to_json(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "node": self.node,
            "attempt": self.attempt,
            "round": self.round,
        }

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> SubWorkflow:
        return cls(
            _str(data, "parent"),
            _str(data, "node"),
            _int(data, "attempt"),
            _int(data, "round"),
        )

    def describe(self) -> str:
        """``part of run 3f2a9c1b0e4d (node workflow:orders, attempt 1)``."""
        return f"part of run {self.parent} (node {self.node}, attempt {self.attempt})"


class Trace(NamedTuple):
    """The OpenTelemetry trace and span ids of one session of the run (hex)."""

    trace_id: str
    span_id: str

    @property
    def kind(self) -> NoteKind:
        """The kind this detail is written as."""
        return NoteKind.TRACE

    def to_json(self) -> dict[str, Any]:
        return {"trace_id": self.trace_id, "span_id": self.span_id}

    @classmethod
    def from_json(cls, kind: NoteKind, data: Mapping[str, Any]) -> Trace:
        return cls(_str(data, "trace_id"), _str(data, "span_id"))


#: Every detail class, and the kinds it reads (the first is the kind it writes,
#: but for Resumed and Changed, whose ``kind`` says which of their two).
KINDS: dict[type[NoteDetail], tuple[NoteKind, ...]] = {
    Started: (NoteKind.STARTED,),
    Resumed: (NoteKind.RESUMED, NoteKind.RETRIED),
    Changed: (NoteKind.CHANGED, NoteKind.FORCED_CHANGE),
    Deprecated: (NoteKind.DEPRECATED,),
    Paused: (NoteKind.PAUSED,),
    Unrouted: (NoteKind.UNROUTED,),
    GroupRetry: (NoteKind.GROUP_RETRY,),
    Failed: (NoteKind.FAILED,),
    CancelRequested: (NoteKind.CANCEL_REQUESTED,),
    Cancelled: (NoteKind.CANCELLED,),
    PauseAsked: (NoteKind.PAUSE_REQUESTED,),
    Operator: (NoteKind.OPERATOR,),
    Trace: (NoteKind.TRACE,),
    Stopped: (NoteKind.STOPPED,),
    Abandoned: (NoteKind.ABANDONED,),
    PoolResized: (NoteKind.POOL_RESIZED,),
    BatchStarted: (NoteKind.BATCH_STARTED,),
    BatchBegun: (NoteKind.BATCH_BEGUN,),
    BatchEnded: (NoteKind.BATCH_ENDED,),
    BatchSourceEnd: (NoteKind.BATCH_SOURCE_END,),
    BatchUpdated: (NoteKind.BATCH_UPDATED,),
    ItemsFailed: (NoteKind.ITEMS_FAILED,),
    WebAction: (NoteKind.WEB_ACTION,),
    Scheduled: (NoteKind.SCHEDULED,),
    WorkflowUnit: (NoteKind.WORKFLOW_UNIT,),
    SubWorkflow: (NoteKind.SUB_WORKFLOW,),
}

_READERS: dict[NoteKind, Callable[[NoteKind, Mapping[str, Any]], NoteDetail]] = {
    kind: cls.from_json for cls, kinds in KINDS.items() for kind in kinds
}


def kinds_of(*types: type[NoteDetail]) -> frozenset[str]:
    """The journal's kind strings of the notes whose details are ``types``."""
    return frozenset(kind.value for t in types for kind in KINDS[t])


def latest(notes: Sequence[RunNote], *types: type[NoteDetail]) -> NoteDetail | None:
    """The newest note whose detail is one of ``types``, read; None if there is none."""
    wanted = kinds_of(*types)
    for note in reversed(notes):
        if note.kind in wanted:
            detail = note.read()
            if isinstance(detail, types):
                return detail
    return None


#: Any typed detail (each is a small named tuple: eleven of them load in
#: about 2 ms, where frozen dataclasses took 20 ms of every ``import``).
NoteDetail = (
    Started
    | Resumed
    | Changed
    | Deprecated
    | Paused
    | Unrouted
    | GroupRetry
    | Failed
    | CancelRequested
    | Cancelled
    | PauseAsked
    | Operator
    | Trace
    | Stopped
    | Abandoned
    | PoolResized
    | BatchStarted
    | BatchBegun
    | BatchEnded
    | BatchSourceEnd
    | BatchUpdated
    | ItemsFailed
    | WebAction
    | Scheduled
    | WorkflowUnit
    | SubWorkflow
)

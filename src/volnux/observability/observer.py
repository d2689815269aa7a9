"""The one hook through which anything watches a run: :class:`Observer`.

The engine calls its observers after each journal write, with the records
just made durable, and at the start and end of each run (or resumption).
Signals, OpenTelemetry, metrics and log capture are observers.  They read;
they never change execution: an observer that raises is logged and the run
goes on.

Every run gets the :func:`default_observers` (lifecycle signals, and whatever
:func:`add_default_observer` installed, such as OpenTelemetry) before the
observers its caller passes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..notes import NoteDetail, RunNote
from ..states import RunState
from ..store import TaskRecord

__all__ = [
    "ALWAYS_OPEN",
    "NodeInfo",
    "Observer",
    "RunInfo",
    "add_default_observer",
    "attempt_carrier",
    "carrier_observers",
    "default_observers",
    "notify",
    "observer_failed",
    "remove_default_observer",
    "transition_hooks",
]

log = logging.getLogger("volnux.observability")


class NodeInfo(NamedTuple):
    """What an observer may want to know about one node of the run.

    A named tuple: the engine makes one per node for every run, and a tuple
    is built several times faster than a frozen dataclass.
    """

    node_id: str
    event: str
    version: str
    executor: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as it starts (or resumes)."""

    run_id: str
    workflow: str
    nodes: Mapping[str, NodeInfo]
    #: True when the engine continues a run from its journal.
    resumed: bool = False
    #: The run's notes from earlier sessions (empty for a new run).
    notes: Sequence[RunNote] = ()
    #: Keeps a note with the run (the OpenTelemetry observer records its
    #: trace ids so): the engine journals it.  None where no one journals.
    note: Callable[[NoteDetail], None] | None = None


class _Open:
    open = True


#: The :attr:`Observer.transitions_gate` of an observer that wants every write.
ALWAYS_OPEN: Any = _Open()


class Observer:
    """Base class: override the methods you need; each does nothing by default."""

    #: An object whose ``open`` attribute the engine reads before each
    #: :meth:`transitions` call, skipping the call while it is false: how an
    #: observer that usually has nothing to do (the signals one, until
    #: something listens) costs nothing per write.  It may open and close
    #: during a run.
    transitions_gate: Any = ALWAYS_OPEN

    def run_started(self, info: RunInfo) -> None:
        """The engine starts (or resumes) a run."""

    def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
        """These task transitions were just journaled (in order)."""

    def run_ended(self, run_id: str, state: RunState, error: str | None) -> None:
        """The engine stopped working on a run (finished, failed, cancelled, paused)."""

    def pool_resized(self, run_id: str, executor: str, workers: int, reason: str = "") -> None:
        """A pool running ``run_id``'s tasks now has ``workers`` workers (0: shut down);
        ``reason`` says why (``started``, ``queued``, ``long-tasks``, ``idle``,
        ``cpu-bound``, ``memory``, ``shutdown``)."""

    def carrier(self, run_id: str, node_id: str) -> Mapping[str, str] | None:
        """Context to hand to the attempt of ``node_id`` about to be submitted, if any.

        The engine asks right after journaling the attempt's RUNNING record and
        passes the merged answers to the worker (``Context.carrier``), where the
        attempt attaches them (trace context, so spans nest under the task's).
        """
        return None


def notify(observers: Sequence[Observer], method: str, *args: Any) -> None:
    """Call ``method`` on every observer; log, never raise, if one fails."""
    for observer in observers:
        try:
            getattr(observer, method)(*args)
        except Exception:
            observer_failed(observer, method)


def observer_failed(observer: Any, method: str) -> None:
    """Log the exception being handled: ``observer`` raised in ``method``."""
    log.exception("observer %r failed in %s; the run goes on", observer, method)


def transition_hooks(
    observers: Sequence[Observer],
) -> tuple[tuple[Any, Callable[[str, Sequence[TaskRecord]], None]], ...]:
    """``(gate, transitions)`` of each observer that overrides
    :meth:`Observer.transitions` (looked up once per run, not per write)."""
    return tuple(
        (getattr(o, "transitions_gate", ALWAYS_OPEN), o.transitions)
        for o in observers
        if getattr(type(o), "transitions", None) is not Observer.transitions
    )


def carrier_observers(observers: Sequence[Observer]) -> tuple[Observer, ...]:
    """The observers that override :meth:`Observer.carrier` (ask once per run, not per task)."""
    return tuple(o for o in observers if type(o).carrier is not Observer.carrier)


def attempt_carrier(
    observers: Sequence[Observer], run_id: str, node_id: str
) -> dict[str, str] | None:
    """The merged :meth:`Observer.carrier` answers for one attempt; None when all are empty."""
    merged: dict[str, str] | None = None
    for observer in observers:
        try:
            found = observer.carrier(run_id, node_id)
        except Exception:
            log.exception("observer %r failed in carrier; the run goes on", observer)
            continue
        if found:
            merged = {**(merged or {}), **found}
    return merged


# --------------------------------------------------------------- defaults

_defaults: list[Observer] = []
_defaults_lock = threading.Lock()


def add_default_observer(observer: Observer) -> None:
    """Give every run from now on ``observer`` as well (once, however often added)."""
    with _defaults_lock:
        if observer not in _defaults:
            _defaults.append(observer)


def remove_default_observer(observer: Observer) -> None:
    """Undo :func:`add_default_observer` (nothing happens if it was not added)."""
    with _defaults_lock:
        if observer in _defaults:
            _defaults.remove(observer)


def default_observers() -> tuple[Observer, ...]:
    """What every run gets: a fresh signals observer, then the added defaults."""
    # Imported here: blinker loads on the first run, not with `import volnux`.
    from .signals import SignalsObserver

    with _defaults_lock:
        return (SignalsObserver(), *_defaults)

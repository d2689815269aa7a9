"""The one hook through which anything watches a run: :class:`Observer`.

The engine calls its observers after each journal write, with the records
just made durable, and at the start and end of each run (or resumption).
Signals, OpenTelemetry, metrics and log capture are observers.  They read;
they never change execution: an observer that raises is logged and the run
goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..states import RunState
from ..store import TaskRecord

__all__ = ["NodeInfo", "Observer", "RunInfo", "notify"]

log = logging.getLogger("volnux.observability")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What an observer may want to know about one node of the run."""

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


class Observer:
    """Base class: override the methods you need; each does nothing by default."""

    def run_started(self, info: RunInfo) -> None:
        """The engine starts (or resumes) a run."""

    def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
        """These task transitions were just journaled (in order)."""

    def run_ended(self, run_id: str, state: RunState, error: str | None) -> None:
        """The engine stopped working on a run (finished, failed, cancelled, paused)."""


def notify(observers: Sequence[Observer], method: str, *args: Any) -> None:
    """Call ``method`` on every observer; log, never raise, if one fails."""
    for observer in observers:
        try:
            getattr(observer, method)(*args)
        except Exception:
            log.exception("observer %r failed in %s; the run goes on", observer, method)

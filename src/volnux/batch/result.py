"""What a batch run gives back: :class:`BatchRun`, its batches and, lazily, their results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..engine.recovery import rehydrate
from ..states import RunState, TaskState
from ..store import Journal
from ..store.results import value_of
from .summary import BatchState, BatchSummary

__all__ = ["BatchRun"]


@dataclass
class BatchRun:
    """A batch run as it stands: its state, its batches, counts by state.

    Each batch is a child run of its own (``volnux runs show CHILD``);
    :meth:`results` reads their results from the journal one batch at a
    time, so a run of 10,000 batches is never held in memory at once.
    """

    id: str
    workflow: str
    state: RunState
    error: str | None
    summary: BatchSummary
    journal: Journal = field(repr=False)

    @property
    def status(self) -> str:
        """The state as a plain string: ``"succeeded"``, ``"failed"`` ..."""
        return self.state.value

    @property
    def succeeded(self) -> bool:
        """True when the run ended SUCCEEDED (every batch did, or the tolerance allowed it)."""
        return self.state is RunState.SUCCEEDED

    @property
    def batches(self) -> list[BatchState]:
        """Every batch that began, in source order."""
        return list(self.summary.batches.values())

    def counts(self) -> dict[str, int]:
        """Batches by state: ``{"succeeded": 998, "failed": 2}``."""
        return self.summary.counts()

    def items(self) -> dict[str, int]:
        """Items by the state of their batch."""
        return self.summary.items()

    def failed(self) -> list[BatchState]:
        """The batches that failed (or were cancelled), in source order."""
        return self.summary.of("failed", "cancelled")

    def results(self) -> Iterator[tuple[BatchState, dict[str, Any]]]:
        """(batch, node id -> result) of each succeeded batch, in source order, read lazily."""
        for batch in self.summary.of("succeeded"):
            views = rehydrate(self.journal.load(batch.child)).views
            yield (
                batch,
                {
                    node: value_of(view.result)  # read from the result store if kept there
                    for node, view in views.items()
                    if view.state is TaskState.SUCCEEDED
                },
            )

    def __repr__(self) -> str:
        return f"<BatchRun {self.id} {self.workflow} {self.status} {self.summary.progress()}>"

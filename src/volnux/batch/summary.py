"""Where a batch run stands, read from its parent's notes alone.

The parent of a batch run notes each batch as it begins (its child run and
position) and as it ends (the child's state, size and time): so the
counts by state, the items done and the failures are known without reading
a single child run.  A batch noted begun but not ended is ``running`` while
the parent runs, and ``interrupted`` once it does not (a crash cut it off;
a resume takes it up again).  The latest end of a batch counts: a batch
that failed and was retried is what its retry made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ..notes import BatchSourceEnd, BatchStarted, BatchUpdated, RunNote
from ..notes import NoteKind as K

if TYPE_CHECKING:
    from ..store import RunRecord

__all__ = ["FAILED_ITEMS", "BatchState", "BatchSummary", "Summarizer", "batch_json", "summarize"]

#: The states a batch can be in, in the order they are shown.
STATES = ("succeeded", "failed", "running", "interrupted", "paused", "cancelled")

_KINDS = frozenset(
    k.value
    for k in (K.BATCH_STARTED, K.BATCH_BEGUN, K.BATCH_ENDED, K.BATCH_SOURCE_END, K.BATCH_UPDATED)
)


class BatchState(NamedTuple):
    """One batch of a batch run: its child run, where it stands, how big, how long."""

    batch: int
    #: The child run's id.
    child: str
    #: ``succeeded``, ``failed``, ``running``, ``interrupted``, ``paused``, ``cancelled``.
    state: str
    size: int
    #: Where it is in its source (see docs/batch.md).
    position: dict[str, Any]
    #: Seconds its child took (its last session), once it ended.
    seconds: float | None = None
    #: Why it failed, in one line.
    error: str = ""
    #: Items that failed though its tasks succeeded (an event's ``Partial``).
    failed_items: int = 0
    #: The batches whose failed items this batch runs again (``--failed-items``).
    retries: tuple[int, ...] = ()


@dataclass
class BatchSummary:
    """A batch run as its parent's notes tell it."""

    #: How the run splits its source, and its limits as it started.
    spec: BatchStarted
    #: Batch index -> its state, for every batch that began.
    batches: dict[int, BatchState] = field(default_factory=dict)
    #: How many batches the source holds, once every one of them began (else None).
    total: int | None = None
    #: How many items the source holds, once every batch began (else None).
    total_items: int | None = None
    #: Parallelism and tolerance now (an operator may have changed them).
    parallel: int = 1
    tolerate: str = ""
    tolerate_items: str = ""

    def counts(self) -> dict[str, int]:
        """Batches by state (only the states some batch is in)."""
        out: dict[str, int] = {}
        for b in self.batches.values():
            out[b.state] = out.get(b.state, 0) + 1
        return {s: out[s] for s in STATES if s in out}

    def items(self) -> dict[str, int]:
        """Items by the state of their batch."""
        out: dict[str, int] = {}
        for b in self.batches.values():
            out[b.state] = out.get(b.state, 0) + b.size
        return {s: out[s] for s in STATES if s in out}

    def of(self, *states: str) -> list[BatchState]:
        """The batches in any of ``states``, in source order."""
        return [self.batches[i] for i in sorted(self.batches) if self.batches[i].state in states]

    def failed_item_count(self) -> int:
        """Items reported failed, but for those a succeeded batch of failed items ran again."""
        redone = {i for b in self.batches.values() if b.state == "succeeded" for i in b.retries}
        return sum(b.failed_items for b in self.batches.values() if b.batch not in redone)

    def item_total(self) -> int:
        """The source's items: all of them once every batch began, else those begun."""
        if self.total_items is not None:
            return self.total_items
        return sum(b.size for b in self.batches.values() if b.position.get("kind") != FAILED_ITEMS)

    def slowest(self, count: int = 5) -> list[BatchState]:
        """The ``count`` batches that took longest, slowest first."""
        ended = [b for b in self.batches.values() if b.seconds is not None]
        return sorted(ended, key=lambda b: (-(b.seconds or 0.0), b.batch))[:count]

    @property
    def done(self) -> int:
        """Batches that ended (succeeded or failed)."""
        return sum(1 for b in self.batches.values() if b.state in ("succeeded", "failed"))

    def progress(self) -> str:
        """``412/1000 batches (3 failed)``; ``412/? batches`` while the total is unknown."""
        total = str(self.total) if self.total is not None else "?"
        failed = sum(1 for b in self.batches.values() if b.state == "failed")
        items = self.failed_item_count()
        notes = [f"{failed} failed"] if failed else []
        if items:
            notes.append(f"{items} item{'s' if items != 1 else ''} failed")
        return f"{self.done}/{total} batches" + (f" ({'; '.join(notes)})" if notes else "")


def is_batch_run(notes: Iterable[RunNote]) -> bool:
    """Whether these are the notes of a batch run's parent."""
    return any(n.kind == K.BATCH_STARTED.value for n in notes)


def summarize(notes: Sequence[RunNote], running: bool) -> BatchSummary | None:
    """The batch run the parent's ``notes`` tell of (None: not a batch run).

    ``running``: whether the parent runs now (a begun batch is then
    ``running``; else it was cut off: ``interrupted``).
    """
    return Summarizer().feed(notes).summary(running)


#: The notes a Summarizer reads (the others it passes over).
BATCH_KINDS = _KINDS


class Summarizer:
    """:func:`summarize`, fed notes as they come: a reader that keeps one (the web
    view does) reads a running batch run's new notes only, not all of them again."""

    def __init__(self) -> None:
        self._spec: BatchStarted | None = None
        self._total: tuple[int, int] | None = None
        self._limits: dict[str, Any] = {}
        # A batch run of 10,000 batches has 20,000 of these: their JSON is read as
        # it is (its few fields checked below), not made into typed details first.
        self._begun: dict[int, Mapping[str, Any]] = {}
        self._ended: dict[int, Mapping[str, Any]] = {}
        #: How many notes were fed.
        self.seen = 0

    def feed(self, notes: Sequence[RunNote]) -> Summarizer:
        """Take the next ``notes`` of the parent, in the order written."""
        self.seen += len(notes)
        begun, ended = self._begun, self._ended
        begun_kind, ended_kind = K.BATCH_BEGUN.value, K.BATCH_ENDED.value
        for note in notes:
            kind = note.kind
            if kind not in _KINDS:
                continue
            if kind in (begun_kind, ended_kind):
                data = note.detail
                index = data.get("batch") if isinstance(data, Mapping) else None
                if self._spec is None or type(index) is not int or index < 0:
                    continue
                if kind == begun_kind:
                    begun[index] = data
                    ended.pop(index, None)  # begun again (a retry): where it stands now
                else:
                    ended[index] = data
                continue
            detail = note.read()
            if isinstance(detail, BatchStarted):
                self._spec = detail
                self._limits = {
                    "parallel": detail.parallel,
                    "tolerate": detail.tolerate,
                    "tolerate_items": detail.tolerate_items,
                }
            elif self._spec is None:
                continue
            elif isinstance(detail, BatchSourceEnd):
                self._total = (detail.batches, detail.items)
            elif isinstance(detail, BatchUpdated):
                for key in ("parallel", "tolerate", "tolerate_items"):
                    if getattr(detail, key) is not None:
                        self._limits[key] = getattr(detail, key)
        return self

    def summary(self, running: bool) -> BatchSummary | None:
        """Where the batch run stands after the notes fed (None: not a batch run)."""
        if self._spec is None:
            return None
        summary = BatchSummary(self._spec, **self._limits)
        if self._total is not None:
            summary.total, summary.total_items = self._total
        cut_off = "running" if running else "interrupted"
        ended = self._ended
        for index in sorted(self._begun):
            b = self._begun[index]
            position = b.get("position")
            position = dict(position) if isinstance(position, Mapping) else {}
            end = ended.get(index)
            retries = _retries(position)
            if end is None:
                state = BatchState(
                    index, _text(b, "child"), cut_off, _count(b, "size"), position, retries=retries
                )
            else:
                seconds = end.get("seconds", 0.0)
                state = BatchState(
                    index,
                    _text(b, "child"),
                    _text(end, "state"),
                    _count(end, "size"),
                    position,
                    float(seconds) if type(seconds) in (int, float) else 0.0,
                    _text(end, "error"),
                    _count(end, "failed_items"),
                    retries,
                )
            summary.batches[index] = state
        if summary.total is not None:  # batches of failed items come after the source's
            summary.total = max(summary.total, len(summary.batches))
        return summary


#: The position kind of a batch that runs other batches' failed items again.
FAILED_ITEMS = "failed-items"


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    return value if isinstance(value, str) else ""


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    return value if type(value) is int else 0


def _retries(position: Mapping[str, Any]) -> tuple[int, ...]:
    if position.get("kind") != FAILED_ITEMS:
        return ()
    of = position.get("of", [])
    return tuple(i for i in of if isinstance(i, int)) if isinstance(of, list) else ()


def batch_json(record: RunRecord, summary: BatchSummary) -> dict[str, Any]:
    """A batch run as JSON data (``runs show --json``, the web view's API)."""
    spec = summary.spec
    return {
        "id": record.id,
        "workflow": record.workflow,
        "status": record.state.value,
        "error": record.error,
        "created_at": record.created_at,
        "ended_at": record.ended_at,
        "batch": {
            "source": spec.source,
            "kind": spec.source_kind,
            "batch_size": spec.batch_size,
            "input": spec.input,
            "parallel": summary.parallel,
            "tolerate": summary.tolerate,
            "tolerate_items": summary.tolerate_items,
            "fail_fast": spec.fail_fast,
            "fuse": spec.fuse,
            "total": summary.total,
            "total_items": summary.total_items,
            "counts": summary.counts(),
            "items": summary.items(),
            "failed_items": summary.failed_item_count(),
        },
        "failed": [
            {"batch": b.batch, "run": b.child, "size": b.size, "error": b.error}
            for b in summary.of("failed", "cancelled")
        ],
        "with_failed_items": [
            {"batch": b.batch, "run": b.child, "size": b.size, "failed_items": b.failed_items}
            for b in summary.batches.values()
            if b.failed_items
        ],
    }

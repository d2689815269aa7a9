"""Batch runs: one workflow over a split source, one child run per batch.

A batch run is a *parent* run that runs no task of its own: it records how
its source is split (:class:`~volnux.notes.BatchStarted`), then for each
batch notes the batch's position and its child run's id
(:class:`~volnux.notes.BatchBegun`) as that child is created (one write,
see :class:`~volnux.engine.lifecycle.Part`), runs the child (an ordinary
run of the workflow, given the batch's items as an input that is not
journaled), and notes how it ended (:class:`~volnux.notes.BatchEnded`, with
the child's end).  Those notes are the parent's whole
state: counts, failures and what a resume must do are read from them
(:mod:`.summary`), never from every child.

At most ``parallel`` children run at once, each driven by a thread of this
module (their attempts run on the workflow's executors); the source is read
one batch ahead of a free slot, so memory holds the batches in flight.

Resuming the parent (:func:`continue_batches`) claims it, takes up every
child that had begun and not ended (resumed from its own journal: only its
unfinished tasks run), and then splits the rest of the source.  With
``failed`` it retries the failed children too (their failed tasks and what
follows).  A child that ended but whose end the parent had not noted yet
(a crash in between) is noted, never run again.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from ..engine import Program
from ..engine.lifecycle import (
    Execution,
    Part,
    continue_run,
    drive_opened,
    new_run_id,
    open_run,
    take_up,
)
from ..engine.owners import (
    HEARTBEAT_S,
    cancel_run,
    own_ticks,
    owner_id,
    pause_run,
    this_process,
    user_name,
)
from ..engine.runner import earlier_failed_items
from ..errors import Fenced, InputError, ResumeRefused, RunNotFound, VolnuxError
from ..events import BatchInfo
from ..notes import (
    BatchBegun,
    BatchEnded,
    BatchSourceEnd,
    BatchStarted,
    BatchUpdated,
    Resumed,
    RunNote,
    kinds_of,
)
from ..states import RunState, check_run_transition
from ..store import EpochNote, Journal, RunRecord
from .limits import Tolerance, check_parallel
from .model import Batch, Splitter
from .result import BatchRun
from .summary import FAILED_ITEMS, BatchSummary, summarize

__all__ = [
    "BatchEvent",
    "continue_batches",
    "refuse_batch_child",
    "start_batches",
    "update_batches",
]

#: How often (seconds) the driver looks for a cancel or pause of the batch run.
POLL_S = 0.2
#: The shortest time (seconds) between two such looks, however fast batches end.
ASK_S = 0.05
#: How often (seconds) it reads what an operator changed (``volnux runs update``).
UPDATE_POLL_S = 2.0


class _Threads:
    """The daemon threads that run batches' children: one each, kept for the next
    batch once its child ended (batches may start hundreds a second)."""

    def __init__(self, target: Callable[[Any], None]) -> None:
        self._target = target
        self._work: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0

    def run(self, item: Any) -> None:
        """Run ``target(item)`` on an idle thread, or on a new one if none is."""
        with self._lock:
            new = not self._idle
            if new:
                self._started += 1
            else:
                self._idle -= 1
        self._work.put(item)
        if new:
            name = f"volnux-batch-{self._started}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def close(self) -> None:
        """Let every thread end once it is idle."""
        with self._lock:
            started, self._started, self._idle = self._started, 0, 0
        for _ in range(started):
            self._work.put(None)

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            self._target(item)
            with self._lock:
                self._idle += 1


class BatchEvent(NamedTuple):
    """What a watcher of a batch run is told: a batch ``began`` or ``ended``."""

    what: str
    batch: int
    child: str
    size: int
    #: The child's state once it ended (``succeeded``, ``failed`` ...), else "".
    state: str = ""
    seconds: float = 0.0
    error: str = ""
    #: On ``began``: how far into its source the batch ends (0 to 1), where the
    #: position and the source's identity tell (a file's byte range, a
    #: directory's files); None where they do not.
    reach: float | None = None


#: Told of each batch as it begins and ends (from the driving thread).
Watcher = Callable[[BatchEvent], None]


class _Work(NamedTuple):
    """A batch to take on: its note, how (``start``, ``resume``, ``retry``), its items if read."""

    begun: BatchBegun
    mode: str
    items: list[Any] | None = None
    #: A new batch's turn to create its child (see _Turns); -1: not a new one.
    turn: int = -1
    #: Its child once created (see _Driver._open): the record, the inputs its
    #: events are given.
    opened: tuple[RunRecord, dict[str, Any]] | None = None


class _Turns:
    """Lets the threads of new batches create their children one after the other, in
    the order the batches were launched (index order): a resume takes the source
    up after the last batch noted begun, so none may be noted before one ahead
    of it.  Only the creation waits; the children then run side by side."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._given = 0
        self._next = 0

    def take(self) -> int:
        """The next turn (in the driving thread, as a batch is launched)."""
        turn, self._given = self._given, self._given + 1
        return turn

    @contextmanager
    def turn(self, turn: int) -> Iterator[None]:
        """Wait for ``turn``, then hold it until the block ends (however it ends)."""
        with self._cond:
            while self._next != turn:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._next = turn + 1
                self._cond.notify_all()


class _Limits:
    """A batch run's parallelism, tolerance and fail-fast (an operator may change the first two)."""

    def __init__(self, parallel: int, tolerance: Tolerance, fail_fast: bool) -> None:
        self.parallel = parallel
        self.tolerance = tolerance
        self.fail_fast = fail_fast


# -------------------------------------------------------------------- starting


def start_batches(
    program: Program,
    journal: Journal,
    split: Splitter,
    spec: BatchStarted,
    inputs: Mapping[str, Any],
    how: Execution,
    *,
    run_id: str | None = None,
    watcher: Watcher | None = None,
) -> BatchRun:
    """Record a batch run of ``program`` over ``split`` and drive it to its end.

    ``spec`` is what the run records of its source and limits (its
    ``identity`` is taken here); ``inputs`` are given to every batch, beside
    the batch itself (as input ``spec.input``).
    """
    check_parallel(spec.parallel)
    tolerance = Tolerance.parse(spec.tolerate)
    Tolerance.parse(spec.tolerate_items)  # said now, not when the run ends
    if spec.input in inputs:
        raise InputError(
            f"input {spec.input!r} is the batch itself; give the other inputs another name "
            "or the batch another input name"
        )
    spec = spec._replace(identity=split.identity(), rereadable=split.rereadable)
    # The parent's record: the workflow and the inputs every batch shares (the
    # batch itself is checked as given, never recorded).
    try:
        record, _given = open_run(
            program,
            journal,
            inputs,
            run_id=run_id,
            part=Part(supplied={spec.input: []}),
            stacklevel=3,
        )
    except InputError as exc:
        raise InputError(
            f"{exc}; each batch is given as input {spec.input!r} "
            "(--as NAME, or input_name=, gives it another name)"
        ) from None
    parent = record.id
    now = time.time()
    journal.add_note(RunNote.of(parent, now, spec), epoch=1)
    driver = _Driver(
        program,
        journal,
        parent,
        1,
        spec,
        dict(record.inputs),
        how,
        _Limits(spec.parallel, tolerance, spec.fail_fast),
        watcher,
    )
    return driver.drive(driver.new_batches(split, 0), BatchSummary(spec))


# ------------------------------------------------------------------ continuing


def continue_batches(
    journal: Journal,
    parent: str,
    program: Program,
    how: Execution,
    *,
    failed: bool = False,
    failed_items: bool = False,
    force: bool = False,
    make_split: Callable[[BatchStarted], Splitter] | None = None,
    given_source: bool = False,
    watcher: Watcher | None = None,
) -> BatchRun:
    """Resume batch run ``parent``: its unfinished batches, then the rest of its source.

    ``failed`` retries its failed batches as well; ``failed_items`` runs a new
    batch of the items its batches' events reported failed (``Partial``), once
    every batch of the source has begun.  ``make_split`` makes the
    run's splitter again from what it recorded (``given_source``: over a
    source given again, as an iterable must be, which the journal cannot
    read again).  A source that changed since the run started is refused
    unless ``force``.
    """
    run = journal.load_run(parent)
    notes = journal.load_notes(parent)
    summary = summarize(notes, running=False)
    if summary is None:
        if journal.load(parent).tasks:
            raise ResumeRefused(f"run {parent} is not a batch run")
        raise ResumeRefused(
            f"run {parent} was cut off before it recorded its source, if it was a batch "
            "run: nothing of it ran; start it again"
        )
    extra = _failed_items_batch(journal, parent, summary) if failed_items else []
    if run.state is RunState.SUCCEEDED and not (failed and summary.of("failed")) and not extra:
        what = "failed batch to retry" if failed else "batch to resume"
        raise ResumeRefused(f"batch run {parent} already succeeded; there is no {what}")
    if run.state is RunState.FAILED and not failed and not extra and not _unfinished(summary):
        raise ResumeRefused(
            f"batch run {parent} failed ({summary.progress()}); "
            f"'volnux runs retry {parent} --failed' re-runs its failed batches"
        )
    source_left = summary.total is None
    spec = summary.spec
    split = None
    if make_split is not None and (spec.rereadable or given_source):
        split = make_split(spec)
    if split is None and (source_left or spec.rereadable):
        raise ResumeRefused(
            f"batch run {parent} split "
            + (
                "an iterable, which the journal cannot read again"
                if not spec.rereadable
                else "a source"
            )
            + ": pass the same source again to resume it"
        )
    if split is not None and spec.rereadable:
        split.check(dict(spec.identity), force=force)  # SourceChanged before anything is claimed
    epoch, took_over = take_up(journal, run, force)
    try:
        if run.state is not RunState.RUNNING:
            check_run_transition(parent, run.state, RunState.RUNNING)
        now = time.time()
        journal.set_run_state(parent, RunState.RUNNING, now, epoch=epoch)
        pid, host, cwd = this_process()
        resumed = Resumed(
            pid,
            host,
            cwd,
            program.sources,
            retry=failed,
            interrupted=tuple(b.child for b in summary.of("interrupted")),
            retrying=tuple(b.child for b in summary.of("failed")) if failed else (),
            owner=owner_id(),
            ticks=own_ticks(),
            took_over=took_over,
        )
        journal.add_note(RunNote.of(parent, now, resumed), epoch=epoch)
    except BaseException:
        journal.release(parent, epoch)
        raise
    tolerance = Tolerance.parse(summary.tolerate)
    driver = _Driver(
        program,
        journal,
        parent,
        epoch,
        summary.spec,
        dict(run.inputs),
        how,
        _Limits(summary.parallel, tolerance, summary.spec.fail_fast),
        watcher,
        split,
    )
    driver.known(summary)
    begun = _begun_notes(notes)
    work = _chain(driver.earlier(summary, begun, failed), iter(extra))
    if source_left:
        assert split is not None
        start = max(summary.batches, default=-1) + 1
        work = _chain(work, driver.new_batches(split, start))
    return driver.drive(work, summary)


def source_reach(position: Mapping[str, Any], identity: Mapping[str, Any]) -> float | None:
    """How far into its source a batch at ``position`` ends (0 to 1), if that can be told:
    a byte range of a file of known size, or files of a known list."""
    offset, length = position.get("offset"), position.get("length")
    size = identity.get("size")
    if isinstance(offset, int) and isinstance(length, int) and isinstance(size, int) and size:
        return min(1.0, (offset + length) / size)
    files = identity.get("files")
    first, count = position.get("first_item"), position.get("count")
    if isinstance(files, list) and files and isinstance(first, int) and isinstance(count, int):
        return min(1.0, (first + count) / len(files))
    return None


def refuse_batch_child(journal: Journal, run: RunRecord, verb: str) -> None:
    """ResumeRefused if ``run`` is a batch of a batch run: its parent takes it up.

    A batch's items are not in its own record (they are read again by
    position, by the parent's driver), so it is resumed through its parent.
    """
    if run.parent is None:
        return
    try:
        notes = journal.load_notes(run.parent)
    except RunNotFound:
        return
    summary = summarize(notes, running=False)
    if summary is None:
        return
    index = next((b.batch for b in summary.batches.values() if b.child == run.id), "?")
    again = "retry" if verb == "retry" else "resume"
    raise ResumeRefused(
        f"run {run.id} is batch {index} of batch run {run.parent}: {again} that one "
        f"('volnux runs {again} {run.parent}'), which takes up this batch"
        + (" with the other failed ones" if verb == "retry" else " with the other unfinished ones")
    )


def _failed_items_batch(journal: Journal, parent: str, summary: BatchSummary) -> list[_Work]:
    """A new batch of the items the run's batches reported failed (their keys), after
    the source's batches; none when no item failed but those already run again."""
    if summary.total is None:
        raise ResumeRefused(
            f"batch run {parent} has batches of its source still to begin: resume it "
            "first ('volnux runs resume'), then retry its failed items"
        )
    redone = {i for b in summary.batches.values() if b.state == "succeeded" for i in b.retries}
    keys: list[Any] = []
    seen: set[str] = set()
    of: list[int] = []
    for b in summary.batches.values():
        if not b.failed_items or b.batch in redone or b.state != "succeeded":
            continue
        of.append(b.batch)
        for pairs in earlier_failed_items(journal.load_notes(b.child)).values():
            for key, _why in pairs:
                text = json.dumps(key, sort_keys=True)
                if text not in seen:
                    seen.add(text)
                    keys.append(key)
    if not keys:
        raise ResumeRefused(f"batch run {parent} has no failed items to retry")
    index = max(summary.batches) + 1
    position = {"kind": FAILED_ITEMS, "of": of, "count": len(keys)}
    begun = BatchBegun(index, new_run_id(), position, len(keys), keys)
    return [_Work(begun, "start", keys)]


def _unfinished(summary: BatchSummary) -> bool:
    """Whether a batch or the source is left to do (not counting failed batches)."""
    if summary.total is None:
        return True
    return len(summary.batches) < summary.total or any(
        b.state not in ("succeeded", "failed") for b in summary.batches.values()
    )


def _begun_notes(notes: Iterable[RunNote]) -> dict[int, BatchBegun]:
    """Batch index -> its first begun note (which holds an iterable batch's items)."""
    out: dict[int, BatchBegun] = {}
    wanted = kinds_of(BatchBegun)
    for note in notes:
        if note.kind in wanted:
            detail = note.read()
            if isinstance(detail, BatchBegun) and detail.batch not in out:
                out[detail.batch] = detail
    return out


def _first_line(exc: BaseException) -> str:
    """What a batch that failed this way says: a Volnux error's first line, else the
    exception's type and message."""
    if isinstance(exc, VolnuxError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _chain(*parts: Iterator[_Work]) -> Iterator[_Work]:
    for part in parts:
        yield from part


# --------------------------------------------------------------------- driving


class _Driver:
    """Drives one session of a batch run: starts children, notes their ends, decides."""

    def __init__(
        self,
        program: Program,
        journal: Journal,
        parent: str,
        epoch: int,
        spec: BatchStarted,
        inputs: dict[str, Any],
        how: Execution,
        limits: _Limits,
        watcher: Watcher | None,
        split: Splitter | None = None,
    ) -> None:
        self.program = program
        self.journal = journal
        self.parent = parent
        self.epoch = epoch
        self.spec = spec
        self.inputs = inputs
        self.how = how._replace(fuse=spec.fuse)
        self.limits = limits
        self.watcher = watcher
        self.split = split
        #: Children that ended: how, and whether their end's write noted it here.
        self._ended: queue.SimpleQueue[tuple[BatchEnded, bool]] = queue.SimpleQueue()
        #: Batch index -> child id, for the children running now.
        self.in_flight: dict[int, str] = {}
        #: Batch index -> (state, size): where each batch stands (earlier sessions' too).
        self.states: dict[int, tuple[str, int]] = {}
        #: Why the run stops starting batches: cancelled, paused, stopped,
        #: fenced, tolerance, fail-fast (None: it does not).
        self.stopping: str | None = None
        self.exhausted = False
        self._next_beat = time.monotonic() + HEARTBEAT_S
        self._next_update = time.monotonic() + UPDATE_POLL_S
        self._next_ask = 0.0
        self._threads = _Threads(self._child)
        self._turns = _Turns()
        self._seen_notes = 0
        # Where the last batch begun in an earlier session is (a resume splits from there).
        self._last_position: dict[str, Any] | None = None

    # ------------------------------------------------------------ the work

    def known(self, summary: BatchSummary) -> None:
        """What earlier sessions of the run did (for counts and the verdict)."""
        for index, b in summary.batches.items():
            self.states[index] = (b.state, b.size)
        if summary.total is not None:
            self.exhausted = True
        if summary.batches:
            self._last_position = summary.batches[max(summary.batches)].position

    def new_batches(self, split: Splitter, start: int) -> Iterator[_Work]:
        """The source's batches from index ``start`` on, as work; notes the source's end.

        The batches before ``start`` (begun in an earlier session) are read
        and passed over, which also counts the source's items.
        """
        count = items = 0
        batches: Iterable[Batch] = split
        after = getattr(split, "after", None)
        last = self._last_position
        if start > 0 and after is not None and last is not None:
            # From the end of the last batch begun: the file is not read again up to there.
            batches = after(last, start)
            count, items = start, int(last.get("first_item", 0)) + int(last.get("count", 0))
        for batch in batches:
            count, items = batch.index + 1, items + batch.size
            if batch.index >= start:
                yield self._fresh(batch)
        self._note(BatchSourceEnd(count, items))
        self.exhausted = True

    def _fresh(self, batch: Batch) -> _Work:
        items = None if self.spec.rereadable else list(batch.items)
        begun = BatchBegun(batch.index, new_run_id(), batch.position, batch.size, items)
        return _Work(begun, "start", batch.items)

    def earlier(
        self, summary: BatchSummary, begun: Mapping[int, BatchBegun], failed: bool
    ) -> Iterator[_Work]:
        """The batches of earlier sessions still to do: cut off, paused, cancelled,
        and (``failed``) failed ones."""
        for index, b in summary.batches.items():
            if b.state == "succeeded" or (b.state == "failed" and not failed):
                continue
            first = begun[index]
            try:
                child = self.journal.load_run(b.child)
            except RunNotFound:  # noted apart from the child (earlier versions), then a crash
                yield _Work(first, "start")
                continue
            if child.state is RunState.SUCCEEDED or (child.state is RunState.FAILED and not failed):
                # It ended, and the parent had not noted it yet.
                items = earlier_failed_items(self.journal.load_notes(b.child))
                end = BatchEnded(
                    index,
                    b.child,
                    child.state.value,
                    b.size,
                    0.0,
                    child.error or "",
                    sum(len(v) for v in items.values()),
                )
                self._note(end)
                self.states[index] = (end.state, end.size)
                continue
            yield _Work(first, "retry" if child.state is RunState.FAILED else "resume")

    # ------------------------------------------------------------- driving

    def drive(self, work: Iterator[_Work], summary: BatchSummary) -> BatchRun:
        """Run ``work`` to its end, within the limits; record the verdict; return the run."""
        pending = iter(work)
        try:
            return self._drive(pending)
        finally:
            self._threads.close()

    def _drive(self, pending: Iterator[_Work]) -> BatchRun:
        try:
            while True:
                self._poll()
                while self.stopping is None and len(self.in_flight) < self.limits.parallel:
                    item = next(pending, None)
                    if item is None:
                        break
                    self._launch(item)
                if not self.in_flight:
                    break
                try:
                    end, noted = self._ended.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                self._done(end, noted)
        except BaseException:
            # The driver itself failed (the journal, the source): its children
            # finish, and the run is left running in the journal for a resume.
            self.stopping = self.stopping or "error"
            self._cancel_children()
            self._wait_children()
            raise
        return self._finish()

    def _launch(self, work: _Work) -> None:
        begun = work.begun
        self.in_flight[begun.batch] = begun.child
        self.states[begun.batch] = ("running", begun.size)
        reach = source_reach(begun.position, self.spec.identity)
        self._tell(BatchEvent("began", begun.batch, begun.child, begun.size, reach=reach))
        if work.mode == "start":  # its child is created with its note (see _open)
            work = work._replace(turn=self._turns.take())
        else:
            self._note(begun)
        self._threads.run(work)

    def _open(self, work: _Work) -> _Work | None:
        """Create a new batch's child, with this run's note of it (BatchBegun, fenced by
        this run's epoch: a driver that lost the run starts no child) in the same
        write; None, its end queued, if it cannot be.  In the batch's turn."""
        begun = work.begun
        try:
            items = work.items if work.items is not None else self._items(begun)
            note = RunNote.of(self.parent, time.time(), begun)
            record, given = open_run(
                self.program,
                self.journal,
                self.inputs,
                run_id=begun.child,
                part=Part(self.parent, {self.spec.input: items}, notes=((note, self.epoch),)),
            )
        except Fenced as exc:
            state, error = "fenced", str(exc)
        except Exception as exc:  # a batch its workflow refuses: it fails, not the run
            self._note(begun)
            state, error = RunState.FAILED.value, _first_line(exc)
        else:
            return work._replace(items=items, opened=(record, given))
        self._ended.put(
            (BatchEnded(begun.batch, begun.child, state, begun.size, 0.0, error), False)
        )
        return None

    def _child(self, work: _Work) -> None:
        """Run one batch's child to its end (in its own thread); queue how it ended.

        A child's end is written with this run's note of it (BatchEnded, fenced
        by the child's own epoch, which its end must hold anyway): one write.
        """
        begun = work.begun
        if work.turn >= 0:
            with self._turns.turn(work.turn):
                opened = self._open(work)
            if opened is None:
                return  # it could not be created: its end is queued
            work = opened
        started = time.monotonic()
        state, error, failed_items = RunState.FAILED.value, "", 0
        noted: list[BatchEnded] = []

        def ended(end_state: RunState, end_error: str | None, failed: int) -> EpochNote:
            seconds = time.monotonic() - started
            end = BatchEnded(
                begun.batch, begun.child, end_state.value, begun.size, seconds, end_error or "",
                failed,
            )  # fmt: skip
            noted.append(end)
            return RunNote.of(self.parent, time.time(), end), None

        try:
            items = work.items if work.items is not None else self._items(begun)
            info = BatchInfo(self.parent, begun.batch, begun.size, dict(begun.position))
            part = Part(self.parent, {self.spec.input: items}, info, ended=ended)
            if work.opened is not None:
                record, given = work.opened
                run = drive_opened(self.program, self.journal, record, given, self.how, part)
            else:
                run = continue_run(
                    self.journal,
                    begun.child,
                    retry=work.mode == "retry",
                    now_program=self.program,
                    how=self.how,
                    part=part,
                )
            if noted:  # written with the child's end
                self._ended.put((noted[-1], True))
                return
            state, error = run.state.value, run.error or ""
            failed_items = sum(len(items) for items in run.failed_items.values())
        except Fenced as exc:
            state, error = "fenced", str(exc)
        except BaseException as exc:  # a bug or a broken source: this batch fails, not the run
            error = _first_line(exc)
        seconds = time.monotonic() - started
        end = BatchEnded(begun.batch, begun.child, state, begun.size, seconds, error, failed_items)
        self._ended.put((end, False))

    def _items(self, begun: BatchBegun) -> list[Any]:
        """A batch's items: from its note (an iterable's), else read again by position."""
        if begun.items is not None:
            return list(begun.items)
        if self.split is None:
            raise ResumeRefused(f"batch {begun.batch} cannot be read again: no source given")
        return self.split.read(dict(begun.position))

    def _done(self, end: BatchEnded, noted: bool = False) -> None:
        """A child ended (``noted``: its end's write noted it here already)."""
        self.in_flight.pop(end.batch, None)
        if end.state == "fenced":
            self.stopping = "fenced"
            return
        if not noted:
            self._note(end)
        self.states[end.batch] = (end.state, end.size)
        self._tell(
            BatchEvent("ended", end.batch, end.child, end.size, end.state, end.seconds, end.error)
        )
        if end.state == RunState.SUCCEEDED.value or self.stopping is not None:
            return
        failed = self._count("failed", "cancelled")
        if self.limits.fail_fast:
            self.stopping = "fail-fast"
        elif self.limits.tolerance.exceeded(failed, self._total()):
            self.stopping = "tolerance"

    def _count(self, *states: str) -> int:
        return sum(1 for state, _size in self.states.values() if state in states)

    def _total(self) -> int | None:
        return len(self.states) if self.exhausted else None

    def _tell(self, event: BatchEvent) -> None:
        if self.watcher is not None:
            self.watcher(event)

    def _note(self, detail: Any) -> None:
        if self.stopping == "fenced":
            return
        try:
            self.journal.add_note(RunNote.of(self.parent, time.time(), detail), epoch=self.epoch)
        except Fenced:
            self.stopping = "fenced"
            self._cancel_children()

    # ------------------------------------------------------------ watching

    def _poll(self) -> None:
        """Heartbeat; look for a stop (cancel, pause, signal) and an operator's change."""
        now = time.monotonic()
        if now >= self._next_beat and self.stopping != "fenced":
            self._next_beat = now + HEARTBEAT_S
            try:
                self.journal.heartbeat(self.parent, self.epoch, time.time())
            except Fenced:
                self.stopping = "fenced"
                self._cancel_children()
        stop = self.how.stop
        if stop is not None and stop.count and self.stopping is None:
            self.stopping = "stopped"  # the children's engines hear the same request
        if self.stopping is None and now >= self._next_ask:
            # At most every ASK_S, not once per ended batch: a read each, at
            # hundreds of batches a second.
            self._next_ask = now + ASK_S
            asked = self.journal.stop_requested(self.parent)
            if asked is not None:
                self.stopping = asked.value
                self._cancel_children()
        if now >= self._next_update:
            self._next_update = now + UPDATE_POLL_S
            self._read_updates()

    def _read_updates(self) -> None:
        notes = self.journal.load_notes(self.parent)
        fresh, self._seen_notes = notes[self._seen_notes :], len(notes)
        wanted = kinds_of(BatchUpdated)
        for note in fresh:
            if note.kind not in wanted:
                continue
            detail = note.read()
            if not isinstance(detail, BatchUpdated):
                continue
            if detail.parallel is not None and detail.parallel >= 1:
                self.limits.parallel = detail.parallel
            if detail.tolerate is not None:
                try:
                    self.limits.tolerance = Tolerance.parse(detail.tolerate)
                except InputError:
                    continue

    def _cancel_children(self) -> None:
        """Ask the running children to stop as the parent was asked (pause or cancel)."""
        pause = self.stopping == RunState.PAUSED.value
        for child in list(self.in_flight.values()):
            try:
                (pause_run if pause else cancel_run)(self.journal, child)
            except VolnuxError:
                continue  # it ended meanwhile, or is not created yet

    def _wait_children(self) -> None:
        while self.in_flight:
            self._done_quietly(*self._ended.get())

    def _done_quietly(self, end: BatchEnded, noted: bool) -> None:
        try:
            self._done(end, noted)
        except VolnuxError:
            self.in_flight.pop(end.batch, None)

    # -------------------------------------------------------------- ending

    def _finish(self) -> BatchRun:
        # Read once: setting the run's state adds no note, so this is the run's too.
        summary = summarize(self.journal.load_notes(self.parent), running=False)
        assert summary is not None
        state, error = self._verdict()
        if state is RunState.SUCCEEDED:
            state, error = self._items_verdict(summary)
        if self.stopping != "fenced":
            try:
                self.journal.set_run_state(self.parent, state, time.time(), error, epoch=self.epoch)
            except Fenced:
                self.stopping = "fenced"
        record = self.journal.load_run(self.parent)
        return BatchRun(
            record.id, record.workflow, record.state, record.error, summary, self.journal
        )

    def _items_verdict(self, summary: BatchSummary) -> tuple[RunState, str | None]:
        """A run whose batches succeeded fails when more items failed inside them (a
        ``Partial``) than its items tolerance allows (none set: any number may)."""
        text = summary.tolerate_items
        failed = summary.failed_item_count()
        if not text or not failed:
            return RunState.SUCCEEDED, None
        try:
            tolerance = Tolerance.parse(text)
        except InputError:
            return RunState.SUCCEEDED, None  # recorded by hand, unreadable: not judged
        total = summary.item_total()
        if tolerance.allows(failed, total):
            return RunState.SUCCEEDED, None
        return RunState.FAILED, (
            f"{failed} of {total} items failed inside their batches "
            f"(past {tolerance.describe('item')}); "
            "'volnux runs retry --failed-items' runs them again"
        )

    def _verdict(self) -> tuple[RunState, str | None]:
        """The parent's state from its batches (and why it stopped, if it did)."""
        if self.stopping in ("cancelled", "stopped", "fenced", "error"):
            why = {
                "cancelled": "cancelled",
                "stopped": f"stopped by {self.how.stop.reason if self.how.stop else 'a request'}",
                "fenced": "another process took the run over",
                "error": "the batch run's driver failed",
            }[self.stopping]
            return RunState.CANCELLED, why
        if self.stopping == "paused":
            return RunState.PAUSED, "paused by an operator"
        paused = self._count("paused")
        failed = self._count("failed", "cancelled")
        total = len(self.states)
        if paused and not failed:
            return RunState.PAUSED, f"{paused} batch{'es' if paused != 1 else ''} need an operator"
        if self.stopping in ("tolerance", "fail-fast"):
            why = (
                "the first failed batch stopped it (fail-fast)"
                if self.stopping == "fail-fast"
                else f"past {self.limits.tolerance.describe()}"
            )
            return RunState.FAILED, f"{failed} of {total} batches failed so far; {why}"
        if self.limits.tolerance.allows(failed, total):
            return RunState.SUCCEEDED, None
        return RunState.FAILED, (
            f"{failed} of {total} batch{'es' if total != 1 else ''} failed"
            + (
                f" ({self.limits.tolerance.describe()})"
                if failed and self.limits.tolerance.text
                else ""
            )
        )


def update_batches(
    journal: Journal,
    parent: str,
    *,
    parallel: int | None = None,
    tolerate: str | None = None,
    tolerate_items: str | None = None,
) -> BatchSummary:
    """Change a batch run's parallelism or tolerances: journaled, and read by its driver
    within :data:`UPDATE_POLL_S` (a run not running now keeps them for its resume)."""
    if parallel is None and tolerate is None and tolerate_items is None:
        raise InputError("nothing to change: give a new parallelism or tolerance")
    if parallel is not None:
        check_parallel(parallel)
    if tolerate is not None:
        tolerate = Tolerance.parse(tolerate).text
    if tolerate_items is not None:
        tolerate_items = Tolerance.parse(tolerate_items).text
    run = journal.load_run(parent)
    if summarize(journal.load_notes(parent), running=False) is None:
        raise InputError(f"run {parent} is not a batch run: only a batch run's limits change")
    pid, host, _cwd = this_process()
    detail = BatchUpdated(parallel, tolerate, pid, user_name(), host, tolerate_items)
    journal.add_note(RunNote.of(parent, time.time(), detail))
    summary = summarize(journal.load_notes(parent), running=run.state is RunState.RUNNING)
    assert summary is not None
    return summary

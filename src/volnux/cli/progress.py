"""Live progress of ``volnux run``: what is done, running, failed and waiting.

A run that ends within a second prints nothing extra.  A longer one shows,
on stderr:

* on a terminal, a line that rich redraws in place (four times a second)
  with the counts, the tasks running now and the time so far, gone when the
  run ends (the task table or the explanation follows);
* otherwise (a pipe, a CI log), a plain line when the run passes a second,
  then one every :data:`PLAIN_EVERY` seconds while something changed::

      progress: 12/40 done, 2 running (Charge, Email), 0 failed, 26 waiting, 3.0s

The counts come from an :class:`~volnux.observability.Observer` that reads
the transitions the engine has just journaled: it never touches the journal
and costs a dict update per transition.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

from ..observability.observer import Observer, RunInfo
from ..states import TaskState

if TYPE_CHECKING:
    from rich.text import Text

    from ..store import TaskRecord

__all__ = [
    "PLAIN_EVERY",
    "QUIET_FOR",
    "Counts",
    "ProgressObserver",
    "live_display",
    "live_progress",
]

#: A run that ends sooner than this (seconds) shows no progress at all.
QUIET_FOR = 1.0
#: Seconds between plain progress lines (when something changed).
PLAIN_EVERY = 5.0
#: Running tasks named on a line before "and N more".
RUNNING_NAMED = 4


@dataclass(frozen=True, slots=True)
class Counts:
    """Where a run's tasks stand at one moment."""

    total: int
    done: int
    running: tuple[str, ...]
    failed: int
    skipped: int
    elapsed: float

    @property
    def waiting(self) -> int:
        """Tasks that have not started (nor been skipped) yet."""
        return self.total - self.done - len(self.running) - self.failed - self.skipped

    def line(self) -> str:
        """``12/40 done, 2 running (A, B), 0 failed, 26 waiting, 3.0s``."""
        running = f"{len(self.running)} running"
        if self.running:
            named = ", ".join(self.running[:RUNNING_NAMED])
            more = len(self.running) - RUNNING_NAMED
            running += f" ({named}{f' and {more} more' if more > 0 else ''})"
        parts = [f"{self.done}/{self.total} done", running, f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        parts.append(f"{self.waiting} waiting")
        return ", ".join(parts) + f", {self.elapsed:.1f}s"


class ProgressObserver(Observer):
    """Keeps the latest state of each task of the run it watches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: frozenset[str] = frozenset()
        self._states: dict[str, TaskState] = {}
        self._started = time.monotonic()

    def run_started(self, info: RunInfo) -> None:
        with self._lock:
            self._nodes = frozenset(info.nodes)
            self._started = time.monotonic()

    def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
        with self._lock:
            for record in records:
                if record.node_id in self._nodes:
                    self._states[record.node_id] = record.state

    def counts(self) -> Counts:
        """The tasks' standing now (running ones in the order they started)."""
        with self._lock:
            states = list(self._states.items())
            total = len(self._nodes)
            elapsed = time.monotonic() - self._started
        by_state: dict[TaskState, int] = {}
        running: list[str] = []
        for node, state in states:
            by_state[state] = by_state.get(state, 0) + 1
            if state in (TaskState.RUNNING, TaskState.RETRYING):
                running.append(node)
        return Counts(
            total=total,
            done=by_state.get(TaskState.SUCCEEDED, 0),
            running=tuple(running),
            failed=by_state.get(TaskState.FAILED, 0),
            skipped=by_state.get(TaskState.SKIPPED, 0),
            elapsed=elapsed,
        )


@contextmanager
def live_progress(observer: ProgressObserver, stream: TextIO | None = None) -> Iterator[None]:
    """Show ``observer``'s counts on ``stream`` (stderr) while the block runs."""
    out = stream if stream is not None else sys.stderr
    finished = threading.Event()
    show = _live if out.isatty() else _plain
    shower = threading.Thread(
        target=show, args=(observer, out, finished), name="volnux-progress", daemon=True
    )
    shower.start()
    try:
        yield
    finally:
        finished.set()
        shower.join()


def _plain(observer: ProgressObserver, out: TextIO, finished: threading.Event) -> None:
    last: Counts | None = None
    wait = QUIET_FOR
    while not finished.wait(wait):
        wait = PLAIN_EVERY
        counts = observer.counts()
        if last is not None and replace(counts, elapsed=0.0) == replace(last, elapsed=0.0):
            continue  # nothing but the time changed
        last = counts
        out.write(f"progress: {counts.line()}\n")
        out.flush()


def _live(observer: ProgressObserver, out: TextIO, finished: threading.Event) -> None:
    if finished.wait(QUIET_FOR):
        return
    live_display(lambda: _render(observer.counts()), out, finished)


def live_display(render: Callable[[], Any], out: TextIO, finished: threading.Event) -> None:
    """Redraw ``render()`` (rich text) in place on terminal ``out`` four times a second
    until ``finished`` is set; then it is gone (what follows takes its place)."""
    from rich.console import Console
    from rich.live import Live

    console = Console(file=out, highlight=False)
    with Live(
        get_renderable=render,
        console=console,
        refresh_per_second=4,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ):
        finished.wait()


def _render(counts: Counts) -> Text:
    from rich.text import Text

    text = Text()
    text.append(f"{counts.done}/{counts.total} done", style="green")
    text.append(", ")
    text.append(f"{len(counts.running)} running", style="cyan")
    text.append(", ")
    text.append(f"{counts.failed} failed", style="bold red" if counts.failed else "")
    if counts.skipped:
        text.append(f", {counts.skipped} skipped", style="dim")
    text.append(f", {counts.waiting} waiting, {counts.elapsed:.1f}s")
    if counts.running:
        named = ", ".join(counts.running[:RUNNING_NAMED])
        more = len(counts.running) - RUNNING_NAMED
        text.append(f"\nrunning: {named}" + (f" and {more} more" if more > 0 else ""), style="cyan")
    return text

"""Keeping big runs' task indexes folded (and batch runs' notes read) while the
server runs, so that their pages answer from counts and one page of rows the
first time they are opened.

A journal with a task index (the SQLite journal's ``task_counts``) folds a
run's new records when a reader asks; the first reader of a 100,000-task run
pays for all of them (about a second).  The server's indexer asks for the
newest runs every few seconds, in a thread of its own: a big run that runs
while the server is up is folded as it goes, a little at a time.  Once, after
its first look at the newest, it passes over every older run too
(:meth:`Indexer.backfill`), newest first: a big run that ended before the
server started is folded then, and the fold is kept in the journal, so a
later server finds it done.  Only in the seconds that first pass takes
(about a second per 100,000 tasks still to fold) does a first view fold for
itself.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from ..errors import VolnuxError
from ..states import RunState
from ..store import Journal

__all__ = ["Indexer"]

log = logging.getLogger("volnux.serve")

#: How often the newest runs are looked at, in seconds.
EVERY_S: Final = 2.0
#: How many of the newest runs are kept folded (the runs page's first page).
NEWEST: Final = 50
#: "Every run", as a list_runs limit.
ALL: Final = 1 << 62


class Indexer:
    """Folds the task index of the newest big runs, every EVERY_S seconds."""

    def __init__(self, journal: Journal, big: int) -> None:
        self.journal = journal
        #: Runs of more tasks than this are shown from the index.
        self.big = big
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        #: Runs folded after they ended (when they last changed): nothing more to fold.
        self._done: dict[str, float] = {}
        #: Set once the first pass (the newest, then every older run) is over.
        self.filled = threading.Event()

    def start(self) -> None:
        """Fold in a daemon thread until :meth:`stop`."""
        if getattr(self.journal, "task_counts", None) is None:
            return  # a journal without an index: its runs are read whole
        self._thread = threading.Thread(target=self._forever, name="volnux-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()

    def fold_once(self) -> list[str]:
        """Fold the newest big runs; the ids folded."""
        from ..query.runs import notes_read

        folded: list[str] = []
        fold = getattr(self.journal, "task_counts", None)
        for record in self.journal.list_runs(NEWEST, parts=False):
            if self._done.get(record.id) == record.updated_at:
                continue
            # Its notes too (a batch run's 20,000): the reader keeps them, and
            # reads only what comes after.
            notes_read(self.journal, record)
            shown = len(record.events) > self.big  # (see serve.api.from_index)
            if shown:
                if fold is None or fold(record.id) is None:
                    return folded  # read-only here: nothing to keep
                folded.append(record.id)
            if record.state not in (RunState.RUNNING, RunState.PENDING):
                self._done[record.id] = record.updated_at  # ended: all read
            if self._halt.is_set():
                break
        return folded

    def backfill(self) -> list[str]:
        """Fold every big run beyond the newest (once): the ids folded."""
        fold = getattr(self.journal, "task_counts", None)
        folded: list[str] = []
        if fold is None:
            return folded
        for record in self.journal.list_runs(ALL, parts=False)[NEWEST:]:
            if self._halt.is_set():
                break
            if len(record.events) <= self.big:
                continue
            if self._done.get(record.id) == record.updated_at:
                continue
            if fold(record.id) is None:
                break  # read-only here
            folded.append(record.id)
            if record.state not in (RunState.RUNNING, RunState.PENDING):  # ended: all read
                self._done[record.id] = record.updated_at
        return folded

    def _forever(self) -> None:
        while not self._halt.is_set():
            try:
                self.fold_once()
                if not self.filled.is_set():  # (tried again on the next round if it failed)
                    self.backfill()
                    self.filled.set()
            except VolnuxError as exc:  # the pages fold for themselves: say so, go on
                log.warning("could not fold the runs' task index: %s", exc)
            self._halt.wait(EVERY_S)

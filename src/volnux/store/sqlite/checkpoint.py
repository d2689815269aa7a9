"""Checkpoints of the SQLite journal's write-ahead log, on a thread of their own.

A checkpoint copies the pages of the WAL back into the database file and
syncs both.  Most of its cost is the sync of everything written since the
last one: about 20 ms per 16 MiB here.  Left to SQLite, it runs inside the
commit that crosses ``wal_autocheckpoint``, and the engine waits there: a
durable chain stalled about 20 ms every 7,000 steps, some 3 us a step.

A journal's :class:`Checkpointer` does that work on its own thread and
connection, every :data:`WAL_CHECKPOINT_BYTES` written:

1. ``PRAGMA wal_checkpoint(PASSIVE)``, again while a round still copies many
   frames.  The journal goes on committing meanwhile: SQLite lets a
   checkpoint and a writer work at once, and the sqlite3 module lets go of
   the GIL while SQLite works.
2. Once more while holding the journal's lock, so that none of its commits
   lands in between.  That round reaches the end of the WAL, and the next
   commit starts the WAL over from its beginning.  SQLite restarts a WAL only
   once every frame in it has been copied back; without this round a
   journal that never pauses would grow its WAL without end.

The journal waits only for the second step, which copies what was written
during the first: about 2 ms every 16 MiB here.  Its own connection keeps
SQLite's checkpoint-on-commit four times further out, in case this thread
falls behind or fails: the WAL stays bounded either way.  bench/engine.py,
alternating runs: durable 1,000-chain 41.2-42.3 -> 38.8-39.7 us a task.

A checkpoint is SQLite's own crash-safe operation: a process killed in the
middle of one leaves a journal that reopens with nothing lost.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Final

__all__ = ["SAFETY_FACTOR", "WAL_CHECKPOINT_BYTES", "Checkpointer", "wal_pages"]

log = logging.getLogger("volnux.store")

#: WAL written between two checkpoints: 8,192 pages of 2 KiB.  Most of a
#: checkpoint's cost is syncing what was written since the last one, paid
#: whatever the interval; each also costs 1-2 ms of its own, which a larger
#: WAL spreads thinner.  A reopening after a crash replays the WAL.
WAL_CHECKPOINT_BYTES: Final = 16 * 2**20
#: The journal's connection checkpoints by itself (SQLite's wal_autocheckpoint)
#: once the WAL holds this many times WAL_CHECKPOINT_BYTES: only if the
#: thread falls behind or fails.
SAFETY_FACTOR: Final = 4
#: A first-step round that copied fewer frames than this is followed by the
#: second step at once; after more, another unlocked round makes it shorter.
SHORT_ROUND_FRAMES: Final = 256
#: Unlocked rounds at most per checkpoint.
MAX_ROUNDS: Final = 3
#: Seconds the thread waits for work before it ends (and closes its
#: connection); the next request starts it again.
IDLE_S: Final = 10.0

_PASSIVE: Final = "PRAGMA wal_checkpoint(PASSIVE)"


def wal_pages(page_size: int) -> int:
    """The WAL pages between two checkpoints of a journal of this page size."""
    return WAL_CHECKPOINT_BYTES // page_size


class Checkpointer:
    """Checkpoints one journal file's WAL, on a thread started when first needed.

    ``lock`` is the journal's: held for the last round of each checkpoint,
    so that the journal's own commits wait for it (see the module docstring).
    """

    def __init__(self, path: Path, synchronous: str, lock: threading.Lock) -> None:
        self.path = path
        self._synchronous = synchronous
        self._journal_lock = lock
        self._wanted = threading.Event()
        self._state = threading.Lock()  # guards _thread and _closed
        self._thread: threading.Thread | None = None
        self._closed = False
        #: Checkpoints completed (both steps), for tests and diagnostics.
        self.completed = 0
        #: ``(busy, frames in the WAL, frames copied)`` of the last locked round.
        self.last: tuple[int, int, int] | None = None

    def request(self) -> None:
        """Ask for a checkpoint soon; returns at once."""
        self._wanted.set()
        if self._thread is None:
            with self._state:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(
                        target=self._run, name="volnux-checkpoint", daemon=True
                    )
                    self._thread.start()

    def close(self) -> None:
        """Stop the thread, after the checkpoint it is doing, if any.

        Call it without holding the journal's lock: the thread may need it.
        """
        with self._state:
            self._closed = True
            thread = self._thread
        self._wanted.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # A checkpoint syncs as its connection's setting says.
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.Error as exc:
            log.warning(
                "journal %s: cannot open a connection to checkpoint it (%s); its commits "
                "checkpoint it themselves",
                self.path,
                exc,
            )
            with self._state:
                self._thread = None
            return
        try:
            while self._wanted.wait(IDLE_S) and not self._closed:
                self._wanted.clear()
                try:
                    self._checkpoint(conn)
                except sqlite3.Error as exc:
                    log.warning(
                        "checkpointing the journal %s failed (%s); its commits checkpoint "
                        "it themselves until the next try",
                        self.path,
                        exc,
                    )
        finally:
            conn.close()
            with self._state:
                self._thread = None
            if self._wanted.is_set() and not self._closed:  # asked for as the thread ended
                self.request()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        copied_before = 0
        for _ in range(MAX_ROUNDS):
            copied = conn.execute(_PASSIVE).fetchone()[2]
            if copied < copied_before or copied - copied_before < SHORT_ROUND_FRAMES:
                break  # little left (or the WAL started over meanwhile)
            copied_before = copied
        with self._journal_lock:
            busy, frames, copied = conn.execute(_PASSIVE).fetchone()
        self.last = (busy, frames, copied)
        self.completed += 1

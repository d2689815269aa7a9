"""The durable baseline every journal benchmark is compared with.

A plain loop that inserts one small row per task into SQLite and commits
it, in WAL mode with the journal's default ``synchronous=NORMAL``: the
least work that makes each task's record durable on its own.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable


def sqlite_rows(path: str, n: int, synchronous: str = "NORMAL") -> Callable[[], None]:
    """A function that inserts and commits ``n`` rows, one transaction each."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (run TEXT, node TEXT, state TEXT, at REAL)")

    def go() -> None:
        for i in range(n):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (?, ?, ?, ?)", ("r", f"n{i}", "ok", time.time()))
            conn.execute("COMMIT")

    return go

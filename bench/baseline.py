"""What the benchmarks share: the durable baseline and the timing loop.

The baseline is a plain loop that inserts one small row per task into
SQLite and commits it, in WAL mode with the journal's default
``synchronous=NORMAL``: the least work that makes each task's record
durable on its own.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping


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


def best_in_turns(
    fns: Mapping[str, Callable[[], object]], repeat: int, span: int = 1
) -> dict[str, float]:
    """Best seconds per call of each function over ``repeat`` rounds, the functions
    taking turns; each round times ``span`` calls in a row and counts their mean.

    Each runs once first (threads started, statements prepared).  Taking
    turns, rather than running each ``repeat`` times in a row, lets a busy
    moment on the machine hit all of them alike.

    ``span`` is for work that is paid now and then rather than every call,
    such as a SQLite WAL checkpoint: a round shorter than its interval may
    miss it, and the best round then leaves it out.  Rounds at least as long
    as the interval count it in.
    """
    best = dict.fromkeys(fns, float("inf"))
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(span):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / span)
    return best

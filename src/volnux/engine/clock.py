"""The engine's clock: seconds since the epoch, to the whole microsecond.

Every time the engine journals (a transition's ``at``, a retry's
``next_attempt_at``) comes from :func:`microsecond_time`.  Whole
microseconds are what the SQLite journal writes fastest: as a JSON integer,
without the float-to-text code (see :mod:`volnux.store.sqlite.records`),
which cost a durable chain step about 2 us.  A journal takes any float; this
is a speed choice of the engine's, not a rule of the store.
"""

from __future__ import annotations

from time import time_ns

__all__ = ["microsecond_time"]


def microsecond_time() -> float:
    """Seconds since the epoch, to the whole microsecond."""
    return time_ns() // 1000 / 1e6

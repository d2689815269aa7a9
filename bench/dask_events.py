"""The event of bench/dask.py (loaded by path: the dask executor ships it to the workers)."""

from __future__ import annotations

import volnux


@volnux.event(executor="dask")
def Noop() -> None:
    """The work, as an event: nothing."""

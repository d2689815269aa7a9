"""Events for the web view's tests (importable by module name when a run resumes)."""

from __future__ import annotations

import time
from pathlib import Path

import volnux


@volnux.event
def Fetch(ctx: volnux.Context) -> dict[str, int]:
    ctx.log.info("fetched 3 rows")
    return {"rows": 3}


@volnux.event
def Store(piped: object = None) -> str:
    return "stored"


@volnux.event
def Gate(marker: str) -> str:
    """Fails until the file ``marker`` exists."""
    if not Path(marker).exists():
        raise ValueError(f"<script>alert('gate')</script> {Path(marker).name} is closed")
    return "open"


@volnux.event
def Nap(seconds: float = 0.0) -> float:
    time.sleep(seconds)
    return seconds

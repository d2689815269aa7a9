"""Events for the schedule tests (importable by module name, as a resume needs)."""

from __future__ import annotations

import time
from pathlib import Path

import volnux


@volnux.event
def Stamp(ctx: volnux.Context, label: str = "") -> str:
    """Returns what it was given (a schedule's inputs reach it)."""
    return f"stamped {label}"


@volnux.event
def Hold(hold: str = "") -> str:
    """Runs until the file ``hold`` is gone (at most 20 s): a run that is still running."""
    deadline = time.monotonic() + 20
    while hold and Path(hold).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released"

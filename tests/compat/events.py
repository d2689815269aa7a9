"""Events of the journal fixture ``journal_c6daebf.sql`` (see test_legacy_journal.py).

The fixture was recorded by Volnux at commit c6daebf with exactly these
events; their code must not change, or resuming the recorded runs is refused
(the recorded code fingerprints would no longer match).  What made a run
crash, fail or pause then is switched by environment variables, so that the
test can let the same code succeed now.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import volnux


def _count(name: str) -> None:
    effects = os.environ.get("VOLNUX_FIXTURE_EFFECTS")
    if effects:
        with Path(effects).open("a") as f:
            f.write(name + "\n")


@volnux.event
def Fetch(n: int = 3) -> list[int]:
    _count("Fetch")
    return list(range(1, n + 1))


@volnux.event
def Double(piped: list[int]) -> list[int]:
    _count("Double")
    return [2 * x for x in piped]


@volnux.event
def Save(piped: object = None) -> dict[str, object]:
    _count("Save")
    return {"saved": piped}


@volnux.event(retry=volnux.RetryPolicy(max_attempts=3))
def Flaky(ctx: volnux.Context) -> str:
    _count("Flaky")
    if ctx.attempt < 2:
        raise volnux.TransientError("not yet")
    return f"ok on attempt {ctx.attempt}"


@volnux.event
def Boom() -> str:
    _count("Boom")
    if os.environ.get("VOLNUX_FIXTURE_FIXED") != "1":
        raise ValueError("card declined")
    return "charged"


@volnux.event
def Crash() -> str:
    _count("Crash")
    if os.environ.get("VOLNUX_FIXTURE_CRASH") == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


@volnux.event
def Ask() -> str:
    _count("Ask")
    if os.environ.get("VOLNUX_FIXTURE_APPROVED") != "1":
        raise volnux.NeedsOperator("a person must approve the refund")
    return "approved"


@volnux.event
def Review() -> volnux.Route:
    _count("Review")
    return volnux.Route(3, "needs a second look")


@volnux.event
def Reject(piped: object = None) -> str:
    _count("Reject")
    return "rejected"


@volnux.event(
    version="1.0.0",
    deprecated=volnux.Deprecated(reason="use Notify@2", replacement="Notify@2"),
)
def Notify() -> str:
    _count("Notify")
    return "notified"

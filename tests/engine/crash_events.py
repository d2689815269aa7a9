"""Events for the crash harness: each execution appends a line to a file.

The line is written with one O_APPEND write, so it survives a SIGKILL of the
process right after; counting lines per node counts executions.
"""

from __future__ import annotations

import os
import time
from typing import Any

import volnux


def _effect(path: str, ctx: volnux.Context) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{ctx.node_id} {ctx.attempt}\n".encode())
    finally:
        os.close(fd)
    delay = float(os.environ.get("VOLNUX_CRASH_DELAY", "0"))
    if delay:
        time.sleep(delay)


@volnux.event
def Load(effects: str, ctx: volnux.Context) -> list[int]:
    _effect(effects, ctx)
    return [3, 4, 5]


@volnux.event
def Price(effects: str, ctx: volnux.Context, piped: list[int]) -> int:
    _effect(effects, ctx)
    return sum(piped) * 10


@volnux.event
def Tax(effects: str, ctx: volnux.Context, piped: list[int]) -> int:
    _effect(effects, ctx)
    return len(piped)


@volnux.event
def Combine(effects: str, ctx: volnux.Context, piped: dict[str, int]) -> dict[str, int]:
    _effect(effects, ctx)
    return {"total": piped["Price"] + piped["Tax"]}


@volnux.event
def Check(effects: str, ctx: volnux.Context, piped: Any = None) -> None:
    _effect(effects, ctx)
    raise ValueError("check always fails, so the 0 branch runs")


@volnux.event
def Reject(effects: str, ctx: volnux.Context, piped: Any) -> str:
    _effect(effects, ctx)
    return f"rejected: {piped.message}"


@volnux.event
def Accept(effects: str, ctx: volnux.Context) -> str:
    _effect(effects, ctx)
    return "accepted"


@volnux.event
def Flaky(effects: str, ctx: volnux.Context) -> str:
    _effect(effects, ctx)
    if ctx.attempt < 2:
        raise ConnectionError(f"flaky on attempt {ctx.attempt}")
    return "ok after a retry"


@volnux.event
def Finish(effects: str, ctx: volnux.Context, piped: str) -> str:
    _effect(effects, ctx)
    return piped.upper()


WORKFLOW = """
# sequence, parallel, pipes, a branch list and a retry
Load |-> (Price || Tax) |-> Combine
  -> Check (0 |-> Reject, 1 -> Accept)
  -> Flaky * 3 |-> Finish
"""

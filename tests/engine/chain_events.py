"""Events of the chain tests, importable by name in worker processes.

Each writes ``NAME PID`` to the ``effects`` file as it runs (what ran, and
in which worker).
"""

from __future__ import annotations

import os
from pathlib import Path

import volnux


def _ran(effects: str, name: str) -> None:
    with open(effects, "a", encoding="utf-8") as f:
        f.write(f"{name} {os.getpid()}\n")


@volnux.event
def Start(effects: str, n: int) -> int:
    _ran(effects, "Start")
    return n + 1


@volnux.event
def Double(effects: str, piped: int) -> int:
    _ran(effects, "Double")
    return piped * 2


@volnux.event
def Describe(effects: str, piped: int) -> str:
    _ran(effects, "Describe")
    return f"got {piped}"


@volnux.event
def Plain(effects: str) -> str:
    _ran(effects, "Plain")
    return "plain"


@volnux.event(retry=volnux.RetryPolicy(max_attempts=2))
def FlakyOnce(effects: str, piped: int) -> int:
    """Fails its first attempt in a run (the ``effects`` file's folder keeps the mark)."""
    _ran(effects, "FlakyOnce")
    mark = Path(effects).with_name("flaky-failed")
    if not mark.exists():
        mark.write_text("once")
        raise ConnectionError("the first attempt fails")
    return piped + 100


@volnux.event
def Dies(effects: str, piped: int) -> int:
    """Kills the worker process running it."""
    _ran(effects, "Dies")
    os._exit(3)


@volnux.event(retry=volnux.RetryPolicy(timeout_s=30))
def Timed(effects: str, piped: int) -> int:
    _ran(effects, "Timed")
    return piped


@volnux.event
def Pick(effects: str, piped: int) -> volnux.Route:
    _ran(effects, "Pick")
    return volnux.Route(1, piped)


@volnux.event
def Size(batch: list) -> int:
    return len(batch)


@volnux.event
def Twice(piped: int) -> int:
    return piped * 2

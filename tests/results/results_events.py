"""Events whose results are large (importable by worker processes by module name)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import volnux


@volnux.event
def MakeArray(n: int = 100_000) -> object:
    """An array of n float64 (8n bytes): 800 KB by default, over the 256 KiB threshold."""
    return np.arange(n, dtype=np.float64)


@volnux.event(executor="process")
def MakeArrayElsewhere(n: int = 100_000) -> object:
    """The same, made in a worker process (which writes it to the result store)."""
    return np.arange(n, dtype=np.float64)


@volnux.event
def SumArray(piped: object) -> float:
    """The sum of the array piped in: it must arrive as an array, read back."""
    assert isinstance(piped, np.ndarray), type(piped)
    return float(piped.sum())


@volnux.event(executor="process")
def SumArrayElsewhere(piped: object) -> list[float]:
    """The sum, in a worker process: [sum, pid]."""
    assert isinstance(piped, np.ndarray), type(piped)
    return [float(piped.sum()), float(os.getpid())]


@volnux.event
def BigList(n: int = 50_000) -> list[int]:
    """A JSON result larger than the threshold once encoded."""
    return list(range(n))


@volnux.event
def Length(piped: list[int]) -> int:
    return len(piped)


@volnux.event(store_result="external")
def AlwaysOutside() -> dict[str, int]:
    """A small result its event asks to keep in the result store."""
    return {"a": 1}


@volnux.event(store_result="journal")
def NeverOutside(n: int = 100_000) -> bytes:
    """Large bytes its event asks to keep in the journal."""
    return b"x" * n


@volnux.event
def Counted(counter: str, n: int = 100_000) -> object:
    """An array, counting its runs in the file ``counter``."""
    path = Path(counter)
    path.write_text(str(int(path.read_text() or 0) + 1) if path.exists() else "1")
    return np.arange(n, dtype=np.float64)


@volnux.event
def FailsUntil(piped: object, gate: str) -> float:
    """Fails while the file ``gate`` is missing; then the sum of the array piped in."""
    if not Path(gate).exists():
        raise RuntimeError("the gate is closed")
    assert isinstance(piped, np.ndarray), type(piped)
    return float(piped.sum())


@volnux.event(executor="dask")
def FiftyMegabytes(seed: int = 0) -> object:
    """A 50 MB array, made on a Dask worker."""
    return np.full(50 * 1024 * 1024 // 8, float(seed), dtype=np.float64)


@volnux.event(executor="dask")
def Grow(piped: object) -> object:
    """The 50 MB array piped in, plus one: read and written on a Dask worker."""
    assert isinstance(piped, np.ndarray), type(piped)
    return piped + 1.0


@volnux.event(executor="dask")
def Mean(piped: object) -> float:
    assert isinstance(piped, np.ndarray), type(piped)
    return float(piped.mean())

"""How many batches run at once, and how many may fail before a batch run does.

A tolerance is a count (``3``: up to three failed batches and the run
still succeeds) or a share of the source's batches (``2%``).  Past a count
the run stops starting batches at once; past a share it can only stop once
the number of batches is known (every batch has begun): until then the
share of batches that fail so far says nothing about the whole.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..engine import Program
from ..engine.lifecycle import Execution
from ..errors import InputError

__all__ = ["MAX_PARALLEL", "Tolerance", "default_parallel"]

#: The most batches a run takes on at once by default (``--parallel`` may ask more).
MAX_PARALLEL = 64


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How many failed batches still let a batch run succeed (neither: none may fail)."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value: int | str | None) -> Tolerance:
        """``None`` or ``""``: none; ``3`` or ``"3"``: three batches; ``"2%"``: 2 % of them."""
        if value is None or value == "":
            return cls()
        if isinstance(value, bool):
            raise InputError(f"a tolerance is a number of batches or a percentage, not {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise InputError(f"a tolerance cannot be negative, got {value}")
            return cls(count=value)
        text = str(value).strip()
        try:
            if text.endswith("%"):
                percent = float(text[:-1])
                if not (0 <= percent <= 100) or math.isnan(percent):
                    raise ValueError
                return cls(percent=percent)
            count = int(text)
            if count < 0:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise InputError(
                f"a tolerance is a whole number of batches (3) or a percentage (2%), not {value!r}"
            ) from None

    @property
    def text(self) -> str:
        """As recorded and typed: ``""``, ``"3"``, ``"2%"``."""
        if self.count is not None:
            return str(self.count)
        if self.percent is not None:
            return f"{self.percent:g}%"
        return ""

    def allows(self, failed: int, total: int) -> bool:
        """Whether ``failed`` failed batches of ``total`` still make a success."""
        if failed == 0:
            return True
        if self.count is not None:
            return failed <= self.count
        if self.percent is not None:
            return failed <= total * self.percent / 100
        return False

    def exceeded(self, failed: int, total: int | None) -> bool:
        """Whether ``failed`` is past the tolerance already (``total``: None while unknown).

        Without a tolerance nothing is ever past it: every batch runs, and
        the run fails at the end if any did.
        """
        if self.count is not None:
            return failed > self.count
        if self.percent is not None and total is not None:
            return failed > total * self.percent / 100
        return False

    def describe(self, what: str = "batch") -> str:
        """``a tolerance of 3 failed batches`` / ``of 2% of the batches`` (``what``:
        ``batch`` or ``item``)."""
        plural = "batches" if what == "batch" else f"{what}s"
        if self.count is not None:
            return f"a tolerance of {self.count} failed {what if self.count == 1 else plural}"
        if self.percent is not None:
            return f"a tolerance of {self.percent:g}% of the {plural}"
        return "no tolerance"


def check_parallel(parallel: int) -> int:
    """``parallel`` if it is a whole number >= 1; else InputError."""
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise InputError(f"parallel is how many batches run at once (1 or more), not {parallel!r}")
    return parallel


#: Batches at once per worker of an executor in this process (threads, asyncio).
PER_WORKER = 2
#: Batches at once per worker of an executor in other processes (processes, Dask):
#: each step of a batch goes there and back through the engine, and the time
#: that takes in a busy engine is hidden only by other batches' steps queued
#: behind (bench/batch.py, 2 workers: 0.52x the plain pool's throughput with
#: 4 batches at once, 0.70x with 16).
PER_REMOTE_WORKER = 8


def default_parallel(program: Program, how: Execution) -> int:
    """Batches at once by default: per worker of the narrowest executor the
    workflow's events use, :data:`PER_WORKER` (:data:`PER_REMOTE_WORKER` for one
    whose workers are other processes), so that its workers stay busy while
    the engine records between steps; at least 2 and at most :data:`MAX_PARALLEL`."""
    names = {node.executor for node in program.plan.nodes.values()}
    slots = []
    for name in sorted(names):
        given = (how.executors or {}).get(name)
        if given is None and how.pools is not None:
            given = how.pools.get(name, how.max_workers)
        if given is not None:
            capacity = given.capacity()
            per = PER_WORKER if capacity.in_process else PER_REMOTE_WORKER
            slots.append(per * capacity.workers)
    wanted = min(slots) if slots else PER_WORKER * (os.cpu_count() or 1)
    return max(2, min(MAX_PARALLEL, wanted))

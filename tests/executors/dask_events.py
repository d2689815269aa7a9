"""Events the Dask tests run on worker processes (importable there by module name)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import volnux


@volnux.event(executor="dask")
def WhereAmI(n: int) -> list[int]:
    """The worker's pid, and n squared."""
    return [os.getpid(), n * n]


@volnux.event(executor="dask")
def DiesOnce(flag: str) -> int:
    """Kill this worker process the first time (a file says it happened), then succeed."""
    marker = Path(flag)
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


@volnux.event(executor="dask")
def MyKey() -> str:
    """The key the cluster knows this attempt by."""
    from distributed import get_worker

    key = get_worker().get_current_task()
    return str(key)


@volnux.event(executor="dask")
def Broken() -> None:
    raise ValueError("bad input on the cluster")


@volnux.event(executor="dask")
def SumBatch(batch: list) -> list[int]:
    """A batch run's batch, summed on a worker: [the worker's pid, the sum]."""
    return [os.getpid(), sum(batch)]


@volnux.event(executor="dask", resources=volnux.Resources(gpus=1))
def OnGpu() -> dict:
    """The resources the worker running it declared."""
    from distributed import get_worker

    return dict(get_worker().state.total_resources)


@volnux.event(executor="dask", resources=volnux.Resources(memory_mb=64))
def NeedsMemory() -> int:
    return os.getpid()


@volnux.event(executor="dask")
def HangsOnce(marker: str) -> int:
    """The first attempt hangs (its worker's pid in ``marker``); the next returns its pid."""
    import time

    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(30)
    return os.getpid()


@volnux.event(executor="dask")
def Naps(marks: str, ctx: volnux.Context) -> str:
    """Note this task in ``marks`` (a folder), then sleep 1.5 s."""
    import time

    Path(marks, ctx.node_id.replace("#", "_")).write_text("")
    time.sleep(1.5)
    return ctx.node_id

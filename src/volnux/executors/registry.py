"""Executors by name: the one place that maps a name to the class that runs it.

``thread``, ``process``, ``asyncio`` and ``dask`` are Volnux's own; another package adds one
through the ``volnux.executors`` entry-point group (the name, and
``"module:Factory"``).  A factory is called as
``factory(max_workers, on_resize=callback)`` and returns an
:class:`~volnux.executors.base.Executor`.  Nothing is imported until an
executor of that name is made: naming ``process`` in a workflow that never
runs it costs nothing.

Volnux 2.x named executors by class (``ThreadPoolExecutor``, possibly as a
dotted path); those names mean ours here (:data:`CLASS_NAMES`), and the 2.x
executors with no counterpart are refused with what to write instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

from .base import Executor

__all__ = [
    "BUILTIN",
    "CLASS_NAMES",
    "CLUSTER",
    "DEFAULT",
    "ENTRY_POINT_GROUP",
    "check_executor",
    "executor_names",
    "factory",
]

#: Volnux's own executors: name -> ``"module:Factory"``.
BUILTIN: Final = {
    "thread": "volnux.executors.threads:ThreadExecutor",
    "process": "volnux.executors.processes:ProcessExecutor",
    "asyncio": "volnux.executors.coroutines:AsyncioExecutor",
    "dask": "volnux.executors.cluster:DaskExecutor",
}

#: Executors whose workers declare what they have (Dask worker resources): an
#: event's GPUs and memory are asked of them, not of this machine.
CLUSTER: Final = frozenset({"dask"})

#: Volnux 2.x executor class names and the executor each means here.
CLASS_NAMES: Final = {
    "ThreadPoolExecutor": "thread",
    "DefaultExecutor": "thread",
    "ProcessPoolExecutor": "process",
    "DynamicProcessPoolExecutor": "process",
}

# Volnux 2.x executors with no counterpart here, and what to write instead.
_NO_COUNTERPART: Final = {
    "GPUTaskExecutor": (
        "placed tasks on a GPU; here a GPU is a resource the event declares: give it "
        'resources=volnux.Resources(gpus=1) and write "process"'
    ),
    **dict.fromkeys(
        ("XMLRPCExecutor", "GRPCExecutor", "RemoteExecutor", "HadoopExecutor"),
        'ran tasks on another machine; here that is a Dask cluster: write "dask" (and name '
        "the cluster in VOLNUX_DASK_ADDRESS instead of executor_config's host and port)",
    ),
}

#: The executor of events that choose none, where the project sets no default.
DEFAULT: Final = "thread"

#: Where other packages add executors.
ENTRY_POINT_GROUP: Final = "volnux.executors"

Factory = Callable[..., Executor]


def executor_names() -> tuple[str, ...]:
    """Every executor name: Volnux's own, then those of installed packages."""
    return (*BUILTIN, *(n for n in _entry_points() if n not in BUILTIN))


def check_executor(name: object) -> str:
    """The executor ``name`` means (itself, or ours for a 2.x class name);
    else ``ValueError`` saying what to write."""
    if isinstance(name, str):
        if name in BUILTIN or name in _entry_points():
            return name
        short = name.rsplit(".", 1)[-1]  # 2.x took dotted paths too
        if short in CLASS_NAMES:
            return CLASS_NAMES[short]
        if short in _NO_COUNTERPART:
            raise ValueError(f"executor {name!r} (Volnux 2.x) {_NO_COUNTERPART[short]}")
    raise ValueError(f"executor {name!r} is not one of {', '.join(executor_names())}")


def factory(name: str) -> Factory:
    """The factory of executor ``name``, imported now; ``ValueError`` for an unknown name."""
    target = BUILTIN.get(name) or _entry_points().get(name)
    if target is None:
        check_executor(name)  # raises, with the names there are
        raise AssertionError(name)  # pragma: no cover
    module, _, attr = target.partition(":")
    found: Any = getattr(importlib.import_module(module), attr)
    return found  # type: ignore[no-any-return]


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: str(ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)}

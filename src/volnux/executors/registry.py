"""Executors by name: the one place that maps a name to the class that runs it.

``thread`` and ``process`` are Volnux's own; another package adds one
through the ``volnux.executors`` entry-point group (the name, and
``"module:Factory"``).  A factory is called as
``factory(max_workers, on_resize=callback)`` and returns an
:class:`~volnux.executors.base.Executor`.  Nothing is imported until an
executor of that name is made: naming ``process`` in a workflow that never
runs it costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

from .base import Executor

__all__ = ["BUILTIN", "DEFAULT", "ENTRY_POINT_GROUP", "check_executor", "executor_names", "factory"]

#: Volnux's own executors: name -> ``"module:Factory"``.
BUILTIN: Final = {
    "thread": "volnux.executors.threads:ThreadExecutor",
    "process": "volnux.executors.processes:ProcessExecutor",
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
    """``name`` if an executor has it; else ``ValueError`` listing the names there are."""
    if isinstance(name, str) and (name in BUILTIN or name in _entry_points()):
        return name
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

"""A Dask worker plugin that loads an events file on every worker, joined now or later.

An event from a ``.py`` file (or a git registry's checkout) lives in a module
whose name Volnux made up from the file's path; a worker finds it by that
path, which another machine does not have.  The dask executor registers this
plugin with the file's text once per module: Dask runs :meth:`setup` on every
worker, and on every worker that joins later, so the module is there before
any attempt that needs it arrives.

This module imports ``distributed``: the executor imports it only when it
ships a file.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["EventsFile", "executing_keys"]


class EventsFile(WorkerPlugin):
    """Loads one events file's text as the module named ``module`` on a worker."""

    def __init__(self, module: str, path: str, source: bytes) -> None:
        self.module = module
        self.path = path
        self.source = source

    def setup(self, worker: Any) -> None:
        if self.module in sys.modules:
            return  # the same file, loaded already (by path, or by an earlier plugin)
        module = types.ModuleType(self.module)
        module.__file__ = self.path
        sys.modules[self.module] = module  # registered first, as loading by path does
        try:
            exec(compile(self.source, self.path, "exec"), module.__dict__)
        except BaseException:
            del sys.modules[self.module]
            raise


def executing_keys(dask_worker: Any) -> list[str]:
    """On a worker (``Client.run``): the keys of the tasks it is executing now."""
    return [str(task.key) for task in dask_worker.state.executing]

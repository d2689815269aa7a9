"""Executors: where attempts run (threads, processes; Dask later), found by name."""

from .base import Capacity, Done, Executor
from .pools import Pools
from .processes import ProcessExecutor
from .registry import check_executor, executor_names
from .threads import DEFAULT_THREADS, ThreadExecutor

__all__ = [
    "DEFAULT_THREADS",
    "Capacity",
    "Done",
    "Executor",
    "Pools",
    "ProcessExecutor",
    "ThreadExecutor",
    "check_executor",
    "executor_names",
]

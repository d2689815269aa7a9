"""Executors: where attempts run (threads, processes; Dask later)."""

from .base import Done, Executor
from .pool import DEFAULT_THREADS, ProcessExecutor, ThreadExecutor

__all__ = ["DEFAULT_THREADS", "Done", "Executor", "ProcessExecutor", "ThreadExecutor"]

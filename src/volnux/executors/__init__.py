"""Executors: where attempts run (threads, processes; Dask later)."""

from .base import Executor
from .pool import DEFAULT_THREADS, PoolExecutor, ProcessExecutor, ThreadExecutor

__all__ = ["DEFAULT_THREADS", "Executor", "PoolExecutor", "ProcessExecutor", "ThreadExecutor"]

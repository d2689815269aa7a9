"""Executors: where attempts run (threads, processes, asyncio; Dask later), found by name."""

from .base import Capacity, Done, Executor
from .coroutines import AsyncioExecutor
from .gpus import Device, DeviceSlots, device_slots, discover
from .pools import Pools, PoolSettings
from .processes import ProcessExecutor
from .registry import CLUSTER, check_executor, executor_names
from .threads import DEFAULT_THREADS, ThreadExecutor

__all__ = [
    "CLUSTER",
    "DEFAULT_THREADS",
    "AsyncioExecutor",
    "Capacity",
    "Device",
    "DeviceSlots",
    "Done",
    "Executor",
    "PoolSettings",
    "Pools",
    "ProcessExecutor",
    "ThreadExecutor",
    "check_executor",
    "device_slots",
    "discover",
    "executor_names",
]

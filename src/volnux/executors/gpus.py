"""The GPUs of this machine, and which of them attempts hold: :class:`DeviceSlots`.

Devices are found, first that answers:

1. ``VOLNUX_GPUS``: a count (``2``: devices 0 and 1; ``0``: none) or device
   ids (``0,1``), each optionally with its memory in MiB (``0:24576,1:8192``):
   for tests, and for machines where NVML is missing;
2. NVML (the ``nvidia-ml-py`` package, the ``gpu`` extra), limited to the ids
   in ``CUDA_VISIBLE_DEVICES`` when that is set;
3. ``CUDA_VISIBLE_DEVICES`` (numeric ids).

Each device is one whole unit: an attempt takes whole devices, or a share of
one (``gpus=0.5``: two such attempts on one device), and with
``gpu_memory_mb`` only a device with that much memory left (when its memory
is known).  The slots are the process's own, shared by every run in it, so
no more GPU work runs at once than the devices allow however many runs
there are.  Whoever waits for a device is told when one is given back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Device", "DeviceSlots", "device_slots", "discover"]

#: Shares below this are treated as nothing left (float sums of 0.1s).
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Device:
    """One GPU: its id (as ``CUDA_VISIBLE_DEVICES`` names it) and memory, if known."""

    index: int
    memory_mb: int | None = None


def discover(environ: Mapping[str, str] | None = None) -> tuple[Device, ...]:
    """This machine's GPUs (see the module's docstring for where they are found)."""
    env = os.environ if environ is None else environ
    given = env.get("VOLNUX_GPUS")
    if given is not None:
        return _parse_gpus(given)
    visible = _visible(env.get("CUDA_VISIBLE_DEVICES"))
    found = _nvml_devices()
    if found is not None:
        return tuple(d for d in found if visible is None or d.index in visible)
    return tuple(Device(i) for i in sorted(visible or ()))


def _parse_gpus(text: str) -> tuple[Device, ...]:
    text = text.strip()
    if not text:
        return ()
    if text.isdigit():
        return tuple(Device(i) for i in range(int(text)))
    devices = []
    for part in text.split(","):
        index, _, memory = part.strip().partition(":")
        try:
            devices.append(Device(int(index), int(memory) if memory else None))
        except ValueError:
            raise ValueError(
                f"VOLNUX_GPUS={text!r}: write a count (2) or device ids, each with its memory "
                "in MiB if you like (0,1 or 0:24576,1:8192)"
            ) from None
    return tuple(devices)


def _visible(text: str | None) -> set[int] | None:
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    return {int(part) for part in ids if part.isdigit()}


def _nvml_devices() -> tuple[Device, ...] | None:
    """The devices NVML reports; None when NVML cannot be loaded here."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: NVML is installed but cannot answer
        return None
    try:
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            total = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            devices.append(Device(index, int(total // (1024 * 1024))))
        return tuple(devices)
    finally:
        pynvml.nvmlShutdown()


class DeviceSlots:
    """Which share of each device, and how much of its memory, attempts hold now."""

    def __init__(self, devices: tuple[Device, ...]) -> None:
        self.devices = devices
        self._free = {d.index: 1.0 for d in devices}
        self._memory = {d.index: d.memory_mb for d in devices}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def fits(self, gpus: float, memory_mb: int | None = None) -> bool:
        """Whether this machine could ever give an attempt that much (all devices free)."""
        whole = gpus >= 1
        big_enough = [
            d for d in self.devices if memory_mb is None or d.memory_mb is None
            or d.memory_mb >= memory_mb
        ]  # fmt: skip
        return len(big_enough) >= (int(gpus) if whole else 1)

    def acquire(self, gpus: float, memory_mb: int | None = None) -> tuple[int, ...] | None:
        """Devices for one attempt now, or None if they are not free."""
        with self._lock:
            if gpus >= 1:
                chosen = [
                    i for i, free in self._free.items()
                    if free >= 1.0 - _EPSILON and self._has_memory(i, memory_mb)
                ][: int(gpus)]  # fmt: skip
                if len(chosen) < int(gpus):
                    return None
                share = 1.0
            else:
                # The fullest device it still fits on: keeps whole devices free.
                fitting = [
                    (free, i) for i, free in self._free.items()
                    if free >= gpus - _EPSILON and self._has_memory(i, memory_mb)
                ]  # fmt: skip
                if not fitting:
                    return None
                chosen, share = [min(fitting)[1]], gpus
            for i in chosen:
                self._free[i] -= share
                if memory_mb is not None and self._memory[i] is not None:
                    self._memory[i] = (self._memory[i] or 0) - memory_mb
            return tuple(chosen)

    def release(self, devices: tuple[int, ...], gpus: float, memory_mb: int | None = None) -> None:
        """Give back what :meth:`acquire` gave; tell whoever waits."""
        share = 1.0 if gpus >= 1 else gpus
        with self._lock:
            for i in devices:
                self._free[i] = min(1.0, self._free[i] + share)
                if memory_mb is not None and self._memory[i] is not None:
                    self._memory[i] = (self._memory[i] or 0) + memory_mb
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def listen(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from any thread) whenever devices are given back."""
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _has_memory(self, index: int, memory_mb: int | None) -> bool:
        left = self._memory[index]
        return memory_mb is None or left is None or left >= memory_mb


_slots: tuple[str | None, DeviceSlots] | None = None
_slots_lock = threading.Lock()


def device_slots() -> DeviceSlots:
    """The process's slots, found once (again if ``VOLNUX_GPUS`` changed since)."""
    global _slots
    key = os.environ.get("VOLNUX_GPUS")
    with _slots_lock:
        if _slots is None or _slots[0] != key:
            _slots = (key, DeviceSlots(discover()))
        return _slots[1]

"""What an event needs to run: memory, GPUs.

An event declares them once (``resources=volnux.Resources(...)``), and the
runtime places its attempts by them:

* ``memory_mb``: the most memory one attempt may take, beyond what a fresh
  worker process holds.  The process executor starts the event's workers
  with that limit; an attempt that goes past it fails (``MemoryError``, or a
  ``WorkerLost`` if native code is killed), and the engine goes on.
* ``gpus``: whole devices (``1``, ``2``) or a share of one (``0.5``: two such
  attempts on one device).  ``gpu="require"`` waits for a device; a machine
  with none is refused when the workflow is checked.  ``gpu="prefer"`` runs
  on the CPU when no device is free within ``gpu_wait_s`` seconds, or the
  machine has none.  ``gpu_memory_mb`` is the device memory an attempt needs:
  a device with less is not used for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["GPU_CHOICES", "NO_RESOURCES", "Resources"]

#: What ``gpu=`` may say.
GPU_CHOICES = ("require", "prefer")


@dataclass(frozen=True, slots=True)
class Resources:
    """What one attempt of an event needs."""

    #: MiB one attempt may allocate (None: no limit). Needs the process executor.
    memory_mb: int | None = None
    #: GPUs one attempt uses: whole devices, or a share of one below 1.
    gpus: float = 0
    #: ``"require"`` (wait for a device) or ``"prefer"`` (else the CPU); set when
    #: ``gpus`` is: ``"require"`` unless told otherwise.
    gpu: str | None = None
    #: MiB of device memory one attempt needs (None: any device will do).
    gpu_memory_mb: int | None = None
    #: Seconds a ``prefer`` attempt waits for a free device before it takes the CPU.
    gpu_wait_s: float = 2.0
    #: True when attempts are placed on GPUs (kept, not computed: the engine asks
    #: for every attempt).
    wants_gpu: bool = field(default=False, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("memory_mb", "gpu_memory_mb"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be a positive whole number of MiB, got {value!r}")
        gpus = self.gpus
        if isinstance(gpus, bool) or not isinstance(gpus, int | float) or not math.isfinite(gpus):
            raise ValueError(f"gpus must be a number of devices, got {gpus!r}")
        if gpus < 0 or (gpus > 1 and gpus != int(gpus)):
            raise ValueError(
                f"gpus must be whole devices (1, 2, ...) or a share of one below 1, got {gpus!r}"
            )
        if self.gpu is not None and self.gpu not in GPU_CHOICES:
            raise ValueError(f"gpu must be 'require' or 'prefer', got {self.gpu!r}")
        if self.gpu_wait_s < 0:
            raise ValueError(f"gpu_wait_s cannot be negative, got {self.gpu_wait_s!r}")
        if self.gpu is not None and gpus == 0:
            object.__setattr__(self, "gpus", 1)
        elif gpus and self.gpu is None:
            object.__setattr__(self, "gpu", "require")
        if self.gpu_memory_mb is not None and not self.gpus:
            raise ValueError("gpu_memory_mb needs gpus (or gpu=) beside it")
        object.__setattr__(self, "wants_gpu", self.gpus > 0)


#: An event that declares nothing.
NO_RESOURCES = Resources()

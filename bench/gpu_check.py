"""Where GPU events run: a real matrix multiply placed on a GPU, and one that falls back.

    python bench/gpu_check.py [--size 2048] [--seconds 2] [--wait 0.5] [--backend torch|python]
                              [--json]

Two ``MatMul`` events run side by side, each declaring
``Resources(gpu="prefer", gpu_wait_s=--wait)``.  Each multiplies two
``--size`` square matrices again and again for ``--seconds`` seconds and
reports how many it did.  On a machine with one GPU the first takes it and
the second, finding none free within ``--wait`` seconds, runs on the CPU;
with two GPUs both run on one; without a GPU both run on the CPU, and the
check says so.  Devices are found as the runtime finds them (``VOLNUX_GPUS``,
NVML, ``CUDA_VISIBLE_DEVICES``).

``--backend torch`` (the default when PyTorch is installed) multiplies with
PyTorch on ``cuda:N`` or the CPU; ``--backend python`` multiplies lists in
pure Python (small sizes; for machines without PyTorch, and for the test
that keeps this script running).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

import volnux  # noqa: E402
from volnux.executors import device_slots  # noqa: E402


def _torch_matmuls(gpus: tuple[int, ...], size: int, seconds: float) -> dict[str, Any]:
    import torch

    on_gpu = bool(gpus) and torch.cuda.is_available()
    device = torch.device(f"cuda:{gpus[0]}" if on_gpu else "cpu")
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        (a @ b).sum().item()  # .item() waits for the device
        done += 1
    took = time.perf_counter() - started
    name = torch.cuda.get_device_name(device) if on_gpu else "cpu"
    return {"device": str(device), "name": name, "matmuls": done, "seconds": took}


def _python_matmuls(size: int, seconds: float) -> dict[str, Any]:
    a = [[float(i + j) for j in range(size)] for i in range(size)]
    b = [list(row) for row in zip(*a, strict=True)]
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        [[sum(x * y for x, y in zip(row, col, strict=True)) for col in b] for row in a]
        done += 1
    took = time.perf_counter() - started
    return {"device": "cpu", "name": "pure Python", "matmuls": done, "seconds": took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    has_torch = importlib.util.find_spec("torch") is not None
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--wait", type=float, default=0.5)
    parser.add_argument(
        "--backend", choices=("torch", "python"), default="torch" if has_torch else "python"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.backend == "torch" and not has_torch:
        raise SystemExit("--backend torch needs PyTorch: pip install torch (or --backend python)")

    @volnux.event(resources=volnux.Resources(gpu="prefer", gpu_wait_s=args.wait))
    def MatMul(ctx: volnux.Context) -> dict[str, Any]:
        if args.backend == "torch":
            return _torch_matmuls(ctx.gpus, args.size, args.seconds)
        return _python_matmuls(args.size, args.seconds)

    devices = device_slots().devices
    with volnux.Workflow.from_text("MatMul || MatMul", [MatMul]) as flow:
        run = flow.run()
    if not run.succeeded:
        raise SystemExit(f"the check's run failed: {run.error}")
    size = args.size
    flops = 2 * size**3
    report = {
        "backend": args.backend,
        "size": size,
        "gpus_found": [d.index for d in devices],
        "tasks": [
            {
                "node": view.node_id,
                "placement": view.placement,
                **view.result,
                "gflops": view.result["matmuls"] * flops / view.result["seconds"] / 1e9,
            }
            for view in run.tasks.values()
        ],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if not devices:
        print("no GPU found (VOLNUX_GPUS, NVML, CUDA_VISIBLE_DEVICES): everything ran on the CPU")
    else:
        print("GPUs found: " + ", ".join(f"gpu {d.index}" for d in devices))
    for task in report["tasks"]:
        print(
            f"{task['node']} on {task['placement']} ({task['name']}, {task['device']}): "
            f"{task['matmuls']} matmuls of {size}x{size} in {task['seconds']:.2f} s, "
            f"{task['gflops']:.1f} GFLOP/s"
        )


if __name__ == "__main__":
    main()

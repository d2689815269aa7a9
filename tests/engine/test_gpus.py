"""GPU placement, on 0, 1 and 2 simulated devices (``VOLNUX_GPUS``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import volnux
from volnux import PointyError, Resources, RunState, TaskState, Workflow
from volnux.executors import gpus
from volnux.executors.gpus import Device, DeviceSlots, discover
from volnux.store import SQLiteJournal

#: (node, start, end, gpus) of every attempt the events below ran.
SPANS: list[tuple[str, float, float, tuple[int, ...]]] = []
SPANS_LOCK = threading.Lock()


def _span(ctx: volnux.Context, seconds: float) -> list[int]:
    start = time.monotonic()
    time.sleep(seconds)
    with SPANS_LOCK:
        SPANS.append((ctx.node_id, start, time.monotonic(), ctx.gpus))
    return list(ctx.gpus)


@volnux.event(resources=Resources(gpus=1))
def Train(ctx: volnux.Context, seconds: float = 0.2) -> list[int]:
    return _span(ctx, seconds)


@volnux.event(resources=Resources(gpus=0.5))
def Half(ctx: volnux.Context, seconds: float = 0.2) -> list[int]:
    return _span(ctx, seconds)


@volnux.event(resources=Resources(gpu="prefer", gpu_wait_s=0.1))
def Score(ctx: volnux.Context, seconds: float = 0.0) -> list[int]:
    return _span(ctx, seconds)


@volnux.event(resources=Resources(gpus=1, gpu_memory_mb=16_000))
def Large(ctx: volnux.Context) -> list[int]:
    return list(ctx.gpus)


@volnux.event(resources=Resources(gpu="prefer"))
def Greedy(ctx: volnux.Context) -> str:
    if ctx.gpus:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return "done on the cpu"


EVENTS = [Train, Half, Score, Large, Greedy]


@pytest.fixture(autouse=True)
def fresh() -> None:
    SPANS.clear()


def most_at_once(spans: list[tuple[str, float, float, tuple[int, ...]]]) -> int:
    edges = sorted([(s, 1) for _, s, _, _ in spans] + [(e, -1) for _, _, e, _ in spans])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def run(text: str, **inputs: object) -> volnux.Run:
    with Workflow.from_text(text, EVENTS) as flow:
        return flow.run(inputs)


def test_devices_are_found_from_volnux_gpus_then_cuda_visible_devices() -> None:
    assert discover({"VOLNUX_GPUS": "2"}) == (Device(0), Device(1))
    assert discover({"VOLNUX_GPUS": "0"}) == ()
    assert discover({"VOLNUX_GPUS": "1,3"}) == (Device(1), Device(3))
    assert discover({"VOLNUX_GPUS": "0:24576,1:8192"}) == (Device(0, 24576), Device(1, 8192))
    assert discover({"CUDA_VISIBLE_DEVICES": "2,0"}) == (Device(0), Device(2))
    assert discover({"CUDA_VISIBLE_DEVICES": ""}) == ()
    assert discover({}) == ()  # no NVML here, nothing visible
    with pytest.raises(ValueError, match=r"VOLNUX_GPUS='two': write a count \(2\) or device ids"):
        discover({"VOLNUX_GPUS": "two"})


def test_nvml_installed_without_a_driver_falls_back_to_cuda_visible_devices() -> None:
    # The real nvidia-ml-py (the gpu extra) is installed for the tests; this
    # machine has no NVIDIA driver, so NVML loads but cannot answer.
    import pynvml

    with pytest.raises(pynvml.NVMLError):
        pynvml.nvmlInit()
    assert gpus._nvml_devices() is None
    assert discover({"CUDA_VISIBLE_DEVICES": "1,0"}) == (Device(0), Device(1))
    assert discover({"VOLNUX_GPUS": "1", "CUDA_VISIBLE_DEVICES": "1,0"}) == (Device(0),)


def test_slots_give_whole_devices_shares_and_memory_and_take_them_back() -> None:
    slots = DeviceSlots((Device(0, 8000), Device(1, 24000)))
    assert slots.acquire(1, 16000) == (1,)  # only gpu 1 has the memory
    assert slots.acquire(1, 16000) is None
    assert slots.acquire(0.5) == (0,)
    assert slots.acquire(0.5) == (0,)  # the fullest device it fits on
    assert slots.acquire(0.5) is None
    heard: list[str] = []
    slots.listen(lambda: heard.append("released"))
    slots.release((1,), 1, 16000)
    assert heard == ["released"] and slots.acquire(2) is None and slots.acquire(1) == (1,)
    assert slots.fits(2) and not slots.fits(3) and not slots.fits(1, 32000)


def test_no_more_gpu_attempts_run_at_once_than_there_are_devices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "2")
    result = run("Train || Train || Train || Train || Train")
    assert result.state is RunState.SUCCEEDED
    assert most_at_once(SPANS) == 2
    assert {gpus for *_, gpus in SPANS} == {(0,), (1,)}
    assert {v.placement for v in result.tasks.values()} == {"gpu 0", "gpu 1"}


def test_shares_of_one_device_run_two_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "1")
    result = run("Half || Half || Half || Half")
    assert result.state is RunState.SUCCEEDED
    assert most_at_once(SPANS) == 2
    assert result.tasks["Half"].placement == "gpu 0 (0.5 of it)"


def test_prefer_takes_the_cpu_when_no_device_frees_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "1")
    result = run("Train || Score", seconds=0.5)
    score = result.tasks["Score"]
    assert score.result == [] and score.placement == "cpu (fallback: none free after 0.1s)"
    assert result.tasks["Train"].result == [0]


def test_without_a_gpu_require_is_refused_at_check_time_and_prefer_runs_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "0")
    with pytest.raises(PointyError) as caught:
        run("Score -> Train")
    assert (caught.value.line, caught.value.column) == (1, 10)
    assert "event Train@1.0.0 requires 1 GPU, and this machine has no GPU" in str(caught.value)
    assert 'set gpu="prefer" to run it on the CPU' in str(caught.value)
    result = run("Score")
    assert result.tasks["Score"].placement == "cpu (fallback: this machine has no GPU)"


def test_device_memory_picks_the_device_and_a_machine_without_enough_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "0:8000,1:24000")
    assert run("Large").tasks["Large"].result == [1]
    monkeypatch.setenv("VOLNUX_GPUS", "0:8000")
    with pytest.raises(PointyError, match="requires 1 GPU with 16,000 MiB, and this machine has "
                       r"gpu 0 \(8,000 MiB\)"):  # fmt: skip
        run("Large")


def test_out_of_gpu_memory_is_tried_again_on_the_cpu_and_journaled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "1")
    journal = SQLiteJournal(tmp_path / "runs.db")
    with Workflow.from_text("Greedy", EVENTS) as flow:
        result = flow.run(store=journal)
    # One attempt by its policy, and yet a second, on the CPU: the GPU's OOM is not its fault.
    view = result.tasks["Greedy"]
    assert result.state is RunState.SUCCEEDED and view.attempts == 2
    assert view.result == "done on the cpu"
    records = [(r.state, r.note) for r in journal.load(result.id).tasks if r.note]
    assert records == [
        (TaskState.RETRYING, "on gpu 0"),
        (TaskState.SUCCEEDED, "on cpu (fallback: the GPU ran out of memory)"),
    ]
    journal.close()


PROCESS_EVENTS = """
import os

import volnux


@volnux.event(executor="process", resources=volnux.Resources(gpu="prefer"))
def Visible(ctx) -> list:
    return [os.environ.get("CUDA_VISIBLE_DEVICES"), list(ctx.gpus)]
"""


def test_a_worker_process_sees_only_its_devices_and_runs_show_says_where(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from volnux.cli.app import app

    (tmp_path / "gpu_events.py").write_text(PROCESS_EVENTS, encoding="utf-8")
    monkeypatch.setenv("VOLNUX_GPUS", "1,3")
    store = str(tmp_path / "runs.db")
    with Workflow.from_text("Visible || Visible", str(tmp_path / "gpu_events.py")) as flow:
        result = flow.run(store=SQLiteJournal(store))
    assert sorted(v.result[0] for v in result.tasks.values()) == ["1", "3"]
    assert sorted(v.placement for v in result.tasks.values()) == ["gpu 1", "gpu 3"]
    monkeypatch.setenv("VOLNUX_GPUS", "0")
    with Workflow.from_text("Visible", str(tmp_path / "gpu_events.py")) as flow:
        on_cpu = flow.run(store=SQLiteJournal(store))
    assert on_cpu.tasks["Visible"].result == ["", []]  # CUDA sees no device
    shown = CliRunner().invoke(app, ["runs", "show", on_cpu.id, "--store", store])
    assert shown.exit_code == 0, shown.output
    assert "ran on" in shown.output
    assert "cpu (fallback: this machine has no GPU)" in shown.output
    as_json = CliRunner().invoke(app, ["runs", "show", result.id, "--store", store, "--json"])
    import json

    tasks = json.loads(as_json.output)["tasks"]
    assert sorted(t["placement"] for t in tasks) == ["gpu 1", "gpu 3"]


def test_a_malformed_volnux_gpus_is_said_at_check_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLNUX_GPUS", "0,one")
    with pytest.raises(PointyError) as caught:
        run("Score")
    assert "Score: VOLNUX_GPUS='0,one': write a count (2) or device ids" in str(caught.value)
    monkeypatch.setenv("VOLNUX_GPUS", "1")
    assert run("Score").state is RunState.SUCCEEDED

"""The dask executor on a real LocalCluster of worker processes on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import volnux
from volnux.executors.cluster import DaskExecutor
from volnux.executors.registry import executor_names

from . import dask_events


@pytest.fixture(scope="module")
def dask() -> Iterator[DaskExecutor]:
    """One local cluster (two one-thread workers) for the module's runs."""
    sizes: list[tuple[int, str]] = []
    executor = DaskExecutor(2, on_resize=lambda n, why: sizes.append((n, why)))
    yield executor
    executor.shutdown()
    assert sizes[0] == (2, "started") and sizes[-1] == (0, "shutdown")


def test_dask_is_an_executor_by_name() -> None:
    assert "dask" in executor_names()


def test_a_group_runs_on_the_cluster_workers_not_here(dask: DaskExecutor) -> None:
    text = " || ".join(["WhereAmI"] * 6)
    with volnux.Workflow.from_text(text, [dask_events]) as flow:
        run = flow.run({"n": 7}, executors={"dask": dask})
    assert run.state is volnux.RunState.SUCCEEDED
    results = [task.result for task in run.tasks.values()]
    assert all(square == 49 for _, square in results)
    pids = {pid for pid, _ in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # the cluster's workers
    assert not dask.capacity().in_process and dask.capacity().workers == 2


def test_an_attempt_is_keyed_by_run_node_and_attempt_on_the_cluster(dask: DaskExecutor) -> None:
    with volnux.Workflow.from_text("MyKey -> MyKey", [dask_events]) as flow:
        run = flow.run(executors={"dask": dask}, run_id="keyed")
    assert [t.result for t in run.tasks.values()] == ["keyed-MyKey-1", "keyed-MyKey#2-1"]


def test_a_failure_on_the_cluster_is_the_events_own(dask: DaskExecutor) -> None:
    with volnux.Workflow.from_text("Broken", [dask_events]) as flow:
        run = flow.run(executors={"dask": dask})
    assert run.state is volnux.RunState.FAILED
    error = run.tasks["Broken"].error
    assert error is not None and error.type == "ValueError"
    assert error.message == "bad input on the cluster"


def test_a_worker_killed_mid_attempt_has_its_attempt_run_again(
    dask: DaskExecutor, tmp_path: Path
) -> None:
    flag = tmp_path / "died"
    with volnux.Workflow.from_text("DiesOnce", [dask_events]) as flow:
        run = flow.run({"flag": str(flag)}, executors={"dask": dask})
    assert run.state is volnux.RunState.SUCCEEDED
    killed = int(flag.read_text())
    assert run.tasks["DiesOnce"].result != killed  # another worker finished it
    assert run.tasks["DiesOnce"].attempts == 1  # Dask ran it again, not the retry policy


def test_without_dask_installed_the_error_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'volnux\[dask\]'"):
        DaskExecutor()


def test_volnux_run_takes_the_cluster_from_the_flag(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    shutil.copy(Path(dask_events.__file__), tmp_path / "cluster_events.py")
    (tmp_path / "flow.pty").write_text("WhereAmI || WhereAmI\n")
    command = [sys.executable, "-m", "volnux", "run", "flow.pty", "-e", "cluster_events.py"]
    env = {k: v for k, v in os.environ.items() if "DASK" not in k}

    def volnux_run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra, "-i", "n=3", "--store", "memory:", "--no-progress"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip

    refused = volnux_run("--cluster", "nowhere")
    assert refused.returncode == 2
    assert "--cluster = 'nowhere' is not a Dask cluster" in refused.stderr
    ran = volnux_run("--cluster", "local")
    assert ran.returncode == 0, ran.stderr


def test_a_batch_run_runs_its_batches_on_the_cluster(dask: DaskExecutor, tmp_path: Path) -> None:
    journal = volnux.SQLiteJournal(tmp_path / "j.db")
    with volnux.Workflow.from_text("SumBatch", [dask_events]) as flow:
        run = flow.run_batches(
            list(range(40)), batch_size=5, parallel=3, store=journal, executors={"dask": dask}
        )
    assert run.succeeded and run.counts() == {"succeeded": 8}
    results = [r["SumBatch"] for _b, r in run.results()]
    assert [total for _pid, total in results] == [sum(range(i, i + 5)) for i in range(0, 40, 5)]
    assert os.getpid() not in {pid for pid, _total in results}


SHIPPED = """\
import os
import volnux

@volnux.event(executor="dask")
def Shipped(n: int) -> list:
    return [os.getpid(), n + 1]
"""


def test_an_events_file_the_workers_cannot_read_is_shipped_to_them(
    dask: DaskExecutor, tmp_path: Path
) -> None:
    import sys

    events = tmp_path / "shipped_events.py"
    events.write_text(SHIPPED)
    flow = volnux.Workflow.from_text("Shipped", [str(events)])  # loaded here, by path
    module = flow.registry.resolve("Shipped").target.__module__
    events.unlink()  # the workers cannot read it where it was: as on another machine
    with flow:
        run = flow.run({"n": 1}, executors={"dask": dask})
    assert run.state is volnux.RunState.SUCCEEDED, run.error
    pid, value = run.results["Shipped"]
    assert value == 2 and pid != os.getpid()
    client = dask._running_client()
    assert set(client.run(lambda: module in sys.modules).values()) == {True}
    # A worker that joins later gets it too: Dask runs the plugin there.
    cluster = dask._cluster
    cluster.scale(3)
    client.wait_for_workers(3, timeout=60)
    try:
        loaded = client.run(lambda: module in sys.modules)
        assert len(loaded) == 3 and set(loaded.values()) == {True}
    finally:
        cluster.scale(2)


def test_an_event_its_workers_cannot_import_fails_naming_the_event_and_worker(
    dask: DaskExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "only_here_events.py").write_text(SHIPPED.replace("Shipped", "OnlyHere"))
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, not on the workers
    with volnux.Workflow.from_text("OnlyHere", ["only_here_events"]) as flow:
        run = flow.run({"n": 1}, executors={"dask": dask})
    assert run.state is volnux.RunState.FAILED
    error = run.tasks["OnlyHere"].error
    assert error is not None and error.type == "volnux.errors.EventLoadError"
    assert (
        "event OnlyHere@" in error.message and "cannot be loaded in worker process" in error.message
    )
    assert "No module named 'only_here_events'" in error.message


def test_resume_retry_and_batch_take_the_cluster_from_the_flag(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    (tmp_path / "ev.py").write_text(
        "import os, volnux\n"
        "@volnux.event(executor='dask')\n"
        "def NeedsFlag(flag: str) -> int:\n"
        "    if not os.path.exists(flag):\n"
        "        raise volnux.PermanentError('no flag yet')\n"
        "    return os.getpid()\n"
    )
    (tmp_path / "flow.pty").write_text("NeedsFlag\n")
    env = {k: v for k, v in os.environ.items() if "DASK" not in k}

    def volnux_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "volnux", *args], cwd=tmp_path, capture_output=True,
            text=True, timeout=120, env=env,
        )  # fmt: skip

    flag = str(tmp_path / "flag")
    failed = volnux_cli("run", "flow.pty", "-e", "ev.py", "-i", f"flag={flag}", "--no-progress")
    assert failed.returncode == 1, failed.stderr
    run_id = json.loads(volnux_cli("runs", "list", "--json").stdout)[0]["id"]
    refused = volnux_cli("runs", "retry", run_id, "--cluster", "nowhere")
    assert refused.returncode == 2 and "is not a Dask cluster" in refused.stderr
    Path(flag).write_text("")
    retried = volnux_cli("runs", "retry", run_id, "--cluster", "local")
    assert retried.returncode == 0, retried.stderr
    batch = volnux_cli("batch", "flow.pty", "-e", "ev.py", "--over", "flow.pty",
                       "--batch-size", "1", "--cluster", "nowhere")  # fmt: skip
    assert batch.returncode == 2 and "is not a Dask cluster" in batch.stderr


def test_gpus_and_memory_are_asked_of_the_workers_that_declare_them() -> None:
    # This machine has no GPU; the cluster's workers say they have one each.
    gpu = DaskExecutor(1, resources={"GPU": 1, "MEMORY": 2**30})
    try:
        with volnux.Workflow.from_text("OnGpu -> NeedsMemory", [dask_events]) as flow:
            run = flow.run(executors={"dask": gpu})
        assert run.state is volnux.RunState.SUCCEEDED, run.error
        assert run.results["OnGpu"] == {"GPU": 1, "MEMORY": 2**30}
        assert run.tasks["OnGpu"].placement == "GPU=1"
        assert run.tasks["NeedsMemory"].placement == "MEMORY=64 MiB"
    finally:
        gpu.shutdown()


def test_an_attempt_no_worker_can_take_fails_after_the_wait_naming_what_is_missing(
    dask: DaskExecutor,
) -> None:
    dask.resource_wait_s = 0.5
    try:
        with volnux.Workflow.from_text("OnGpu", [dask_events]) as flow:
            run = flow.run(executors={"dask": dask})
    finally:
        dask.resource_wait_s = 30.0
    assert run.state is volnux.RunState.FAILED
    error = run.tasks["OnGpu"].error
    assert error is not None and error.type.endswith("ResourceUnavailable")
    assert "no worker of the Dask cluster has GPU=1 after 0.5 s" in error.message
    assert "its workers declare no resources" in error.message


def test_a_bad_resource_wait_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLNUX_DASK_RESOURCE_WAIT_S", "soon")
    with pytest.raises(ValueError, match="VOLNUX_DASK_RESOURCE_WAIT_S='soon' is not a number"):
        DaskExecutor()
    monkeypatch.setenv("VOLNUX_DASK_RESOURCE_WAIT_S", "2.5")
    assert DaskExecutor().resource_wait_s == 2.5


@pytest.mark.parametrize("restart", [False, True], ids=["withdrawn", "worker-restarted"])
def test_an_attempt_past_its_timeout_is_given_up_on_the_cluster(
    tmp_path: Path, restart: bool
) -> None:
    import time

    executor = DaskExecutor(2, restart_hung=restart)
    try:
        client = executor._running_client()
        # Both workers load the events first: a cold worker's first attempt on a
        # loaded machine may take longer than the timeout below by itself.
        client.run(lambda: __import__(dask_events.__name__))
        marker = tmp_path / "hung"
        started = time.monotonic()
        with volnux.Workflow.from_text("HangsOnce[timeout=3] * 2", [dask_events]) as flow:
            run = flow.run({"marker": str(marker)}, executors={"dask": executor})
        took = time.monotonic() - started
        assert run.state is volnux.RunState.SUCCEEDED, run.error
        assert run.tasks["HangsOnce"].attempts == 2 and took < 20  # not the hung 30 s
        hung = int(marker.read_text())
        if restart:  # the hung attempt's worker process was replaced
            deadline = time.monotonic() + 30
            while hung in set(client.run(os.getpid).values()):
                assert time.monotonic() < deadline, "the hung worker was not restarted"
                time.sleep(0.2)
            client.wait_for_workers(2, timeout=30)
        else:  # withdrawn from the scheduler; its thread sleeps on, its result dropped
            assert hung in set(client.run(os.getpid).values())
    finally:
        executor.shutdown()


def test_a_cancelled_run_takes_back_its_attempts_waiting_on_the_cluster(
    dask: DaskExecutor, tmp_path: Path
) -> None:
    import threading
    import time

    journal = volnux.SQLiteJournal(tmp_path / "j.db")
    marks = tmp_path / "marks"
    marks.mkdir()
    flow = volnux.Workflow.from_text(" || ".join(["Naps"] * 6), [dask_events])
    out: list[volnux.Run] = []
    runner = threading.Thread(
        target=lambda: out.append(
            flow.run({"marks": str(marks)}, store=journal, executors={"dask": dask}, run_id="nap")
        )
    )
    started = time.monotonic()
    runner.start()
    deadline = time.monotonic() + 30
    while len(list(marks.iterdir())) < 2:  # two workers: two attempts run, four wait
        assert time.monotonic() < deadline
        time.sleep(0.02)
    volnux.cancel_run(journal, "nap")
    runner.join(30)
    took = time.monotonic() - started
    (run,) = out
    assert run.state is volnux.RunState.CANCELLED
    assert "taken back from the cluster before they started" in (run.error or "")
    ran = len(list(marks.iterdir()))
    assert ran <= 3 and took < 6  # not the 4.5 s more the waiting four would take
    states = [v.state.value for v in run.tasks.values()]
    assert states.count("running") >= 3  # cut off: left for a resume
    again = volnux.Workflow.resume("nap", store=journal, workflow=flow, executors={"dask": dask})
    assert again.state is volnux.RunState.SUCCEEDED
    assert len(list(marks.iterdir())) == 6


def test_submits_go_together_on_a_flush_or_alone_a_moment_later(dask: DaskExecutor) -> None:
    import queue
    import uuid

    heard: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
    stamp = uuid.uuid4().hex[:8]
    for i in range(5):  # one step's submits: sent as one map when the engine flushes
        dask.submit_named(pow, (i, 2), lambda r, e: heard.put((r, e)), f"sq-{stamp}-{i}")
    dask.flush()
    assert sorted(heard.get(timeout=60)[0] for _ in range(5)) == [0, 1, 4, 9, 16]  # type: ignore[type-var]
    # Nobody flushes: the executor's sender thread sends it.
    dask.submit_named(pow, (3, 3), lambda r, e: heard.put((r, e)), f"cube-{stamp}")
    assert heard.get(timeout=60) == (27, None)

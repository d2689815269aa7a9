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

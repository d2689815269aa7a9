"""The benchmarks under bench/ still run (tiny sizes; no timing is asserted here).

Benchmarks are not part of the suite's timing, but a benchmark that no
longer runs measures nothing: each one runs once here, small, and must
report every figure it promises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_bench(name: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_engine_bench_reports_every_variant_for_both_shapes() -> None:
    data = run_bench("engine.py", "--tasks", "20", "--repeat", "1")
    assert data["tasks"] == 20
    assert data["synchronous"] == "NORMAL"
    for shape in ("chain", "group"):
        row = data["seconds"][shape]
        for column in ("loop", "threadpool", "volnux", "sqlite-row", "volnux+sqlite", "peak-MiB"):
            assert positive(row[column]), (shape, column, row)
    assert positive(data["import_s"]) and positive(data["import_runtime_s"])


def test_journal_bench_reports_each_case() -> None:
    data = run_bench("journal_write.py", "--n", "20", "--repeat", "1")
    cases = data["us_per_task"]
    assert set(cases) == {"baseline", "chain step", "chain step, JSON result", "group"}
    assert all(positive(v) for v in cases.values())


def test_recovery_bench_resumes_and_rehydrates() -> None:
    data = run_bench("recovery.py", "--chain", "20", "--big", "200", "--repeat", "1")
    clis = {"resume_cli", "resume_cli_bytecode", "resume_cli_bytecode_uncached"}
    assert set(data) == {"resume", "resume_big", "rehydrate", *clis}
    for key in clis:
        assert positive(data[key]["command_s"])
    for key in ("resume", "resume_big"):
        assert positive(data[key]["from_process_start_s"])
        assert positive(data[key]["from_resume_call_s"])
    assert data["rehydrate"]["records"] == 400  # 200 tasks, RUNNING and SUCCEEDED each
    assert positive(data["rehydrate"]["load_s"])


def test_lean_bound_bench_reports_both_shapes() -> None:
    data = run_bench("lean_bound.py", "--tasks", "20", "--repeat", "1")
    for shape in ("chain", "group"):
        row = data["us_per_task"][shape]
        assert set(row) == {"lean", "lean+sqlite", "sqlite-row"}
        assert all(positive(v) for v in row.values())


def test_show_bench_times_the_summary_and_the_full_listing() -> None:
    data = run_bench("show.py", "--tasks", "50", "--repeat", "1")
    assert data["tasks"] == 50
    keys = ("show_s", "show_peak_MiB", "show_bytes", "show_bytecode_s", "show_all_s")
    for key in (*keys, "show_all_bytes"):
        assert positive(data[key]), key
    assert data["show_all_bytes"] > data["show_bytes"]  # 50 tasks listed, not 40


def test_process_bench_reports_the_no_op_ratio_and_the_cpu_speed_up() -> None:
    data = run_bench(
        "processes.py", "--tasks", "20", "--cpu-tasks", "4", "--cpu-ms", "5", "--rounds", "1"
    )
    assert data["noop"]["tasks"] == 20 and data["cpu"]["tasks"] == 4
    for key in ("bare_us", "volnux_us", "ratio"):
        assert positive(data["noop"][key]), key
    for key in ("thread_s", "process_s", "speedup"):
        assert positive(data["cpu"][key]), key


def test_asyncio_bench_reports_both_shapes_and_the_wide_group() -> None:
    data = run_bench(
        "coroutines.py", "--tasks", "20", "--wide", "50", "--nap", "0.01", "--rounds", "1"
    )
    for shape in ("chain", "group"):
        for key in ("async_us", "thread_us", "ratio"):
            assert positive(data["noop"][shape][key]), (shape, key)
    assert data["wide"]["tasks"] == 50 and positive(data["wide"]["wall_s"])
    assert data["wide"]["new_threads"] == 1  # the loop's own, whatever the width


def test_gpu_check_runs_without_a_gpu_and_says_where_each_matmul_ran() -> None:
    args = ("--backend", "python", "--size", "8")
    data = run_bench("gpu_check.py", *args, "--seconds", "0.05", env={"VOLNUX_GPUS": "0"})
    expected = ["cpu (fallback: this machine has no GPU)"] * 2
    assert [t["placement"] for t in data["tasks"]] == expected
    assert all(t["matmuls"] > 0 and positive(t["gflops"]) for t in data["tasks"])
    one = run_bench(
        "gpu_check.py", *args, "--seconds", "0.3", "--wait", "0.05", env={"VOLNUX_GPUS": "1"}
    )
    assert sorted(t["placement"] for t in one["tasks"]) == [
        "cpu (fallback: none free after 0.05s)",
        "gpu 0",
    ]


def test_adaptive_bench_reports_the_io_speed_up_and_the_process_pool_sizes() -> None:
    data = run_bench("adaptive.py", "--tasks", "12", "--sleep", "0.02", "--cpu-tasks", "2")
    assert data["io"]["tasks"] == 12
    for key in ("fixed_s", "adaptive_s", "speedup", "remembered_s", "remembered_speedup"):
        assert positive(data["io"][key]), key
    assert data["io"]["largest_pool"] >= 2
    assert data["io"]["remembered_largest_pool"] >= 2
    cpu = data["cpu"]
    assert 1 <= cpu["most_workers"] <= cpu["usable_cpus"]
    assert [why for _, why in cpu["sizes"]] == ["cpu-bound"]


def test_postgres_bench_reports_costs_resume_and_processes(
    postgres_server: str, postgres_admin: Any
) -> None:
    args = ("--url", postgres_server, "--tasks", "20", "--resume-tasks", "200")
    data = run_bench("postgres.py", *args, "--chains-tasks", "10", "--rounds", "1")
    assert data["tasks"] == 20 and data["synchronous_commit"] == "on"
    costs = data["us_per_task"]
    assert positive(costs["pg-row"])
    for shape in ("chain", "group"):
        assert set(costs[shape]) == {"volnux", "volnux+pg", "volnux+sqlite"}
        assert all(positive(v) for v in costs[shape].values()), (shape, costs[shape])
        assert positive(data["ratio"][shape])
    resume = data["resume"]
    assert resume["tasks"] == 200 and resume["done_before_crash"] == 100
    assert positive(resume["from_resume_call_s"]) and resume["succeeded"] is True
    many = data["processes"]
    assert many["processes"] == 8 and many["tasks"] == 10 and many["succeeded"] is True
    assert many["runs"] == 8 + 1 + 8  # warm-ups, one alone, eight at once
    assert many["records"] == many["runs"] * 10 * 2  # RUNNING and SUCCEEDED of each task
    for key in ("one_tasks_per_s", "all_tasks_per_s", "ratio", "row_one_per_s", "row_ratio"):
        assert positive(many[key]), key
    assert set(data["targets"]) == {"chain", "group", "resume_s", "processes"}
    # Each benchmark's schema was its own, and is gone.
    assert len(set(data["schemas"])) == 6
    left = postgres_admin.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (data["schemas"],)
    ).fetchall()
    assert left == []


def test_batch_bench_reports_throughput_resume_and_memory() -> None:
    data = run_bench(
        "batch.py", "--items", "3000", "--batches", "12", "--workers", "2", "--rounds", "1"
    )
    assert data["items"] == 3000 and data["batches"] == 12
    for key in ("pool_items_per_s", "volnux_items_per_s", "throughput_ratio", "resume_ratio",
                "unfused_ratio"):  # fmt: skip
        assert positive(data[key]), key
    assert 1 <= data["killed_after_batches"] <= 12
    assert positive(data["peak_rss_mib"]["pool"]) and positive(data["peak_rss_mib"]["volnux"])


def test_dask_bench_reports_chains_and_groups_against_bare_dask() -> None:
    data = run_bench("dask.py", "--tasks", "20", "--rounds", "1")
    assert data["tasks"] == 20
    for name in ("chain bare", "chain bare-linked", "chain volnux+sqlite", "group bare",
                 "group volnux+sqlite"):  # fmt: skip
        assert positive(data["us_per_task"][name]), name
    assert positive(data["ratio"]["chain"]) and positive(data["ratio"]["group"])


def test_serve_bench_times_every_page_of_a_journal() -> None:
    data = run_bench(
        "serve.py", "--runs", "20", "--tasks", "50", "--batches", "5", "--batch-size", "3",
        "--repeat", "1",
    )  # fmt: skip
    assert (data["runs"], data["tasks"], data["batches"]) == (20, 50, 5)
    assert set(data["ms"]) == {
        "runs page", "api runs", "api runs, last page", "big run page", "api big run",
        "api one task", "graph dot", "batch run page", "api batch run",
        "big run page, first view", "batch run page, first view",
        "indexer's first pass (s)", "big run page, first view after it",
        "batch run page, first view after it",
    }  # fmt: skip
    assert all(positive(ms) for ms in data["ms"].values())

"""``volnux batch`` and batch runs in ``volnux runs``, driven as a user would: the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EVENTS = """\
import os, time
import volnux

@volnux.event
def Parse(rows: list):
    return [r.split(",") for r in rows]

@volnux.event
def Check(piped, ctx: volnux.Context):
    bad = os.environ.get("BAD_BATCHES", "")
    if bad and str(ctx.batch.index) in bad.split(","):
        raise ValueError(f"bad rows in batch {ctx.batch.index}")
    time.sleep(float(os.environ.get("BATCH_SLEEP", "0")))
    return len(piped)
"""


def volnux(
    tmp: Path, *args: str, env: dict[str, str] | None = None, check: int | None = None
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "volnux", *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if check is not None:
        assert out.returncode == check, (out.stdout, out.stderr)
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "events.py").write_text(EVENTS)
    (tmp_path / "flow.pty").write_text("Parse |-> Check\n")
    (tmp_path / "rows.csv").write_text("".join(f"{i},r{i}\n" for i in range(45)))
    return tmp_path


BATCH = (
    "batch",
    "flow.pty",
    "--events",
    "events.py",
    "--as",
    "rows",
    "--over",
    "rows.csv",
    "--split",
    "lines",
)


def _wait_for_a_batch(project: Path) -> None:
    """Until the batch run listed first has a batch done (at most 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = volnux(project, "runs", "list", "--json").stdout
        rows = json.loads(listed) if listed.strip().startswith("[") else []
        if rows and str(rows[0].get("batches", "")).split("/")[0] not in ("", "0"):
            return
        time.sleep(0.1)
    pytest.fail("no batch finished in 30 s")


def _parent(tmp: Path) -> dict[str, object]:
    rows = json.loads(volnux(tmp, "runs", "list", "--json", check=0).stdout)
    assert len(rows) == 1, rows  # the batches' runs are not listed
    return rows[0]


def test_batch_runs_every_batch_and_exits_0(project: Path) -> None:
    out = volnux(project, *BATCH, "--batch-size", "10", check=0)
    assert "succeeded: 5/5 batches" in out.stdout
    assert "succeeded  5        45" in out.stdout  # the summary table: batches, items
    parent = _parent(project)
    assert parent["status"] == "succeeded" and parent["batches"] == "5/5 batches"
    every = json.loads(volnux(project, "runs", "list", "--json", "--batches", check=0).stdout)
    assert len(every) == 6
    shown = json.loads(volnux(project, "runs", "show", str(parent["id"]), "--json", check=0).stdout)
    assert shown["batch"]["counts"] == {"succeeded": 5}
    assert shown["batch"]["items"] == {"succeeded": 45}
    assert shown["batch"]["total"] == 5 and shown["batch"]["kind"] == "lines"
    assert shown["batch"]["fuse"] is True  # tasks in a row on worker processes: one call


def test_no_fuse_is_recorded_with_the_batch_run_and_shown(project: Path) -> None:
    volnux(project, *BATCH, "--batch-size", "15", "--no-fuse", check=0)
    parent = _parent(project)
    shown = json.loads(volnux(project, "runs", "show", str(parent["id"]), "--json", check=0).stdout)
    assert shown["batch"]["fuse"] is False
    assert shown["batch"]["counts"] == {"succeeded": 3}


def test_a_failed_batch_exits_1_lists_it_and_says_how_to_retry(project: Path) -> None:
    out = volnux(project, *BATCH, "--batch-size", "10", env={"BAD_BATCHES": "1,3"}, check=1)
    parent = str(_parent(project)["id"])
    assert "2 of 5 batches failed" in out.stdout
    assert "batch 1 (run " in out.stdout and "bad rows in batch 1" in out.stdout
    assert f"volnux runs retry {parent} --failed" in out.stdout
    shown = volnux(project, "runs", "show", parent, check=0).stdout
    assert "failed batches (2):" in shown and "slowest batches:" in shown
    # A batch's own run is resumed through its parent, which says so.
    child = json.loads(volnux(project, "runs", "show", parent, "--json", check=0).stdout)
    first_failed = child["failed"][0]["run"]
    refused = volnux(project, "runs", "retry", first_failed, check=2)
    assert f"is batch 1 of batch run {parent}" in refused.stderr
    # Fixed: the retry runs the two failed batches only.
    again = volnux(project, "runs", "retry", parent, "--failed", check=0)
    assert "succeeded: 5/5 batches" in again.stdout
    assert _parent(project)["status"] == "succeeded"


def test_a_tolerance_lets_the_run_succeed_but_the_exit_says_a_batch_failed(
    project: Path,
) -> None:
    out = volnux(
        project,
        *BATCH,
        "--batch-size",
        "10",
        "--tolerate",
        "20%",
        env={"BAD_BATCHES": "2"},
        check=1,
    )
    assert "batch run" in out.stdout and "succeeded: 5/5 batches (1 failed)" in out.stdout
    assert _parent(project)["status"] == "succeeded"


def test_runs_update_changes_the_limits_of_a_batch_run(project: Path) -> None:
    volnux(project, *BATCH, "--batch-size", "10", "--parallel", "2", check=0)
    parent = str(_parent(project)["id"])
    out = volnux(project, "runs", "update", parent, "--parallel", "4", "--tolerate", "3", check=0)
    assert "4 at once, tolerance 3" in out.stdout
    items = volnux(project, "runs", "update", parent, "--tolerate-items", "1%", check=0)
    assert "items tolerance 1%" in items.stdout
    shown = json.loads(volnux(project, "runs", "show", parent, "--json", check=0).stdout)
    assert shown["batch"]["parallel"] == 4 and shown["batch"]["tolerate"] == "3"
    bad = volnux(project, "runs", "update", parent, "--tolerate", "lots", check=2)
    assert "tolerance" in bad.stderr
    nothing = volnux(project, "runs", "update", parent, check=2)
    assert "nothing to change" in nothing.stderr


def test_bad_batch_arguments_are_clear(project: Path) -> None:
    unnamed = volnux(project, *BATCH[:4], "--over", "rows.csv", "--batch-size", "3", check=2)
    assert "missing workflow input 'rows'" in unnamed.stderr
    assert "each batch is given as input 'batch' (--as NAME" in unnamed.stderr
    missing = volnux(project, *BATCH[:-4], "--over", "nope.txt", "--batch-size", "3", check=2)
    assert "nope.txt" in missing.stderr
    kind = volnux(project, *BATCH[:-2], "--split", "xml", "--batch-size", "3", check=2)
    assert "unknown batch source kind 'xml'" in kind.stderr


def test_sigkill_mid_batch_run_then_resume_finishes_only_what_was_left(project: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "volnux", *BATCH, "--batch-size", "3", "--parallel", "2"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BATCH_SLEEP": "0.3"},
    )
    try:
        _wait_for_a_batch(project)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    parent = str(_parent(project)["id"])
    shown = json.loads(volnux(project, "runs", "show", parent, "--json", check=0).stdout)
    done_before = shown["batch"]["counts"].get("succeeded", 0)
    assert 1 <= done_before < 15
    out = volnux(project, "runs", "resume", parent, check=0)
    assert "succeeded: 15/15 batches" in out.stdout
    every = json.loads(volnux(project, "runs", "list", "--json", "--batches", "-n", "50").stdout)
    assert len(every) == 16  # one run per batch: none run twice, none lost


def test_failed_items_are_shown_and_retried_as_a_batch_of_their_own(tmp_path: Path) -> None:
    (tmp_path / "events.py").write_text(
        "import os, volnux\n"
        "@volnux.event\n"
        "def Load(batch: list):\n"
        "    bad = set(os.environ.get('BAD_ITEMS', '').split(','))\n"
        "    return volnux.Partial([x for x in batch if x not in bad],\n"
        "                          {x: 'unreadable' for x in batch if x in bad})\n"
    )
    (tmp_path / "flow.pty").write_text("Load\n")
    (tmp_path / "ids.txt").write_text("".join(f"id{i}\n" for i in range(9)))
    args = ("batch", "flow.pty", "-e", "events.py", "--over", "ids.txt", "--batch-size", "4")
    out = volnux(tmp_path, *args, env={"BAD_ITEMS": "id2,id5"}, check=0)
    assert "3/3 batches (2 items failed)" in out.stdout
    assert "batches with failed items (2):" in out.stdout
    parent = str(_parent(tmp_path)["id"])
    assert f"volnux runs retry {parent} --failed-items" in out.stdout
    shown = json.loads(volnux(tmp_path, "runs", "show", parent, "--json", check=0).stdout)
    assert shown["batch"]["failed_items"] == 2
    first = shown["with_failed_items"][0]["run"]
    child = volnux(tmp_path, "runs", "show", first, check=0).stdout
    assert 'Load succeeded with 1 item failed:\n  "id2": unreadable' in child
    assert f"part of run {parent} (volnux runs show {parent})" in child
    as_json = json.loads(volnux(tmp_path, "runs", "show", first, "--json", check=0).stdout)
    assert as_json["parent"] == parent
    again = volnux(tmp_path, "runs", "retry", parent, "--failed-items", check=0)
    assert "4/4 batches" in again.stdout and "items failed" not in again.stdout


def test_progress_estimates_the_time_left_from_how_far_into_the_source_it_is() -> None:
    from volnux.batch.driver import BatchEvent, source_reach
    from volnux.cli.batch import BatchProgress, format_eta

    file = {"kind": "file", "size": 1000}
    assert source_reach({"offset": 0, "length": 250}, file) == 0.25
    assert source_reach({"first_item": 3, "count": 1}, {"files": ["a", "b", "c", "d"]}) == 1.0
    assert source_reach({"first_item": 0, "count": 5}, {"kind": "unchecked"}) is None
    progress = BatchProgress()
    progress(BatchEvent("began", 0, "c0", 100, reach=0.25))
    progress(BatchEvent("ended", 0, "c0", 100, "succeeded", 0.1))
    progress.started -= 10.0  # 100 items in 10 s: 10 items/s, 300 items left
    line = progress.line()
    assert "1 batch done, 0 failed, 0 running; 100 items (10/s)" in line
    assert line.endswith("ETA 0:30")
    assert format_eta(3725) == "1:02:05" and format_eta(59.6) == "1:00"


def test_ctrl_c_stops_a_batch_run_with_130_and_a_resume_finishes_it(project: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "volnux", *BATCH, "--batch-size", "3", "--parallel", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BATCH_SLEEP": "0.3"},
    )
    _wait_for_a_batch(project)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    parent = _parent(project)
    assert parent["status"] == "cancelled"
    shown = json.loads(volnux(project, "runs", "show", str(parent["id"]), "--json", check=0).stdout)
    assert "stopped by SIGINT" in (shown["error"] or "")
    out = volnux(project, "runs", "resume", str(parent["id"]), check=0)
    assert "succeeded: 15/15 batches" in out.stdout

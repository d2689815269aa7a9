"""One PostgreSQL journal, two "machines": folders that share no file, each with its
own copy of the events and its own working directory, talking only through the
journal (the workflow text and the event pins come from it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .test_runs import EVENTS, WORKFLOW, marks, volnux


def machines(tmp_path: Path) -> tuple[Path, Path]:
    here, there = tmp_path / "here", tmp_path / "there"
    for folder in (here, there):
        folder.mkdir()
        (folder / "events.py").write_text(EVENTS)
    (here / "flow.pty").write_text(WORKFLOW)  # only "here" has the workflow's file
    return here, there


def start(folder: Path, store: str, slow: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "volnux", "run", "flow.pty", "-e", "events.py"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MARKS": str(folder / "marks"), "VOLNUX_STORE": store, "SLOW": slow},
    )


def running_run(folder: Path, proc: subprocess.Popen[str], store: str) -> str:
    """Wait until the run in ``folder`` runs Slow; its id, as the journal lists it."""
    deadline = time.monotonic() + 60
    while "Slow" not in marks(folder):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    rows = json.loads(volnux(folder, "runs", "list", "--json", "--store", store, check=0).stdout)
    return str(rows[0]["id"])


def test_a_run_killed_on_one_machine_is_listed_shown_and_resumed_on_another(
    tmp_path: Path, postgres_url: str
) -> None:
    here, there = machines(tmp_path)
    proc = start(here, postgres_url, slow="30")
    run_id = running_run(here, proc, postgres_url)
    listed = json.loads(
        volnux(there, "runs", "list", "--json", "--store", postgres_url, check=0).stdout
    )
    assert [(r["id"], r["status"]) for r in listed] == [(run_id, "running")]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    shown = volnux(there, "runs", "show", run_id, "--store", postgres_url, check=0).stdout
    assert "runs again (cut off while running): Slow" in shown
    volnux(there, "runs", "resume", run_id, "--store", postgres_url, "-e", "events.py", check=0)
    assert marks(here) == ["Fetch", "Slow"]  # Fetch's success was journaled there
    assert marks(there) == ["Slow", "Store"]  # only what had not finished ran again
    data = json.loads(
        volnux(here, "runs", "show", run_id, "--json", "--store", postgres_url, check=0).stdout
    )
    assert data["status"] == "succeeded"


def test_a_cancel_from_another_machine_stops_the_run(tmp_path: Path, postgres_url: str) -> None:
    here, there = machines(tmp_path)
    proc = start(here, postgres_url, slow="6")  # time for the other machine's command to start
    run_id = running_run(here, proc, postgres_url)
    out = volnux(there, "runs", "cancel", run_id, "--store", postgres_url, check=0)
    assert "cancelled" in out.stdout
    assert proc.wait(timeout=30) == 1
    assert "Store" not in marks(here)
    data = json.loads(
        volnux(there, "runs", "show", run_id, "--json", "--store", postgres_url, check=0).stdout
    )
    assert data["status"] == "cancelled"

"""Ctrl-C and SIGTERM: the run stops starting tasks, lets running ones end, says so.

Real processes, real signals: ``volnux run`` is started, a task is seen
running (it touches a marker file), a signal is sent, and the command must
end with 130 (SIGINT) or 143 (SIGTERM), the run recorded ``cancelled`` with
how it stopped, and the exact command that resumes it; a second signal cuts
the running task off at once.  Resuming then finishes the run without
running again what had finished.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EVENTS = """
import os, time
import volnux

def _mark(name):
    with open(os.environ["MARKS"], "a") as f:
        f.write(name + "\\n")

@volnux.event
def First():
    _mark("First")
    return 1

@volnux.event
def Slow():
    _mark("Slow started")
    open(os.environ["STARTED"], "w").close()
    time.sleep(float(os.environ.get("SLOW", "1")))
    _mark("Slow")
    return 2

@volnux.event
def Last():
    _mark("Last")
    return 3
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "events.py").write_text(EVENTS)
    (tmp_path / "flow.pty").write_text("First -> Slow -> Last\n")
    return tmp_path


def start(root: Path, slow: float, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "MARKS": str(root / "marks"),
        "STARTED": str(root / "started"),
        "SLOW": str(slow),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "volnux", *args, "--store", "runs.db"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.01)


def only_run(root: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "volnux", "runs", "list", "--json", "--store", "runs.db"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    (row,) = json.loads(out.stdout)
    return dict(row)


def marks(root: Path) -> list[str]:
    return (root / "marks").read_text().splitlines()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_lets_the_running_task_end_then_stops_and_says_how_to_resume(
    project: Path, sig: signal.Signals, code: int
) -> None:
    proc = start(project, 1.0, "run", "flow.pty", "--events", "events.py")
    wait_for(project / "started", proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (out, err)
    run = only_run(project)
    assert run["status"] == "cancelled"
    assert f"run {run['id']} cancelled: stopped by {sig.name}" in err
    assert f"resume with: volnux runs resume {run['id']} --store runs.db" in err
    assert marks(project) == ["First", "Slow started", "Slow"]  # Slow ended; Last never began
    resumed = subprocess.run(
        [sys.executable, "-m", "volnux", "runs", "resume", str(run["id"]), "--store", "runs.db"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "MARKS": str(project / "marks"), "STARTED": str(project / "s2")},
    )
    assert resumed.returncode == 0, resumed.stderr
    assert marks(project) == ["First", "Slow started", "Slow", "Last"]


def test_a_second_signal_cuts_the_running_task_off(project: Path) -> None:
    proc = start(project, 60.0, "run", "flow.pty", "--events", "events.py")
    wait_for(project / "started", proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - began < 10  # not the 60 s the task would take
    assert proc.returncode == 130, (out, err)
    run = only_run(project)
    assert run["status"] == "cancelled"
    assert "stopped by SIGINT; cut off while running: Slow" in err
    shown = subprocess.run(
        [sys.executable, "-m", "volnux", "runs", "show", str(run["id"]), "--store", "runs.db"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "runs again (cut off while running): Slow" in shown

"""A parent killed while its sub-workflow's child run runs: resumed in a fresh process,
it takes the child up where it stopped, and no finished task of the child runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from volnux.states import RunState
from volnux.store import open_store

from .test_running import effects

START = """
import sys
from volnux import Workflow
from volnux.store import open_store

journal = open_store("journal.db")
workflow = Workflow.from_text("Validate |-> <chain> |-> Report", ["events.py"], filename="p.pty")
workflow.run({"effects": "effects.txt", "marker": "marker"}, store=journal, run_id="parent1")
"""

RESUME = """
from volnux import Workflow
from volnux.store import open_store

run = Workflow.resume("parent1", store=open_store("journal.db"))
print(run.status, run.result("Report"))
"""


def python(code: str, root: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOLNUX_")}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_resuming_the_parent_resumes_its_child_where_it_stopped(project: Path) -> None:
    proc = python(START, project)
    marker = project / "marker"
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the child's Slow step never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert effects(project) == ["Double", "Slow"]
    journal = open_store(str(project / "journal.db"))
    assert journal.load_run("parent1").state is RunState.RUNNING
    assert journal.load_run("parent1.chain.1").state is RunState.RUNNING

    resumed = python(RESUME, project)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.split() == ["succeeded", "{'report':", "1041}"]
    # Double had succeeded in the child: not run again; Slow was cut off: run again.
    assert effects(project) == ["Double", "Slow", "Slow", "Finish"]
    journal = open_store(str(project / "journal.db"))
    assert journal.run_ids("parent1.") == ["parent1.chain.1"]
    assert journal.load_run("parent1.chain.1").state is RunState.SUCCEEDED

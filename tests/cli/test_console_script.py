"""The installed `volnux` script and `python -m volnux`, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .support import Project

# The console script pip installed next to the interpreter running the tests.
SCRIPT = Path(sys.executable).parent / ("volnux.exe" if os.name == "nt" else "volnux")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_the_console_script_is_installed() -> None:
    assert SCRIPT.is_file(), f"{SCRIPT} is missing: install the project (pip install -e .)"


def test_the_console_script_runs_a_workflow(project: Project) -> None:
    wf = project.write("hello.pty", "Hello |-> Save\n")
    done = run(str(SCRIPT), "run", wf, "--events", project.events, cwd=project.root)
    assert done.returncode == 0, done.stderr
    assert "Save@1.0.0" in done.stdout
    assert "succeeded in" in done.stdout


def test_the_console_script_exits_1_on_a_failed_run(project: Project) -> None:
    wf = project.write("fail.pty", "Boom * 2\n")
    done = run(str(SCRIPT), "run", wf, "-e", project.events, cwd=project.root)
    assert done.returncode == 1
    assert "Boom (Boom@1.0.0) failed after 2 attempts" in done.stderr
    assert "ValueError: card declined on attempt 2" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_console_script_exits_2_on_a_malformed_input(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    done = run(str(SCRIPT), "run", wf, "-e", project.events, "--input", "name", cwd=project.root)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --input 'name' is not key=value; write --input name=VALUE "
        "(the value is read as JSON if it parses, else as text)"
    ]


def test_python_dash_m_volnux_is_the_same_command(project: Project) -> None:
    done = run(sys.executable, "-m", "volnux", "--help", cwd=project.root)
    assert done.returncode == 0, done.stderr
    for command in ("run", "validate", "graph", "fmt"):
        assert command in done.stdout
    wf = project.write("typo.pty", "Helo\n")
    done = run(
        sys.executable, "-m", "volnux", "validate", wf, "-e", project.events, cwd=project.root
    )
    assert done.returncode == 2
    assert f"{wf}:1:1: unknown event 'Helo'" in done.stderr

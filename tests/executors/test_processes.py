"""The process executor with real processes: a real timeout kill, a real SIGKILL of a
worker, a real ``kill -9`` of the engine, and events loaded from a file by path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import volnux
from volnux import RunState, TaskState, Workflow
from volnux.errors import Unpicklable
from volnux.store import ErrorInfo, MemoryJournal

EVENTS = """
import os
import pathlib
import signal
import threading
import time

import volnux


@volnux.event(executor="process")
def Where() -> list:
    return [os.getpid(), os.getppid()]


@volnux.event(executor="process")
def Hang(marker: str) -> str:
    path = pathlib.Path(marker)
    if not path.exists():  # the first attempt hangs, and says where it runs
        path.write_text(str(os.getpid()))
        time.sleep(60)
        path.write_text("the hung attempt went on")
    return "second attempt"


@volnux.event(executor="process")
def Die(marker: str) -> int:
    path = pathlib.Path(marker)
    if not path.exists():  # the first attempt's worker is killed outright
        path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


@volnux.event(executor="process")
def Exits() -> None:
    os._exit(3)


@volnux.event(executor="process")
def Work(effects: str, seconds: float = 3.0, piped=None) -> int:
    with open(effects, "a") as out:
        out.write(f"started {os.getpid()}\\n")
    time.sleep(seconds)
    with open(effects, "a") as out:
        out.write(f"finished {os.getpid()}\\n")
    return os.getpid()


@volnux.event(executor="process")
def Lock() -> object:
    return threading.Lock()


@volnux.event(executor="process")
def Takes(lock=None) -> str:
    return "never"


@volnux.event(executor="process")
def Square(n: int) -> int:
    return n * n


@volnux.event(executor="process")
def SeesAll(n: int, ctx: volnux.Context) -> list:
    return sorted(ctx.inputs)


@volnux.event(executor="process", resources=volnux.Resources(memory_mb=200))
def Hog(mb: int) -> int:
    block = bytearray(mb * 1024 * 1024)
    return len(block) // (1024 * 1024)
"""


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "proc_events.py"
    path.write_text(EVENTS, encoding="utf-8")
    return path


def ended(pid: int) -> bool:
    """Whether process ``pid`` has exited: gone, or a zombie its new parent has not reaped
    (a worker whose fork server died is handed to init, which reaps in its own time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def run(events: Path, text: str, **inputs: object) -> volnux.Run:
    with Workflow.from_text(text, str(events)) as flow:
        return flow.run(inputs, store=JOURNAL)


#: One journal for the module's runs, to read their failed attempts back.
JOURNAL = MemoryJournal()


def failed_attempts(run_id: str, node_id: str) -> list[ErrorInfo]:
    """The errors of the attempts of ``node_id`` that failed and were retried."""
    records = JOURNAL.load(run_id).tasks
    return [
        r.error
        for r in records
        if r.node_id == node_id and r.state is TaskState.RETRYING and r.error is not None
    ]


def test_an_event_from_a_file_runs_in_a_worker_not_forked_from_the_engine(events: Path) -> None:
    result = run(events, "Where")
    pid, parent = result.tasks["Where"].result
    assert result.state is RunState.SUCCEEDED
    assert pid != os.getpid()
    # Started by the fork server (or spawned), never forked from this threaded process.
    assert parent != os.getpid()


def test_an_attempt_past_its_timeout_has_its_worker_stopped_and_the_retry_runs(
    events: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "hang"
    started = time.monotonic()
    result = run(events, "Hang[timeout=1] * 2", marker=str(marker))
    took = time.monotonic() - started
    view = result.tasks["Hang"]
    assert result.state is RunState.SUCCEEDED and view.result == "second attempt"
    assert view.attempts == 2 and took < 30  # not the 60 s the hung attempt sleeps
    (first,) = failed_attempts(result.id, "Hang")
    assert first.type == "TimeoutError"
    assert "ran past its 1 s timeout: its worker process was stopped" in first.message
    assert result.abandoned == ()  # nothing runs on in the background
    assert ended(int(marker.read_text()))


def test_a_killed_worker_fails_only_its_attempt_which_is_retried(
    events: Path, tmp_path: Path
) -> None:
    marker, effects = tmp_path / "die", tmp_path / "effects"
    result = run(
        events,
        "Die * 2 || Work",
        marker=str(marker),
        effects=str(effects),
        seconds=0.5,
    )
    assert result.state is RunState.SUCCEEDED, result.error
    assert result.tasks["Die"].result != int(marker.read_text())  # a new worker
    assert result.tasks["Work"].state is TaskState.SUCCEEDED  # its sibling went on
    (lost,) = failed_attempts(result.id, "Die")
    assert lost.type == "volnux.errors.WorkerLost"
    assert "running the attempt died: killed by SIGKILL" in lost.message


def test_a_worker_that_exits_fails_the_run_without_retries_and_the_run_ends(
    events: Path,
) -> None:
    result = run(events, "Exits -> Where")
    assert result.state is RunState.FAILED
    assert result.tasks["Where"].state is TaskState.PENDING
    error = result.tasks["Exits"].error
    assert error is not None and error.type == "volnux.errors.WorkerLost"
    assert "exited with status 3" in error.message
    # The pool is whole again: the next run of the same workflow works.
    with Workflow.from_text("Exits -> Where", str(events)) as flow:
        assert flow.run().state is RunState.FAILED
        assert Workflow.from_text("Where", str(events)).run().state is RunState.SUCCEEDED


def test_what_cannot_cross_names_the_event_the_value_and_its_type(events: Path) -> None:
    result = run(events, "Lock")
    error = result.tasks["Lock"].error
    assert error is not None and error.type == "volnux.errors.Unpicklable"
    assert error.message.startswith(
        "event Lock@1.0.0 runs on the process executor, in another process, and its result "
        "cannot be pickled to come back: cannot pickle '_thread.lock' object"
    )
    import threading

    sent = run(events, "Takes", lock=threading.Lock())
    error = sent.tasks["Takes"].error
    assert error is not None
    assert (
        "and workflow input 'lock' (_thread.lock: cannot pickle '_thread.lock' object) "
        "cannot be pickled to go there"
    ) in error.message
    assert issubclass(Unpicklable, TypeError)


def volnux_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "volnux", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workers_stop_when_the_engine_is_killed_and_the_resume_runs_each_task_once(
    events: Path, tmp_path: Path
) -> None:
    effects = tmp_path / "effects"
    (tmp_path / "flow.pty").write_text("Work || Work -> Work\n", encoding="utf-8")
    engine = subprocess.Popen(
        [sys.executable, "-m", "volnux", "run", "flow.pty", "-e", str(events),
         "--store", "runs.db", "-i", f"effects={effects}", "--no-progress"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while effects.read_text().count("started") < 2 if effects.exists() else True:
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait(30)
    workers = [int(line.split()[1]) for line in effects.read_text().splitlines()]
    time.sleep(1.5)  # they check every 0.2 s
    assert [pid for pid in workers if not ended(pid)] == []
    assert "finished" not in effects.read_text()  # no orphan finished a task
    (listed,) = json.loads(volnux_cli("runs", "list", "--json", "--store", "runs.db",
                                      cwd=tmp_path).stdout)  # fmt: skip
    resumed = volnux_cli("runs", "resume", listed["id"], "--store", "runs.db", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    lines = effects.read_text().splitlines()
    # The two killed attempts ran again, then the last task: each finished once.
    assert sum(line.startswith("finished") for line in lines) == 3


def test_an_attempt_past_its_memory_limit_fails_and_the_engine_goes_on(events: Path) -> None:
    failed = run(events, "Hog (0 -> Where)", mb=600)
    error = failed.tasks["Hog"].error
    assert error is not None and error.type == "MemoryError"
    assert failed.tasks["Where"].state is TaskState.SUCCEEDED  # the 0 branch ran
    assert failed.state is RunState.SUCCEEDED
    assert run(events, "Hog", mb=50).tasks["Hog"].result == 50  # within the limit


def test_a_memory_limit_off_the_process_executor_is_refused_at_check_time(events: Path) -> None:
    flow = Workflow.from_text('Where -> Hog[executor="thread"]', str(events))
    with pytest.raises(volnux.PointyError, match="sets memory_mb, which limits a worker process"):
        flow.run({"mb": 1})


def test_an_attempt_sent_to_a_worker_carries_only_the_inputs_its_event_takes(
    events: Path,
) -> None:
    import threading

    # A lock cannot cross to a worker: only an event that may read it (through
    # ctx.inputs) has it sent, and fails saying so; one that takes n alone runs.
    lock = threading.Lock()
    square = run(events, "Square", n=7, lock=lock)
    assert square.state is RunState.SUCCEEDED and square.results["Square"] == 49
    sees = run(events, "SeesAll", n=7, lock=lock)
    assert sees.state is RunState.FAILED
    assert "lock" in (sees.tasks["SeesAll"].error.message)  # type: ignore[union-attr]
    assert run(events, "SeesAll", n=7, other="x").results["SeesAll"] == ["n", "other"]

"""`volnux run` shows live progress for runs longer than a second."""

from __future__ import annotations

import re
import threading

import pytest

import volnux
from volnux.cli.progress import ProgressObserver

from .support import Project, invoke, on_a_terminal

SLOW_EVENTS = """\
import time

import volnux


@volnux.event
def Quick():
    return 1


@volnux.event
def Slow(seconds: float = 1.6):
    time.sleep(seconds)
    return 2


@volnux.event
def Broken():
    raise RuntimeError("broken on purpose")
"""


@pytest.fixture
def slow(project: Project) -> Project:
    (project.root / "slow_events.py").write_text(SLOW_EVENTS, encoding="utf-8")
    return project


def test_the_observer_counts_done_running_failed_and_waiting() -> None:
    gate = threading.Event()
    entered = threading.Event()

    @volnux.event(name="Wait")
    def wait() -> int:
        entered.set()
        gate.wait(10)
        return 1

    @volnux.event(name="Fine")
    def fine() -> int:
        return 1

    @volnux.event(name="Fails")
    def fails() -> int:
        raise RuntimeError("no")

    workflow = volnux.Workflow.from_text(
        "Fine -> (Wait || Fails (0 -> Fine)) -> Fine -> Fine", events=[wait, fine, fails]
    )
    seen = ProgressObserver()
    runner = threading.Thread(target=lambda: workflow.run(observers=[seen]))
    runner.start()
    assert entered.wait(10)
    while seen.counts().done < 2:  # Fails and its handler end on their own; Wait holds
        threading.Event().wait(0.01)
    during = seen.counts()
    gate.set()
    runner.join(10)
    after = seen.counts()
    workflow.close()
    assert (during.total, during.done, during.running, during.failed) == (6, 2, ("Wait",), 1)
    assert during.waiting == 2
    assert re.fullmatch(
        r"2/6 done, 1 running \(Wait\), 1 failed, 2 waiting, \d+\.\ds", during.line()
    )
    # The handler (Fine#2) and both later tasks ran; the fault stays counted.
    assert (after.done, after.running, after.failed, after.waiting) == (5, (), 1, 0)


def test_a_run_over_a_second_prints_plain_progress_lines_when_not_a_terminal(slow: Project) -> None:
    wf = slow.write("slow.pty", "Quick -> Slow -> Quick\n")
    result = invoke("run", wf, "-e", str(slow.root / "slow_events.py"), "--store", "memory:")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress:")]
    assert lines, result.stderr
    assert re.fullmatch(
        r"progress: 1/3 done, 1 running \(Slow\), 0 failed, 1 waiting, 1\.\ds", lines[0]
    )
    assert "progress:" not in result.stdout  # the task table stays clean for pipes


def test_a_quick_run_and_no_progress_print_no_progress(slow: Project) -> None:
    quick = slow.write("quick.pty", "Quick -> Quick\n")
    result = invoke("run", quick, "-e", str(slow.root / "slow_events.py"), "--store", "memory:")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    wf = slow.write("slow.pty", "Quick -> Slow\n")
    quiet = invoke(
        "run", wf, "-e", str(slow.root / "slow_events.py"), "--store", "memory:", "--no-progress"
    )
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""


def test_on_a_terminal_progress_is_redrawn_in_place_and_names_the_running_task(
    slow: Project,
) -> None:
    wf = slow.write("slow.pty", "Quick -> Slow -> Broken\n")
    code, screen = on_a_terminal(
        ["run", wf, "-e", str(slow.root / "slow_events.py"), "--store", "memory:"], slow.root
    )
    assert code == 1, screen
    assert "1/3 done" in screen and "running: Slow" in screen
    assert "\x1b[" in screen  # colour and cursor movement: drawn by rich, in place
    assert "progress:" not in screen  # not the plain lines
    # The explanation of the failure follows the (erased) progress.
    assert screen.rindex("broken on purpose") > screen.rindex("running: Slow")

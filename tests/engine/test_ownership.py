"""One driver per run: a lease with an epoch that fences every write, proven with processes.

A run is crashed at a kill point (SIGKILL after its k-th journal write), then
several processes resume it at the same moment, with and without --force.
Each execution of a task appends ``node attempt`` to a side-effect file:
no (node, attempt) may run twice, and every execution must be journaled as
that attempt of that task (its RUNNING record), so the journal's attempt
counts are what really ran.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import volnux
from volnux import Fenced, ResumeRefused, RunClaimed, RunState, TaskState
from volnux.engine.owners import LEASE_S, owner_alive, owner_id, process_ticks
from volnux.notes import Cancelled, RunNote, Started
from volnux.store import RunRecord, SQLiteJournal, open_store

CHILD = Path(__file__).with_name("crash_child.py")
RESUMERS = 4


def start(*args: str, delay: float = 0.0) -> subprocess.Popen[str]:
    """The crash child; each task execution lasts ``delay`` seconds more."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VOLNUX_CRASH_DELAY": str(delay)},
    )


def executions(effects: Path) -> list[tuple[str, int]]:
    lines = effects.read_text().splitlines() if effects.exists() else []
    return [(node, int(attempt)) for node, attempt in (line.split() for line in lines)]


def journaled_attempts(store: str, run_id: str) -> set[tuple[str, int]]:
    journal = open_store(store)
    try:
        snap = journal.load(run_id)
    finally:
        journal.close()
    return {(r.node_id, r.attempt) for r in snap.tasks if r.state is TaskState.RUNNING}


def final_state(store: str, run_id: str) -> RunState:
    journal = open_store(store)
    try:
        return journal.load_run(run_id).state
    finally:
        journal.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_concurrent_resumes_run_each_attempt_once(
    tmp_path: Path, force: bool, kind: str, request: pytest.FixtureRequest
) -> None:
    tally: Counter[str] = Counter()
    for k in (2, 4, 7, 10):
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        db = (
            request.getfixturevalue("postgres_url") if kind == "postgresql"
            else str(folder / "j.db")
        )  # fmt: skip
        effects, run_id = folder / "effects", f"run{k}"
        crashed = start("run", db, run_id, str(effects), str(k))
        crashed.communicate(timeout=60)
        assert crashed.returncode == -signal.SIGKILL
        extra = ["force"] if force else []
        # Tasks of 0.1 s: the resumers' runs overlap (their start-up varies by tenths).
        resumers = [start("resume", db, run_id, *extra, delay=0.1) for _ in range(RESUMERS)]
        outcomes = [p.communicate(timeout=120) for p in resumers]
        for (out, err), proc in zip(outcomes, resumers, strict=True):
            if proc.returncode == 0:
                tally["succeeded"] += out.strip() == "succeeded"
            elif "Fenced" in err:
                tally["fenced"] += 1
            elif "RunClaimed" in err or "still running" in err:
                tally["refused"] += 1
            else:  # "already succeeded": it came after the winner had finished
                assert "already succeeded" in err, err
                tally["late"] += 1
        assert final_state(db, run_id) is RunState.SUCCEEDED
        ran = executions(effects)
        twice = [pair for pair, n in Counter(ran).items() if n > 1]
        assert twice == [], f"k={k}: the same attempt ran twice: {twice}"
        unjournaled = set(ran) - journaled_attempts(db, run_id)
        assert unjournaled == set(), f"k={k}: ran without being journaled: {unjournaled}"
    # Every kill point was finished by someone; without --force by exactly one.
    assert tally["succeeded"] >= 4
    if not force:
        assert tally["succeeded"] == 4 and tally["fenced"] == 0
    print(f"\nconcurrent resumes ({'force' if force else 'plain'}): {dict(tally)}")


# --------------------------------------------------------------- the lease


def make_run(journal: SQLiteJournal, run_id: str = "r", **lease: object) -> RunRecord:
    now = time.time()
    record = RunRecord(run_id, "w", "A", "f", {}, {}, RunState.RUNNING, now, now, **lease)  # type: ignore[arg-type]
    journal.create_run(record)
    return record


def test_a_taken_over_run_refuses_every_write_of_its_old_owner(tmp_path: Path) -> None:
    from volnux.store import LogEntry, TaskRecord

    with SQLiteJournal(tmp_path / "j.db") as journal:
        make_run(journal, owner="old", epoch=1, heartbeat_at=time.time())
        assert journal.claim("r", "new", time.time(), None) == 2
        writes = [
            lambda: journal.record([TaskRecord("r", "A", TaskState.RUNNING, 1, 1.0)], epoch=1),
            lambda: journal.add_note(RunNote("r", "x", 1.0), epoch=1),
            lambda: journal.add_logs([LogEntry("r", "A", 1, 1.0, 20, "hi")], epoch=1),
            lambda: journal.set_run_state("r", RunState.FAILED, 1.0, epoch=1),
            lambda: journal.heartbeat("r", 1, 1.0),
        ]
        for write in writes:
            with pytest.raises(Fenced, match="run r is now driven by another process"):
                write()
        snap = journal.load("r")
        assert (list(snap.tasks), list(snap.notes), journal.logs("r")) == ([], [], [])
        assert (snap.run.state, snap.run.owner, snap.run.epoch) == (RunState.RUNNING, "new", 2)
        journal.record([TaskRecord("r", "A", TaskState.RUNNING, 1, 1.0)], epoch=2)
        assert len(journal.load("r").tasks) == 1


def test_two_claims_of_one_epoch_one_wins(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as one, SQLiteJournal(tmp_path / "j.db") as two:
        make_run(one, epoch=3)
        assert one.claim("r", "a", 1.0, 3) == 4
        with pytest.raises(RunClaimed, match="taken over by another process just now"):
            two.claim("r", "b", 1.0, 3)
        assert isinstance(RunClaimed("x"), ResumeRefused)


def test_ending_a_run_ends_its_lease_and_release_gives_it_up(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        make_run(journal, owner="me", epoch=1, heartbeat_at=5.0)
        journal.set_run_state("r", RunState.PAUSED, 6.0, epoch=1)
        run = journal.load_run("r")
        assert (run.owner, run.heartbeat_at, run.epoch) == (None, None, 1)
        epoch = journal.claim("r", "me", 7.0, 1)
        journal.release("r", epoch - 1)  # an old epoch releases nothing
        assert journal.load_run("r").owner == "me"
        journal.release("r", epoch)
        assert journal.load_run("r").owner is None


# ------------------------------------------------------- is the owner alive


def lease(journal: SQLiteJournal, pid: int, ticks: int | None, beat: float) -> RunRecord:
    owner = f"{os.uname().nodename}/{pid}/{ticks}/abcd1234"
    make_run(journal, owner=owner, epoch=1, heartbeat_at=beat)
    started = Started(pid, os.uname().nodename, "/", owner=owner, ticks=ticks)
    journal.add_note(RunNote.of("r", beat, started))
    return journal.load_run("r")


@pytest.fixture
def stranger() -> object:
    """An unrelated live process, as a pid reused after a container restart."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_reused_pid_does_not_keep_a_dead_owner_alive(tmp_path: Path, stranger: object) -> None:
    pid = stranger.pid  # type: ignore[attr-defined]
    ticks = process_ticks(pid)
    assert ticks is not None
    with SQLiteJournal(tmp_path / "j.db") as journal:
        run = lease(journal, pid, ticks, time.time())
        notes = journal.load_notes("r")
        assert owner_alive(run, notes)  # that very process, heartbeating
    with SQLiteJournal(tmp_path / "k.db") as journal:
        run = lease(journal, pid, ticks + 1, time.time())  # the pid, but another process
        assert not owner_alive(run, journal.load_notes("r"))
        assert volnux.engine.owners.cancel_run(journal, "r") is RunState.CANCELLED
        error = journal.load_run("r").error or ""
        assert error.startswith(f"cancelled by {getpass.getuser()}@{socket.gethostname()}")
        assert error.endswith("; its process had died") and f"(pid {os.getpid()})" in error


def test_cancelling_a_paused_run_records_who_and_when(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        make_run(journal)
        journal.set_run_state("r", RunState.PAUSED, time.time(), "A needs an operator: top up")
        before = time.time()
        assert volnux.engine.owners.cancel_run(journal, "r") is RunState.CANCELLED
        error = journal.load_run("r").error or ""
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(before))
        assert error.startswith(f"cancelled by {getpass.getuser()}@") and stamp in error
        (note,) = [n.read() for n in journal.load_notes("r") if n.kind == "cancelled"]
        assert isinstance(note, Cancelled) and note.user == getpass.getuser()


def test_a_lapsed_lease_is_dead_and_a_fresh_one_elsewhere_is_alive(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        make_run(journal, owner="otherhost/1/2/abcd1234", epoch=1, heartbeat_at=time.time())
        run = journal.load_run("r")
        assert owner_alive(run, [])
        assert not owner_alive(run, [], now=time.time() + LEASE_S + 1)
        assert owner_id() != "otherhost/1/2/abcd1234"


def test_a_running_engine_renews_its_lease_and_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from volnux.engine import runner

    monkeypatch.setattr(runner, "HEARTBEAT_S", 0.05)
    release = threading.Event()

    @volnux.event
    def Wait() -> str:
        release.wait(10)
        return "done"

    beats: list[float] = []
    with SQLiteJournal(tmp_path / "j.db") as journal, SQLiteJournal(tmp_path / "j.db") as other:
        wf = volnux.Workflow.from_text("Wait", [Wait])
        result: list[volnux.Run] = []
        driver = threading.Thread(target=lambda: result.append(wf.run(store=journal, run_id="r")))
        driver.start()
        deadline = time.monotonic() + 10
        while len(set(beats)) < 3 and time.monotonic() < deadline:
            run = other.load_run("r") if other.list_runs() else None
            if run is not None and run.heartbeat_at is not None:
                beats.append(run.heartbeat_at)
            time.sleep(0.02)
        release.set()
        driver.join(10)
        run = other.load_run("r")
    assert len(set(beats)) >= 3 and beats == sorted(beats)  # renewed, and only forward
    assert result[0].succeeded
    assert (run.owner, run.heartbeat_at, run.epoch) == (None, None, 1)  # the lease ended


def test_pause_run_from_python_pauses_between_tasks_and_resume_finishes(tmp_path: Path) -> None:
    ran: list[str] = []
    journal = SQLiteJournal(tmp_path / "p.db")

    @volnux.event
    def First(ctx: volnux.Context) -> int:
        assert volnux.pause_run(journal, ctx.run_id) is RunState.RUNNING  # asked, not yet
        time.sleep(0.6)  # the engine sees the request while First still runs
        ran.append("First")
        return 1

    @volnux.event
    def Second() -> int:
        ran.append("Second")
        return 2

    flow = volnux.Workflow.from_text("First -> Second", [First, Second])
    with journal:
        run = flow.run(store=journal)
        assert run.state is RunState.PAUSED and ran == ["First"]
        assert run.error is not None and run.error.startswith(f"paused by {getpass.getuser()}@")
        assert run.tasks["First"].state is TaskState.SUCCEEDED
        assert volnux.pause_run(journal, run.id) is RunState.PAUSED  # nothing to do
        done = volnux.Workflow.resume(run.id, store=journal, events=[First, Second])
        assert done.state is RunState.SUCCEEDED and ran == ["First", "Second"]
        # A cancel of a paused run marks it at once.
        again = flow.run(store=journal)
        assert volnux.cancel_run(journal, again.id) is RunState.CANCELLED

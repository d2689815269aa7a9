"""A journal written by an earlier Volnux opens, shows and resumes with this one.

``journal_c6daebf.sql`` is a real journal file recorded by Volnux at commit
c6daebf (schema 3), kept as SQL text: seven runs of the workflows in its
notes, with the events of ``events.py``.  Then:

=============  ==========  ============================================
run            state       how it got there
=============  ==========  ============================================
2bc67f65d7c6   succeeded   pipes, a retry, a group, a branch, a deprecated event
63d50a87c154   failed      a group retried twice around Boom, which raised
c543f32d8389   running     its process was SIGKILLed inside Crash
1a01a0655637   paused      Ask raised NeedsOperator
91894f0955b4   failed      Review chose descriptor 3, which has no branch
ca965b0a4c73   cancelled   SIGKILLed inside Crash, then ``runs cancel``
5f6ec274504f   succeeded   SIGKILLed, then resumed with a changed workflow and --force
=============  ==========  ============================================

Each test rebuilds the file, so each starts from exactly what was recorded.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volnux import ResumeRefused, RunState, Workflow
from volnux.cli.app import app
from volnux.store import SQLiteJournal

HERE = Path(__file__).parent
DUMP = HERE / "journal_c6daebf.sql"
EVENTS = [str(HERE / "events.py")]

OK, FAILED, CRASHED, PAUSED = "2bc67f65d7c6", "63d50a87c154", "c543f32d8389", "1a01a0655637"
UNROUTED, CANCELLED, FORCED = "91894f0955b4", "ca965b0a4c73", "5f6ec274504f"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The recorded journal as a file again; task executions counted in ``effects``."""
    path = tmp_path / "journal.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(DUMP.read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    monkeypatch.chdir(tmp_path)  # the runs' relative .pty names must not resolve here
    monkeypatch.setenv("VOLNUX_FIXTURE_EFFECTS", str(tmp_path / "effects"))
    for name in ("VOLNUX_FIXTURE_FIXED", "VOLNUX_FIXTURE_CRASH", "VOLNUX_FIXTURE_APPROVED"):
        monkeypatch.delenv(name, raising=False)
    return path


def executed(db: Path) -> Counter[str]:
    effects = db.parent / "effects"
    return Counter(effects.read_text().split()) if effects.exists() else Counter()


def volnux(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_every_recorded_run_lists_with_its_state(db: Path) -> None:
    with SQLiteJournal(db) as journal:
        states = {r.id: r.state for r in journal.list_runs()}
    assert states == {
        OK: RunState.SUCCEEDED,
        FAILED: RunState.FAILED,
        CRASHED: RunState.RUNNING,
        PAUSED: RunState.PAUSED,
        UNROUTED: RunState.FAILED,
        CANCELLED: RunState.CANCELLED,
        FORCED: RunState.SUCCEEDED,
    }
    code, out = volnux("runs", "list", "--store", str(db), "--json")
    assert code == 0
    assert {row["id"]: row["failed_task"] for row in json.loads(out)}[FAILED] == "Boom"


@pytest.mark.parametrize("run_id", [OK, FAILED, CRASHED, PAUSED, UNROUTED, CANCELLED, FORCED])
def test_every_recorded_run_shows(db: Path, run_id: str) -> None:
    code, out = volnux("runs", "show", run_id, "--store", str(db))
    assert code == 0, out
    assert run_id in out
    code, out = volnux("runs", "show", run_id, "--store", str(db), "--json")
    assert code == 0, out
    assert json.loads(out)["id"] == run_id


def test_the_failed_run_shows_why_and_what_retry_would_do(db: Path) -> None:
    code, out = volnux("runs", "show", FAILED, "--store", str(db))
    assert code == 0
    assert "ValueError: card declined" in out
    assert f"volnux runs retry {FAILED}" in out
    assert "runs again: Boom" in out


def test_the_failed_run_retries_without_running_what_succeeded(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLNUX_FIXTURE_FIXED", "1")
    with SQLiteJournal(db) as journal:
        run = Workflow.retry(FAILED, store=journal, events=EVENTS)
    assert run.status == "succeeded", run.error
    assert run.results["Save"] == {"saved": None}
    assert executed(db) == Counter({"Boom": 1, "Save": 1})


def test_the_crashed_run_resumes_where_it_was_killed(db: Path) -> None:
    with SQLiteJournal(db) as journal:
        # force: the recorded owner pid may belong to another process here.
        run = Workflow.resume(CRASHED, store=journal, events=EVENTS, force=True)
        notes = [n.kind for n in journal.load(CRASHED).notes]
    assert run.status == "succeeded", run.error
    assert run.results["Double"] == [2, 4, 6]
    assert run.tasks["Crash"].attempts == 2  # the killed attempt counts
    assert executed(db) == Counter({"Crash": 1, "Save": 1})
    assert "forced-change" not in notes and "changed" not in notes


def test_the_paused_run_resumes_once_approved(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteJournal(db) as journal:
        again = Workflow.resume(PAUSED, store=journal, events=EVENTS)
        assert again.status == "paused"
        monkeypatch.setenv("VOLNUX_FIXTURE_APPROVED", "1")
        run = Workflow.resume(PAUSED, store=journal, events=EVENTS)
    assert run.status == "succeeded", run.error
    assert executed(db) == Counter({"Ask": 2, "Save": 1})


def test_the_cancelled_run_resumes(db: Path) -> None:
    code, out = volnux("runs", "resume", CANCELLED, "--store", str(db), "--events", EVENTS[0])
    assert code == 0, out
    assert f"run {CANCELLED} succeeded" in out
    assert executed(db) == Counter({"Crash": 1, "Save": 1})


def test_the_unrouted_run_fails_the_same_way_on_retry(db: Path) -> None:
    code, out = volnux("runs", "retry", UNROUTED, "--store", str(db), "--events", EVENTS[0])
    assert code == 1
    assert "chose descriptor 3" in out
    assert executed(db) == Counter({"Review": 1})


def test_a_succeeded_run_is_not_resumed(db: Path) -> None:
    with SQLiteJournal(db) as journal:
        for run_id in (OK, FORCED):
            with pytest.raises(ResumeRefused, match="already succeeded"):
                Workflow.resume(run_id, store=journal, events=EVENTS)
    assert executed(db) == Counter()


def test_the_forced_resume_follows_the_changed_workflow(db: Path) -> None:
    code, out = volnux("runs", "show", FORCED, "--store", str(db), "--json")
    assert code == 0
    tasks = [t["node"] for t in json.loads(out)["tasks"]]
    assert tasks == ["Fetch", "Double", "Crash", "Notify", "Save"]


def test_new_runs_go_on_in_the_old_file(db: Path) -> None:
    wf = Workflow.from_text("Fetch |-> Double", EVENTS)
    with SQLiteJournal(db) as journal:
        run = wf.run({"n": 2}, store=journal)
        assert journal.load(run.id).run.state is RunState.SUCCEEDED
        assert len(journal.list_runs()) == 8
    assert run.results["Double"] == [2, 4]


def test_the_forced_resume_shows_what_changed_in_the_old_wording(db: Path) -> None:
    code, out = volnux("runs", "show", FORCED, "--store", str(db), "--json")
    assert code == 0
    (change,) = json.loads(out)["changes"]
    assert change["forced"] is True and change["verb"] == "resume"
    # Notes of that version kept no node list: the nodes are read from the lines.
    assert sorted(change["nodes"]) == ["Crash", "Double", "Fetch", "Notify", "Save"]
    code, out = volnux("runs", "show", FORCED, "--store", str(db))
    assert "resumed with --force at" in out and "  Notify: added (" in out


def test_the_cancelled_run_of_that_version_does_not_claim_a_task_error(db: Path) -> None:
    code, out = volnux("runs", "show", CANCELLED, "--store", str(db))
    assert code == 0 and "no task error" not in out

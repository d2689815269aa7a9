"""``volnux runs``: list, show, resume, retry, cancel, through the real command."""

from __future__ import annotations

import getpass
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

EVENTS = """
import os, time
import volnux

def _mark(ctx):
    with open(os.environ["MARKS"], "a") as f:
        f.write(ctx.node_id + "\\n")

@volnux.event
def Fetch(ctx):
    _mark(ctx)
    return {"rows": 3}

@volnux.event
def Slow(ctx, piped=None):
    _mark(ctx)
    time.sleep(float(os.environ.get("SLOW", "0")))
    return "slow done"

@volnux.event
def Store(ctx, piped=None):
    _mark(ctx)
    if os.environ.get("BREAK_STORE"):
        raise RuntimeError("disk full")
    return "stored"
"""

WORKFLOW = "Fetch |-> Slow -> Store\n"


def volnux(
    tmp: Path, *args: str, env: dict[str, str] | None = None, check: int | None = None
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "volnux", *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MARKS": str(tmp / "marks"), **(env or {})},
    )
    if check is not None:
        assert out.returncode == check, (out.stdout, out.stderr)
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "events.py").write_text(EVENTS)
    (tmp_path / "flow.pty").write_text(WORKFLOW)
    return tmp_path


def marks(tmp: Path) -> list[str]:
    path = tmp / "marks"
    return path.read_text().split() if path.exists() else []


def only_run(tmp: Path) -> dict[str, object]:
    rows = json.loads(volnux(tmp, "runs", "list", "--json", check=0).stdout)
    assert len(rows) == 1
    return rows[0]


def test_list_and_show_a_succeeded_run(project: Path) -> None:
    volnux(project, "run", "flow.pty", "--events", "events.py", check=0)
    row = only_run(project)
    assert row["status"] == "succeeded" and row["workflow"] == "flow"
    out = volnux(project, "runs", "list", check=0).stdout
    assert str(row["id"]) in out and "succeeded" in out
    shown = volnux(project, "runs", "show", str(row["id"]), check=0).stdout
    assert "path: Fetch -> Slow -> Store" in shown
    assert "nothing to resume" in shown
    data = json.loads(volnux(project, "runs", "show", str(row["id"]), "--json", check=0).stdout)
    assert [t["node"] for t in data["tasks"]] == ["Fetch", "Slow", "Store"]
    assert data["tasks"][0]["event"] == "Fetch@1.0.0"
    assert data["tasks"][0]["source"].endswith("events.py")
    fingerprint = data["tasks"][0]["code_fingerprint"]
    assert len(fingerprint) == 16
    assert fingerprint[:8] in shown  # the table shows which code ran, too


def test_failed_run_shows_what_retry_reruns_and_retry_keeps_the_rest(project: Path) -> None:
    failed = volnux(project, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"})
    assert failed.returncode == 1
    run_id = str(only_run(project)["id"])
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    assert "RuntimeError: disk full" in shown
    assert f"retry with: volnux runs retry {run_id}" in shown
    assert "runs again: Store" in shown and "keeps: Fetch, Slow" in shown
    # Resume is the wrong verb for a failed run, and says which one to use.
    wrong = volnux(project, "runs", "resume", run_id, check=2)
    assert f"volnux runs retry {run_id}" in wrong.stderr
    volnux(project, "runs", "retry", run_id, check=0)
    assert marks(project) == ["Fetch", "Slow", "Store", "Store"]
    assert only_run(project)["status"] == "succeeded"


def test_retry_after_fixing_the_failed_event_is_allowed(project: Path) -> None:
    source = project / "events.py"
    source.write_text(
        source.read_text().replace('raise RuntimeError("disk full")', "raise ValueError('bug')")
    )
    volnux(project, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"}, check=1)
    run_id = str(only_run(project)["id"])
    source.write_text(EVENTS)  # the fix: only the failed event's code changed
    volnux(project, "runs", "retry", run_id, check=0)
    notes = _notes(project, run_id)
    assert any(kind == "changed" for kind, _ in notes)


def test_resume_refuses_a_changed_started_node_and_force_records_it(project: Path) -> None:
    run_id = _crashed_run(project)  # Fetch and Slow started; Store did not
    (project / "flow.pty").write_text("Fetch |-> Slow[timeout=5] -> Store\n")
    refused = volnux(project, "runs", "resume", run_id, check=2)
    assert (
        "Slow (line 1 before, line 1 now): its attributes changed from none to [timeout=5]"
        " (already started)" in refused.stderr
    )
    assert "attrs=" not in refused.stderr and "/seq" not in refused.stderr
    assert "--force" in refused.stderr
    volnux(project, "runs", "resume", run_id, "--force", check=0)
    assert any(kind == "forced-change" for kind, _ in _notes(project, run_id))
    # The run says from then on that it was forced, and what had changed.
    change = (
        "Slow (line 1 before, line 1 now): its attributes changed from none to [timeout=5]"
        " (already started)"
    )
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    heading = re.search(r"^resumed with --force at [\d-]+ [\d:]+: .*\n  (.*)$", shown, re.M)
    assert heading is not None and heading.group(1) == change, shown
    data = json.loads(volnux(project, "runs", "show", run_id, "--json", check=0).stdout)
    (recorded,) = data["changes"]
    assert recorded["forced"] is True and recorded["verb"] == "resume"
    assert recorded["nodes"] == ["Slow"] and recorded["changes"] == [change]
    graph = volnux(project, "runs", "graph", run_id, check=0).stdout
    assert "succeeded (resumed with --force)" in graph
    slow = next(line for line in graph.splitlines() if line.startswith('  "Slow" ['))
    assert "changed when resumed with --force" in slow
    fetch = next(line for line in graph.splitlines() if line.startswith('  "Fetch" ['))
    assert "changed" not in fetch


def test_retry_refused_after_a_version_change_says_retried(project: Path) -> None:
    volnux(project, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"}, check=1)
    run_id = str(only_run(project)["id"])
    source = project / "events.py"
    source.write_text(
        EVENTS.replace("@volnux.event\ndef Slow", '@volnux.event(version="2.0")\ndef Slow')
    )
    refused = volnux(project, "runs", "retry", run_id, check=2)
    assert f"run {run_id} cannot be retried:" in refused.stderr
    assert "Slow (line 1 before, line 1 now): event Slow@1.0.0 is now Slow@2.0" in refused.stderr


def test_resume_allows_changes_to_nodes_not_started(project: Path) -> None:
    run_id = _crashed_run(project)
    (project / "flow.pty").write_text("Fetch |-> Slow -> Store[timeout=9]\n")
    volnux(project, "runs", "resume", run_id, check=0)
    assert any(kind == "changed" for kind, _ in _notes(project, run_id))
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    assert "the workflow had changed where the run had not started" in shown
    assert "--force" not in shown
    data = json.loads(volnux(project, "runs", "show", run_id, "--json", check=0).stdout)
    assert [(c["forced"], c["nodes"]) for c in data["changes"]] == [(False, ["Store"])]


def test_crashed_run_resumes_in_a_fresh_process_without_repeating_work(project: Path) -> None:
    run_id = _crashed_run(project)
    before = marks(project)
    assert before[:1] == ["Fetch"] and "Store" not in before
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    assert f"resume with: volnux runs resume {run_id}" in shown
    assert "runs again (cut off while running): Slow" in shown
    volnux(project, "runs", "resume", run_id, check=0)
    after = marks(project)
    assert after.count("Fetch") == 1  # journaled success: not run again
    assert after.count("Slow") == 2  # cut off by the kill: run again (at least once)
    assert after.count("Store") == 1
    data = json.loads(volnux(project, "runs", "show", run_id, "--json", check=0).stdout)
    slow = next(t for t in data["tasks"] if t["node"] == "Slow")
    assert slow["interrupted"] == 1 and slow["attempts"] == 2


def test_cancel_stops_a_run_in_another_process_and_resume_finishes_it(project: Path) -> None:
    proc = _start(project, env={"SLOW": "3"})
    run_id = _wait_for_node(project, proc, "Slow")
    out = volnux(project, "runs", "cancel", run_id, check=0)
    assert "cancelled" in out.stdout
    assert proc.wait(timeout=30) == 1  # the run did not succeed
    assert only_run(project)["status"] == "cancelled"
    assert "Store" not in marks(project)
    # Who cancelled it and when, where the run itself reports, and what resume does.
    who = rf"cancelled by {re.escape(getpass.getuser())}@{re.escape(socket.gethostname())}"
    when = r" \(pid \d+\) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    _, err = proc.communicate()
    assert re.search(rf"^run {run_id} {who}{when}", err, re.M), err
    assert "no task error" not in err and f"resume with: volnux runs resume {run_id}" in err
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    assert re.search(rf"^{who}{when}", shown, re.M), shown
    assert "not started yet: Store" in shown and "keeps: Fetch, Slow" in shown
    volnux(project, "runs", "resume", run_id, check=0)
    assert marks(project).count("Slow") == 1 and marks(project).count("Store") == 1


def test_pause_lets_running_tasks_finish_and_resume_continues(project: Path) -> None:
    proc = _start(project, env={"SLOW": "2"})
    run_id = _wait_for_node(project, proc, "Slow")
    out = volnux(project, "runs", "pause", run_id, check=0)
    assert out.stdout == f"run {run_id} paused; `volnux runs resume {run_id}` continues it\n"
    assert proc.wait(timeout=30) == 1
    _, err = proc.communicate()
    data = json.loads(volnux(project, "runs", "show", run_id, "--json", check=0).stdout)
    assert data["status"] == "paused"
    # The attempt that was running finished and was journaled; nothing new started.
    states = {t["node"]: t["state"] for t in data["tasks"]}
    assert states == {"Fetch": "succeeded", "Slow": "succeeded", "Store": "pending"}
    who = rf"paused by {re.escape(getpass.getuser())}@{re.escape(socket.gethostname())}"
    assert re.match(rf"{who} \(pid \d+\) at ", data["error"]), data["error"]
    assert re.search(rf"^run {run_id} {who}", err, re.M), err
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    assert re.search(rf"^{who}", shown, re.M) and "not started yet: Store" in shown
    again = volnux(project, "runs", "pause", run_id, check=0)
    assert again.stdout == f"run {run_id} is paused; nothing to pause\n"
    volnux(project, "runs", "resume", run_id, check=0)
    assert marks(project) == ["Fetch", "Slow", "Store"]  # nothing ran twice
    assert only_run(project)["status"] == "succeeded"


def test_an_operator_skips_a_failed_task_then_reruns_from_one(project: Path) -> None:
    volnux(project, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"}, check=1)
    run_id = str(only_run(project)["id"])
    bad = volnux(project, "runs", "skip", run_id, "Store", "--result", "{nope", check=2)
    assert "--result is not JSON" in bad.stderr
    done = volnux(project, "runs", "skip", run_id, "Store", "--result", '"by hand"', check=0)
    assert f"run {run_id} succeeded" in done.stdout
    assert marks(project) == ["Fetch", "Slow", "Store"]  # Store did not run again
    shown = volnux(project, "runs", "show", run_id, check=0).stdout
    assert re.search(rf"^operator: skip Store, by {re.escape(getpass.getuser())}@", shown, re.M)
    data = json.loads(volnux(project, "runs", "show", run_id, "--json", check=0).stdout)
    store = next(t for t in data["tasks"] if t["node"] == "Store")
    assert (store["state"], store["result"]) == ("skipped", "by hand")
    assert [(o["action"], o["node"]) for o in data["operator"]] == [("skip", "Store")]
    # A result found wrong later: Slow and what follows run again, Fetch is kept.
    volnux(project, "runs", "retry", run_id, "--from", "Slow", check=0)
    assert marks(project) == ["Fetch", "Slow", "Store", "Slow", "Store"]
    refused = volnux(project, "runs", "mark-succeeded", run_id, "Slow", check=2)
    assert "succeeded; there is no task to declare done" in refused.stderr


def test_unknown_run_is_a_usage_error(project: Path) -> None:
    volnux(project, "run", "flow.pty", "--events", "events.py", check=0)
    for verb in ("show", "resume", "retry", "cancel"):
        out = volnux(project, "runs", verb, "nosuchrun", check=2)
        assert "no run 'nosuchrun'" in out.stderr and "Traceback" not in out.stderr


def test_reading_runs_never_creates_a_journal_and_says_where_one_is(project: Path) -> None:
    sub = project / "sub" / "deeper"
    sub.mkdir(parents=True)
    for args in (("list",), ("show", "abc"), ("logs", "abc"), ("cancel", "abc")):
        out = volnux(sub, "runs", *args, check=2)
        assert f"no journal at {sub / '.volnux' / 'volnux.db'}" in out.stderr
    assert not (sub / ".volnux").exists() and not (project / ".volnux").exists()
    assert not list(project.rglob("*.db"))
    mistyped = volnux(project, "runs", "list", "--store", "runz.db", check=2)
    assert f"no journal at {project / 'runz.db'}" in mistyped.stderr
    assert not (project / "runz.db").exists()
    # Once `volnux run` recorded a run in the project, a subfolder is told where.
    volnux(project, "run", "flow.pty", "--events", "events.py", check=0)
    hinted = volnux(sub, "runs", "list", check=2)
    where = project / ".volnux" / "volnux.db"
    assert f"there is one at {where} (pass --store {where}, or run the command from " in (
        hinted.stderr
    )


# ------------------------------------------------------------------ helpers


def _start(tmp: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "volnux", "run", "flow.pty", "-e", "events.py"],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MARKS": str(tmp / "marks"), **env},
    )


def _wait_for_node(tmp: Path, proc: subprocess.Popen[str], node: str) -> str:
    deadline = time.monotonic() + 60
    while node not in marks(tmp):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return str(only_run(tmp)["id"])


def _crashed_run(tmp: Path) -> str:
    """A run SIGKILLed while Slow runs: Fetch journaled as done, Slow cut off."""
    proc = _start(tmp, env={"SLOW": "30"})
    run_id = _wait_for_node(tmp, proc, "Slow")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return run_id


def _notes(tmp: Path, run_id: str) -> list[tuple[str, dict[str, object]]]:
    code = textwrap.dedent(
        f"""
        import json
        from volnux.store import open_store
        snap = open_store(None).load({run_id!r})
        print(json.dumps([[n.kind, n.detail] for n in snap.notes]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp, capture_output=True, text=True, check=True
    )
    return [(kind, detail) for kind, detail in json.loads(out.stdout)]


def test_runs_commands_use_the_project_configured_store(project: Path) -> None:
    (project / "volnux.toml").write_text('store = "sqlite:runs/journal.db"\n')
    volnux(project, "run", "flow.pty", "-e", "events.py", check=0)
    assert (project / "runs" / "journal.db").exists()
    assert not (project / ".volnux" / "volnux.db").exists()
    assert only_run(project)["status"] == "succeeded"


def test_show_summarises_a_run_past_its_limit_and_lists_on_request(project: Path) -> None:
    volnux(project, "run", "flow.pty", "-e", "events.py", env={"BREAK_STORE": "1"}, check=1)
    run_id = str(only_run(project)["id"])
    summary = volnux(project, "runs", "show", run_id, "--limit", "2", check=0).stdout
    assert "tasks: 2 succeeded, 1 failed" in summary
    table = summary.split("tasks: 2 succeeded, 1 failed", 1)[1].split("\n\n", 1)[0]
    assert "Store" in table and "Fetch" not in table  # the failure, not what went well
    assert "2 more tasks not listed: --all lists every task" in summary
    assert "RuntimeError: disk full" in summary  # the explanation is still there
    every = volnux(project, "runs", "show", run_id, "--limit", "2", "--all", check=0).stdout
    assert all(node in every for node in ("Fetch", "Slow", "Store"))
    assert "not listed" not in every
    chosen = volnux(project, "runs", "show", run_id, "--state", "succeeded", check=0).stdout
    listed = chosen.split("\n\n")[1]
    assert "Fetch" in listed and "Slow" in listed and "Store" not in listed
    data = json.loads(volnux(project, "runs", "show", run_id, "--json", check=0).stdout)
    assert data["counts"] == {"succeeded": 2, "failed": 1} and data["tasks_total"] == 3
    results = {t["node"]: t["result"] for t in data["tasks"]}
    assert results == {"Fetch": {"rows": 3}, "Slow": "slow done", "Store": None}
    limited = json.loads(
        volnux(project, "runs", "show", run_id, "--json", "--limit", "1", check=0).stdout
    )
    assert [t["node"] for t in limited["tasks"]] == ["Store"]

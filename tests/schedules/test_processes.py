"""Two real processes firing one project's schedule into one journal: two
``volnux serve`` on PostgreSQL, two ``volnux schedule run`` on SQLite.  Every
slot between the first and the last fires once, none twice, none lost, and a
pause asked of one stops both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from volnux.store import Journal, SQLiteJournal
from volnux.store.postgres import PostgresJournal

from ..serve.conftest import serving

TOKEN = "schedule-token-0123456789"
EVENTS = """
import volnux


@volnux.event
def Stamp():
    return "stamped"
"""


def project(root: Path) -> dict[str, str]:
    """A project with a schedule firing every second; the environment that names it."""
    (root / "events.py").write_text(EVENTS)
    (root / "stamp.pty").write_text("Stamp\n")
    config = root / "volnux.toml"
    config.write_text(
        'events = ["events.py"]\n[schedules.tick]\nworkflow = "stamp.pty"\nevery = 1\n'
        'catch_up = "all"\noverlap = "allow"\n'
    )
    return {"VOLNUX_CONFIG": str(config), "VOLNUX_SERVE_TOKEN": TOKEN}


def fired_slots(journal: Journal) -> tuple[list[float], set[int], set[str]]:
    """The slots the journal's runs were fired for, the pids that fired them, their states."""
    slots, pids, states = [], set(), set()
    for run in journal.list_runs(limit=10_000):
        [note] = [n for n in journal.load_notes(run.id) if n.kind == "scheduled"]
        slots.append(float(note.detail["slot"]))
        pids.add(int(note.detail["pid"]))
        states.add(run.state.value)
    return sorted(slots), pids, states


def check(journal: Journal, paused_at: float) -> None:
    slots, _, states = fired_slots(journal)
    assert len(slots) >= 3, slots
    assert slots == [slots[0] + k for k in range(len(slots))], "a slot fired twice or none"
    assert states == {"succeeded"}
    assert slots[-1] <= paused_at + 1.5, "a slot fired well after the pause"


def test_two_servers_on_one_postgresql_journal_fire_each_slot_once(
    tmp_path: Path, postgres_url: str
) -> None:
    env = project(tmp_path)
    PostgresJournal(postgres_url).close()  # the schema, made once
    args = ["--store", postgres_url]
    with ExitStack() as stack:
        (first, first_err) = stack.enter_context(serving(args, env))
        (second, second_err) = stack.enter_context(serving(args, env))
        time.sleep(4)
        request = urllib.request.Request(
            f"{second}/api/schedules/tick/pause",
            method="POST",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert json.loads(urllib.request.urlopen(request).read())["paused"] is True
        paused_at = time.time()
        time.sleep(2.5)
        listed = json.loads(urllib.request.urlopen(f"{first}/api/schedules").read())
        assert listed["schedules"][0]["paused"] is True  # the first server sees it too
    journal = PostgresJournal(postgres_url)
    try:
        check(journal, paused_at)
    finally:
        journal.close()
    for line in first_err + second_err:
        assert "Traceback" not in line, "\n".join(first_err + second_err)


@contextmanager
def scheduling(env: dict[str, str], store: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "volnux", "schedule", "run", "--store", str(store)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        yield proc
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err


def test_two_headless_schedulers_on_one_sqlite_file_fire_each_slot_once(tmp_path: Path) -> None:
    env = project(tmp_path)
    store = tmp_path / "volnux.db"
    SQLiteJournal(store).close()
    with scheduling(env, store), scheduling(env, store):
        time.sleep(5)
        paused = subprocess.run(
            [sys.executable, "-m", "volnux", "schedule", "pause", "tick", "--store", str(store)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        assert paused.returncode == 0, paused.stderr
        paused_at = time.time()
        time.sleep(2.5)
    journal = SQLiteJournal(store)
    try:
        check(journal, paused_at)
    finally:
        journal.close()

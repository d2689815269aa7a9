"""``volnux schedule`` as a user types it, over a project's volnux.toml."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ..cli.support import invoke

EVENTS = """
import volnux


@volnux.event
def Stamp(label: str = ""):
    return f"stamped {label}"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "events.py").write_text(EVENTS)
    (tmp_path / "stamp.pty").write_text("Stamp\n")
    (tmp_path / "volnux.toml").write_text(
        'events = ["events.py"]\n'
        "[schedules.tick]\n"
        'workflow = "stamp.pty"\n'
        'every = "1s"\n'
        'inputs = { label = "from the schedule" }\n'
        "[schedules.nightly]\n"
        'workflow = "stamp.pty"\n'
        'cron = "30 2 * * *"\n'
        'timezone = "Europe/Berlin"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOLNUX_STORE", raising=False)
    monkeypatch.delenv("VOLNUX_CONFIG", raising=False)
    return tmp_path


def test_list_shows_each_schedule_its_timing_and_next_fire_times(project: Path) -> None:
    result = invoke("schedule", "list")
    assert result.exit_code == 0, result.output
    assert "tick" in result.output and "every 1s" in result.output
    assert "cron 30 2 * * * (Europe/Berlin)" in result.output
    rows = {r["name"]: r for r in json.loads(invoke("schedule", "list", "--json").output)}
    nightly = rows["nightly"]
    assert [s["local"][11:] for s in nightly["next"]] == ["02:30:00"] * 3
    assert nightly["paused"] is False and nightly["last_run"] is None
    assert rows["tick"]["inputs"] == {"label": "from the schedule"}


def test_run_once_fires_the_due_slot_and_runs_show_says_which(project: Path) -> None:
    first = invoke("schedule", "run", "--once", "tick")
    assert first.exit_code == 0, first.output  # first seen: counts from now
    assert invoke("runs", "list", "--json").output.strip() in ("[]", "")
    time.sleep(1.2)
    second = invoke("schedule", "run", "--once", "tick")
    assert second.exit_code == 0, second.output
    assert "tick: tick-" in second.output and "fired" in second.output
    [run] = json.loads(invoke("runs", "list", "--json").output)
    assert run["id"].startswith("tick-") and run["status"] == "succeeded"
    shown = invoke("runs", "show", run["id"])
    assert "fired by schedule tick for its" in shown.output and "(UTC)" in shown.output
    detail = json.loads(invoke("runs", "show", run["id"], "--json").output)
    assert detail["scheduled"]["schedule"] == "tick"
    [row] = [
        r for r in json.loads(invoke("schedule", "list", "--json").output) if r["name"] == "tick"
    ]
    assert row["last_run"] == run["id"] and row["last_run_state"] == "succeeded"


def test_pause_and_resume_are_kept_in_the_journal(project: Path) -> None:
    assert invoke("schedule", "run", "--once", "tick").exit_code == 0
    paused = invoke("schedule", "pause", "tick")
    assert paused.exit_code == 0 and "schedule tick paused" in paused.output
    time.sleep(1.2)
    assert invoke("schedule", "run", "--once", "tick").exit_code == 0
    assert invoke("runs", "list", "--json").output.strip() in ("[]", "")
    [row] = [
        r for r in json.loads(invoke("schedule", "list", "--json").output) if r["name"] == "tick"
    ]
    assert row["paused"] is True and row["next"] == [] and row["changed_by"]
    assert "paused" in invoke("schedule", "list").output
    assert invoke("schedule", "resume", "tick").exit_code == 0
    time.sleep(1.2)
    assert invoke("schedule", "run", "--once", "tick").exit_code == 0
    assert len(json.loads(invoke("runs", "list", "--json").output)) == 1


def test_an_unknown_schedule_is_an_error_naming_the_known_ones(project: Path) -> None:
    result = invoke("schedule", "pause", "nigthly")
    assert result.exit_code == 2
    assert "no schedule 'nigthly'" in result.output and "tick, nightly" in result.output


def test_a_mistake_in_a_schedule_is_an_error_naming_file_and_key(project: Path) -> None:
    (project / "volnux.toml").write_text(
        '[schedules.bad]\nworkflow = "w.pty"\ncron = "0 25 * * *"\n'
    )
    result = invoke("schedule", "list")
    assert result.exit_code == 2
    assert "volnux.toml: [schedules.bad]: cron '0 25 * * *'" in result.output


def test_a_failed_scheduled_run_makes_run_once_exit_1(project: Path) -> None:
    (project / "boom.pty").write_text("Boom\n")
    (project / "events.py").write_text(
        EVENTS + "\n\n@volnux.event\ndef Boom():\n    raise ValueError('no')\n"
    )
    (project / "volnux.toml").write_text(
        'events = ["events.py"]\n[schedules.boom]\nworkflow = "boom.pty"\nevery = 1\n'
    )
    assert invoke("schedule", "run", "--once").exit_code == 0
    time.sleep(1.2)
    result = invoke("schedule", "run", "--once")
    assert result.exit_code == 1 and "ended failed" in result.output

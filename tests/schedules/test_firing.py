"""The scheduler on a real SQLite journal, ticked with a clock of the test's own:
catch-up, overlap, edits, pauses, broken workflows, and two schedulers at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

import volnux
from volnux.errors import CorruptStoreError, StoreError
from volnux.schedules import Schedule
from volnux.schedules.firing import Fired, Scheduler, pause_schedule, slot_run_id
from volnux.schedules.state import Keeper
from volnux.store import SQLiteJournal

from . import schedule_events

#: A whole hour, so that every period used here divides it (2027-01-15 08:00 UTC).
T = 1_800_000_000.0


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[SQLiteJournal]:
    made = SQLiteJournal(tmp_path / "volnux.db")
    yield made
    made.close()


def flow(tmp_path: Path, text: str = "Stamp", name: str = "w.pty") -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    return path


def every(path: Path, period: int, **how: object) -> Schedule:
    return Schedule("tick", path, every=period, **how)  # type: ignore[arg-type]


def scheduler(journal: SQLiteJournal, *schedules: Schedule) -> tuple[Scheduler, list[Schedule]]:
    """A scheduler of ``schedules`` (a list the test may edit: read on every tick)."""
    current = list(schedules)

    def prepare(schedule: Schedule) -> volnux.Workflow:
        return volnux.Workflow.from_file(schedule.workflow, [schedule_events])

    return Scheduler(journal, lambda: current, prepare), current


def outcomes(fired: Sequence[Fired]) -> list[tuple[float, str]]:
    return [(f.slot, f.outcome) for f in fired]


def test_a_new_schedule_counts_from_when_it_is_first_seen_then_fires_each_slot_once(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    schedule = every(flow(tmp_path), 60, inputs={"label": "nightly"})
    fire, _ = scheduler(journal, schedule)
    assert fire.tick(T + 10) == []  # seen now: the slot at T is in the past
    assert outcomes(fire.tick(T + 60)) == [(T + 60, "fired")]
    assert fire.tick(T + 60) == [] and fire.tick(T + 100) == []
    fire.wait()  # (overlap = "skip", the default: the next slot waits for this run)
    assert outcomes(fire.tick(T + 125)) == [(T + 120, "fired")]
    assert fire.wait() == {
        slot_run_id("tick", T + 60): "succeeded",
        slot_run_id("tick", T + 120): "succeeded",
    }
    run_id = slot_run_id("tick", T + 60)
    assert run_id == "tick-20270115T080100Z"
    record = journal.load_run(run_id)
    assert record.inputs == {"label": "nightly"}
    [note] = [n for n in journal.load_notes(run_id) if n.kind == "scheduled"]
    assert note.detail["schedule"] == "tick" and note.detail["slot"] == T + 60
    assert note.detail["local"] == "2027-01-15 08:01:00"
    _, state = Keeper(journal).read("tick")
    assert state is not None and state.last_slot == T + 120
    assert state.last_run == slot_run_id("tick", T + 120)


@pytest.mark.parametrize(
    ("catch_up", "limit", "fires", "missed"),
    [
        ("none", 100, [], 3),  # the latest slot is 100 s late: past LATE_S
        ("latest", 100, [T + 1800], 2),
        ("all", 100, [T + 600, T + 1200, T + 1800], 0),
        ("all", 2, [T + 1200, T + 1800], 1),
    ],
)
def test_slots_missed_while_nothing_fired_follow_catch_up(
    journal: SQLiteJournal,
    tmp_path: Path,
    catch_up: str,
    limit: int,
    fires: list[float],
    missed: int,
) -> None:
    schedule = every(flow(tmp_path), 600, catch_up=catch_up, catch_up_limit=limit, overlap="allow")
    fire, _ = scheduler(journal, schedule)
    fire.tick(T + 10)
    done = fire.tick(T + 1900)  # down for three slots
    assert outcomes(done) == [(slot, "fired") for slot in fires]
    fire.wait()
    _, state = Keeper(journal).read("tick")
    assert state is not None and state.missed == missed and state.last_slot == T + 1800
    assert fire.tick(T + 1900) == []  # handled: none of them comes back


def test_catch_up_none_fires_a_slot_that_is_late_by_less_than_a_minute(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    fire, _ = scheduler(journal, every(flow(tmp_path), 600))
    fire.tick(T + 10)
    assert outcomes(fire.tick(T + 650)) == [(T + 600, "fired")]
    fire.wait()


@pytest.mark.parametrize("overlap", ["skip", "allow"])
def test_overlap_says_whether_a_slot_fires_while_the_last_run_still_runs(
    journal: SQLiteJournal, tmp_path: Path, overlap: str
) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    schedule = every(flow(tmp_path, "Hold"), 60, overlap=overlap, inputs={"hold": str(hold)})
    fire, _ = scheduler(journal, schedule)
    fire.tick(T + 1)
    assert outcomes(fire.tick(T + 60)) == [(T + 60, "fired")]
    second = fire.tick(T + 120)
    if overlap == "skip":
        assert outcomes(second) == [(T + 120, "skipped")]
    else:
        assert outcomes(second) == [(T + 120, "fired")]
    hold.unlink()
    fire.wait()
    assert outcomes(fire.tick(T + 180)) == [(T + 180, "fired")]  # the last one ended
    fire.wait()
    _, state = Keeper(journal).read("tick")
    assert state is not None and state.skipped == (1 if overlap == "skip" else 0)


def test_an_edited_timing_takes_effect_from_now_never_for_a_past_slot(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    schedule = every(flow(tmp_path), 600, catch_up="all", overlap="allow")
    fire, current = scheduler(journal, schedule)
    fire.tick(T + 10)
    assert outcomes(fire.tick(T + 600)) == [(T + 600, "fired")]
    current[0] = replace(schedule, every=60)  # every minute from now on
    # T+660 ... T+960 are slots of the new timing, but they passed before it was seen.
    assert fire.tick(T + 1000) == []
    assert outcomes(fire.tick(T + 1020)) == [(T + 1020, "fired")]
    current[0] = replace(current[0], inputs={"label": "x"})  # not the timing: no reset
    assert outcomes(fire.tick(T + 1090)) == [(T + 1080, "fired")]
    fire.wait()


def test_a_paused_schedule_fires_nothing_and_resumes_from_now(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    schedule = every(flow(tmp_path), 60, catch_up="all", overlap="allow")
    fire, _ = scheduler(journal, schedule)
    fire.tick(T + 10)
    state = pause_schedule(journal, schedule, True, who="ops", now=T + 20)
    assert state.paused and state.changed_by == "ops"
    assert fire.tick(T + 300) == []
    pause_schedule(journal, schedule, False, who="ops", now=T + 310)
    assert fire.tick(T + 330) == []  # the paused minutes are not caught up
    assert outcomes(fire.tick(T + 360)) == [(T + 360, "fired")]
    fire.wait()


def test_a_slot_whose_workflow_does_not_parse_is_reported_and_passed(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    path = flow(tmp_path, "Stamp ->")
    fire, _ = scheduler(journal, every(path, 60))
    fire.tick(T + 1)
    [failed] = fire.tick(T + 60)
    assert failed.outcome == "failed" and "w.pty" in failed.detail
    _, state = Keeper(journal).read("tick")
    assert state is not None and state.last_error == failed.detail
    assert fire.tick(T + 61) == []  # passed: not tried on every tick
    with pytest.raises(volnux.errors.RunNotFound):
        journal.load_run(failed.run_id)
    flow(tmp_path, "Stamp")
    assert outcomes(fire.tick(T + 120)) == [(T + 120, "fired")]
    fire.wait()
    _, state = Keeper(journal).read("tick")
    assert state is not None and state.last_error == ""


def test_a_run_made_before_a_crash_lost_the_state_is_found_not_made_again(
    journal: SQLiteJournal, tmp_path: Path
) -> None:
    schedule = every(flow(tmp_path), 60)
    fire, _ = scheduler(journal, schedule)
    fire.tick(T + 1)
    keeper = Keeper(journal)
    version, before = keeper.read("tick")
    assert outcomes(fire.tick(T + 60)) == [(T + 60, "fired")]
    fire.wait()
    # As if the process died between creating the run and keeping the state.
    assert before is not None and keeper.save("tick", before, version + 1)
    again, _ = scheduler(journal, schedule)
    assert outcomes(again.tick(T + 61)) == [(T + 60, "taken")]
    assert [r.id for r in journal.list_runs()] == [slot_run_id("tick", T + 60)]
    _, state = keeper.read("tick")
    assert state is not None and state.last_slot == T + 60


def test_two_schedulers_on_one_journal_fire_each_slot_once(tmp_path: Path) -> None:
    path = flow(tmp_path)
    schedule = every(path, 60, catch_up="all", overlap="allow")
    journals = [SQLiteJournal(tmp_path / "volnux.db") for _ in range(2)]
    fires = [scheduler(j, schedule)[0] for j in journals]
    steps = [T + 1] + [T + 60 * k + (k % 7) for k in range(1, 16)]
    done: list[list[Fired]] = [[], []]
    start = threading.Barrier(2)

    def drive(i: int) -> None:
        for now in steps:
            start.wait()
            done[i].extend(fires[i].tick(now))

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in fires:
        f.wait()
    every_fired = [f for d in done for f in d if f.outcome == "fired"]
    slots = sorted(f.slot for f in every_fired)
    assert slots == [T + 60 * k for k in range(1, 16)]  # each once, none lost
    assert all(f.outcome in ("fired", "taken") for d in done for f in d)
    ids = sorted(r.id for r in journals[0].list_runs(limit=100))
    assert ids == sorted(slot_run_id("tick", s) for s in slots)
    assert {journals[0].load_run(i).state.value for i in ids} == {"succeeded"}
    for j in journals:
        j.close()


def test_a_journal_that_cannot_keep_schedules_says_so() -> None:
    class Bare:
        location = "plugin://x"

    with pytest.raises(StoreError, match="plugin://x cannot keep schedules"):
        Keeper(Bare())  # type: ignore[arg-type]


def test_a_damaged_schedule_state_is_reported_and_left_as_it_is(
    journal: SQLiteJournal, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert journal.save_schedule("tick", '{"timing": 3', 0)
    with pytest.raises(CorruptStoreError, match="schedule tick"):
        Keeper(journal).read("tick")
    fire, _ = scheduler(journal, every(flow(tmp_path), 60))
    assert fire.tick(T + 60) == []
    assert "schedule tick" in caplog.text
    assert journal.schedule_states() == {"tick": (1, '{"timing": 3')}

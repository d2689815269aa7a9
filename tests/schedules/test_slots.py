"""A schedule's slots, across daylight-saving transitions, against a reference that
reads every minute of the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volnux.schedules import Schedule
from volnux.schedules.slots import LOOKBACK_S, local_time, next_slot, slots_between

#: Zones with a spring-forward and a fall-back in 2026 (Lord Howe moves 30
#: minutes; Santiago and Sydney are in the southern hemisphere), and one without.
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Australia/Sydney",
    "Asia/Kolkata",
]


def cron(expr: str, zone: str = "UTC") -> Schedule:
    return Schedule("s", Path("w.pty"), cron=expr, timezone=zone)


def at(zone: str, *wall: int, fold: int = 0) -> float:
    return datetime(*wall, tzinfo=ZoneInfo(zone), fold=fold).timestamp()  # type: ignore[misc]


def all_slots(schedule: Schedule, after: float, until: float) -> list[float]:
    count, slots = slots_between(schedule, after, until, keep=10**6)
    assert count == len(slots)
    return slots


def test_every_slots_are_multiples_of_the_period_since_the_epoch() -> None:
    every = Schedule("s", Path("w.pty"), every=900)
    assert all_slots(every, 1000.0, 3700.0) == [1800.0, 2700.0, 3600.0]
    assert all_slots(every, 1800.0, 1800.0) == []
    assert next_slot(every, 1800.0) == 2700.0 and next_slot(every, 1799.5) == 1800.0
    count, latest = slots_between(every, 0.0, 90_000.0, keep=2)
    assert count == 100 and latest == [89_100.0, 90_000.0]


def test_missed_slots_are_looked_for_a_year_back_at_most() -> None:
    every = Schedule("s", Path("w.pty"), every=86400)
    count, latest = slots_between(every, 0.0, 10 * LOOKBACK_S, keep=1)
    assert count == 366 and latest == [float(int(10 * LOOKBACK_S) // 86400 * 86400)]


def test_a_time_the_clock_skips_fires_once_at_the_first_minute_after_the_gap() -> None:
    # Berlin springs forward at 02:00 on 2026-03-29: 02:30 does not exist that day.
    berlin = cron("30 2 * * *", "Europe/Berlin")
    slots = all_slots(
        berlin, at("Europe/Berlin", 2026, 3, 28, 12), at("Europe/Berlin", 2026, 3, 30, 12)
    )
    assert [local_time(berlin, s) for s in slots] == [
        "2026-03-29 03:00:00",
        "2026-03-30 02:30:00",
    ]


def test_a_time_the_clock_repeats_fires_once_the_first_time() -> None:
    # Berlin falls back at 03:00 on 2026-10-25: 02:30 happens twice.
    berlin = cron("30 2 * * *", "Europe/Berlin")
    slots = all_slots(
        berlin, at("Europe/Berlin", 2026, 10, 24, 12), at("Europe/Berlin", 2026, 10, 25, 12)
    )
    assert slots == [at("Europe/Berlin", 2026, 10, 25, 2, 30, fold=0)]
    first, second = (at("Europe/Berlin", 2026, 10, 25, 2, 30, fold=f) for f in (0, 1))
    assert second - first == 3600


def test_an_hourly_schedule_keeps_real_hours_through_both_transitions() -> None:
    hourly = cron("0 * * * *", "Europe/Berlin")
    spring = all_slots(
        hourly, at("Europe/Berlin", 2026, 3, 29, 0, 30), at("Europe/Berlin", 2026, 3, 30, 0, 30)
    )
    autumn = all_slots(
        hourly, at("Europe/Berlin", 2026, 10, 25, 0, 30), at("Europe/Berlin", 2026, 10, 26, 0, 30)
    )
    assert len(spring) == 23 and len(autumn) == 25
    assert {b - a for a, b in pairwise(spring)} == {3600.0}
    assert {b - a for a, b in pairwise(autumn)} == {3600.0}


# ------------------------------------------------------------ the property


def _field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step = part.partition("/")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            first, last = map(int, body.split("-"))
        else:
            first = last = int(body)
        values.update(range(first, last + 1, int(step or 1)))
    return values


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def reference(expr: str, zone_name: str, after: float, until: float) -> list[float]:
    """The slots as docs/schedules.md says, found by reading every minute."""
    zone = ZoneInfo(zone_name)
    minute_f, hour_f = expr.split()[:2]
    minutes, hours = _field(minute_f, 0, 59), _field(hour_f, 0, 23)
    found: set[float] = set()
    if minute_f.startswith("*") or hour_f.startswith("*"):  # interval: real time
        moment = datetime.fromtimestamp(after, UTC).replace(second=0) + timedelta(minutes=1)
        while moment.timestamp() <= until:
            local = moment.astimezone(zone)
            if local.minute in minutes and local.hour in hours:
                found.add(moment.timestamp())
            moment += timedelta(minutes=1)
    else:  # fixed time: the wall clock, once a day
        day = datetime.fromtimestamp(after, zone).date() - timedelta(days=1)
        last_day = datetime.fromtimestamp(until, zone).date() + timedelta(days=1)
        while day <= last_day:
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    while not _exists(wall, zone):  # skipped: the first minute after
                        wall += timedelta(minutes=1)
                    instant = wall.replace(tzinfo=zone, fold=0).timestamp()
                    if after < instant <= until:
                        found.add(instant)
            day += timedelta(days=1)
    return sorted(found)


def transitions(zone_name: str) -> list[float]:
    """The instants in 2026 where the zone's offset changes (to the minute)."""
    zone = ZoneInfo(zone_name)
    out = []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    before = moment.astimezone(zone).utcoffset()
    while moment.year == 2026:
        after = (moment + step).astimezone(zone).utcoffset()
        if after != before:
            low = moment
            while (low + timedelta(minutes=1)).astimezone(zone).utcoffset() == before:
                low += timedelta(minutes=1)
            out.append((low + timedelta(minutes=1)).timestamp())
        before = after
        moment += step
    return out


FIXED = st.tuples(
    st.sampled_from(["0", "30", "15,45", "5", "59", "0-10/5"]),
    st.sampled_from(["2", "1,2,3", "1-3", "0", "3", "23", "2,14"]),
)
INTERVAL = st.tuples(
    st.sampled_from(["*/30", "0", "*/20", "45", "*/7", "10,40"]),
    st.sampled_from(["*", "*/2", "*/3"]),
) | st.tuples(st.sampled_from(["*/15", "*/45"]), st.sampled_from(["1-3", "2", "*"]))


@settings(max_examples=80, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    fields=FIXED | INTERVAL,
    which=st.integers(0, 1),
    hours_before=st.integers(1, 30),
    hours_after=st.integers(1, 30),
)
def test_every_slot_that_exists_fires_exactly_once(
    zone: str, fields: tuple[str, str], which: int, hours_before: int, hours_after: int
) -> None:
    expr = f"{fields[0]} {fields[1]} * * *"
    changes = transitions(zone) or [datetime(2026, 3, 29, tzinfo=UTC).timestamp()]
    middle = changes[which % len(changes)]
    after = middle - hours_before * 3600 - 17  # not on a whole minute: edges are plain
    until = middle + hours_after * 3600 + 23
    got = all_slots(cron(expr, zone), after, until)
    assert got == sorted(set(got)), "a slot came twice"
    assert got == reference(expr, zone, after, until)


@pytest.mark.parametrize("zone", [z for z in ZONES if z != "Asia/Kolkata"])
def test_each_zone_in_the_list_has_two_transitions_in_2026(zone: str) -> None:
    # The property above only means something if its windows straddle transitions.
    assert len(transitions(zone)) == 2


def test_an_interval_slot_next_to_a_half_hour_shift_is_not_lost() -> None:
    # Lord Howe Island falls back 30 minutes at 02:00 on 2026-04-05; 02:00 itself
    # then happens once (cronsim's own zone handling skipped it).
    lord_howe = cron("*/30 */2 * * *", "Australia/Lord_Howe")
    zone = "Australia/Lord_Howe"
    slots = all_slots(lord_howe, at(zone, 2026, 4, 5, 1, 0), at(zone, 2026, 4, 5, 3, 0))
    assert [local_time(lord_howe, s) for s in slots] == [
        "2026-04-05 02:00:00",
        "2026-04-05 02:30:00",
    ]

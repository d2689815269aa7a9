"""A schedule's slots: the instants it fires at.

A slot is an instant (seconds since the epoch, UTC), so that a slot has one
name whatever the clock shows, and the run it fires is keyed by it.

``every`` slots are the multiples of the period since 1970-01-01 UTC.

Cron slots are read on the schedule's time zone clock, through cronsim,
whose daylight-saving rules are Debian cron's:

* a *fixed-time* expression (its minute and hour fields do not start with
  ``*``: ``30 2 * * *``, ``0 9,17 * * 1-5``) keeps the wall clock: a time
  skipped when the clock springs forward fires once, at the first minute
  after the gap (02:30 fires at 03:00); a time repeated when the clock falls
  back fires once, the first time;
* an *interval* expression (``*/15 * * * *``, ``0 * * * *``) keeps real
  time: it fires at every instant whose wall-clock reading matches, so
  ``0 * * * *`` fires in both copies of a repeated hour and in none of a
  skipped one, every 60 real minutes throughout.

Two wall-clock times that fall on one instant (a skipped 02:00 moved to
03:00, and 03:00 itself) are one slot and fire once.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from ..config.schedules import Schedule

__all__ = ["LOOKBACK_S", "local_time", "next_slot", "slots_between"]

#: How far back missed slots are looked for: older ones are never caught up.
LOOKBACK_S: Final = 366 * 86400.0


def slots_between(
    schedule: Schedule, after: float, until: float, keep: int
) -> tuple[int, list[float]]:
    """The slots ``t`` with ``after < t <= until``: how many there are (within
    :data:`LOOKBACK_S` of ``until``), and the latest ``keep`` of them, oldest first."""
    after = max(after, until - LOOKBACK_S)
    if until <= after:
        return 0, []
    if schedule.every is not None:
        period = schedule.every
        first = math.floor(after / period) + 1
        last = math.floor(until / period)
        count = max(0, last - first + 1)
        start = max(first, last - keep + 1)
        return count, [float(n * period) for n in range(start, last + 1)]
    latest: deque[float] = deque(maxlen=keep)
    count = 0
    for slot in _cron_slots(schedule, after):
        if slot > until:
            break
        count += 1
        latest.append(slot)
    return count, list(latest)


def next_slot(schedule: Schedule, after: float) -> float:
    """The first slot after ``after``."""
    if schedule.every is not None:
        return float((math.floor(after / schedule.every) + 1) * schedule.every)
    return next(_cron_slots(schedule, after))


def _cron_slots(schedule: Schedule, after: float) -> Iterator[float]:
    """Cron slots after ``after``, in order, each once.

    cronsim matches the expression on the naive wall clock (where it is
    plain); which instants a wall time means is decided here, by the rules
    above.  (cronsim's own zone handling misses interval slots next to a
    30-minute shift, as Lord Howe Island's; found by tests/schedules.)
    """
    from cronsim import CronSim

    assert schedule.cron is not None
    zone = schedule.zone
    minute, hour = schedule.cron.split()[:2]
    fixed = not minute.startswith("*") and not hour.startswith("*")
    # Start early on the wall clock: a wall time before ``after``'s can fall
    # after it in real time (the second copy of a repeated hour; no zone has
    # moved its clock back by more than 3 hours at once).
    start = datetime.fromtimestamp(math.floor(after), zone).replace(tzinfo=None)
    pending: list[float] = []  # instants found, not yet given (a heap)
    last = -math.inf
    for wall in CronSim(schedule.cron, start - timedelta(hours=3)):
        instants = [_first_real(wall, zone)] if fixed else _instants(wall, zone)
        for instant in instants:
            heapq.heappush(pending, instant)
        # Instants of later wall times are never before this one's first:
        # whatever is before it is final, in order.
        floor = instants[0] if instants else -math.inf
        while pending and pending[0] <= floor:
            slot = heapq.heappop(pending)
            if slot > after and slot > last:  # two wall times on one instant: one slot
                last = slot
                yield slot


def _instants(wall: datetime, zone: ZoneInfo) -> list[float]:
    """The instants whose reading on ``zone``'s clock is ``wall``: none in a gap,
    two in a repeated hour."""
    found = []
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold)
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            found.append(moment.timestamp())
    return sorted(set(found))


def _first_real(wall: datetime, zone: ZoneInfo) -> float:
    """``wall``'s instant, the first if it is repeated; in a gap, the first minute after."""
    while True:
        instants = _instants(wall, zone)
        if instants:
            return instants[0]
        wall += timedelta(minutes=1)


def local_time(schedule: Schedule, slot: float) -> str:
    """``slot`` on the schedule's clock (UTC for ``every``): ``2026-12-07 03:00:00``."""
    return datetime.fromtimestamp(slot, schedule.zone).strftime("%Y-%m-%d %H:%M:%S")

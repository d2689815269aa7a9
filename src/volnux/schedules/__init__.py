"""Schedules: workflows run at the times a cron expression or a period names.

``[schedules.NAME]`` in the project's configuration (:mod:`volnux.config.schedules`); the
instants they fire at (:mod:`.slots`); their state, shared through the
journal (:mod:`.state`); and the scheduler that fires each slot once
(:mod:`.firing`).  ``volnux serve`` and ``volnux schedule run`` fire them.

Only the schedule itself is imported here; the scheduler is
:mod:`volnux.schedules.firing`.
"""

from ..config.schedules import Schedule, read_schedules

__all__ = ["Schedule", "read_schedules"]

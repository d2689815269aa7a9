"""What a schedule is: ``[schedules.NAME]`` of the project's configuration, checked.

A schedule runs one workflow at its slots: the times a cron expression
names on a time zone's clock (``cron``, ``timezone``), or every so many
seconds (``every``).  ``catch_up`` says what happens to slots missed while
nothing was firing, ``overlap`` whether a slot fires while the schedule's
previous run still runs.  See docs/schedules.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

__all__ = ["CATCH_UP", "OVERLAP", "Schedule", "parse_every", "read_schedules"]

#: What may become of missed slots.
CATCH_UP: Final = ("none", "latest", "all")
#: Whether a slot fires while the schedule's previous run still runs.
OVERLAP: Final = ("skip", "allow")
#: What ``[schedules.NAME]`` may set.
KEYS: Final = (
    "workflow",
    "cron",
    "every",
    "timezone",
    "inputs",
    "catch_up",
    "catch_up_limit",
    "overlap",
)
#: A schedule's name: it starts the ids of its runs.
_NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_EVERY: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Schedule:
    """One schedule, as the configuration gives it."""

    name: str
    #: The ``.pty`` file it runs.
    workflow: Path
    #: A five-field cron expression (minute hour day-of-month month day-of-week) ...
    cron: str | None = None
    #: ... or a period in whole seconds: slots at its multiples since 1970-01-01 UTC.
    every: int | None = None
    #: The clock the cron expression reads (an IANA zone name).
    timezone: str = "UTC"
    #: The run's workflow inputs.
    inputs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    catch_up: str = "none"
    #: The most missed slots ``catch_up = "all"`` fires (the latest ones).
    catch_up_limit: int = 100
    overlap: str = "skip"

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the slots are read on."""
        return ZoneInfo(self.timezone)

    @property
    def timing(self) -> str:
        """What decides the slots; an edit of it takes effect from the moment it is seen."""
        if self.every is not None:
            return f"every {self.every}s"
        return f"cron {self.cron} {self.timezone}"

    @property
    def when(self) -> str:
        """The timing as a person reads it: ``cron 0 3 * * * (Europe/Berlin)``, ``every 900s``."""
        if self.every is not None:
            return f"every {self.every}s"
        return f"cron {self.cron} ({self.timezone})"


def read_schedules(table: Any, path: Path | None, root: Path) -> tuple[Schedule, ...]:
    """The schedules of ``[schedules]`` (``table``), checked; relative paths from ``root``."""
    where = f"{path}: " if path is not None else ""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}[schedules] must be a table of [schedules.NAME] tables")
    found = []
    for name, body in table.items():
        found.append(_schedule(name, body, where, root))
    return tuple(found)


def _schedule(name: str, body: Any, where: str, root: Path) -> Schedule:
    section = f"[schedules.{name}]"

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}{section}: {message}")

    if not _NAME.match(name):
        raise ConfigError(
            f"{where}{section}: a schedule's name is letters, digits, '_', '.' and '-' "
            "(at most 64, not starting with '.' or '-')"
        )
    if not isinstance(body, dict):
        raise fail("must be a table")
    unknown = sorted(set(body) - set(KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; known keys: {', '.join(KEYS)}")
    workflow = body.get("workflow")
    if not isinstance(workflow, str) or not workflow:
        raise fail("workflow (the .pty file it runs) is required")
    cron, every = body.get("cron"), body.get("every")
    if (cron is None) == (every is None):
        raise fail('give exactly one of cron ("0 3 * * *") and every ("15m")')
    timezone = body.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise fail(f"timezone must be a string, got {type(timezone).__name__}")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(
            f"unknown timezone {timezone!r} (an IANA name: 'UTC', 'Europe/Berlin' ...)"
        ) from None
    if cron is not None:
        cron = _cron(cron, zone, fail)
    else:
        if "timezone" in body:
            raise fail("timezone applies to cron; every counts real seconds")
        try:
            every = parse_every(every)
        except ValueError as exc:
            raise fail(f"every: {exc}") from None
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        raise fail("inputs must be a table of the workflow's inputs")
    catch_up = _choice(body, "catch_up", CATCH_UP, fail)
    overlap = _choice(body, "overlap", OVERLAP, fail)
    limit = body.get("catch_up_limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise fail(f"catch_up_limit must be a whole number, at least 1; got {limit!r}")
    file = Path(workflow)
    return Schedule(
        name,
        file if file.is_absolute() else root / file,
        cron=cron,
        every=every,
        timezone=timezone,
        inputs=MappingProxyType(dict(inputs)),
        catch_up=catch_up,
        catch_up_limit=limit,
        overlap=overlap,
    )


def _cron(text: Any, zone: ZoneInfo, fail: Any) -> str:
    from cronsim import CronSim, CronSimError

    if not isinstance(text, str):
        raise fail(f"cron must be a string, got {type(text).__name__}")
    expr = " ".join(text.split())
    if len(expr.split()) != 5:
        raise fail(
            f"cron {text!r} must have five fields: minute hour day-of-month month day-of-week"
        )
    try:
        next(CronSim(expr, datetime.now(zone)))
    except (CronSimError, StopIteration) as exc:
        raise fail(f"cron {text!r}: {exc or 'it never fires'}") from None
    return expr


def _choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], fail: Any) -> str:
    value = body.get(key, allowed[0])
    if value not in allowed:
        raise fail(f"{key} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return str(value)


def parse_every(value: Any) -> int:
    """A period in whole seconds: ``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a period")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (found := _EVERY.match(value)):
        seconds = float(found.group(1)) * _UNIT_S[found.group(2) or "s"]
    else:
        raise ValueError(f'{value!r} is not a period (write 30, "30s", "15m", "2h" or "1d")')
    if not math.isfinite(seconds) or seconds < 1 or seconds != int(seconds):
        raise ValueError(f"{value!r} must be a whole number of seconds, at least 1")
    return int(seconds)

"""Where each schedule stands, kept in the journal so that every server shares it.

A schedule's state is a small JSON document (:class:`ScheduleState`) with a
version number; a change is kept only if the version is still the one read
(compare-and-set), so two servers over one journal never overwrite each
other's change unseen.  The journal methods are optional
(``schedule_states``, ``save_schedule``): a store plug-in without them
cannot keep schedules, and saying so is the only consequence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from ..errors import CorruptStoreError, StoreError
from ..store import Journal

__all__ = ["Keeper", "ScheduleState"]

#: How often a change that lost a race to another writer is tried again.
_TRIES: Final = 20


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """What a schedule has done so far, and whether it may fire."""

    #: The timing (``Schedule.timing``) the slots below were counted with.
    timing: str
    #: Slots of this timing fire only after this instant: when it was first seen
    #: (an edit of the cron expression or time zone counts from then, never back).
    since: float
    #: The latest slot handled: fired, taken by another server, or passed over.
    last_slot: float | None = None
    #: The run of the latest slot fired, and the slot.
    last_run: str | None = None
    paused: bool = False
    #: Who paused or resumed it last, and when.
    changed_by: str = ""
    changed_at: float | None = None
    #: Slots passed over because the previous run still ran (``overlap = "skip"``) ...
    skipped: int = 0
    #: ... and because they were missed and ``catch_up`` did not fire them.
    missed: int = 0
    #: Why the latest slot could not start its run (a broken workflow file ...).
    last_error: str = ""

    def to_json(self) -> str:
        """As the journal keeps it."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, name: str, text: str, where: str) -> ScheduleState:
        """Read back what :meth:`to_json` wrote (unknown keys are ignored)."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            state = cls(timing=str(data["timing"]), since=_number(data["since"]))
            known: dict[str, Callable[[Any], Any]] = {
                "last_slot": _maybe_number,
                "last_run": _maybe_text,
                "paused": bool,
                "changed_by": str,
                "changed_at": _maybe_number,
                "skipped": int,
                "missed": int,
                "last_error": str,
            }
            changes = {key: read(data[key]) for key, read in known.items() if key in data}
            return replace(state, **changes)
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptStoreError(
                f"the state of schedule {name} in {where} cannot be read ({exc}): {text[:200]!r}"
            ) from None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a time")
    return float(value)


def _maybe_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _maybe_text(value: Any) -> str | None:
    return None if value is None else str(value)


class Keeper:
    """The schedule states of one journal."""

    def __init__(self, journal: Journal) -> None:
        if not hasattr(journal, "schedule_states") or not hasattr(journal, "save_schedule"):
            raise StoreError(
                f"the journal at {journal.location} cannot keep schedules "
                "(its store has no schedule_states/save_schedule)"
            )
        self.journal = journal

    def all(self) -> dict[str, tuple[int, ScheduleState]]:
        """Schedule name -> (version, state), for every schedule the journal keeps."""
        kept: dict[str, tuple[int, str]] = self.journal.schedule_states()
        where = self.journal.location
        return {
            name: (version, ScheduleState.from_json(name, text, where))
            for name, (version, text) in kept.items()
        }

    def read(self, name: str) -> tuple[int, ScheduleState | None]:
        """The version (0: none kept) and state of schedule ``name``."""
        found = self.all().get(name)
        return found if found is not None else (0, None)

    def save(self, name: str, state: ScheduleState, version: int) -> bool:
        """Keep ``state`` if the version is still ``version``; False if another writer won."""
        save = self.journal.save_schedule
        return bool(save(name, state.to_json(), version))

    def change(
        self, name: str, how: Callable[[ScheduleState | None], ScheduleState]
    ) -> ScheduleState:
        """Apply ``how`` to the state as it is, again if another writer changed it first."""
        for _ in range(_TRIES):
            version, state = self.read(name)
            new = how(state)
            if new == state or self.save(name, new, version):
                return new
        raise StoreError(f"schedule {name} kept changing under this change; try again")

"""Which events run long, remembered from one run to the next.

An attempt that takes :data:`~.attempt.LONG_ATTEMPT_S` or more reports how
long it took.  When a run ends, the engine hands its journal the mean time
an attempt of each such event took (the short attempts of the same event
count as 0 s, so a mostly short event is not called long); the next run of
any workflow that uses the event asks for it as it starts, and pools that
can (the thread pool's ``expect_long``) grow at once for the attempts of
those events instead of measuring the queue stall first.

Both journal methods are optional: a journal without ``durations`` and
``record_durations`` (a plug-in written before them) only means no
remembering.  What a journal answered is reused for :data:`RECALL_S`
seconds by the runs of this process (the batches of a batch run start
hundreds a second), and forgotten when a run of this process records anew.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import StoreError
from .attempt import LONG_ATTEMPT_S

__all__ = ["RECALL_S", "forget", "long_events", "measured"]

log = logging.getLogger("volnux.engine")

#: Seconds a journal's answer is reused for the same events (see the module).
RECALL_S = 1.0

# Journal -> (when asked, the events asked, the long ones among them).
_recalled: weakref.WeakKeyDictionary[Any, tuple[float, list[str], frozenset[str]]]
_recalled = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def long_events(journal: Any, events: Iterable[str]) -> frozenset[str]:
    """The ``events`` (keys, ``name@version``) whose attempts ran long in earlier runs."""
    recall = getattr(journal, "durations", None)
    if recall is None:
        return frozenset()
    wanted = sorted(set(events))
    now = time.monotonic()
    with _lock:
        kept = _recalled.get(journal) if _weak(journal) else None
    if kept is not None and kept[1] == wanted and now - kept[0] < RECALL_S:
        return kept[2]
    try:
        known: Mapping[str, float] = recall(wanted)
    except StoreError as exc:  # advisory: a run never fails for want of it
        log.warning("could not read how long earlier attempts took: %s", exc)
        return frozenset()
    found = frozenset(key for key, seconds in known.items() if seconds >= LONG_ATTEMPT_S)
    if _weak(journal):
        with _lock:
            _recalled[journal] = (now, wanted, found)
    return found


def forget(journal: Any) -> None:
    """Ask ``journal`` again next time (a run of this process recorded durations)."""
    if _weak(journal):
        with _lock:
            _recalled.pop(journal, None)


def _weak(journal: Any) -> bool:
    return hasattr(type(journal), "__weakref__")


def measured(
    took: Mapping[str, float], attempts: Iterable[tuple[str, int]], known: frozenset[str]
) -> dict[str, float]:
    """What to remember after a run: per event, the mean seconds of its attempts.

    ``took`` sums the long attempts' seconds by event; ``attempts`` gives
    each task's event and attempt count; ``known`` are the events remembered
    as long when the run started (remembered again, as short if they now are).
    """
    wanted = set(took) | known
    if not wanted:
        return {}
    counts: Counter[str] = Counter()
    for event, count in attempts:
        if event in wanted:
            counts[event] += count
    return {event: took.get(event, 0.0) / counts[event] for event in wanted if counts[event]}

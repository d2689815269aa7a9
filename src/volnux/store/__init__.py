"""Journals: where runs are recorded (the protocol, memory, SQLite, PostgreSQL).

``open_store(url)`` opens the journal a URL names; each kind of journal is a
module (``memory``) or a sub-package (``sqlite/``, ``postgres/``) imported
when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    EpochNote,
    ErrorInfo,
    EventPin,
    Journal,
    LogEntry,
    RunExists,
    RunNote,
    RunNotFound,
    RunRecord,
    RunSnapshot,
    TaskRecord,
    TaskRow,
    UnencodableResult,
)
from .codec import Codec, PickleCodec
from .memory import MemoryJournal
from .open import open_store

if TYPE_CHECKING:
    from .sqlite import SQLiteJournal

__all__ = [
    "Codec",
    "EpochNote",
    "ErrorInfo",
    "EventPin",
    "Journal",
    "LogEntry",
    "MemoryJournal",
    "PickleCodec",
    "RunExists",
    "RunNotFound",
    "RunNote",
    "RunRecord",
    "RunSnapshot",
    "SQLiteJournal",
    "TaskRecord",
    "TaskRow",
    "UnencodableResult",
    "open_store",
]


def __getattr__(name: str) -> Any:
    # The SQLite journal (and the sqlite3 module) load when first asked for.
    if name == "SQLiteJournal":
        value = importlib.import_module(".sqlite", __name__).SQLiteJournal
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Journals: where runs are recorded (protocol, memory, SQLite, PostgreSQL)."""

from .base import (
    ErrorInfo,
    EventPin,
    Journal,
    LogEntry,
    RunNote,
    RunRecord,
    RunSnapshot,
    TaskRecord,
    UnencodableResult,
)
from .codec import Codec, PickleCodec
from .memory import MemoryJournal
from .open import open_store
from .sqlite import SQLiteJournal

__all__ = [
    "Codec",
    "ErrorInfo",
    "EventPin",
    "Journal",
    "LogEntry",
    "MemoryJournal",
    "PickleCodec",
    "RunNote",
    "RunRecord",
    "RunSnapshot",
    "SQLiteJournal",
    "TaskRecord",
    "UnencodableResult",
    "open_store",
]

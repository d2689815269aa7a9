"""Journals: where runs are recorded (protocol, memory, SQLite, PostgreSQL)."""

from .base import (
    ErrorInfo,
    EventPin,
    Journal,
    RunNote,
    RunRecord,
    RunSnapshot,
    TaskRecord,
    UnencodableResult,
)
from .memory import MemoryJournal

__all__ = [
    "ErrorInfo",
    "EventPin",
    "Journal",
    "MemoryJournal",
    "RunNote",
    "RunRecord",
    "RunSnapshot",
    "TaskRecord",
    "UnencodableResult",
]

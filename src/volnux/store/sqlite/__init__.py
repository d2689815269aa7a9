"""The embedded journal: one SQLite file in WAL mode (see :mod:`.journal`).

``journal`` is the :class:`~volnux.store.base.Journal`; ``file`` opens and
checks the file; ``migrations`` holds the schema; ``records`` encodes task
records; ``checkpoint`` copies the write-ahead log back on a thread.
"""

from __future__ import annotations

from .file import Synchronous
from .journal import SQLiteJournal
from .url import open_url

__all__ = ["SQLiteJournal", "Synchronous", "open_url"]

"""The shared journal: a schema in a PostgreSQL database (see :mod:`.journal`).

``journal`` is the :class:`~volnux.store.base.Journal`; ``url`` reads
``postgresql://`` URLs (and never shows a password); ``connection`` connects
and names errors; ``migrations`` holds the schema; ``statements`` its SQL;
``rows`` reads rows back into records.
Batches of task records are stored as the SQLite journal stores them
(:mod:`volnux.store.sqlite.records`).

psycopg is imported with the journal, not with this package: opening a
``postgresql://`` URL without it installed says how to install it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .url import SynchronousCommit, open_url

if TYPE_CHECKING:
    from .journal import PostgresJournal

__all__ = ["PostgresJournal", "SynchronousCommit", "open_url"]


def __getattr__(name: str) -> Any:
    # The journal (and psycopg) load when first asked for.
    if name == "PostgresJournal":
        value = importlib.import_module(".journal", __name__).PostgresJournal
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

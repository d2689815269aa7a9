"""Open a journal from a URL: the one place that maps store URLs to classes.

Accepted forms::

    None                      $VOLNUX_STORE if set, else .volnux/volnux.db in the
                              current working directory (at call time)
    memory:   memory://       an in-memory journal (gone with the process)
    sqlite:///abs/path.db     a SQLite journal at an absolute path
    sqlite:relative.db        a SQLite journal relative to the working directory
    path/to/file.db           a plain path ending in .db, .sqlite or .sqlite3
    postgresql://...          (not available yet)

A SQLite URL may end in ``?synchronous=FULL`` (or ``NORMAL``, the default);
see :class:`~volnux.store.sqlite.SQLiteJournal` for what that changes.
Paths are taken literally (no percent-decoding); ``~`` is expanded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from ..errors import StoreError
from .base import Journal
from .memory import MemoryJournal
from .sqlite import SQLiteJournal
from .sqlite_file import Synchronous

__all__ = ["DEFAULT_STORE", "STORE_ENV", "open_store"]

#: The environment variable read when no URL is given.
STORE_ENV: Final = "VOLNUX_STORE"

#: The journal used when neither a URL nor $VOLNUX_STORE is given, relative
#: to the current working directory.
DEFAULT_STORE: Final = Path(".volnux") / "volnux.db"

_SQLITE_SUFFIXES: Final = (".db", ".sqlite", ".sqlite3")
_FORMS: Final = (
    "memory:, sqlite:///absolute/path.db, sqlite:relative/path.db, "
    "or a path ending in .db, .sqlite or .sqlite3"
)


def open_store(url: str | None = None) -> Journal:
    """The journal that ``url`` names (see the module docstring for the forms)."""
    if url is None:
        url = os.environ.get(STORE_ENV) or None
        if url is None:
            return SQLiteJournal(Path.cwd() / DEFAULT_STORE)
    text = url.strip()
    lowered = text.lower()
    if lowered in ("memory:", "memory://"):
        return MemoryJournal()
    if lowered.startswith(("postgresql://", "postgres://")):
        raise StoreError("PostgreSQL store is not available yet")
    if lowered.startswith("sqlite:"):
        return _sqlite(url, text[len("sqlite:") :])
    if "?" not in text and lowered.endswith(_SQLITE_SUFFIXES):
        return SQLiteJournal(_absolute(text))
    raise StoreError(f"cannot open a journal at {url!r}: use {_FORMS}")


def _sqlite(url: str, rest: str) -> SQLiteJournal:
    """A SQLite journal from what follows ``sqlite:``."""
    path, _, query = rest.partition("?")
    if path.startswith("//"):
        # sqlite:///abs/path -> "/abs/path"; sqlite://host/... names a host,
        # which a local file cannot have.  Extra slashes (SQLAlchemy writes
        # sqlite:////abs/path) are folded: "//x" is not "/x" to every tool.
        path = path[2:]
        if not path.startswith("/"):
            raise StoreError(
                f"cannot open a journal at {url!r}: write sqlite:///absolute/path.db "
                "(three slashes) or sqlite:relative/path.db"
            )
        path = "/" + path.lstrip("/")
    if not path:
        raise StoreError(f"cannot open a journal at {url!r}: the URL names no file")
    synchronous: Synchronous = "NORMAL"
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        if key == "synchronous" and value.upper() in ("NORMAL", "FULL"):
            synchronous = "FULL" if value.upper() == "FULL" else "NORMAL"
        else:
            raise StoreError(
                f"cannot open a journal at {url!r}: unknown option {pair!r} "
                "(the one option is synchronous=NORMAL or synchronous=FULL)"
            )
    return SQLiteJournal(_absolute(path), synchronous=synchronous)


def _absolute(path: str) -> Path:
    """``path`` with ``~`` expanded, against the working directory of now."""
    return Path(path).expanduser().absolute()

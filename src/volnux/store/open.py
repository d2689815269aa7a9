"""Open a journal from a URL: the one place that maps URL schemes to journals.

Accepted forms::

    None                      $VOLNUX_STORE if set, else .volnux/volnux.db in the
                              current working directory (at call time)
    memory:   memory://       an in-memory journal (gone with the process)
    sqlite:///abs/path.db     a SQLite journal at an absolute path
    sqlite:relative.db        a SQLite journal relative to the working directory
    path/to/file.db           a plain path ending in .db, .sqlite or .sqlite3
    postgresql://user@host:port/dbname?schema=NAME
    postgres://...            a PostgreSQL journal (the ``postgres`` extra: psycopg 3)

Each scheme names a factory, ``"module:function"``, imported on first use:
opening a memory journal never imports SQLite's code, and a PostgreSQL URL
is read (and refused, when it must be) before psycopg is imported.  A
journal of another package plugs in through the ``volnux.stores``
entry-point group, the scheme as the name and such a factory as the value.
A factory is called with the whole URL, what follows ``scheme:`` and
``create`` (keyword), and returns the journal.

A URL may hold a password (``scheme://user:password@host/...``): no message
shows it.

``create=False`` is for reading: a journal that does not exist is
:class:`~volnux.errors.JournalNotFound`, and nothing (file or folder) is made.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Final

from ..errors import StoreError
from .base import Journal

__all__ = ["DEFAULT_STORE", "SCHEMES", "STORE_ENV", "open_store"]

#: The environment variable read when no URL is given.
STORE_ENV: Final = "VOLNUX_STORE"

#: The journal used when neither a URL nor $VOLNUX_STORE is given, relative
#: to the current working directory.
DEFAULT_STORE: Final = Path(".volnux") / "volnux.db"

#: URL scheme -> the factory ("module:function") that opens such a journal.
SCHEMES: Final = {
    "memory": "volnux.store.memory:open_url",
    "sqlite": "volnux.store.sqlite:open_url",
    "postgresql": "volnux.store.postgres:open_url",
    "postgres": "volnux.store.postgres:open_url",
}

#: Entry-point group where other packages add schemes.
ENTRY_POINT_GROUP: Final = "volnux.stores"

#: The ":password" of "scheme://user:password@" (up to the last "@" before a "/").
_PASSWORD: Final = re.compile(r"^([^:/?#]*://[^:/?#@]*):[^/]*@")

_SQLITE_SUFFIXES: Final = (".db", ".sqlite", ".sqlite3")
FORMS: Final = (
    "memory:, sqlite:///absolute/path.db, sqlite:relative/path.db, "
    "a path ending in .db, .sqlite or .sqlite3, "
    "or postgresql://user@host:port/dbname?schema=NAME"
)

Factory = Callable[..., Journal]


def open_store(url: str | None = None, *, create: bool = True) -> Journal:
    """The journal that ``url`` names (see the module docstring for the forms)."""
    if url is None:
        url = os.environ.get(STORE_ENV) or None
        if url is None:
            return _sqlite_path(Path.cwd() / DEFAULT_STORE, create)
    text = url.strip()
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if colon and scheme.isidentifier():
        factory = _factory(scheme)
        if factory is not None:
            return factory(url, rest, create=create)
    if "?" not in text and text.lower().endswith(_SQLITE_SUFFIXES):
        return _sqlite_path(Path(text).expanduser().absolute(), create)
    raise StoreError(f"cannot open a journal at {_without_password(url)!r}: use {FORMS}")


def _without_password(url: str) -> str:
    """``url`` with the password of a ``scheme://user:password@host`` form left out."""
    return _PASSWORD.sub(r"\1@", url)


def _sqlite_path(path: Path, create: bool) -> Journal:
    """A SQLite journal at a plain path: the default journal's form."""
    from .sqlite import SQLiteJournal

    return SQLiteJournal(path, create=create)


def _factory(scheme: str) -> Factory | None:
    """The factory of ``scheme``, imported now; None if no one opens it."""
    target = SCHEMES.get(scheme) or _entry_point(scheme)
    if target is None:
        return None
    module, _, name = target.partition(":")
    try:
        found: Factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise StoreError(
            f"the journal for {scheme}: URLs ({target}) cannot be loaded: {exc}"
        ) from exc
    return found


def _entry_point(scheme: str) -> str | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=scheme):
        return str(ep.value)
    return None

"""``sqlite:`` URLs: what follows the scheme, read into a path and options."""

from __future__ import annotations

from pathlib import Path

from ...errors import StoreError
from .file import Synchronous
from .journal import SQLiteJournal

__all__ = ["open_url"]


def open_url(url: str, rest: str, *, create: bool = True) -> SQLiteJournal:
    """A SQLite journal from ``sqlite:REST`` (``url`` is the whole URL, for messages).

    ``sqlite:///abs/path.db`` (any number of slashes past two),
    ``sqlite:relative/path.db``, and ``?synchronous=FULL`` or ``NORMAL``.
    Paths are taken literally (no percent-decoding); ``~`` is expanded.
    """
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
    return SQLiteJournal(Path(path).expanduser().absolute(), synchronous=synchronous, create=create)

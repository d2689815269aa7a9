"""The base of splitters that read one file, and the checks every splitter shares.

A file splitter knows its file by absolute path: a resume may run from
another working directory, and the identity kept with the run must name the
same file there.  Subclasses say how to iterate and how to read one batch
again; identity and the changed-source check are the same for all of them.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import Any

from ..errors import InputError, SourceChanged
from .identity import check_identity, file_identity, require_file
from .model import Batch, Position, SourceIdentity

__all__ = ["FileSplitter", "check_batch_size", "check_encoding"]


def check_batch_size(batch_size: object) -> int:
    """``batch_size`` if it is a whole number >= 1, else ``InputError`` saying so."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a whole number >= 1, not {batch_size!r}")
    return batch_size


def check_encoding(encoding: str) -> str:
    """``encoding``, if lines can be found in its bytes by looking for ``\\n``.

    Batches are found and read again by byte offset, splitting on the byte
    ``\\n``: that holds for UTF-8, ASCII and the Latin encodings, not for
    UTF-16 or UTF-32, whose newline is two or four bytes.
    """
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(f"unknown text encoding {encoding!r}") from exc
    if "\n".encode(encoding) != b"\n" or "\r".encode(encoding) != b"\r":
        raise InputError(
            f"encoding {encoding!r} is not split into lines by the byte \\n; "
            "convert the file to UTF-8 first"
        )
    return encoding


class FileSplitter:
    """Base of the splitters that read one file (``lines``, ``csv``, ...).

    A splitter of your own (kind ``custom``) may subclass it: it gets
    :attr:`path`, :attr:`batch_size`, :meth:`identity`, :meth:`check` and
    :meth:`read_range`, and writes ``__iter__`` and ``read``.
    """

    kind: str = "file"
    rereadable: bool = True

    def __init__(self, source: Any, batch_size: int) -> None:
        #: The file's absolute path.
        self.path = require_file(source, self.kind)
        self.batch_size = check_batch_size(batch_size)

    def __iter__(self) -> Iterator[Batch]:
        raise NotImplementedError

    def read(self, position: Position) -> list[Any]:
        """The items of the batch at ``position``, read again from the file."""
        raise NotImplementedError

    def identity(self) -> SourceIdentity:
        """The file as it is now: path, size, mtime_ns, sha256 of its first 64 KiB."""
        return file_identity(self.path)

    def check(self, identity: SourceIdentity, *, force: bool = False) -> list[str]:
        """What changed since ``identity``; ``SourceChanged`` naming it unless ``force``."""
        return check_identity(self.path, identity, self.identity(), force=force)

    def read_range(self, offset: int, length: int) -> bytes:
        """The ``length`` bytes at ``offset``; ``SourceChanged`` if the file ends before."""
        with open(self.path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
        if len(data) != length:
            raise SourceChanged(
                self.path, [f"it ends at byte {offset + len(data)}, inside the batch's range"]
            )
        return data

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.path} batch_size={self.batch_size}>"

    def _range_position(
        self, start: int, end: int, first_line: int, first_item: int, items: list[Any]
    ) -> Position:
        """A batch of whole lines or rows: its byte range ``start``-``end``, the index
        (from 0) of its first line in the file and of its first item, and its size."""
        return {
            "kind": self.kind,
            "offset": start,
            "length": end - start,
            "first_line": first_line,
            "first_item": first_item,
            "count": len(items),
        }

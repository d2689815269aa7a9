"""What splitting produces: batches, their positions, and the identity of a source.

A batch run journals each batch by its *position* (a byte range, a row
range), not by a copy of its items: a batch of a 2 GB file costs the journal
a few numbers, and a resume reads exactly those bytes again.  That is only
safe while the source is the one the run started on, which is what the
*identity* is for: the journal keeps it with the run, and a resume compares
it with the source as it is now (:meth:`Splitter.check`).

Positions and identities are plain JSON data (dicts of strings, numbers and
lists) so that any journal can store them and a resume in another process,
or on another machine, can use them as they come back from ``json.loads``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import InputError

__all__ = ["Batch", "Position", "SourceIdentity", "Splitter", "position_ints"]

#: How to read one batch again: JSON data whose ``kind`` names the splitter
#: that made it, and whose other keys depend on that kind (see docs/batch.md).
Position = dict[str, Any]

#: What a source was when a run started: JSON data whose ``kind`` is ``file``
#: (path, size, mtime_ns, sha256 of the first 64 KiB), ``files`` (the sorted
#: files of a directory or pattern, with sizes and mtimes) or ``unchecked`` (an
#: in-memory iterable, which has nothing to compare).
SourceIdentity = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch of a source: its number, how to read it again, and its items."""

    #: 0 for the first batch of the source, then 1, 2, ...
    index: int
    #: How to read this batch again (JSON data; see :data:`Position`).
    position: Position
    #: The items, in source order: lines, rows as dicts, JSON values, paths, ...
    items: list[Any]

    @property
    def size(self) -> int:
        """How many items the batch holds (``batch_size``, except for the last)."""
        return len(self.items)


@runtime_checkable
class Splitter(Protocol):
    """What every splitter does, built-in or your own (kind ``custom``).

    Iterating reads the source incrementally, one batch at a time: memory is
    bounded by the batches the caller holds, never by the source.
    """

    #: The kind that made this splitter (``lines``, ``csv``, ...).
    kind: str
    #: Whether :meth:`read` can give a batch's items back from its position.
    #: False for an in-memory iterable: its batches' items must be journaled.
    rereadable: bool

    def __iter__(self) -> Iterator[Batch]:
        """The batches in source order, read lazily."""
        ...

    def read(self, position: Position) -> list[Any]:
        """The items of the batch at ``position``, read again from the source."""
        ...

    def identity(self) -> SourceIdentity:
        """The source as it is now, to be kept with the run."""
        ...

    def check(self, identity: SourceIdentity, *, force: bool = False) -> list[str]:
        """What changed since ``identity`` was taken; ``SourceChanged`` unless ``force``."""
        ...


def position_ints(position: Mapping[str, Any], kind: str, *names: str) -> tuple[int, ...]:
    """The integer fields ``names`` of a ``kind`` position, each checked.

    A position comes back from a journal, possibly written by another version
    or for another source: a wrong one is refused here, with what is wrong,
    rather than failing later as an odd ``seek``.
    """
    if not isinstance(position, Mapping) or position.get("kind") != kind:
        found = position.get("kind") if isinstance(position, Mapping) else type(position).__name__
        raise InputError(f"not the position of a {kind!r} batch (its kind is {found!r})")
    values = []
    for name in names:
        value = position.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(
                f"the position of a {kind!r} batch needs {name!r} as a whole number >= 0, "
                f"not {value!r}"
            )
        values.append(value)
    return tuple(values)

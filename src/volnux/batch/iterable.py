"""Splitters whose items cannot be read again by position: ``iterable`` and functions.

An iterable in memory (a list, a generator, a database cursor) is consumed
as it goes, and nothing says it would give the same items twice: the only
faithful copy of such a batch is its items, which the caller keeps in the
journal (:attr:`rereadable` is False, and :meth:`read` refuses).  Their
positions still say where each batch was, ``{first_item, count}``.

A function of your own, ``f(source, batch_size) -> iterable of lists``, is
the same: Volnux cannot know how to read one of its batches again.  When its
source is the path of a file, the file's identity is kept all the same, so a
resume over a changed file is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from ..errors import InputError
from .base import check_batch_size
from .identity import check_identity, file_identity
from .model import Batch, Position, SourceIdentity

__all__ = ["FunctionSplitter", "IterableSplitter", "SplitFunction"]

#: A splitter written as a function: ``f(source, batch_size)`` gives the batches.
SplitFunction = Callable[[Any, int], Iterable[Iterable[Any]]]


class _InMemory:
    """What the two share: no reading again, and positions that only count items."""

    kind = "iterable"
    rereadable = False

    def __init__(self, batch_size: int) -> None:
        self.batch_size = check_batch_size(batch_size)

    def _batch(self, index: int, first_item: int, items: list[Any]) -> Batch:
        position: Position = {"kind": self.kind, "first_item": first_item, "count": len(items)}
        return Batch(index, position, items)

    def read(self, position: Position) -> list[Any]:
        """Refused: the batch's items are not kept anywhere but where the caller keeps them."""
        raise InputError(
            f"a batch of a {self.kind!r} source cannot be read again from its position "
            f"({position!r}): nothing says the source would give the same items twice. "
            "Keep each batch's items in the journal for such a source (its splitter's "
            "rereadable is False)"
        )

    def identity(self) -> SourceIdentity:
        """Nothing to compare: ``{"kind": "unchecked"}``."""
        return {"kind": "unchecked"}

    def check(self, identity: SourceIdentity, *, force: bool = False) -> list[str]:
        """What changed since ``identity`` (nothing can, for a source in memory)."""
        return check_identity(self._where(), identity, self.identity(), force=force)

    def _where(self) -> str:
        return repr(self)


class IterableSplitter(_InMemory):
    """Kind ``iterable``: any Python iterable, ``batch_size`` items a batch, consumed lazily."""

    def __init__(self, source: Any, batch_size: int) -> None:
        super().__init__(batch_size)
        if isinstance(source, str | bytes | bytearray):
            raise InputError(
                f"an 'iterable' source is a collection of items, not a {type(source).__name__} "
                "(whose items would be its characters); to split a file by lines, "
                "use kind 'lines' with its path"
            )
        if not isinstance(source, Iterable):
            raise InputError(
                f"an 'iterable' source must be iterable; {type(source).__name__} is not"
            )
        self.source: Iterable[Any] = source

    def __iter__(self) -> Iterator[Batch]:
        items = iter(self.source)
        index = first_item = 0
        while chunk := list(islice(items, self.batch_size)):
            yield self._batch(index, first_item, chunk)
            index, first_item = index + 1, first_item + len(chunk)

    def __repr__(self) -> str:
        return f"<IterableSplitter {type(self.source).__name__} batch_size={self.batch_size}>"


class FunctionSplitter(_InMemory):
    """Kind ``custom`` with a function: its batches as it gives them, empty ones left out."""

    kind = "custom"

    def __init__(self, function: SplitFunction, source: Any, batch_size: int) -> None:
        super().__init__(batch_size)
        self.function = function
        self.source = source
        self.name = (
            f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', function)}"
        )

    def __iter__(self) -> Iterator[Batch]:
        batches = self.function(self.source, self.batch_size)
        if not isinstance(batches, Iterable):
            raise InputError(
                f"splitter {self.name} returned a {type(batches).__name__}; a splitter "
                "function returns an iterable of lists of items"
            )
        index = first_item = 0
        for batch in batches:
            if isinstance(batch, str | bytes) or not isinstance(batch, Iterable):
                raise InputError(
                    f"splitter {self.name} gave a {type(batch).__name__} as batch {index}; "
                    "each batch is a list of items"
                )
            items = list(batch)
            if items:
                yield self._batch(index, first_item, items)
                index, first_item = index + 1, first_item + len(items)

    def identity(self) -> SourceIdentity:
        """The file's identity when the source is a file's path; else nothing to compare."""
        path = self._path()
        return file_identity(path) if path else super().identity()

    def _path(self) -> str | None:
        """The source's absolute path, if it names a file."""
        if isinstance(self.source, str | os.PathLike) and os.path.isfile(self.source):
            return os.path.abspath(os.fspath(self.source))
        return None

    def _where(self) -> str:
        return self._path() or repr(self)

    def __repr__(self) -> str:
        return f"<FunctionSplitter {self.name} batch_size={self.batch_size}>"

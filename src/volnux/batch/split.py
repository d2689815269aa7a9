"""``splitter(kind, source, batch_size, **options)``: the one way to split a source.

The kinds are a table from name to constructor, not a chain of ``if``: a
new built-in kind is a new module and one line here; a kind of your own is
kind ``custom`` (see :mod:`.custom`).  Options are checked against what the
kind takes, so that a misspelt option is an error naming the ones there are
rather than a silent default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Final

from ..errors import InputError
from .base import check_batch_size
from .custom import custom_splitter
from .files import FilesSplitter
from .iterable import IterableSplitter
from .model import Splitter
from .parquet import ParquetSplitter
from .rows import CsvSplitter
from .text import ByteSplitter, JsonLinesSplitter, LineSplitter

__all__ = ["KINDS", "splitter"]

#: Every kind of source, by name.
KINDS: Final[dict[str, Callable[..., Splitter]]] = {
    "bytes": ByteSplitter,
    "csv": CsvSplitter,
    "custom": custom_splitter,
    "files": FilesSplitter,
    "iterable": IterableSplitter,
    "jsonl": JsonLinesSplitter,
    "lines": LineSplitter,
    "parquet": ParquetSplitter,
}


def splitter(kind: str, source: Any, batch_size: int, **options: Any) -> Splitter:
    """A splitter of ``source`` into batches of ``batch_size`` items, by ``kind``.

    Nothing is read until it is iterated, except what says at once that the
    source cannot be split: a missing file, a pattern that matches nothing.
    """
    make = KINDS.get(kind) if isinstance(kind, str) else None
    if make is None:
        raise InputError(
            f"unknown batch source kind {kind!r}; the kinds are {', '.join(sorted(KINDS))} "
            "(a splitter of your own is kind 'custom' with using=...)"
        )
    check_batch_size(batch_size)
    _check_options(kind, make, options)
    return make(source, batch_size, **options)


def _check_options(kind: str, make: Callable[..., Splitter], options: dict[str, Any]) -> None:
    """``InputError`` naming an option ``kind`` does not take, and those it does."""
    parameters = inspect.signature(make).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return  # custom: the options go on to the splitter's own class
    takes = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(takes))
    if unknown:
        accepted = f"its options are {', '.join(takes)}" if takes else "it takes no options"
        raise InputError(
            f"kind {kind!r} takes no option {', '.join(map(repr, unknown))}; {accepted}"
        )

"""``splitter(kind, source, batch_size, **options)``: the one way to split a source.

The kinds are a table from name to constructor, not a chain of ``if``: a
new built-in kind is a new module and one line here; a kind of your own is
kind ``custom`` (see :mod:`.custom`).  Options are checked against what the
kind takes, so that a misspelt option is an error naming the ones there are
rather than a silent default.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from pathlib import Path
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

__all__ = ["KINDS", "guess_kind", "recordable", "splitter"]

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


#: The kind a file's suffix implies, when no kind is given.
_SUFFIXES: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def guess_kind(source: Any) -> str:
    """The kind of ``source`` when none is given.

    A path (``str`` or ``os.PathLike``) to a directory, or holding ``*`` or
    ``?``, is ``files``; a file is told by its suffix (``.csv``, ``.jsonl``,
    ``.ndjson``, ``.parquet``), and is ``lines`` otherwise; anything else
    iterable is ``iterable``.
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if any(c in text for c in "*?[") or Path(text).is_dir():
            return "files"
        return _SUFFIXES.get(Path(text).suffix.lower(), "lines")
    if isinstance(source, Iterable):
        return "iterable"
    raise InputError(
        f"cannot split a {type(source).__name__}: give a path, a pattern or an iterable "
        "(or a kind of your own: split='custom', using=...)"
    )


def recordable(kind: str, source: Any, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The source and options as a batch run records them, to split the same way again.

    A path is recorded absolute; an iterable is not recorded (its batches'
    items are, instead).  ``using`` (kind ``custom``) is recorded as the
    ``module:name`` or entry-point name it can be found by in another process.
    """
    if kind == "iterable":
        text = ""
    elif kind == "custom":
        text = source if isinstance(source, str) else ""
    elif isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if kind != "files" or not any(c in text for c in "*?["):
            text = str(Path(text).absolute())
        elif not os.path.isabs(text):
            text = os.path.join(os.getcwd(), text)
    else:
        text = ""
    out = dict(options)
    using = out.get("using")
    if using is not None and not isinstance(using, str):
        module, name = getattr(using, "__module__", None), getattr(using, "__qualname__", None)
        if not module or not name or "<" in name:
            raise InputError(
                f"using={using!r} cannot be found again by a resume in another process: "
                "give a function or class defined at the top of a module"
            )
        out["using"] = f"{module}:{name}"
    return text, out

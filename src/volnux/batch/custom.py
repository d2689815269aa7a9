"""Kind ``custom``: a splitter of your own, given as ``using=``.

``using`` is one of:

- a function ``f(source, batch_size) -> iterable of lists`` (its batches
  cannot be read again by position; see :mod:`.iterable`);
- a class with the protocol of the built-in splitters
  (:class:`~volnux.batch.model.Splitter`), made as
  ``cls(source, batch_size, **options)``; subclassing
  :class:`~volnux.batch.base.FileSplitter` gives identity and checks;
- ``"module:name"``, either of those by import path;
- a name registered by an installed package under the ``volnux.splitters``
  entry-point group.

Strings are resolved when the splitter is made, so that a typo is an error
before any batch runs, naming what was looked for and where.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from ..errors import InputError
from .base import check_batch_size
from .iterable import FunctionSplitter
from .model import Splitter

__all__ = ["ENTRY_POINT_GROUP", "custom_splitter", "resolve"]

#: Where installed packages add splitters.
ENTRY_POINT_GROUP: Final = "volnux.splitters"

#: What a class given as ``using`` must have.
_PROTOCOL: Final = ("kind", "rereadable", "__iter__", "read", "identity", "check")


def custom_splitter(source: Any, batch_size: int, *, using: Any = None, **options: Any) -> Splitter:
    """The splitter ``using`` names, over ``source``."""
    check_batch_size(batch_size)
    if using is None:
        raise InputError(
            "kind 'custom' needs using=: a function f(source, batch_size), a splitter "
            f"class, 'module:name', or a name in the {ENTRY_POINT_GROUP!r} entry-point group"
        )
    target = resolve(using)
    name = using if isinstance(using, str) else getattr(target, "__qualname__", repr(target))
    if isinstance(target, type):
        made = target(source, batch_size, **options)
        missing = [attr for attr in _PROTOCOL if not hasattr(made, attr)]
        if missing:
            raise InputError(
                f"splitter class {name} lacks {', '.join(missing)}; a splitter has "
                f"{', '.join(_PROTOCOL)} (subclassing FileSplitter gives most of them)"
            )
        splitter: Splitter = made
        return splitter
    if options:
        raise InputError(
            f"splitter function {name} takes no options, and was given "
            f"{', '.join(sorted(options))}; use functools.partial, or a class"
        )
    return FunctionSplitter(target, source, batch_size)


def resolve(using: Any) -> Any:
    """The function or class ``using`` names: itself, ``"module:name"``, or an entry point."""
    if not isinstance(using, str):
        if not callable(using):
            raise InputError(
                f"using= takes a function, a class or a name, not a {type(using).__name__}"
            )
        return using
    if ":" in using:
        return _imported(using)
    return _entry_point(using)


def _imported(path: str) -> Any:
    module_name, _, attrs = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"splitter {path!r}: cannot import {module_name!r}: {exc}") from exc
    for attr in attrs.split("."):
        try:
            found = getattr(found, attr)
        except AttributeError as exc:
            raise InputError(f"splitter {path!r}: {module_name} has no {attrs!r}") from exc
    if not callable(found):
        raise InputError(f"splitter {path!r} is a {type(found).__name__}, not a function or class")
    return found


def _entry_point(name: str) -> Any:
    # Imported here: importlib.metadata costs ~20 ms, and only this needs it.
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none is installed"
        raise InputError(
            f"no splitter {name!r} in the {ENTRY_POINT_GROUP!r} entry-point group "
            f"(registered: {known}); write 'module:function' to name one by import path"
        )
    try:
        return found[name].load()
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"splitter {name!r} ({found[name].value}, entry point of "
            f"{ENTRY_POINT_GROUP!r}) cannot be loaded: {exc}"
        ) from exc

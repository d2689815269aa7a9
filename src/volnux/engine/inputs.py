"""Workflow inputs checked against what the events declare, before anything runs.

An event's input parameter with an annotation of a plain type (``int``,
``float``, ``str``, ``bool``, ``bytes``, ``list``, ``dict``, ``tuple``, their
parametrised forms such as ``list[int]``, and unions of them with ``None``)
must be given a value of that type.  A value that converts without losing
anything is converted, before the run is recorded:

* text of a whole number (``"3"``) for an ``int``; of a number for a ``float``;
* ``"true"`` / ``"false"`` (any case) for a ``bool``;
* a whole number for a ``str`` (the command line reads ``--input id=123`` as
  a number; ``"123"`` is what it was);
* an ``int`` for a ``float`` is accepted as it is, as Python does.

Anything else is an :class:`~volnux.errors.InputError` naming the input, the
value, the event and the type it takes.  Other annotations (``Any``, classes
of the author's, ``Literal``...) are not checked.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..events import EventSpec

__all__ = ["coerce_inputs"]

_WHOLE = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_PLAIN = (int, float, str, bool, bytes, list, dict, tuple)
_NAMES = {
    int: "an int (a whole number)",
    float: "a float (a number)",
    str: "a str (text)",
    bool: "a bool (true or false)",
    bytes: "bytes",
    list: "a list",
    dict: "a dict (an object)",
    tuple: "a tuple (a list)",
}


class _Skip(Exception):
    """The annotation is not one this module checks."""


def coerce_inputs(
    inputs: Mapping[str, Any],
    specs: list[tuple[EventSpec, tuple[str, ...], dict[str, Any]]],
) -> dict[str, Any]:
    """``inputs``, converted where that loses nothing; InputError for the rest.

    ``specs`` are the events of a plan, each with the nodes that run it and
    its input parameters' annotations.
    """
    out = dict(inputs)
    problems: list[str] = []
    for spec, node_ids, declared in specs:
        for name, annotation in declared.items():
            if name not in out:
                continue  # missing inputs are reported elsewhere (or defaulted)
            try:
                allowed, optional = _allowed(annotation)
            except _Skip:
                continue
            value = out[name]
            converted = _convert(value, allowed, optional)
            if converted is _NO:
                users = ", ".join(f"{n} ({spec.key})" for n in node_ids)
                wanted = " or ".join(_NAMES[t] for t in allowed) + (" or null" if optional else "")
                problems.append(f"'{name}' is {_shown(value)}, but {users} takes {wanted}")
            else:
                out[name] = converted
    if problems:
        raise InputError("workflow input " + "; ".join(problems))
    return out


#: Marks a value that does not convert.
_NO: Any = object()


def _allowed(annotation: Any) -> tuple[tuple[type, ...], bool]:
    """The plain types ``annotation`` admits, and whether None is allowed."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(annotation)
    else:
        members = (annotation,)
    allowed: list[type] = []
    optional = False
    for member in members:
        if member is type(None):
            optional = True
            continue
        base = typing.get_origin(member) or member
        if base not in _PLAIN:
            raise _Skip
        allowed.append(base)
    if not allowed:
        raise _Skip
    return tuple(allowed), optional


def _convert(value: Any, allowed: tuple[type, ...], optional: bool) -> Any:
    """``value`` as one of ``allowed`` (itself when it already is one); _NO if it cannot be."""
    if value is None:
        return value if optional else _NO
    kind = type(value)
    for target in allowed:
        if kind is target or (target is float and kind is int):
            return value
        if target in (list, tuple) and kind in (list, tuple):
            return value  # JSON has arrays only: a tuple reads back as a list
    for target in allowed:
        if kind is str:
            text = value.strip()
            if target is int and _WHOLE.fullmatch(text):
                return int(text)
            if target is float and _NUMBER.fullmatch(text):
                return float(text)
            if target is bool and text.lower() in ("true", "false"):
                return text.lower() == "true"
        if target is str and kind is int:
            return str(value)
    return _NO


def _shown(value: Any) -> str:
    """A value and its JSON kind, for a message: ``'abc' (text)``."""
    kinds = {
        str: "text",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        tuple: "a list",
        dict: "an object",
        type(None): "null",
    }
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({kinds.get(type(value), type(value).__name__)})"

"""Workflow inputs from the command line: ``--input key=value`` and ``--input-json``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..errors import InputError

__all__ = ["parse_inputs"]


def parse_inputs(pairs: Iterable[str], json_text: str | None = None) -> dict[str, Any]:
    """Merge ``--input-json`` (an object) and ``--input key=value`` pairs; pairs win.

    A pair's value is read as JSON when it parses (``n=3`` is the number 3,
    ``flags=[1,2]`` a list) and kept as the plain string otherwise
    (``path=data/orders.csv``).  Raises :class:`InputError` naming the bad
    argument and how to write it.
    """
    inputs: dict[str, Any] = {}
    if json_text is not None:
        try:
            data = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"--input-json is not valid JSON ({exc.msg} at column {exc.colno}); "
                """write an object such as --input-json '{"orders_csv": "orders.csv"}'"""
            ) from None
        if not isinstance(data, dict):
            raise InputError(
                f"--input-json must be a JSON object, got {_json_kind(data)}; "
                """write an object such as --input-json '{"orders_csv": "orders.csv"}'"""
            )
        inputs.update(data)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(
                f"--input {pair!r} is not key=value; write --input "
                f"{key or 'name'}=VALUE (the value is read as JSON if it parses, else as text)"
            )
        inputs[key] = _value(raw)
    return inputs


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")

"""How the SQLite journal stores a batch of task records: one JSON array, one row.

A batch is what the engine writes at once: a task's result together with
the next task's start, or a parallel group's starts.  SQLite's cost per row
(a B-tree insert, more bytes in the write-ahead log) is paid once per batch
instead of once per record, which is most of a durable chain step's cost.

Each record is a JSON array::

    [node_id, round, attempt, state, at, descriptor, codec, result, error,
     next_attempt_at, note]

``codec`` is null (no result), ``"json"`` (``result`` is the JSON value
itself, spliced in as the codec wrote it) or another codec's name, whose
output is stored as ``{"text": ...}`` or ``{"b64": ...}`` (base64 bytes).
``error`` is null or ``{"type", "message", "traceback"}``.

Times (``at``, ``next_attempt_at``; seconds since the epoch) come back as
exactly the float that was written, in one of two spellings:

* a JSON integer is a count of microseconds.  It is used for a time that
  is a whole, non-zero number of microseconds, as the engine's clock gives
  (:func:`volnux.engine.clock.microsecond_time`): an integer is written and read without the
  float-to-text code, which, run between two commits with every cache cold,
  cost a durable chain step about 2 us more;
* a JSON number with a point or an exponent is the time itself, written
  with 17 significant digits (``%.17g``, which reads back exactly); ``.0``
  is added to one that would otherwise read as an integer (``100``, ``-0``).
  Journals written before version 3 hold only this spelling.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ...states import TaskState
from ..base import ErrorInfo, TaskRecord

__all__ = ["RecordEncoder", "decode_batch", "decode_batches", "encode_record", "records_of"]

_STRING: Final = json.JSONEncoder(separators=(",", ":")).encode
_STATES: Final = {state.value: state for state in TaskState}
_JSON_CODEC: Final = "json"
#: How times that are not whole microseconds are written (see the module docstring).
_TIME: Final = "%.17g"
#: Microseconds per second.
_US: Final = 1e6
#: Times whose microsecond count stays below 2**53, so a float holds it exactly
#: (about 9e9 s: until the year 2255).
_US_LIMIT: Final = 2.0**53 / _US


def _number(value: float | None) -> str:
    if value is None:
        return "null"
    if not math.isfinite(value):  # JSON has no spelling for these
        raise ValueError(f"a time of {value!r} cannot be recorded")
    return _time(value)


def _time(value: float) -> str:
    if -_US_LIMIT < value < _US_LIMIT:
        us = round(value * _US)
        if us and us / _US == value:  # zero is left to the float, which keeps -0.0
            return int.__repr__(us)
    text = _TIME % value
    return text if "." in text or "e" in text else text + ".0"


def encode_record(rec: TaskRecord, data: bytes | str | None, codec: str | None) -> str:
    """One record as JSON text; ``data`` is its result as ``codec`` encoded it."""
    if codec is None:
        result = "null"
    elif codec == _JSON_CODEC:
        result = str(data)
    elif isinstance(data, bytes):
        result = '{"b64":"' + base64.b64encode(data).decode("ascii") + '"}'
    else:
        result = '{"text":' + _STRING(data) + "}"
    error = rec.error
    return (
        f'[{_STRING(rec.node_id)},{int(rec.round)},{int(rec.attempt)},"{rec.state.value}",'
        f"{_number(rec.at)},{'null' if rec.descriptor is None else int(rec.descriptor)},"
        f"{'null' if codec is None else _STRING(codec)},{result},"
        f"{'null' if error is None else _STRING(error.to_dict())},"
        f"{_number(rec.next_attempt_at)},{'null' if rec.note is None else _STRING(rec.note)}]"
    )


class RecordEncoder:
    """:func:`encode_record`, faster for the records the engine writes most.

    A RUNNING or SUCCEEDED record has no error, note or retry time, its time
    is whole microseconds (the engine's clock), and its node id recurs (two
    records per attempt), so the quoted id is looked up rather than
    JSON-encoded each time.  Anything else goes through :func:`encode_record`;
    both write the same text.
    """

    #: Quoted node ids kept at most (a long-lived journal sees many workflows).
    MAX_NAMES: Final = 65536

    __slots__ = ("_names", "_states")

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._states = {state: f'"{state.value}"' for state in TaskState}

    def __call__(self, rec: TaskRecord, data: bytes | str | None, codec: str | None) -> str:
        """One record as JSON text; ``data`` is its result as ``codec`` encoded it."""
        _, node_id, state, attempt, at, round_, descriptor, _, error, retry_at, note = rec
        if (
            error is None
            and retry_at is None
            and note is None
            and type(at) is float
            and -_US_LIMIT < at < _US_LIMIT  # (so neither inf nor nan)
            and type(round_) is int
            and type(attempt) is int
        ):
            us = round(at * _US)
            if us and us / _US == at:  # whole microseconds: _time's integer spelling
                name = self._names.get(node_id)
                if name is None:
                    name = self._name(node_id)
                head = f"[{name},{round_},{attempt},{self._states[state]},{us},"
                if codec is None:
                    if descriptor is None:
                        return head + "null,null,null,null,null,null]"
                    return f"{head}{int(descriptor)},null,null,null,null,null]"
                if codec == _JSON_CODEC:  # the codec's text is the value
                    desc = "null" if descriptor is None else int(descriptor)
                    return f'{head}{desc},"json",{data!s},null,null,null]'
        return encode_record(rec, data, codec)

    def batch(
        self,
        records: Sequence[TaskRecord],
        encoded: Mapping[int, Any] | None,
        encode: Callable[[str, Any], tuple[bytes | str | None, str | None]],
    ) -> tuple[list[str], bool]:
        """Each record as JSON text, its result encoded by ``encode`` (a codec set's)
        unless ``encoded`` has it already; and whether the records are of more
        than one run.  Every result is encoded before the caller writes anything,
        so an :class:`~volnux.errors.UnencodableResult` leaves nothing written."""
        run_id = records[0].run_id
        texts: list[str] = []
        mixed = False  # records of more than one run (the engine writes one run's)
        for i, rec in enumerate(records):
            result = rec.result
            data: bytes | str | None
            codec: str | None
            if result is None:
                data = codec = None
            elif type(result) is int:  # int's repr is its JSON
                data, codec = int.__repr__(result), _JSON_CODEC
            else:
                ready = encoded.get(i) if encoded else None
                data, codec = ready if ready is not None else encode(rec.node_id, result)
            mixed = mixed or rec.run_id != run_id
            texts.append(self(rec, data, codec))
        return texts, mixed

    def run_batch(
        self,
        run_id: str,
        records: Sequence[TaskRecord],
        encoded: Mapping[int, Any] | None,
        encode: Callable[[str, Any], tuple[bytes | str | None, str | None]],
    ) -> str:
        """Run ``run_id``'s ``records`` as one batch's JSON text (see :meth:`batch`);
        ValueError, before anything is written, if one is another run's."""
        if any(rec.run_id != run_id for rec in records):
            raise ValueError(f"the records written with the state of run {run_id} are its own")
        texts, _mixed = self.batch(records, encoded, encode)
        return "[" + ",".join(texts) + "]"

    def _name(self, node_id: str) -> str:
        names = self._names
        if len(names) >= self.MAX_NAMES:
            names.clear()
        name = names[node_id] = _STRING(node_id)
        return name


def decode_batch(
    text: str,
    run_id: str,
    state_of: Callable[[str, str], Any],
    decode: Callable[[str, bytes | str, str], Any],
    where: Callable[[str], str],
) -> list[TaskRecord]:
    """The records of one stored batch.

    ``state_of(value, node_id)`` turns a state's text into a TaskState;
    ``decode(codec, data, place)`` decodes a non-JSON result; ``where(what)``
    names a place in the journal for error messages.  Raises ValueError,
    KeyError or TypeError when the text is not a batch (the caller says the
    journal is damaged).
    """
    items = json.loads(text)
    if not isinstance(items, list):
        raise TypeError(f"a batch is a JSON array, not {type(items).__name__}")
    return records_of(items, run_id, state_of, decode, where)


def decode_batches(
    texts: list[str],
    run_id: str,
    state_of: Callable[[str, str], Any],
    decode: Callable[[str, bytes | str, str], Any],
    where: Callable[[str], str],
) -> list[TaskRecord] | None:
    """The records of many batches, read as one JSON document; None if that fails.

    One ``json.loads`` of the batches joined is about twice as fast as one per
    batch (a 100,000-task run has 100,000 batches).  When the joined text is
    not valid JSON, or a batch is not an array, the caller decodes batch by
    batch to say which one is damaged.
    """
    try:
        batches = json.loads("[" + ",".join(texts) + "]")
    except ValueError:
        return None
    out: list[TaskRecord] = []
    for items in batches:
        if not isinstance(items, list):
            return None
        out += records_of(items, run_id, state_of, decode, where)
    return out


_NEW_RECORD = tuple.__new__


def records_of(
    items: list[Any],
    run_id: str,
    state_of: Callable[[str, str], Any],
    decode: Callable[[str, bytes | str, str], Any],
    where: Callable[[str], str],
) -> list[TaskRecord]:
    """Records from a batch's decoded JSON items (see :func:`decode_batch`)."""
    out = []
    states = _STATES
    for item in items:
        (node_id, round_, attempt, state, at, descriptor, codec, result, error,
         next_attempt_at, note) = item  # fmt: skip
        if codec is None or codec == _JSON_CODEC:
            value = result
        else:
            data: bytes | str = (
                base64.b64decode(result["b64"]) if "b64" in result else result["text"]
            )
            value = decode(codec, data, where(f"the result of task {node_id!r}"))
        if type(at) is int:  # microseconds (see the module docstring)
            at /= _US
        if type(next_attempt_at) is int:
            next_attempt_at /= _US
        task_state = states.get(state) if type(state) is str else None
        if task_state is None:
            task_state = state_of(state, node_id)  # raises, naming the bad state
        # tuple.__new__: a named tuple's own constructor is a Python function,
        # and a 100,000-task run loads 200,000 records.
        out.append(
            _NEW_RECORD(
                TaskRecord,
                (
                    run_id,
                    node_id,
                    task_state,
                    attempt,
                    at,
                    round_,
                    descriptor,
                    value,
                    None if error is None else ErrorInfo.from_dict(error),
                    next_attempt_at,
                    note,
                ),
            )
        )
    return out

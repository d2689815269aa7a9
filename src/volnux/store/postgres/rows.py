"""Reading the PostgreSQL journal's rows back into records, and naming what is damaged.

A row that cannot be read (text that is not JSON, a state this version does
not know, a batch that is not an array) is a :class:`CorruptStoreError`
naming the run, the part of it and the journal, as the SQLite journal names
them; batches are decoded by :mod:`volnux.store.sqlite.records`, as they were
written by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from ...errors import CorruptStoreError
from ...states import RunState, TaskState
from ..base import RunNote, RunRecord, TaskRecord
from ..codec import CodecSet
from ..jsonform import decode_json, pins_from_json
from ..sqlite.records import decode_batch, decode_batches

__all__ = ["RowReader", "after_prefix"]

_S = TypeVar("_S", TaskState, RunState)

_TASK_STATES: Final = {state.value: state for state in TaskState}
_RUN_STATES: Final = {state.value: state for state in RunState}


class RowReader:
    """Turns the rows of one journal (at ``location``) into records, with its codecs."""

    def __init__(self, codecs: CodecSet, location: str) -> None:
        self._codecs = codecs
        self.location = location

    def run(self, row: tuple[Any, ...]) -> RunRecord:
        """A run from the columns of ``Statements.load_run`` (less the run's number)."""
        (run_id, workflow, filename, text, fingerprint, events, inputs, inputs_blob,
         inputs_codec, state, created_at, updated_at, ended_at, error, owner, epoch,
         heartbeat_at, parent) = row  # fmt: skip
        events_data = decode_json(events, self._where(run_id, "the events"))
        try:
            pins = pins_from_json(events_data)
        except (AttributeError, TypeError, ValueError, IndexError) as exc:
            raise CorruptStoreError(f"{self._where(run_id, 'the events')} are malformed") from exc
        data = inputs if inputs is not None else inputs_blob  # (the codec's text, or its bytes)
        return RunRecord(
            id=run_id,
            workflow=workflow,
            text=text,
            fingerprint=fingerprint,
            events=pins,
            inputs=self._codecs.decode(inputs_codec, data, self._where(run_id, "the inputs")),
            state=self._state(_RUN_STATES, state, run_id, "run"),
            created_at=created_at,
            updated_at=updated_at,
            filename=filename,
            ended_at=ended_at,
            error=error,
            owner=owner,
            epoch=int(epoch),
            heartbeat_at=heartbeat_at,
            parent=parent,
        )

    def notes(self, run_id: str, rows: list[Any]) -> list[RunNote]:
        """The run's notes from (kind, at, detail) rows."""
        where = self._where(run_id, "a note")
        return [RunNote(run_id, kind, at, decode_json(detail, where)) for kind, at, detail in rows]

    def batches(self, run_id: str, rows: list[Any]) -> list[TaskRecord]:
        """Every record of the run's (seq, records) rows: all at once, or (to name a
        damaged batch) one batch at a time."""
        try:
            found = decode_batches(
                [text for _seq, text in rows],
                run_id,
                self._state_of(run_id),
                self._codecs.decode,
                lambda what: self._where(run_id, what),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            found = None  # the batch by batch reading below says where
        if found is not None:
            return found
        return [rec for row in rows for rec in self._batch(run_id, row)]

    def _batch(self, run_id: str, row: tuple[Any, ...]) -> list[TaskRecord]:
        seq, text = row

        def where(what: str) -> str:
            return self._where(run_id, f"{what} (batch {seq})")

        try:
            return decode_batch(text, run_id, self._state_of(run_id), self._codecs.decode, where)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptStoreError(f"{where('a batch of task records')} is malformed") from exc

    def _state_of(self, run_id: str) -> Callable[[str, str], TaskState]:
        def state_of(value: str, node_id: str) -> TaskState:
            return self._state(_TASK_STATES, value, run_id, f"task {node_id!r}")

        return state_of

    def _state(self, states: Mapping[str, _S], value: str, run_id: str, what: str) -> _S:
        try:
            return states[value]
        except KeyError:
            raise CorruptStoreError(
                f"{self._where(run_id, 'the state of ' + what)} is {value!r}, which this "
                "version of Volnux does not know"
            ) from None

    def _where(self, run_id: str, what: str) -> str:
        return f"{what} of run {run_id} in {self.location}"


#: The highest code point, and the surrogates, which no text (UTF-8) holds.
_MAX_CHAR: Final = 0x10FFFF
_SURROGATES: Final = range(0xD800, 0xE000)


def after_prefix(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``, in code
    point order (run ids' collation is "C"); None when there is none (``""``,
    or U+10FFFF only): then the range has no upper end."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code in _SURROGATES:
            code = _SURROGATES.stop
        if code <= _MAX_CHAR:
            return "".join(chars) + chr(code)
    return None

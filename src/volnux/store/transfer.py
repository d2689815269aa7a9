"""Moving runs between journals: one run per line of JSON.

``volnux runs export`` writes, and ``volnux runs import`` and ``volnux store
copy`` read, this form (one line per run, UTF-8)::

    {"volnux": "run", "format": 1,
     "run": {"id", "workflow", "filename", "text", "fingerprint", "events",
             "inputs", "state", "created_at", "updated_at", "ended_at",
             "error", "epoch", "parent"},
     "records": [[node_id, state, attempt, at, round, descriptor, result,
                  error, next_attempt_at, note], ...],
     "notes": [[kind, at, detail], ...],
     "logs": [[node_id, attempt, at, level, message], ...]}

``events`` is ``[[[name, version, origin, fingerprint], ...], {node_id:
index}]`` (each pin once).  A value (the inputs, a result) is ``null``,
``{"json": TEXT}``, ``{"bytes": BASE64}`` or, for a journal that pickles,
``{"codec": NAME, "base64": DATA}``: what the source journal's codecs
wrote, so a value comes back exactly as the run had it.

A run keeps its id, records, notes and logs, and its epoch; it has no owner
in the journal it moves to, so a run that was running when its process died
resumes there like any crashed run.  A line is read whole and checked
before anything of it is written; a journal that fails while it writes
leaves the part written, and the error names the run.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from ..errors import StoreError
from ..notes import RunNote
from ..states import RunState, TaskState
from .base import ErrorInfo, Journal, LogEntry, RunRecord, TaskRecord
from .codec import BytesCodec, CodecSet, JsonCodec, PickleCodec
from .jsonform import pins_from_json, pins_to_json

__all__ = [
    "FORMAT",
    "Moved",
    "copy_runs",
    "dump",
    "export_run",
    "import_runs",
    "read_run",
    "run_line",
    "write_run",
]

#: The version of the line format written here (read: this one only).
FORMAT = 1

#: Records written per call when a run is imported: one batch per call, so
#: a journal's transaction stays bounded for runs of any size.
_BATCH = 5_000


class Moved:
    """One run as read from a line: everything the destination journal is given."""

    __slots__ = ("logs", "notes", "records", "run")

    def __init__(
        self,
        run: RunRecord,
        records: list[TaskRecord],
        notes: list[RunNote],
        logs: list[LogEntry],
    ) -> None:
        self.run = run
        self.records = records
        self.notes = notes
        self.logs = logs


def export_run(journal: Journal, run_id: str, *, allow_pickle: bool = False) -> str:
    """The line (no newline) that carries run ``run_id`` of ``journal``."""
    snapshot = journal.load(run_id)
    return run_line(
        snapshot.run, snapshot.tasks, snapshot.notes, journal.logs(run_id), allow_pickle
    )


def run_line(
    run: RunRecord,
    records: Sequence[TaskRecord],
    notes: Sequence[RunNote],
    logs: Sequence[LogEntry],
    allow_pickle: bool = False,
) -> str:
    """One run as a line of JSON (see the module docstring)."""
    codecs = CodecSet(PickleCodec() if allow_pickle else None)

    def value(data: Any, where: str) -> Any:
        try:
            return _value_to_json(codecs, data)
        except ValueError as exc:
            raise StoreError(f"{where} of run {run.id} cannot be exported: {exc}") from exc

    body = {
        "volnux": "run",
        "format": FORMAT,
        "run": {
            "id": run.id,
            "workflow": run.workflow,
            "filename": run.filename,
            "text": run.text,
            "fingerprint": run.fingerprint,
            "events": pins_to_json(run.events),
            "inputs": value(dict(run.inputs), "the inputs"),
            "state": run.state.value,
            "created_at": run.created_at,
            "updated_at": run.updated_at,
            "ended_at": run.ended_at,
            "error": run.error,
            "epoch": run.epoch,
            "parent": run.parent,
        },
        "records": [
            [
                r.node_id,
                r.state.value,
                r.attempt,
                r.at,
                r.round,
                r.descriptor,
                value(r.result, f"the result of {r.node_id}"),
                r.error.to_dict() if r.error is not None else None,
                r.next_attempt_at,
                r.note,
            ]
            for r in records
        ],
        "notes": [[n.kind, n.at, dict(n.detail)] for n in notes],
        "logs": [[e.node_id, e.attempt, e.at, e.level, e.message] for e in logs],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=True)


def read_run(line: str, where: str, *, allow_pickle: bool = False) -> Moved:
    """The run a line carries, checked whole; ``where`` names the line in errors."""
    try:
        body = json.loads(line)
    except ValueError as exc:
        raise StoreError(f"{where} is not JSON: {exc}") from None
    if not (isinstance(body, dict) and body.get("volnux") == "run"):
        raise StoreError(f'{where} is not a Volnux run (no "volnux": "run")')
    if body.get("format") != FORMAT:
        raise StoreError(
            f"{where} is in format {body.get('format')!r}; this Volnux reads format {FORMAT}"
        )
    codecs = CodecSet(PickleCodec() if allow_pickle else None)
    try:
        return _moved(body, codecs, where)
    except StoreError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StoreError(f"{where} is not a valid run: {type(exc).__name__}: {exc}") from None


def import_runs(
    journal: Journal, lines: Iterable[str], *, allow_pickle: bool = False, name: str = "<input>"
) -> Iterator[str]:
    """Write each run of ``lines`` into ``journal``; yields each run's id once written.

    A run whose id the journal has already is :class:`~volnux.errors.RunExists`,
    before anything of it is written.
    """
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        moved = read_run(line, f"line {number} of {name}", allow_pickle=allow_pickle)
        write_run(journal, moved)
        yield moved.run.id


def write_run(journal: Journal, moved: Moved) -> None:
    """Record a moved run in ``journal``: the run, its records, notes and logs."""
    run_id = moved.run.id
    journal.create_run(moved.run)
    try:
        records = moved.records
        for start in range(0, len(records), _BATCH):
            journal.record(records[start : start + _BATCH])
        for note in moved.notes:
            journal.add_note(note)
        if moved.logs:
            journal.add_logs(moved.logs)
    except StoreError as exc:
        raise StoreError(
            f"run {run_id} was only partly imported ({exc}); what was written of it stays"
        ) from exc


def copy_runs(
    source: Journal, destination: Journal, run_ids: Iterable[str], *, allow_pickle: bool = False
) -> Iterator[str]:
    """Copy runs from one journal to another, one at a time; yields each id once copied."""
    for run_id in run_ids:
        line = export_run(source, run_id, allow_pickle=allow_pickle)
        write_run(destination, read_run(line, f"run {run_id}", allow_pickle=allow_pickle))
        yield run_id


def dump(journal: Journal, run_ids: Iterable[str], out: TextIO, *, allow_pickle: bool) -> int:
    """Write the runs as lines to ``out``; how many."""
    count = 0
    for run_id in run_ids:
        out.write(export_run(journal, run_id, allow_pickle=allow_pickle))
        out.write("\n")
        count += 1
    return count


# -------------------------------------------------------------- the parts


def _moved(body: Mapping[str, Any], codecs: CodecSet, where: str) -> Moved:
    data = body["run"]
    run_id = _text(data["id"], "the run id")
    if not run_id:
        raise ValueError("the run id is empty")

    def value(found: Any, what: str) -> Any:
        return _value_from_json(codecs, found, f"{what} of run {run_id} ({where})")

    inputs = value(data["inputs"], "the inputs")
    if not isinstance(inputs, dict):
        raise ValueError("the inputs are not an object")
    run = RunRecord(
        id=run_id,
        workflow=_text(data["workflow"], "the workflow"),
        text=_text(data["text"], "the workflow text"),
        fingerprint=_text(data["fingerprint"], "the fingerprint"),
        events=pins_from_json(data["events"]),
        inputs=inputs,
        state=RunState(data["state"]),
        created_at=float(data["created_at"]),
        updated_at=float(data["updated_at"]),
        filename=_text(data["filename"], "the file name"),
        ended_at=_real(data["ended_at"]),
        error=_maybe_text(data["error"]),
        epoch=int(data.get("epoch", 0)),
        parent=_maybe_text(data.get("parent")),
    )
    records = [
        TaskRecord(
            run_id,
            _text(node_id, "a node id"),
            TaskState(state),
            int(attempt),
            float(at),
            int(round_),
            None if descriptor is None else int(descriptor),
            value(result, f"the result of {node_id}"),
            None if error is None else ErrorInfo.from_dict(error),
            _real(next_at),
            _maybe_text(note),
        )
        for node_id, state, attempt, at, round_, descriptor, result, error, next_at, note in (
            body["records"]
        )
    ]
    notes = [
        RunNote(run_id, _text(kind, "a note's kind"), float(at), _object(detail))
        for kind, at, detail in body["notes"]
    ]
    logs = [
        LogEntry(
            run_id,
            _text(node_id, "a node id"),
            int(attempt),
            float(at),
            int(level),
            _text(message, "a log line"),
        )
        for node_id, attempt, at, level, message in body["logs"]
    ]
    return Moved(run, records, notes, logs)


def _value_to_json(codecs: CodecSet, value: Any) -> Any:
    data, codec = codecs.encode_value(value)
    if codec is None:
        return None
    if codec == JsonCodec.name and isinstance(data, str):
        return {"json": data}
    if codec == BytesCodec.name and isinstance(data, bytes):
        return {"bytes": base64.b64encode(data).decode("ascii")}
    raw = data.encode("utf-8") if isinstance(data, str) else data
    assert raw is not None
    return {"codec": codec, "base64": base64.b64encode(raw).decode("ascii")}


def _value_from_json(codecs: CodecSet, found: Any, where: str) -> Any:
    if found is None:
        return None
    if not isinstance(found, dict):
        raise ValueError(f"{where} is not a value object")
    if "json" in found:
        return codecs.decode(JsonCodec.name, _text(found["json"], where), where)
    if "bytes" in found:
        return base64.b64decode(_text(found["bytes"], where), validate=True)
    codec = _text(found["codec"], where)
    return codecs.decode(
        codec, base64.b64decode(_text(found["base64"], where), validate=True), where
    )


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is not a string: {value!r}")
    return value


def _maybe_text(value: Any) -> str | None:
    return None if value is None else _text(value, "a text field")


def _real(value: Any) -> float | None:
    return None if value is None else float(value)


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"a note's detail is not an object: {value!r}")
    return value

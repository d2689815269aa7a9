"""Run notes: every kind has one typed detail, which reads back what it wrote.

The JSON must stay what Volnux wrote before the details were typed (journals
already hold it): the expected dicts below are copied from a journal recorded
at commit c6daebf (tests/compat/journal_c6daebf.sql).
"""

from __future__ import annotations

from typing import Any

import pytest

from volnux.notes import (
    Abandoned,
    BatchBegun,
    BatchEnded,
    BatchSourceEnd,
    BatchStarted,
    BatchUpdated,
    Cancelled,
    CancelRequested,
    Changed,
    Deprecated,
    Failed,
    GroupRetry,
    ItemsFailed,
    NoteDetail,
    NoteKind,
    Operator,
    PauseAsked,
    Paused,
    PoolResized,
    Resumed,
    RunNote,
    Scheduled,
    Started,
    Stopped,
    SubWorkflow,
    Trace,
    Unrouted,
    WebAction,
    WorkflowUnit,
    latest,
)

PIN = {"name": "Crash", "version": "1.0.0", "origin": "/x/events.py", "fingerprint": "ab"}

#: (detail, kind written, JSON written): as found in a real journal.
# fmt: off
WRITTEN: list[tuple[NoteDetail, str, dict[str, Any]]] = [
    (
        Started(6867, "vm", "/tmp/fx", ("/tmp/fx/events.py",)),
        "started",
        {"pid": 6867, "host": "vm", "cwd": "/tmp/fx", "sources": ["/tmp/fx/events.py"]},
    ),
    (
        Started(1, "h", "/", (), {"Charge": "1.2"}, "process"),
        "started",
        {
            "pid": 1,
            "host": "h",
            "cwd": "/",
            "sources": [],
            "pins": {"Charge": "1.2"},
            "executor": "process",
        },
    ),
    (
        Resumed(6944, "vm", "/tmp/fx", ("/tmp/fx/events.py",), forced=True),
        "resumed",
        {
            "pid": 6944,
            "host": "vm",
            "cwd": "/tmp/fx",
            "sources": ["/tmp/fx/events.py"],
            "verb": "resume",
            "interrupted": [],
            "retrying": [],
            "forced": True,
        },
    ),
    (
        Resumed(7, "h", "/", (), retry=True, interrupted=("B",), retrying=("A",)),
        "retried",
        {
            "pid": 7,
            "host": "h",
            "cwd": "/",
            "sources": [],
            "verb": "retry",
            "interrupted": ["B"],
            "retrying": ["A"],
            "forced": False,
        },
    ),
    (
        Changed(("Save: changed",), "A -> B", "flow.pty", {"A": PIN}, ("/x/events.py",), True),
        "forced-change",
        {
            "changes": ["Save: changed"],
            "text": "A -> B",
            "filename": "flow.pty",
            "events": {"A": PIN},
            "sources": ["/x/events.py"],
        },
    ),
    (
        Changed((), "A", "<text>", {}),
        "changed",
        {"changes": [], "text": "A", "filename": "<text>", "events": {}, "sources": []},
    ),
    (
        Deprecated(({"event": "Notify@1.0.0", "nodes": ["Notify"], "since": None},)),
        "deprecated",
        {"events": [{"event": "Notify@1.0.0", "nodes": ["Notify"], "since": None}]},
    ),
    (
        Paused("Ask", "Ask needs an operator: a person must approve the refund"),
        "paused",
        {"node": "Ask", "reason": "Ask needs an operator: a person must approve the refund"},
    ),
    (
        Unrouted("Review", 3, "Review chose descriptor 3, but it has no '3 ->' branch"),
        "unrouted",
        {
            "node": "Review",
            "descriptor": 3,
            "message": "Review chose descriptor 3, but it has no '3 ->' branch",
        },
    ),
    (
        GroupRetry("group:1", 2, ("Boom",)),
        "group-retry",
        {"group": "group:1", "try": 2, "culprits": ["Boom"]},
    ),
    (Failed(("Boom",)), "failed", {"nodes": ["Boom"]}),
    (CancelRequested(), "cancel-requested", {}),
    (Cancelled(6896, "gone"), "cancelled", {"by": 6896, "owner": "gone"}),
    (Cancelled(5), "cancelled", {"by": 5}),
    (
        Operator("skip", "Charge", 9, "ann", "web1", True),
        "operator",
        {
            "action": "skip",
            "node": "Charge",
            "by": 9,
            "user": "ann",
            "host": "web1",
            "with_result": True,
        },
    ),
    (
        PauseAsked(8, "asked", "ann", "web1"),
        "pause-requested",
        {"by": 8, "owner": "asked", "user": "ann", "host": "web1"},
    ),
    (
        Cancelled(7, "asked", "ann", "web1"),
        "cancelled",
        {"by": 7, "owner": "asked", "user": "ann", "host": "web1"},
    ),
    (Trace("0" * 32, "1" * 16), "trace", {"trace_id": "0" * 32, "span_id": "1" * 16}),
    # Kinds written since c6daebf:
    (Abandoned(("Slow",)), "abandoned", {"nodes": ["Slow"]}),
    (
        PoolResized("thread", 8, "queued"),
        "pool-resized",
        {"executor": "thread", "workers": 8, "reason": "queued"},
    ),
    (Stopped("SIGINT", ("Load",)), "stopped", {"reason": "SIGINT", "cut_off": ["Load"]}),
    (
        Started(9, "h", "/", (), owner="h/9/77/ab12cd34", ticks=77),
        "started",
        {"pid": 9, "host": "h", "cwd": "/", "sources": [], "owner": "h/9/77/ab12cd34",
         "ticks": 77},
    ),
    (
        Resumed(9, "h", "/", (), owner="h/9/77/ab12cd34", ticks=77, took_over=True),
        "resumed",
        {"pid": 9, "host": "h", "cwd": "/", "sources": [], "verb": "resume",
         "interrupted": [], "retrying": [], "forced": False, "took_over": True,
         "owner": "h/9/77/ab12cd34", "ticks": 77},
    ),
    # Batch runs:
    (
        BatchStarted("csv", "/d/o.csv", 100, "batch", {"delimiter": ";"},
                     {"kind": "file", "size": 9}, True, 4, "2%", False),
        "batch-started",
        {"source_kind": "csv", "source": "/d/o.csv", "batch_size": 100, "input": "batch",
         "options": {"delimiter": ";"}, "identity": {"kind": "file", "size": 9},
         "rereadable": True, "parallel": 4, "tolerate": "2%", "fail_fast": False},
    ),
    (
        BatchBegun(3, "c1", {"kind": "lines", "offset": 9}, 10),
        "batch-begun",
        {"batch": 3, "child": "c1", "position": {"kind": "lines", "offset": 9}, "size": 10},
    ),
    (
        BatchBegun(0, "c2", {"kind": "iterable", "first_item": 0}, 2, [1, "x"]),
        "batch-begun",
        {"batch": 0, "child": "c2", "position": {"kind": "iterable", "first_item": 0},
         "size": 2, "items": [1, "x"]},
    ),
    (
        BatchEnded(3, "c1", "failed", 10, 0.25, "ValueError: bad"),
        "batch-ended",
        {"batch": 3, "child": "c1", "state": "failed", "size": 10, "seconds": 0.25,
         "error": "ValueError: bad"},
    ),
    (BatchSourceEnd(12, 1150), "batch-source-end", {"batches": 12, "items": 1150}),
    (
        ItemsFailed("Load", 2, (("line 7", "ValueError: bad"), (9, "no such id"))),
        "items-failed",
        {"node": "Load", "attempt": 2, "items": [["line 7", "ValueError: bad"], [9, "no such id"]]},
    ),
    (
        WebAction("retry", "127.0.0.1", "bearer", 42, "web1"),
        "web-action",
        {"action": "retry", "client": "127.0.0.1", "via": "bearer", "pid": 42, "host": "web1"},
    ),
    (
        Scheduled("nightly", 1_800_000_000.0, "2027-01-15 09:00:00", "Europe/Berlin", 7, "w1"),
        "scheduled",
        {"schedule": "nightly", "slot": 1_800_000_000.0, "local": "2027-01-15 09:00:00",
         "zone": "Europe/Berlin", "pid": 7, "host": "w1"},
    ),
    (
        BatchUpdated(8, None, 5, "ann", "web1"),
        "batch-updated",
        {"parallel": 8, "pid": 5, "user": "ann", "host": "web1"},
    ),
    (
        WorkflowUnit("orders", "1.2.0", "folder /p/workflows",
                     {"kind": "folder", "loadable": "/p/workflows/orders.toml"},
                     "/p/workflows/orders.pty", "deprecated: bills twice"),
        "workflow-unit",
        {"name": "orders", "version": "1.2.0", "origin": "folder /p/workflows",
         "source": {"kind": "folder", "loadable": "/p/workflows/orders.toml"},
         "file": "/p/workflows/orders.pty", "deprecated": "deprecated: bills twice"},
    ),
    (
        WorkflowUnit("orders", "2.0.0", "git shared: u@v2 (commit abc)"),
        "workflow-unit",
        {"name": "orders", "version": "2.0.0", "origin": "git shared: u@v2 (commit abc)",
         "source": {}, "file": ""},
    ),
    (
        SubWorkflow("3f2a9c1b0e4d", "workflow:orders", 2, 1),
        "sub-workflow",
        {"parent": "3f2a9c1b0e4d", "node": "workflow:orders", "attempt": 2, "round": 1},
    ),
]
# fmt: on


@pytest.mark.parametrize(("detail", "kind", "data"), WRITTEN, ids=lambda x: repr(x)[:40])
def test_each_detail_writes_the_journals_json_and_reads_it_back(
    detail: NoteDetail, kind: str, data: dict[str, Any]
) -> None:
    note = RunNote.of("run-1", 5.0, detail)
    assert (note.run_id, note.kind, note.at, dict(note.detail)) == ("run-1", kind, 5.0, data)
    assert RunNote("run-1", kind, 5.0, data).read() == detail


def test_every_kind_has_a_detail_and_is_written_above() -> None:
    assert {kind for _, kind, _ in WRITTEN} == {k.value for k in NoteKind}
    for kind in NoteKind:
        assert RunNote("r", kind.value, 0.0, {}).read() is not None, kind


def test_an_unknown_kind_reads_as_none() -> None:
    assert RunNote("r", "written-by-a-newer-volnux", 0.0, {"x": 1}).read() is None


def test_reading_is_lenient_with_old_or_odd_notes() -> None:
    # A key missing takes its default; a value of the wrong kind is ignored.
    assert RunNote("r", "started", 0.0, {"pid": "12"}).read() == Started(0, "", "", ())
    assert RunNote("r", "failed", 0.0, {"nodes": "A"}).read() == Failed(())
    assert RunNote("r", "resumed", 0.0, {}).read() == Resumed(0, "", "", ())
    assert RunNote("r", "cancelled", 0.0, {"by": True}).read() == Cancelled(0)


def test_latest_finds_the_newest_note_of_a_kind() -> None:
    notes = [
        RunNote.of("r", 1.0, Failed(("A",))),
        RunNote.of("r", 2.0, Resumed(1, "h", "/", (), retry=True)),
        RunNote.of("r", 3.0, Failed(("B",))),
        RunNote("r", "mystery", 4.0, {}),
    ]
    assert latest(notes, Failed) == Failed(("B",))
    assert latest(notes, Resumed) == Resumed(1, "h", "/", (), retry=True)
    assert latest(notes, Trace) is None

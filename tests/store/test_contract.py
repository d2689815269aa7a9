"""The Journal protocol's behaviour, held by every journal (memory, SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from volnux.errors import RunExists, RunNotFound, StoreError, VolnuxError
from volnux.states import RunState, TaskState
from volnux.store.base import ErrorInfo, Journal, LogEntry, RunNote, UnencodableResult

from .factories import make_run, make_task


class Unstorable:
    """A value no JSON codec takes (the memory journal keeps it as it is)."""


def test_is_a_journal(journal: Journal) -> None:
    assert isinstance(journal, Journal)


def test_a_new_run_loads_as_written(journal: Journal) -> None:
    run = make_run()
    journal.create_run(run)
    snap = journal.load(run.id)
    assert snap.run == run
    assert list(snap.tasks) == []
    assert list(snap.notes) == []


def test_load_of_an_unknown_run_is_run_not_found(journal: Journal) -> None:
    journal.create_run(make_run("known"))
    for load in (journal.load, journal.load_run, journal.load_notes):
        with pytest.raises(RunNotFound, match="no run 'unknown' in ") as info:
            load("unknown")
        assert info.value.run_id == "unknown"
        assert isinstance(info.value, StoreError) and isinstance(info.value, VolnuxError)


def test_a_run_id_is_created_once(journal: Journal) -> None:
    journal.create_run(make_run())
    with pytest.raises(RunExists, match="run-1") as info:
        journal.create_run(make_run())
    assert info.value.run_id == "run-1"


def test_the_run_and_its_notes_load_without_its_tasks(journal: Journal) -> None:
    journal.create_run(make_run())
    journal.record([make_task("t", result=1)])
    note = RunNote("run-1", "warned", 2.0, {"why": "x"})
    journal.add_note(note)
    assert journal.load_run("run-1") == journal.load("run-1").run == make_run()
    assert journal.load_notes("run-1") == [note]
    journal.set_run_state("run-1", RunState.FAILED, 3.0, "boom")
    assert journal.load_run("run-1").state is RunState.FAILED


def test_durable_says_whether_runs_outlive_the_process(journal: Journal) -> None:
    assert journal.durable is (type(journal).__name__ != "MemoryJournal")


def test_records_load_in_write_order_with_every_field(journal: Journal) -> None:
    journal.create_run(make_run())
    written = [
        make_task("fetch", TaskState.RUNNING, at=1.0),
        make_task("fetch", TaskState.RETRYING, at=2.0, error=ErrorInfo("OSError", "down", "tb"),
                  next_attempt_at=7.5),
        make_task("fetch", TaskState.RUNNING, at=3.0, attempt=2),
        make_task("fetch", TaskState.SUCCEEDED, at=4.0, attempt=2, descriptor=1,
                  result={"rows": [1, 2.5, "three", None, True], "nested": {"k": []}}),
        make_task("price", TaskState.RUNNING, at=5.0, round=1, note="group retry"),
        make_task("price", TaskState.FAILED, at=6.0, round=1, descriptor=0, result="partial",
                  error=ErrorInfo("ValueError", "bad price")),
        make_task("ship", TaskState.SKIPPED, at=7.0),
    ]  # fmt: skip
    journal.record(written[:1])
    journal.record(written[1:4])
    for rec in written[4:]:
        journal.record([rec])
    assert list(journal.load("run-1").tasks) == written


def test_an_empty_batch_writes_nothing(journal: Journal) -> None:
    journal.create_run(make_run())
    journal.record([])
    assert list(journal.load("run-1").tasks) == []


def test_runs_keep_their_own_records(journal: Journal) -> None:
    journal.create_run(make_run("a"))
    journal.create_run(make_run("b", created_at=2000.0))
    journal.record([make_task("x", run_id="a"), make_task("y", run_id="b")])
    journal.record([make_task("z", run_id="a")])
    assert [t.node_id for t in journal.load("a").tasks] == ["x", "z"]
    assert [t.node_id for t in journal.load("b").tasks] == ["y"]


@pytest.mark.parametrize(
    "value",
    [0, -7, 2**62, 1.5, -0.0, "", "ünïcødé ✓", True, False, [], {}, [1, [2, [3]]],
     {"a": {"b": {"c": [None]}}}, b"\x00\xffraw"],
    ids=repr,
)  # fmt: skip
def test_results_come_back_equal(journal: Journal, value: object) -> None:
    journal.create_run(make_run())
    journal.record([make_task("t", result=value)])
    loaded = journal.load("run-1").tasks[0].result
    assert loaded == value
    assert type(loaded) is type(value)


def test_set_run_state(journal: Journal) -> None:
    journal.create_run(make_run(state=RunState.PENDING))
    journal.set_run_state("run-1", RunState.RUNNING, 1001.0)
    run = journal.load("run-1").run
    assert (run.state, run.updated_at, run.ended_at, run.error) == (
        RunState.RUNNING, 1001.0, None, None)  # fmt: skip

    journal.set_run_state("run-1", RunState.PAUSED, 1002.0)
    run = journal.load("run-1").run
    assert (run.state, run.ended_at) == (RunState.PAUSED, 1002.0)

    journal.set_run_state("run-1", RunState.RUNNING, 1003.0)
    assert journal.load("run-1").run.ended_at is None

    journal.set_run_state("run-1", RunState.FAILED, 1004.0, error="price failed")
    run = journal.load("run-1").run
    assert (run.state, run.updated_at, run.ended_at, run.error) == (
        RunState.FAILED, 1004.0, 1004.0, "price failed")  # fmt: skip
    assert run.created_at == 1000.0


def test_set_run_state_of_an_unknown_run_is_run_not_found(journal: Journal) -> None:
    with pytest.raises(RunNotFound):
        journal.set_run_state("nope", RunState.RUNNING, 1.0)


def test_notes_load_in_order(journal: Journal) -> None:
    journal.create_run(make_run())
    notes = [
        RunNote("run-1", "resumed", 1.0, {"from": "crash", "skipped": ["a", "b"]}),
        RunNote("run-1", "warned", 2.0),
        RunNote("run-1", "forced", 3.0, {"by": "cli"}),
    ]
    for note in notes:
        journal.add_note(note)
    assert list(journal.load("run-1").notes) == notes


def test_list_runs_newest_first_with_a_limit(journal: Journal) -> None:
    assert journal.list_runs() == []
    for i, created in enumerate([30.0, 10.0, 50.0, 20.0, 40.0]):
        journal.create_run(make_run(f"r{i}", created_at=created))
    assert [r.id for r in journal.list_runs()] == ["r2", "r4", "r0", "r3", "r1"]
    assert [r.id for r in journal.list_runs(limit=2)] == ["r2", "r4"]
    assert journal.list_runs(limit=0) == []
    assert journal.list_runs(limit=1)[0] == make_run("r2", created_at=50.0)


def test_cancel_flag(journal: Journal) -> None:
    journal.create_run(make_run())
    journal.create_run(make_run("other", created_at=1.0))
    assert journal.cancel_requested("run-1") is False
    journal.request_cancel("run-1")
    assert journal.cancel_requested("run-1") is True
    assert journal.cancel_requested("other") is False
    # Starting the run again means the request was dealt with.
    journal.set_run_state("run-1", RunState.CANCELLED, 2.0)
    assert journal.cancel_requested("run-1") is True
    journal.set_run_state("run-1", RunState.RUNNING, 3.0)
    assert journal.cancel_requested("run-1") is False


def test_pause_flag_and_a_cancel_wins_over_a_pause(journal: Journal) -> None:
    journal.create_run(make_run())
    assert journal.stop_requested("run-1") is None
    journal.request_pause("run-1")
    assert journal.stop_requested("run-1") is RunState.PAUSED
    assert journal.cancel_requested("run-1") is False  # a pause is not a cancel
    journal.request_cancel("run-1")
    assert journal.stop_requested("run-1") is RunState.CANCELLED
    journal.request_pause("run-1")  # asked after: the cancel stays
    assert journal.stop_requested("run-1") is RunState.CANCELLED
    journal.set_run_state("run-1", RunState.RUNNING, 3.0)
    assert journal.stop_requested("run-1") is None
    with pytest.raises(RunNotFound):
        journal.request_pause("nope")
    assert journal.stop_requested("nope") is None


def test_cancel_of_an_unknown_run(journal: Journal) -> None:
    with pytest.raises(RunNotFound):
        journal.request_cancel("nope")
    assert journal.cancel_requested("nope") is False


def test_records_for_an_unknown_run_are_run_not_found(journal: Journal) -> None:
    journal.create_run(make_run())
    with pytest.raises(RunNotFound):
        journal.record([make_task("t", run_id="nope")])
    with pytest.raises(RunNotFound):
        journal.add_note(RunNote("nope", "warned", 1.0))


def test_encode_result_accepts_what_record_stores(journal: Journal) -> None:
    journal.create_run(make_run())
    value = {"total": 12.5, "items": ["a", "b"]}
    for scalar in (None, True, 3, 2.5, "text"):
        assert journal.encode_result("t", scalar) is None  # record() encodes these itself
    encoded = journal.encode_result("t", value)
    journal.record([make_task("s", TaskState.RUNNING), make_task("t", result=value)], {1: encoded})
    journal.record([make_task("u", result=value)])  # without an encoding: record() encodes
    assert [t.result for t in journal.load("run-1").tasks] == [None, value, value]


def test_an_encoded_result_is_recorded_as_it_was_when_encoded(journal: Journal) -> None:
    journal.create_run(make_run())
    value = {"items": ["a"]}
    encoded = journal.encode_result("t", value)
    value["items"].append("changed after the attempt ended")
    journal.record([make_task("t", result=value)], {0: encoded} if encoded else None)
    loaded = journal.load("run-1").tasks[0].result
    if journal.durable:  # an encoding journal keeps what it encoded
        assert loaded == {"items": ["a"]}
    else:  # the memory journal keeps the object itself
        assert loaded is value


def test_a_batch_is_written_whole_or_not_at_all(journal: Journal) -> None:
    """When record() raises, nothing of its batch is written; when it returns,
    all of it is (the memory journal keeps any value, so it returns)."""
    journal.create_run(make_run())
    journal.record([make_task("before")])
    value = Unstorable()
    batch = [make_task("a", TaskState.RUNNING), make_task("b", result=value),
             make_task("c", TaskState.RUNNING)]  # fmt: skip
    try:
        journal.encode_result("b", value)
    except UnencodableResult:
        refused = True
    else:
        refused = False
    if refused:
        with pytest.raises(UnencodableResult) as info:
            journal.record(batch)
        assert info.value.node_id == "b"
        assert [t.node_id for t in journal.load("run-1").tasks] == ["before"]
    else:
        journal.record(batch)
        assert [t.node_id for t in journal.load("run-1").tasks] == ["before", "a", "b", "c"]
    journal.record([make_task("after")])
    assert journal.load("run-1").tasks[-1].node_id == "after"


def test_a_batch_with_an_unknown_run_writes_nothing(journal: Journal) -> None:
    journal.create_run(make_run())
    with pytest.raises(RunNotFound):
        journal.record([make_task("a"), make_task("b", run_id="nope")])
    assert list(journal.load("run-1").tasks) == []
    journal.record([make_task("c")])  # and the refused batch took no place in the order
    journal.record([make_task("d")])
    assert [t.node_id for t in journal.load("run-1").tasks] == ["c", "d"]


# ------------------------------------------------------------------- logs


def test_log_lines_load_in_write_order_per_run_and_per_node(journal: Journal) -> None:
    journal.create_run(make_run())
    journal.create_run(make_run("other", created_at=2.0))
    lines = [
        LogEntry("run-1", "fetch", 1, 1.5, 20, "fetching 3 rows"),
        LogEntry("run-1", "price", 1, 2.5, 30, "no rate for EUR; using 1.0"),
        LogEntry("run-1", "fetch", 2, 3.5, 40, "ünïcødé ✓\nsecond line"),
    ]
    journal.add_logs(lines[:2])
    journal.add_logs([LogEntry("other", "fetch", 1, 1.0, 20, "not mine")])
    journal.add_logs(lines[2:])
    journal.add_logs([])
    assert journal.logs("run-1") == lines
    assert journal.logs("run-1", "fetch") == [lines[0], lines[2]]
    assert journal.logs("run-1", "ship") == []
    assert journal.logs("nope") == []


def test_log_lines_for_an_unknown_run_are_run_not_found_and_write_nothing(
    journal: Journal,
) -> None:
    journal.create_run(make_run())
    with pytest.raises(RunNotFound):
        journal.add_logs(
            [LogEntry("run-1", "a", 1, 1.0, 20, "ok"), LogEntry("nope", "a", 1, 1.0, 20, "x")]
        )
    assert journal.logs("run-1") == []


def test_event_durations_are_remembered_by_event(journal: Journal) -> None:
    hostile = "Nap'); DROP TABLE runs; --@1"
    assert journal.durations(["A@1", hostile]) == {}
    journal.record_durations({"A@1": 0.5, "B@1": 0.07, hostile: 1.5}, 1.0)
    journal.record_durations({"A@1": 0.01}, 2.0)  # the last run's figure wins
    assert journal.durations(["A@1", "B@1", "C@1", hostile]) == {
        "A@1": 0.01, "B@1": 0.07, hostile: 1.5
    }  # fmt: skip
    assert journal.durations([]) == {}
    many = {f"E{i}@1": float(i) for i in range(1_200)}  # past any one statement's limit
    journal.record_durations(many, 3.0)
    assert journal.durations(sorted(many)) == many
    journal.create_run(make_run("still-here"))
    assert journal.load_run("still-here").id == "still-here"


def test_a_run_knows_its_parent_and_a_parent_lists_its_runs_in_order(journal: Journal) -> None:
    import dataclasses

    hostile = "p'); DROP TABLE runs; --"
    journal.create_run(make_run(hostile))
    journal.create_run(make_run("alone"))
    for name in ("b-2", "a-1", "c-3"):  # creation order, not name order
        journal.create_run(dataclasses.replace(make_run(name), parent=hostile))
    assert [r.id for r in journal.child_runs(hostile)] == ["b-2", "a-1", "c-3"]
    assert journal.child_runs("alone") == []
    assert journal.load_run("a-1").parent == hostile
    assert journal.load("a-1").run.parent == hostile
    assert journal.load_run("alone").parent is None
    assert {r.id: r.parent for r in journal.list_runs()}["c-3"] == hostile
    with pytest.raises(RunNotFound):
        journal.child_runs("nobody")


def test_schedule_states_change_only_from_the_version_read(journal: Journal) -> None:
    keep = journal.save_schedule  # type: ignore[attr-defined]
    assert journal.schedule_states() == {}  # type: ignore[attr-defined]
    assert keep("nightly", '{"a": 1}', 0)
    assert not keep("nightly", '{"a": 2}', 0)  # someone made it first
    assert keep("nightly", '{"a": 3}', 1)
    assert not keep("nightly", '{"a": 4}', 1)  # the version moved on
    assert keep("it's; DROP TABLE runs", '{"b": 1}', 0)  # names are data
    assert journal.schedule_states() == {  # type: ignore[attr-defined]
        "nightly": (2, '{"a": 3}'),
        "it's; DROP TABLE runs": (1, '{"b": 1}'),
    }


def test_one_tasks_history_is_read_without_the_others(journal: Journal) -> None:
    history = getattr(journal, "task_history", None)
    if history is None:  # optional: a caller loads the run instead
        assert type(journal).__name__ == "MemoryJournal"
        return
    odd = 'say "hi" \\ é'  # a name JSON escapes
    journal.create_run(make_run("r"))
    journal.record([make_task("a", TaskState.RUNNING, run_id="r"), make_task(odd, run_id="r")])
    journal.record([make_task("a", TaskState.FAILED, run_id="r", at=1002.0)])
    journal.record(
        [
            make_task("b", run_id="r", result=["a", 1]),  # a result that looks like a record
            make_task("a", TaskState.RUNNING, run_id="r", attempt=2, at=1003.0),
        ]
    )
    journal.record([make_task("a", run_id="r", attempt=2, at=1004.0, result={"x": 1})])
    whole = journal.load("r").tasks
    for node in ("a", "b", odd):
        assert history("r", node) == [t for t in whole if t.node_id == node]
    assert history("r", ["b", "a"]) == [t for t in whole if t.node_id in ("a", "b")]
    assert history("r", "nobody") == [] and history("r", []) == []
    for nodes in ("a", []):
        with pytest.raises(RunNotFound):
            history("gone", nodes)


def test_a_run_is_created_with_notes_in_one_write(journal: Journal) -> None:
    """A batch's child, its parent's note of it and its own first note: one write."""
    from volnux.errors import Fenced

    journal.create_run(make_run("parent", owner="o", epoch=3, heartbeat_at=1000.0))
    begun = RunNote("parent", "warned", 1.0, {"child": "child-1"})
    started = RunNote("child-1", "forced", 1.0, {"by": "test"})
    journal.create_run(make_run("child-1", parent="parent"), notes=[(begun, 3), (started, None)])
    assert journal.load_notes("parent") == [begun]
    assert journal.load_notes("child-1") == [started]
    # A note its run's epoch refuses: nothing is written, the run neither.
    stale = RunNote("parent", "warned", 2.0, {"child": "child-2"})
    with pytest.raises(Fenced):
        journal.create_run(make_run("child-2", parent="parent"), notes=[(stale, 2)])
    with pytest.raises(RunNotFound):
        journal.load_run("child-2")
    assert journal.load_notes("parent") == [begun]
    # A note of a run that does not exist: the same.
    with pytest.raises(RunNotFound, match="nowhere"):
        journal.create_run(
            make_run("child-3"), notes=[(RunNote("nowhere", "warned", 3.0, {}), None)]
        )
    with pytest.raises(RunNotFound):
        journal.load_run("child-3")


def test_a_run_ends_with_its_last_records_and_notes_in_one_write(journal: Journal) -> None:
    from volnux.errors import Fenced

    journal.create_run(make_run("parent", owner="o", epoch=3, heartbeat_at=1000.0))
    journal.create_run(make_run("child-1", parent="parent", owner="o", epoch=1))
    journal.record([make_task("a", state=TaskState.RUNNING, run_id="child-1")], epoch=1)
    last = [make_task("a", run_id="child-1", result={"n": 1}), make_task("b", run_id="child-1")]
    ended = RunNote("parent", "warned", 5.0, {"child": "child-1"})
    # Refused by the parent's epoch: no record, no note, no state.
    with pytest.raises(Fenced):
        journal.set_run_state(
            "child-1", RunState.SUCCEEDED, 5.0, epoch=1, records=last, notes=[(ended, 2)]
        )
    snap = journal.load("child-1")
    assert snap.run.state is RunState.RUNNING and len(snap.tasks) == 1
    assert journal.load_notes("parent") == []
    journal.set_run_state(
        "child-1", RunState.SUCCEEDED, 5.0, epoch=1, records=last, notes=[(ended, 3)]
    )
    snap = journal.load("child-1")
    assert snap.run.state is RunState.SUCCEEDED and snap.run.ended_at == 5.0
    assert [(r.node_id, r.state, r.result) for r in snap.tasks] == [
        ("a", TaskState.RUNNING, None),
        ("a", TaskState.SUCCEEDED, {"n": 1}),
        ("b", TaskState.SUCCEEDED, None),
    ]
    assert journal.load_notes("parent") == [ended]
    # Records of another run are refused before anything is written.
    journal.create_run(make_run("child-2", parent="parent"))
    with pytest.raises(ValueError, match="its own"):
        journal.set_run_state("child-2", RunState.FAILED, 6.0, records=last)
    assert journal.load_run("child-2").state is RunState.RUNNING

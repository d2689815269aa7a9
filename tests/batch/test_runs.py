"""Batch runs in one process: a parent run, a child run per batch, a verdict.

Every test runs on a real SQLite journal file, so that what it asserts of
the journal (positions, not copies; child runs linked to their parent;
notes that make the counts) is what a resume in another process reads.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.batch import batch_events
from volnux import RunState, cancel_run
from volnux.batch import BatchRun, Tolerance, summarize
from volnux.errors import InputError, ResumeRefused, SourceChanged
from volnux.store import Journal, open_store
from volnux.workflow import Workflow


def _lines(path: Path, count: int) -> Path:
    path.write_text("".join(f"{i},item-{i},{i * 7 % 13}\n" for i in range(count)))
    return path


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = open_store(str(tmp_path / "j.db"))
    yield j
    j.close()


@pytest.fixture
def wf() -> Workflow:
    return Workflow.from_text(batch_events.WORKFLOW, [batch_events])


def _effects(path: Path) -> Counter[tuple[str, str]]:
    if not path.exists():
        return Counter()
    return Counter(tuple(line.split()) for line in path.read_text().splitlines())  # type: ignore[misc]


def test_each_batch_is_a_child_run_given_its_items_and_ctx_batch(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 95)
    run = wf.run_batches(data, batch_size=10, store=journal, inputs={"effects": ""})
    assert run.state is RunState.SUCCEEDED and run.error is None
    assert run.counts() == {"succeeded": 10}
    assert run.items() == {"succeeded": 95}
    assert run.summary.total == 10 and run.summary.total_items == 95
    results = [r["Count"] for _b, r in run.results()]
    assert [r["index"] for r in results] == list(range(10))
    assert [r["first"] for r in results] == list(range(0, 95, 10))
    assert [r["size"] for r in results] == [10] * 9 + [5]
    assert {r["parent"] for r in results} == {run.id}
    assert sum(r["items"] for r in results) == 95
    # Each child is linked to the parent; the parent runs no task of its own.
    children = {b.child for b in run.batches}
    assert len(children) == 10
    assert {journal.load_run(c).parent for c in children} == {run.id}
    assert {r.id for r in journal.child_runs(run.id)} == children  # type: ignore[attr-defined]
    assert journal.load(run.id).tasks == []
    assert journal.load_run(run.id).state is RunState.SUCCEEDED


def test_a_file_batch_is_journaled_by_position_not_by_copy(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 30)
    run = wf.run_batches(data, batch_size=10, store=journal, inputs={"effects": ""})
    first = run.batches[0]
    child = journal.load_run(first.child)
    assert "batch" not in child.inputs and child.inputs == {"effects": ""}
    assert first.position["kind"] == "lines"
    assert first.position["offset"] == 0 and first.position["count"] == 10
    # The parent recorded the source, and no item of it.
    parent = journal.load(run.id)
    assert "item-3" not in repr(parent.notes) and "item-3" not in repr(parent.run)


def test_batches_are_noted_begun_in_order_however_many_run_at_once(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    """A resume takes the source up after the last batch noted begun: a batch noted
    before the one ahead of it would leave that one out after a crash."""
    from volnux.notes import BatchBegun

    data = _lines(tmp_path / "data.txt", 200)
    run = wf.run_batches(data, batch_size=5, parallel=8, store=journal, inputs={"effects": ""})
    assert run.succeeded
    begun = [n.read() for n in journal.load_notes(run.id) if n.kind == "batch-begun"]
    indices = [b.batch for b in begun if isinstance(b, BatchBegun)]
    assert indices == list(range(40))
    # Each noted with its child's creation: no child without its note, nor the reverse.
    assert {b.child for b in begun if isinstance(b, BatchBegun)} == {
        r.id
        for r in journal.child_runs(run.id)  # type: ignore[attr-defined]
    }


def test_an_iterable_batch_keeps_its_items_in_the_journal(journal: Journal, wf: Workflow) -> None:
    source = (f"{i},x" for i in range(7))  # a generator: it cannot be read twice
    run = wf.run_batches(source, batch_size=3, store=journal, inputs={"effects": ""})
    assert run.succeeded and run.counts() == {"succeeded": 3}
    assert run.summary.spec.source_kind == "iterable" and not run.summary.spec.rereadable
    notes = journal.load_notes(run.id)
    assert "6,x" in repr(notes)


def test_one_failing_batch_does_not_stop_the_others(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 50)
    fail = tmp_path / "fail"
    fail.write_text("1 3")
    run = wf.run_batches(
        data, batch_size=10, parallel=2, store=journal, inputs={"effects": "", "fail": str(fail)}
    )
    assert run.state is RunState.FAILED
    assert run.counts() == {"succeeded": 3, "failed": 2}
    assert run.error == "2 of 5 batches failed"
    assert [b.batch for b in run.failed()] == [1, 3]
    assert "batch 1 is bad" in run.failed()[0].error
    assert journal.load_run(run.id).state is RunState.FAILED


@pytest.mark.parametrize(
    ("tolerate", "state"),
    [(2, "succeeded"), ("40%", "succeeded"), (1, "failed"), ("39%", "failed")],
)
def test_a_tolerance_decides_the_verdict(
    tmp_path: Path, journal: Journal, wf: Workflow, tolerate: object, state: str
) -> None:
    data = _lines(tmp_path / "data.txt", 50)
    fail = tmp_path / "fail"
    fail.write_text("1 3")
    run = wf.run_batches(
        data,
        batch_size=10,
        parallel=1,
        tolerate=tolerate,  # type: ignore[arg-type]
        store=journal,
        inputs={"effects": "", "fail": str(fail)},
    )
    assert run.status == state
    assert len(run.failed()) >= 1
    if state == "succeeded":
        assert run.counts() == {"succeeded": 3, "failed": 2}  # the failures stay listed


def test_past_a_count_tolerance_no_more_batches_start(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 100)
    fail = tmp_path / "fail"
    fail.write_text("0 1 2")
    run = wf.run_batches(
        data,
        batch_size=10,
        parallel=1,
        tolerate=1,
        store=journal,
        inputs={"effects": "", "fail": str(fail)},
    )
    assert run.state is RunState.FAILED
    assert sorted(run.summary.batches) == [0, 1]  # batch 2 never began
    assert "past a tolerance of 1 failed batch" in (run.error or "")
    assert run.summary.total is None  # the source was not read to its end


def test_fail_fast_stops_at_the_first_failed_batch(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 100)
    fail = tmp_path / "fail"
    fail.write_text("2")
    run = wf.run_batches(
        data,
        batch_size=10,
        parallel=1,
        fail_fast=True,
        store=journal,
        inputs={"effects": "", "fail": str(fail)},
    )
    assert run.state is RunState.FAILED
    assert sorted(run.summary.batches) == [0, 1, 2]
    assert "fail-fast" in (run.error or "")


def test_retry_failed_reruns_only_the_failed_batches_failed_tasks(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 40)
    fail, effects = tmp_path / "fail", tmp_path / "effects"
    fail.write_text("2")
    inputs = {"effects": str(effects), "fail": str(fail)}
    run = wf.run_batches(data, batch_size=10, parallel=2, store=journal, inputs=inputs)
    assert run.counts() == {"succeeded": 3, "failed": 1}
    before = _effects(effects)
    with pytest.raises(ResumeRefused, match="--failed"):
        Workflow.resume_batches(run.id, store=journal, workflow=wf)
    fail.unlink()
    again = Workflow.resume_batches(run.id, store=journal, workflow=wf, failed=True)
    assert again.state is RunState.SUCCEEDED and again.counts() == {"succeeded": 4}
    ran = _effects(effects) - before
    bad = run.failed()[0].child
    assert ran == Counter({(bad, "Count"): 1})  # Parse and Hash of batch 2 are kept
    assert again.batches[2].child == bad  # the same child run, retried
    with pytest.raises(ResumeRefused, match="already succeeded"):
        Workflow.resume_batches(run.id, store=journal, workflow=wf)


def test_a_changed_source_is_refused_on_resume_unless_forced(
    tmp_path: Path, journal: Journal, wf: Workflow
) -> None:
    data = _lines(tmp_path / "data.txt", 30)
    fail = tmp_path / "fail"
    fail.write_text("0")
    inputs = {"effects": "", "fail": str(fail)}
    run = wf.run_batches(data, batch_size=10, store=journal, inputs=inputs)
    assert run.state is RunState.FAILED
    fail.unlink()
    with data.open("a") as f:
        f.write("30,item-30,0\n")
    with pytest.raises(SourceChanged, match="size"):
        Workflow.resume_batches(run.id, store=journal, workflow=wf, failed=True)
    assert journal.load_run(run.id).state is RunState.FAILED  # nothing recorded
    again = Workflow.resume_batches(run.id, store=journal, workflow=wf, failed=True, force=True)
    assert again.succeeded


def test_cancelling_the_parent_cancels_its_children_and_a_resume_finishes(
    tmp_path: Path, journal: Journal
) -> None:
    wf = Workflow.from_text("Slow", [_slow_events(tmp_path)])
    started = threading.Event()
    seen: list[str] = []

    def on_batch(event: object) -> None:
        seen.append(event.what)
        started.set()

    out: list[object] = []
    thread = threading.Thread(
        target=lambda: out.append(
            wf.run_batches(
                list(range(40)), batch_size=2, parallel=2, store=journal, on_batch=on_batch
            )
        )
    )
    thread.start()
    assert started.wait(10)
    parent = next(r.id for r in journal.list_runs() if r.parent is None)

    cancel_run(journal, parent)
    thread.join(30)
    run = out[0]
    assert run.state is RunState.CANCELLED
    summary = summarize(journal.load_notes(parent), running=False)
    assert summary is not None and summary.total is None
    assert len(summary.batches) < 20
    source = list(range(40))
    done = Workflow.resume_batches(parent, store=journal, workflow=wf, source=source)
    assert done.succeeded and done.counts() == {"succeeded": 20}
    assert sorted(x for _b, r in done.results() for x in r["Slow"]) == source


def _slow_events(tmp: Path) -> Path:
    path = tmp / "slow_events.py"
    path.write_text(
        "import time, volnux\n"
        "@volnux.event\n"
        "def Slow(batch: list) -> list:\n"
        "    time.sleep(0.05)\n"
        "    return batch\n"
    )
    return path


def test_bad_arguments_are_clear_errors(tmp_path: Path, journal: Journal, wf: Workflow) -> None:
    data = _lines(tmp_path / "data.txt", 5)
    with pytest.raises(InputError, match="parallel"):
        wf.run_batches(data, batch_size=2, parallel=0, store=journal, inputs={"effects": ""})
    with pytest.raises(InputError, match="tolerance"):
        wf.run_batches(data, batch_size=2, tolerate="lots", store=journal, inputs={"effects": ""})
    with pytest.raises(InputError, match="is the batch itself"):
        wf.run_batches(data, batch_size=2, store=journal, inputs={"effects": "", "batch": [1]})
    with pytest.raises(InputError, match="missing workflow input 'effects'"):
        wf.run_batches(data, batch_size=2, store=journal)
    assert journal.list_runs() == []  # nothing recorded by a refused start


def test_tolerance_parsing() -> None:
    assert Tolerance.parse(None).text == ""
    assert Tolerance.parse("3").count == 3 and Tolerance.parse(3).text == "3"
    assert Tolerance.parse("2.5%").percent == 2.5 and Tolerance.parse("2.5%").text == "2.5%"
    assert Tolerance.parse("2%").allows(2, 100) and not Tolerance.parse("2%").allows(3, 100)
    assert not Tolerance.parse("2%").exceeded(50, None)  # the total is not known yet
    for bad in ("-1", "101%", "x%", "1.5"):
        with pytest.raises(InputError):
            Tolerance.parse(bad)


def test_a_slow_driver_does_not_start_more_than_parallel(tmp_path: Path, journal: Journal) -> None:
    wf = Workflow.from_text("Slow", [_slow_events(tmp_path)])
    running, peak = 0, 0
    lock = threading.Lock()

    def on_batch(event: object) -> None:
        nonlocal running, peak
        with lock:
            running += 1 if event.what == "began" else -1
            peak = max(peak, running)

    t0 = time.monotonic()
    run = wf.run_batches(
        list(range(24)), batch_size=2, parallel=3, store=journal, on_batch=on_batch
    )
    assert run.succeeded and peak == 3
    assert time.monotonic() - t0 < 10


def _partial_events(tmp: Path) -> Path:
    path = tmp / "partial_events.py"
    path.write_text(
        "import os, volnux\n"
        "@volnux.event\n"
        "def Load(batch: list, bad: str = ''):\n"
        "    broken = set(open(bad).read().split()) if bad and os.path.exists(bad) else set()\n"
        "    ok = [x for x in batch if x not in broken]\n"
        "    why = {x: ValueError(f'cannot load {x}') for x in batch if x in broken}\n"
        "    return volnux.Partial(ok, why)\n"
        "@volnux.event\n"
        "def Count(piped: list) -> int:\n"
        "    return len(piped)\n"
    )
    return path


def test_items_an_event_reports_failed_are_journaled_and_retried_as_a_new_batch(
    tmp_path: Path, journal: Journal
) -> None:
    wf = Workflow.from_text("Load |-> Count", [_partial_events(tmp_path)])
    bad = tmp_path / "bad"
    bad.write_text("b3 b7 b8")
    items = [f"b{i}" for i in range(10)]
    run = wf.run_batches(items, batch_size=4, store=journal, inputs={"bad": str(bad)})
    # The batches succeed: their failed items are reported, not failures of the batch.
    assert run.succeeded and run.counts() == {"succeeded": 3}
    assert [b.failed_items for b in run.batches] == [1, 1, 1]
    assert run.summary.failed_item_count() == 3
    assert run.summary.progress() == "3/3 batches (3 items failed)"
    counted = {b.batch: r["Count"] for b, r in run.results()}
    assert counted == {0: 3, 1: 3, 2: 1}
    child = journal.load_run(run.batches[1].child)
    notes = [n.read() for n in journal.load_notes(child.id) if n.kind == "items-failed"]
    assert [(n.node, n.items) for n in notes] == [  # type: ignore[union-attr]
        ("Load", (("b7", "ValueError: cannot load b7"),))
    ]
    bad.unlink()  # fixed: the failed items load now
    again = Workflow.resume_batches(run.id, store=journal, workflow=wf, failed_items=True)
    assert again.succeeded and again.counts() == {"succeeded": 4}
    extra = again.batches[3]
    assert extra.position == {"kind": "failed-items", "of": [0, 1, 2], "count": 3}
    assert journal.load_run(extra.child).parent == run.id
    results = {b.batch: r for b, r in again.results()}
    assert results[3] == {"Load": ["b3", "b7", "b8"], "Count": 3}
    assert again.summary.failed_item_count() == 0
    with pytest.raises(ResumeRefused, match="no failed items"):
        Workflow.resume_batches(run.id, store=journal, workflow=wf, failed_items=True)


def test_a_partial_outside_a_batch_run_and_keys_that_are_not_json(
    tmp_path: Path, journal: Journal
) -> None:
    wf = Workflow.from_text("Load |-> Count", [_partial_events(tmp_path)])
    bad = tmp_path / "bad"
    bad.write_text("x")
    run = wf.run({"batch": ["x", "y"], "bad": str(bad)}, store=journal)
    assert run.succeeded and run.results["Count"] == 1
    assert run.failed_items == {"Load": (("x", "ValueError: cannot load x"),)}
    import volnux

    odd = volnux.Partial([1], {("a", "b"): "tuple keys are JSON lists"})
    assert odd.failed == ((("a", "b"), "tuple keys are JSON lists"),)
    with pytest.raises(TypeError, match="key -> error"):
        volnux.Partial([], ["not a pair"])
    (tmp_path / "obj_events.py").write_text(
        "import volnux\n"
        "@volnux.event\n"
        "def Odd():\n"
        "    return volnux.Partial([], {object(): 'no JSON for this key'})\n"
    )
    odd_run = Workflow.from_text("Odd", [tmp_path / "obj_events.py"]).run(store=journal)
    assert odd_run.state is RunState.FAILED
    assert "are not JSON data" in (odd_run.tasks["Odd"].error.message)  # type: ignore[union-attr]


def test_a_batch_run_on_the_postgresql_journal_fails_retries_and_resumes(
    tmp_path: Path, postgres_url: str, wf: Workflow
) -> None:
    journal = open_store(postgres_url)
    try:
        data = _lines(tmp_path / "data.txt", 30)
        fail, effects = tmp_path / "fail", tmp_path / "effects"
        fail.write_text("1")
        inputs = {"effects": str(effects), "fail": str(fail)}
        run = wf.run_batches(data, batch_size=10, store=journal, inputs=inputs)
        assert run.state is RunState.FAILED and run.counts() == {"succeeded": 2, "failed": 1}
        assert {r.id for r in journal.child_runs(run.id)} == {b.child for b in run.batches}  # type: ignore[attr-defined]
        assert [r.id for r in journal.list_runs(parts=False)] == [run.id]
        fail.unlink()
        again = Workflow.resume_batches(run.id, store=journal, workflow=wf, failed=True)
        assert again.succeeded and again.counts() == {"succeeded": 3}
        assert _effects(effects)[(run.failed()[0].child, "Count")] == 2  # failed, then again
    finally:
        journal.close()


def test_pausing_the_parent_pauses_its_children_and_a_resume_finishes(
    tmp_path: Path, journal: Journal
) -> None:
    from volnux import pause_run

    wf = Workflow.from_text("Slow", [_slow_events(tmp_path)])
    began = threading.Event()
    out: list[BatchRun] = []
    source = list(range(30))
    thread = threading.Thread(
        target=lambda: out.append(
            wf.run_batches(
                source, batch_size=2, parallel=2, store=journal, on_batch=lambda e: began.set()
            )
        )
    )
    thread.start()
    assert began.wait(10)
    parent = next(r.id for r in journal.list_runs() if r.parent is None)
    pause_run(journal, parent)
    thread.join(30)
    assert out[0].state is RunState.PAUSED
    assert journal.load_run(parent).state is RunState.PAUSED
    done = Workflow.resume_batches(parent, store=journal, workflow=wf, source=source)
    assert done.succeeded and done.counts() == {"succeeded": 15}
    assert sorted(x for _b, r in done.results() for x in r["Slow"]) == source


@pytest.mark.parametrize(("tolerate_items", "state"), [(None, "succeeded"), (3, "succeeded"),
                                                       ("30%", "succeeded"), (2, "failed"),
                                                       ("20%", "failed")])  # fmt: skip
def test_an_items_tolerance_judges_the_items_events_report_failed(
    tmp_path: Path, journal: Journal, tolerate_items: object, state: str
) -> None:
    wf = Workflow.from_text("Load |-> Count", [_partial_events(tmp_path)])
    bad = tmp_path / "bad"
    bad.write_text("b3 b7 b8")  # 3 of 10 items
    run = wf.run_batches(
        [f"b{i}" for i in range(10)],
        batch_size=4,
        store=journal,
        inputs={"bad": str(bad)},
        tolerate_items=tolerate_items,  # type: ignore[arg-type]
    )
    assert run.counts() == {"succeeded": 3}  # the batches themselves succeeded
    assert run.status == state
    if state == "failed":
        assert run.error is not None and run.error.startswith("3 of 10 items failed")
        bad.unlink()
        again = Workflow.resume_batches(run.id, store=journal, workflow=wf, failed_items=True)
        assert again.succeeded  # the failed items ran again, and none failed


def test_a_summary_passes_over_batch_notes_it_cannot_read() -> None:
    from volnux.notes import BatchStarted, RunNote

    notes = [
        RunNote.of("p", 1.0, BatchStarted("lines", "/d.txt", 10, "batch")),
        RunNote("p", "batch-begun", 2.0, {"batch": 0, "child": "c0", "position": {}, "size": 10}),
        RunNote("p", "batch-begun", 2.0, {"batch": "one", "child": "c1"}),  # not an index
        RunNote("p", "batch-begun", 2.0, {"batch": 1, "child": 7, "size": "x"}),  # odd fields
        RunNote(
            "p",
            "batch-ended",
            3.0,
            {"batch": 0, "state": "succeeded", "size": 10, "seconds": "slow"},
        ),
        RunNote("p", "batch-ended", 3.0, ["not", "a", "mapping"]),  # type: ignore[arg-type]
    ]
    summary = summarize(notes, running=False)
    assert summary is not None
    assert [(b.batch, b.child, b.state, b.size, b.seconds) for b in summary.batches.values()] == [
        (0, "c0", "succeeded", 10, 0.0),
        (1, "", "interrupted", 0, None),
    ]


def test_the_default_parallel_keeps_a_process_pools_workers_fed(journal: Journal) -> None:
    from volnux import PoolSettings

    # Threads: 2 batches per worker; worker processes: 8 per worker, since each
    # step of a batch goes to the worker and back through the engine.
    for executor, workers, expected in (("thread", 3, 6), ("process", 2, 16)):
        wf = Workflow.from_text(batch_events.WORKFLOW, [batch_events], default_executor=executor)
        wf.pool_settings = {executor: PoolSettings(max_workers=workers)}
        with wf:
            items = [f"{i},item-{i},{i}" for i in range(3)]
            run = wf.run_batches(items, batch_size=2, store=journal, inputs={"effects": ""})
        assert run.succeeded, run.error
        assert run.summary.parallel == expected, executor


def test_batches_run_on_a_few_threads_kept_from_batch_to_batch(journal: Journal) -> None:
    wf = Workflow.from_text(batch_events.WORKFLOW, [batch_events])
    seen: set[str] = set()

    def on_batch(event: object) -> None:
        seen.update(t.name for t in threading.enumerate() if t.name.startswith("volnux-batch-"))

    items = [f"{i},item-{i},{i}" for i in range(60)]
    with wf:
        run = wf.run_batches(
            items,
            batch_size=2,
            parallel=3,
            store=journal,
            inputs={"effects": ""},
            on_batch=on_batch,
        )
    assert run.succeeded and run.counts() == {"succeeded": 30}
    assert 1 <= len(seen) <= 3 + 2, sorted(seen)  # not one thread a batch
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("volnux-batch-")]

"""A reader that comes back to a run reads only the notes written since: the
batch summary it keeps is what a summary of every note says."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.batch import batch_events
from volnux.batch import summarize
from volnux.query import runs as query_runs
from volnux.query.runs import notes_read
from volnux.states import RunState
from volnux.store import SQLiteJournal
from volnux.workflow import Workflow


def test_a_batch_run_read_while_it_runs_sums_up_as_a_whole_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    data = tmp_path / "data.txt"
    data.write_text("".join(f"{i},item-{i},{i % 5}\n" for i in range(400)))
    seen: list[int] = []
    done = threading.Event()
    with Workflow.from_text(batch_events.WORKFLOW, [batch_events]) as wf:
        thread = threading.Thread(
            target=lambda: (
                wf.run_batches(data, batch_size=7, store=journal, inputs={"effects": ""},
                               run_id="parent"),
                done.set(),
            )
        )  # fmt: skip
        thread.start()
        while not done.is_set():
            try:
                record = journal.load_run("parent")
            except Exception:
                continue
            summarizer, _ = notes_read(journal, record)
            seen.append(summarizer.seen)
        thread.join()
    record = journal.load_run("parent")
    # From here on, only what came since may be read: a whole read fails.
    monkeypatch.setattr(journal, "load_notes", lambda run_id: pytest.fail("read again whole"))
    summarizer, others = notes_read(journal, record)
    every = SQLiteJournal(tmp_path / "j.db").load_notes("parent")
    assert len(seen) > 2 and seen == sorted(seen) and summarizer.seen == len(every)
    whole = summarize(every, running=False)
    kept = summarizer.summary(running=record.state is RunState.RUNNING)
    assert whole is not None and kept is not None
    assert kept.batches == whole.batches and kept.counts() == {"succeeded": 58}
    assert (kept.total, kept.total_items) == (whole.total, whole.total_items) == (58, 400)
    assert [n.kind for n in others] == [
        n.kind for n in every if n.kind not in query_runs.BATCH_KINDS
    ]
    journal.close()


def test_notes_from_an_offset_are_those_after_it(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    data = tmp_path / "data.txt"
    data.write_text("".join(f"{i},item-{i},{i % 5}\n" for i in range(30)))
    with Workflow.from_text(batch_events.WORKFLOW, [batch_events]) as wf:
        run = wf.run_batches(data, batch_size=10, store=journal, inputs={"effects": ""})
    every = journal.load_notes(run.id)
    for start in (0, 1, len(every) - 1, len(every), len(every) + 5):
        assert journal.load_notes_from(run.id, start) == every[start:]
    with pytest.raises(Exception, match="no run 'nope'"):
        journal.load_notes_from("nope", 0)
    journal.close()

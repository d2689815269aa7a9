"""The query layer: what every face (the CLI now, a web view later) shows of runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import volnux
from volnux.notes import Changed, Failed, RunNote, Started
from volnux.query import describe_run, list_runs
from volnux.states import RunState, TaskState
from volnux.store import MemoryJournal, RunRecord, SQLiteJournal


@volnux.event
def Fetch() -> list[int]:
    return [1, 2]


@volnux.event
def Charge(piped: list[int]) -> int:
    raise ValueError("card declined")


@volnux.event
def Mail() -> str:
    return "sent"


class CountingJournal(MemoryJournal):
    """A memory journal that counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def load(self, run_id: str) -> Any:
        self.reads.append("load")
        return super().load(run_id)

    def logs(self, run_id: str, node_id: str | None = None) -> Any:
        self.reads.append(f"logs {node_id}")
        return super().logs(run_id, node_id)


def failed_run(journal: Any) -> volnux.Run:
    wf = volnux.Workflow.from_text("Fetch |-> Charge -> Mail", [Fetch, Charge, Mail])
    return wf.run(store=journal)


def test_a_run_is_read_once_and_its_logs_only_when_asked() -> None:
    journal = CountingJournal()
    run = failed_run(journal)
    detail = describe_run(journal, run.id)
    assert journal.reads == ["load"]
    assert [v.node_id for v in detail.failed()] == ["Charge"]
    assert detail.failure_logs() == {"Charge": []}
    assert journal.reads == ["load", "logs Charge"]


def test_the_detail_has_every_task_the_failure_and_what_retry_would_do() -> None:
    journal = MemoryJournal()
    run = failed_run(journal)
    detail = describe_run(journal, run.id)
    assert list(detail.tasks) == ["Fetch", "Charge", "Mail"]  # Mail never reached
    assert detail.tasks["Mail"].state is TaskState.PENDING
    assert detail.counts() == {TaskState.SUCCEEDED: 1, TaskState.FAILED: 1, TaskState.PENDING: 1}
    assert detail.path() == ["Fetch", "Charge"]
    plan = detail.resume
    assert (plan.state, plan.kept, plan.rerun, plan.pending) == (
        RunState.FAILED, ["Charge", "Fetch"], ["Charge"], ["Mail"]
    )  # fmt: skip
    graph = detail.graph()
    assert graph is not None and [t.id for t in graph.tasks()] == list(detail.tasks)
    assert detail.run.graph is graph and detail.graph() is graph  # parsed once
    assert detail.pins["Charge"].name == "Charge"


def test_the_failed_task_comes_from_the_notes_never_from_the_error_text() -> None:
    journal = MemoryJournal()
    now = 1.0
    journal.create_run(RunRecord("r", "w", "A", "f", {}, {}, RunState.RUNNING, now, now))
    journal.add_note(RunNote.of("r", now, Failed(("Ship", "Pack"))))
    journal.set_run_state("r", RunState.FAILED, 2.0, "something went wrong, somewhere")
    (summary,) = list_runs(journal)
    assert (summary.failed_task, summary.state, summary.duration) == ("Ship", RunState.FAILED, 1.0)


def test_a_relative_workflow_file_is_found_from_where_the_run_started(tmp_path: Path) -> None:
    (tmp_path / "flow.pty").write_text("Mail\n")
    journal = MemoryJournal()
    journal.create_run(
        RunRecord("r", "w", "Mail\n", "f", {}, {}, RunState.RUNNING, 1.0, 1.0, "flow.pty")
    )
    journal.add_note(RunNote.of("r", 1.0, Started(1, "h", str(tmp_path))))
    assert describe_run(journal, "r").workflow_path() == tmp_path / "flow.pty"
    (tmp_path / "flow.pty").unlink()
    assert describe_run(journal, "r").workflow_path() is None


def test_a_text_this_version_cannot_parse_still_shows_its_tasks(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        run = failed_run(journal)
        journal.add_note(
            RunNote.of(run.id, 3.0, Changed(("x",), "Fetch ->> ???", "<text>", {}, ()))
        )
        detail = describe_run(journal, run.id)
    assert detail.graph() is None
    assert set(detail.tasks) == {"Fetch", "Charge"}  # what the journal has


def test_tasks_are_in_source_order_without_parsing_the_workflow() -> None:
    wf = volnux.Workflow.from_text(
        "Fetch (0 -> Mail, 1 -> Fetch) -> (Mail || Fetch) -> {Mail -> Mail} * 2",
        [Fetch, Mail],
    )
    journal = MemoryJournal()
    run = wf.run(store=journal)
    detail = describe_run(journal, run.id)
    assert detail.run.graph is None  # not parsed to list the tasks
    assert list(detail.tasks) == [t.id for t in wf.graph.tasks()]
    assert detail.tasks["Mail"].state is TaskState.SKIPPED

"""An operator's rework: run a task again with what follows it, or declare one done."""

from __future__ import annotations

import getpass
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux import ResumeRefused, RunState, SQLiteJournal, TaskState, Workflow
from volnux.engine.rework import tasks_after
from volnux.notes import Operator


@pytest.mark.parametrize(
    ("text", "node", "after"),
    [
        ("A -> B -> C", "A", ["B", "C"]),
        ("A -> B -> C", "C", []),
        ("A -> (B || C) -> D", "B", ["D"]),  # a parallel sibling is not after it
        ("A (0 -> F, 1 -> G) -> H", "A", ["F", "G", "H"]),
        ("A (0 -> F -> X, 1 -> G) -> H", "F", ["X", "H"]),  # not the other branch
        ("{A -> B} (0 -> F) -> H", "A", ["B", "F", "H"]),
        ("{A -> (B || C)}[retry_attempts=2] -> D", "C", ["D"]),
    ],
)
def test_the_tasks_after_a_task(text: str, node: str, after: list[str]) -> None:
    assert tasks_after(volnux.parse(text), node) == after


class Counted:
    """Events that count their runs and hand on what they were given."""

    def __init__(self) -> None:
        self.ran: Counter[str] = Counter()
        self.fail: set[str] = set()

    def events(self, *names: str) -> list[Any]:
        made = []
        for name in names:

            def fn(piped: Any = None, _name: str = name) -> Any:
                self.ran[_name] += 1
                if _name in self.fail:
                    raise RuntimeError(f"{_name} broke")
                return f"{_name}({piped})"

            made.append(volnux.event(name=name)(fn))
        return made


@pytest.fixture
def journal(tmp_path: Path) -> SQLiteJournal:
    with SQLiteJournal(tmp_path / "runs.db") as j:
        yield j


def test_retry_from_a_task_of_a_succeeded_run_reruns_it_and_what_follows(
    journal: SQLiteJournal,
) -> None:
    c = Counted()
    evs = c.events("A", "B", "C", "D")
    run = Workflow.from_text("A |-> B |-> C -> D", evs).run(store=journal)
    assert run.state is RunState.SUCCEEDED
    again = Workflow.retry(run.id, store=journal, events=evs, from_node="B")
    assert again.state is RunState.SUCCEEDED
    assert c.ran == Counter({"A": 1, "B": 2, "C": 2, "D": 2})
    assert again.results["C"] == "C(B(A(None)))"  # B was handed A's kept result
    notes = journal.load_notes(run.id)
    (op,) = [n.read() for n in notes if n.kind == "operator"]
    assert isinstance(op, Operator) and (op.action, op.node) == ("rerun-from", "B")
    assert op.user == getpass.getuser()
    assert [n.kind for n in notes].count("retried") == 1


def test_retry_from_is_refused_for_a_task_that_has_not_run_or_is_not_there(
    journal: SQLiteJournal,
) -> None:
    c = Counted()
    c.fail.add("B")
    evs = c.events("A", "B", "C")
    run = Workflow.from_text("A -> B -> C", evs).run(store=journal)
    with pytest.raises(ResumeRefused, match=r"task C has not run \(pending\)"):
        Workflow.retry(run.id, store=journal, events=evs, from_node="C")
    with pytest.raises(ResumeRefused, match=r"no task 'Z'; its tasks: A, B, C"):
        Workflow.retry(run.id, store=journal, events=evs, from_node="Z")
    assert journal.load_run(run.id).state is RunState.FAILED  # nothing changed


def test_skip_declares_a_failed_task_done_and_its_result_is_piped_on(
    journal: SQLiteJournal,
) -> None:
    c = Counted()
    c.fail.add("Charge")
    evs = c.events("Fetch", "Charge", "Notify")
    run = Workflow.from_text("Fetch |-> Charge |-> Notify", evs).run(store=journal)
    assert run.state is RunState.FAILED
    done = Workflow.skip(run.id, "Charge", store=journal, events=evs, result="charged by hand")
    assert done.state is RunState.SUCCEEDED
    assert done.tasks["Charge"].state is TaskState.SKIPPED
    assert done.results["Notify"] == "Notify(charged by hand)"
    assert c.ran == Counter({"Fetch": 1, "Charge": 1, "Notify": 1})  # Charge not run again
    (op,) = [n.read() for n in journal.load_notes(run.id) if n.kind == "operator"]
    assert isinstance(op, Operator) and (op.action, op.node, op.with_result) == (
        "skip",
        "Charge",
        True,
    )
    # A skipped task cannot be declared again, nor can anything in a succeeded run.
    with pytest.raises(ResumeRefused, match="succeeded; there is no task to declare done"):
        Workflow.mark_succeeded(run.id, "Charge", store=journal, events=evs)


def test_mark_succeeded_takes_a_task_paused_for_an_operator(journal: SQLiteJournal) -> None:
    ran: list[str] = []

    @volnux.event
    def Approve() -> None:
        ran.append("Approve")
        raise volnux.NeedsOperator("a person must approve the refund")

    @volnux.event
    def Refund(piped: Any = None) -> str:
        ran.append("Refund")
        return f"refunded {piped}"

    evs = [Approve, Refund]
    run = Workflow.from_text("Approve |-> Refund", evs).run(store=journal)
    assert run.state is RunState.PAUSED
    done = Workflow.mark_succeeded(
        run.id, "Approve", store=journal, events=evs, result={"by": "ann"}
    )
    assert done.state is RunState.SUCCEEDED and ran == ["Approve", "Refund"]
    assert done.tasks["Approve"].state is TaskState.SUCCEEDED
    assert done.results == {"Approve": {"by": "ann"}, "Refund": "refunded {'by': 'ann'}"}


def test_declaring_a_succeeded_task_says_to_retry_from_it(journal: SQLiteJournal) -> None:
    c = Counted()
    c.fail.add("B")
    evs = c.events("A", "B")
    run = Workflow.from_text("A -> B", evs).run(store=journal)
    with pytest.raises(ResumeRefused, match=r"task A already succeeded.*--from A"):
        Workflow.skip(run.id, "A", store=journal, events=evs)
    with pytest.raises(ResumeRefused, match="no task 'Q'"):
        Workflow.skip(run.id, "Q", store=journal, events=evs)
    assert journal.load_run(run.id).state is RunState.FAILED

"""Sub-workflows planned and run: errors found before anything runs, child runs
linked to their parent, results piped on, failures branched and retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from volnux import Workflow
from volnux.errors import PointyError
from volnux.notes import SubWorkflow, latest
from volnux.store import Journal, open_store

from .support import unit


def workflow(root: Path, text: str) -> Workflow:
    return Workflow.from_text(text, [str(root / "events.py")], filename="parent.pty")


@pytest.fixture
def journal(project: Path) -> Journal:
    return open_store(str(project / "journal.db"))


def effects(root: Path) -> list[str]:
    path = root / "effects.txt"
    return path.read_text().split() if path.exists() else []


def test_an_unknown_unit_is_refused_with_the_close_names(project: Path) -> None:
    with pytest.raises(PointyError) as caught:
        workflow(project, "Validate -> <dobule@1.0>").plan  # noqa: B018
    assert (caught.value.line, caught.value.column) == (1, 13)
    assert "unknown workflow 'dobule'; did you mean double?" in str(caught.value)


def test_a_version_that_matches_nothing_lists_those_there_are(project: Path) -> None:
    with pytest.raises(PointyError, match=r"no version of workflow double matches @3"):
        workflow(project, "<double@3>").plan  # noqa: B018


def test_a_cycle_of_workflows_is_refused_naming_it(project: Path) -> None:
    unit(project, "ping", "1.0", "Double -> <pong@1.0>\n")
    unit(project, "pong", "1.0", "<ping> -> Double\n")
    with pytest.raises(PointyError) as caught:
        workflow(project, "Validate -> <ping>").plan  # noqa: B018
    assert "workflows run each other in a cycle: ping@1.0.0 -> pong@1.0.0 -> ping@1.0.0" in str(
        caught.value
    )


def test_a_unit_that_runs_itself_is_a_cycle(project: Path) -> None:
    unit(project, "loop", "1.0", "Double -> <loop>\n")
    with pytest.raises(PointyError, match=r"cycle: loop@1.0.0 -> loop@1.0.0"):
        workflow(project, "<loop>").plan  # noqa: B018


def test_an_unknown_event_inside_the_unit_names_the_units_file(project: Path) -> None:
    home = unit(project, "typo", "1.0", "Duoble\n")
    with pytest.raises(PointyError) as caught:
        workflow(project, "<typo>").plan  # noqa: B018
    assert str(home / "typo.pty") in str(caught.value)
    assert "did you mean Double" in str(caught.value)


def test_attributes_for_events_are_refused_on_a_sub_workflow(project: Path) -> None:
    with pytest.raises(PointyError, match=r"a sub-workflow takes only .* not 'timeout'"):
        workflow(project, "<double>[timeout=5]").plan  # noqa: B018


def test_piped_input_and_the_last_steps_result(project: Path, journal: Journal) -> None:
    run = workflow(project, "Validate |-> <double@1.0> |-> Report").run(store=journal)
    assert run.succeeded, run.error
    assert run.results == {
        "Validate": 20,
        "workflow:double": 40,
        "Report": {"report": 40},
    }
    child = f"{run.id}.double.1"
    assert journal.run_ids(f"{run.id}.") == [child]
    record = journal.load_run(child)
    assert record.parent == run.id
    assert record.inputs["piped_in"] == 20
    assert latest(journal.load_notes(child), SubWorkflow) == SubWorkflow(
        run.id, "workflow:double", 1, 0
    )


def test_a_chain_inside_hands_on_its_last_result(project: Path, journal: Journal) -> None:
    effects_file = str(project / "effects.txt")
    run = workflow(project, "Validate |-> <chain> |-> Report").run(
        {"effects": effects_file}, store=journal
    )
    assert run.succeeded, run.error
    assert run.result("Report") == {"report": 20 * 2 + 1 + 1000}
    assert effects(project) == ["Double", "Slow", "Finish"]


def test_a_failing_child_fails_the_node_and_takes_branch_0(project: Path, journal: Journal) -> None:
    run = workflow(project, "Validate -> <broken> (0 |-> Alert)").run(store=journal)
    assert run.succeeded, run.error
    assert run.tasks["workflow:broken"].state.value == "failed"
    assert run.result("Alert") == "alerted"
    error = run.tasks["workflow:broken"].error
    assert error is not None and f"child run {run.id}.broken.1 failed" in error.message


def test_an_unhandled_child_failure_fails_the_parent(project: Path, journal: Journal) -> None:
    run = workflow(project, "Validate -> <broken> -> Alert").run(store=journal)
    assert not run.succeeded
    assert run.failed_nodes == ("workflow:broken",)


def test_each_retry_starts_a_fresh_child(project: Path, journal: Journal) -> None:
    run = workflow(project, "<broken> * 2 (0 -> Alert)").run(
        {"effects": str(project / "effects.txt")}, store=journal
    )
    assert run.succeeded, run.error
    assert run.tasks["workflow:broken"].attempts == 2
    assert journal.run_ids(f"{run.id}.") == [f"{run.id}.broken.1", f"{run.id}.broken.2"]
    assert effects(project) == ["Broken", "Broken"]
    for attempt, child in enumerate(journal.run_ids(f"{run.id}."), 1):
        assert journal.load_run(child).state.value == "failed"
        note = latest(journal.load_notes(child), SubWorkflow)
        assert isinstance(note, SubWorkflow) and note.attempt == attempt


def test_cancelling_the_parent_stops_its_child_and_a_resume_takes_both_up(
    project: Path, journal: Journal
) -> None:
    import threading
    import time

    from volnux import RunState, cancel_run

    hold = project / "hold"
    hold.touch()
    events = project / "workflows" / "_events" / "units.py"
    events.write_text(
        events.read_text()
        + "\n\n@volnux.event\ndef Wait(piped_in, hold: str = ''):\n"
        + "    deadline = time.monotonic() + 20\n"
        + "    while hold and os.path.exists(hold) and time.monotonic() < deadline:\n"
        + "        time.sleep(0.02)\n"
        + "    return piped_in\n"
    )
    unit(project, "hold", "1.0", "Wait -> Wait\n")
    flow = workflow(project, "Validate |-> <hold@1.0> |-> Report")
    thread = threading.Thread(
        target=flow.run, kwargs={"inputs": {"hold": str(hold)}, "store": journal, "run_id": "p"}
    )
    thread.start()
    child = "p.hold.1"
    deadline = time.monotonic() + 15
    while not journal.run_ids(child):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.02)
    cancel_run(journal, "p")
    thread.join(15)  # the parent ends at once: its sub-workflow attempt is withdrawn
    assert not thread.is_alive()
    assert journal.load_run("p").state is RunState.CANCELLED
    hold.unlink()  # the child's running Wait ends; the child starts nothing more
    deadline = time.monotonic() + 15
    while journal.load_run(child).state is RunState.RUNNING:
        assert time.monotonic() < deadline, "the child was not told to stop"
        time.sleep(0.05)
    assert journal.load_run(child).state is RunState.CANCELLED
    resumed = Workflow.resume("p", store=journal)
    assert resumed.succeeded, resumed.error
    assert resumed.results["Report"] == {"report": 20}
    assert journal.load_run(child).state is RunState.SUCCEEDED
    assert journal.run_ids("p.") == [child]  # taken up again, not made twice

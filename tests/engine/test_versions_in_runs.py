"""Version pins and deprecations, as runs record and resume them."""

from __future__ import annotations

import warnings
from pathlib import Path

import volnux
from volnux import RunState, Workflow
from volnux.events import Deprecated, EventDeprecationWarning, EventRegistry
from volnux.store import SQLiteJournal


class ChargeV1(volnux.Event):
    name = "Charge"
    version = "1.0.0"
    deprecated = Deprecated(reason="rounds wrongly", since="1.1.0", replacement="Charge@2")

    def process(self) -> str:
        return "v1"


class ChargeV2(volnux.Event):
    name = "Charge"
    version = "2.0.0"

    def process(self) -> str:
        return "v2"


APPROVED = {"yes": False}


class ApproveV1(volnux.Event):
    name = "Approve"
    version = "1.0.0"

    def process(self) -> str:
        if not APPROVED["yes"]:
            raise volnux.NeedsOperator("approve first")
        return "approved by v1"


class ApproveV2(volnux.Event):
    name = "Approve"
    version = "2.0.0"

    def process(self) -> str:
        return "approved by v2"


def test_deprecated_event_warns_once_per_run_and_is_recorded(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    wf = Workflow.from_text("Charge@1 -> Charge@1", [ChargeV1, ChargeV2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = wf.run(store=journal)
    ours = [w for w in caught if issubclass(w.category, EventDeprecationWarning)]
    assert len(ours) == 1 and "rounds wrongly" in str(ours[0].message)
    notes = [n for n in journal.load(run.id).notes if n.kind == "deprecated"]
    assert len(notes) == 1
    (entry,) = notes[0].detail["events"]
    assert entry["nodes"] == ["Charge", "Charge#2"] and entry["replacement"] == "Charge@2"


def test_resume_resolves_bare_names_with_the_pins_the_run_started_with(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    APPROVED["yes"] = False
    registry = EventRegistry([ApproveV1, ApproveV2], pins={"Approve": "1"})
    run = Workflow.from_text("Approve", registry).run(store=journal)
    assert run.state is RunState.PAUSED
    assert run.tasks["Approve"].event == "Approve@1.0.0"
    APPROVED["yes"] = True
    # No pins given now: a bare "Approve" would mean 2.0.0, and resuming would
    # be refused as a changed event; the pin recorded with the run decides.
    resumed = Workflow.resume(run.id, store=journal, events=[ApproveV1, ApproveV2])
    assert resumed.status == "succeeded"
    assert resumed.results == {"Approve": "approved by v1"}


def test_every_run_of_a_workflow_records_one_read_only_pin_mapping(tmp_path: Path) -> None:
    workflow = Workflow.from_text("Charge -> Charge", EventRegistry([ChargeV2]))
    pins = workflow.plan.pins()
    assert workflow.plan.pins() is pins  # so a journal encodes it once for all runs
    assert pins["Charge"].version == "2.0.0" and pins["Charge#2"] is pins["Charge"]
    try:
        pins["Charge"] = pins["Charge#2"]  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("the pins of a plan could be changed")
    with SQLiteJournal(tmp_path / "j.db") as journal:
        first, second = workflow.run(store=journal), workflow.run(store=journal)
        assert journal.load(first.id).run.events == journal.load(second.id).run.events == pins

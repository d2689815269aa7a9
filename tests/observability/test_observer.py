"""The Observer hook as the engine calls it: gates, and observers that fail."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace

import pytest

import volnux
from volnux import Workflow
from volnux.observability.observer import Observer
from volnux.store import TaskRecord


class Watcher(Observer):
    """Keeps the node ids of every batch it is told of, while its gate is open."""

    def __init__(self, gate: SimpleNamespace) -> None:
        self.transitions_gate = gate
        self.heard: list[str] = []

    def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
        self.heard += [f"{rec.node_id}:{rec.state.value}" for rec in records]


def test_a_closed_gate_skips_the_observer_and_it_may_open_mid_run() -> None:
    gate = SimpleNamespace(open=False)

    @volnux.event
    def Open() -> int:
        gate.open = True
        return 1

    @volnux.event
    def Step() -> int:
        return 2

    watcher = Watcher(gate)
    run = Workflow.from_text("Step -> Open -> Step", [Open, Step]).run(observers=[watcher])
    assert run.status == "succeeded"
    # Nothing before Open ran; from its result on, every write.
    assert watcher.heard == [
        "Open:succeeded",
        "Step#2:running",
        "Step#2:succeeded",
    ]


def test_an_observer_that_raises_in_transitions_is_logged_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(Observer):
        def transitions(self, run_id: str, records: Sequence[TaskRecord]) -> None:
            raise RuntimeError("observer bug")

    @volnux.event
    def Step() -> int:
        return 1

    watcher = Watcher(SimpleNamespace(open=True))
    with caplog.at_level(logging.ERROR, logger="volnux.observability"):
        run = Workflow.from_text("Step -> Step", [Step]).run(observers=[Broken(), watcher])
    assert run.status == "succeeded"
    assert watcher.heard[-1] == "Step#2:succeeded"  # the next observer still heard it all
    failures = [r for r in caplog.records if "observer bug" in (r.exc_text or "")]
    assert failures and "Broken" in failures[0].getMessage()
    assert "the run goes on" in failures[0].getMessage()

"""Versions side by side, how references resolve, and pins."""

from __future__ import annotations

from typing import Any

import pytest

import volnux
from volnux import EventNotFound
from volnux.dsl import parse
from volnux.errors import PointyError
from volnux.events import EventRegistry
from volnux.workflow import Workflow


def charge(version: str) -> Any:
    @volnux.event(name="Charge", version=version)
    def fn() -> str:
        return version

    return fn


@pytest.fixture
def registry() -> EventRegistry:
    return EventRegistry(charge(v) for v in ("1.0.0", "1.2.0", "1.2.3", "1.10.0", "2.0.0"))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1.2.3", "1.2.3"),  # exact
        ("1.2", "1.2.3"),  # newest 1.2.x
        ("1.10", "1.10.0"),  # numeric, not text, order
        ("v1", "1.10.0"),  # newest 1.x.y
        ("1", "1.10.0"),
        ("latest", "2.0.0"),
        (None, "2.0.0"),  # bare name, no pin: the newest
    ],
)
def test_references_resolve_as_pointy_md_says(
    registry: EventRegistry, spec: str | None, expected: str
) -> None:
    assert str(registry.resolve("Charge", spec).version) == expected


def test_a_pin_decides_what_a_bare_name_means_and_nothing_else(registry: EventRegistry) -> None:
    registry.pin("Charge", "1.2")
    assert str(registry.resolve("Charge").version) == "1.2.3"
    assert str(registry.resolve("Charge", "latest").version) == "2.0.0"
    assert str(registry.resolve("Charge", "1.0.0").version) == "1.0.0"
    pinned = EventRegistry([charge("1.0.0"), charge("2.0.0")], pins={"Charge": "v1"})
    assert pinned.pins == {"Charge": "v1"}
    assert str(pinned.resolve("Charge").version) == "1.0.0"


def test_a_malformed_pin_is_refused_when_it_is_set() -> None:
    with pytest.raises(ValueError, match=r"version 'one' is not one of 1\.2\.3, 1\.2, v1"):
        EventRegistry(pins={"Charge": "one"})


def test_no_match_lists_every_version_and_where_it_came_from(registry: EventRegistry) -> None:
    with pytest.raises(EventNotFound) as caught:
        registry.resolve("Charge", "3")
    message = caught.value.message
    assert message.startswith("no version of Charge matches @3; loaded versions: 1.0.0 from ")
    assert message.count(f"from {__name__}") == 5
    assert "; 2.0.0 from " in message


def test_a_pin_that_matches_nothing_says_it_is_the_pin() -> None:
    registry = EventRegistry([charge("2.0.0")], pins={"Charge": "1"})
    with pytest.raises(EventNotFound, match=r"Charge is pinned to @1 in the configuration"):
        registry.resolve("Charge")


def test_versions_run_side_by_side_in_one_workflow(registry: EventRegistry) -> None:
    workflow = Workflow(parse("Charge@1 -> Charge@2 -> Charge@1.2 -> Charge"), registry)
    run = workflow.run()
    assert run.succeeded
    assert list(run.results.values()) == ["1.10.0", "2.0.0", "1.2.3", "2.0.0"]
    pins = workflow.plan.pins()
    assert [p.version for p in pins.values()] == ["1.10.0", "2.0.0", "1.2.3", "2.0.0"]


def test_a_version_error_is_reported_at_the_reference(registry: EventRegistry) -> None:
    text = "Charge@1 ->\n  Charge@7.1\n"
    (problem,) = Workflow(parse(text, "pay.pty"), registry).problems()
    assert isinstance(problem, PointyError)
    assert (problem.filename, problem.line, problem.column) == ("pay.pty", 2, 3)
    assert problem.message.startswith("no version of Charge matches @7.1; loaded versions: ")
    assert str(problem).endswith("\n      Charge@7.1\n      ^")

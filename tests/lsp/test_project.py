"""Each project's events, loaded once and again when a file they come from changes."""

from __future__ import annotations

from pathlib import Path

from volnux.lsp.project import RECHECK_S, Projects

from .support import EVENTS, make_project, write_events


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_project_is_loaded_once_and_again_when_its_events_change(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    projects = Projects(env={})
    first = projects.for_file(project / "flow.pty")
    assert first.problem is None and first.registry is not None
    assert first.registry.names() == ["Charge", "Notify", "OldCharge"]
    assert str(project / "events.py") in first.watched
    assert projects.for_file(project / "sub" / ".." / "flow.pty") is first

    write_events(project, EVENTS + "\n\n@volnux.event\ndef Refund():\n    pass\n")
    again = projects.for_file(project / "flow.pty")
    assert again is not first
    assert again.registry is not None and "Refund" in again.registry.names()


def test_a_broken_events_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    project = make_project(tmp_path, events="import volnux\ndef (:\n")
    loaded = Projects(env={}).for_file(project / "flow.pty")
    assert loaded.registry is None
    assert loaded.problem is not None
    assert loaded.problem.startswith(f"events could not be loaded ({project / 'volnux.toml'}): ")
    assert "SyntaxError" in loaded.problem


def test_a_bad_configuration_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "volnux.toml").write_text("events = [\n", encoding="utf-8")
    loaded = Projects(env={}).for_file(tmp_path / "flow.pty")
    assert loaded.problem is not None and "is not valid TOML" in loaded.problem


def test_without_a_configuration_only_the_servers_own_events_count(tmp_path: Path) -> None:
    assert Projects(env={}).for_file(tmp_path / "flow.pty").registry is None
    (tmp_path / "mine.py").write_text(
        "import volnux\n\n@volnux.event\ndef Mine():\n    pass\n", encoding="utf-8"
    )
    extra = Projects([str(tmp_path / "mine.py")], env={}).for_file(tmp_path / "flow.pty")
    assert extra.registry is not None and extra.registry.names() == ["Mine"]


def test_a_configuration_made_later_is_found_after_a_moment(tmp_path: Path) -> None:
    clock = Clock()
    projects = Projects(env={}, clock=clock)
    flow = tmp_path / "flow.pty"
    assert projects.for_file(flow).path is None
    make_project(tmp_path)
    assert projects.for_file(flow).path is None  # looked up a moment ago
    clock.now += RECHECK_S
    found = projects.for_file(flow)
    assert found.path == (tmp_path / "volnux.toml").resolve()
    assert found.registry is not None


def test_volnux_config_names_the_configuration_for_every_file(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere" / "flow.pty"
    loaded = Projects(env={"VOLNUX_CONFIG": str(project / "volnux.toml")}).for_file(elsewhere)
    assert loaded.registry is not None and "Charge" in loaded.registry.names()

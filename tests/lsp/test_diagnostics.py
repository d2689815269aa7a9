"""Diagnostics without a server: where each kind of problem is underlined."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from volnux.lsp.diagnostics import diagnose
from volnux.lsp.project import Project, Projects
from volnux.lsp.text import Lines

from .support import make_project


def check(project: Project, text: str) -> list[tuple[str | int | None, str, tuple[int, ...]]]:
    found = diagnose(text, "flow.pty", project, Lines(text))
    return [
        (
            d.code,
            d.message,
            (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character),
        )
        for d in found
    ]


def test_a_group_attribute_error_underlines_the_attribute(tmp_path: Path) -> None:
    project = Projects(env={}).for_file(make_project(tmp_path) / "flow.pty")
    ((code, message, where),) = check(project, "Charge -> (Notify || Charge)[timeout=3]\n")
    assert code == "attribute"
    assert message.startswith("group:1: timeout applies to events, not to a group")
    assert where == (0, 29, 0, 38)


def test_a_bad_value_underlines_its_attribute_and_a_typo_is_preferred(tmp_path: Path) -> None:
    project = Projects(env={}).for_file(make_project(tmp_path) / "flow.pty")
    ((_, message, where),) = check(project, "Notify[timeout=-1]\n")
    assert message == "Notify: timeout must be a positive number of seconds, got -1"
    assert where == (0, 7, 0, 17)
    ((_, message, where),) = check(project, "Notify[timeout=1, timout=2]\n")
    assert "did you mean 'timeout'" in message
    assert where == (0, 18, 0, 26)


def test_strict_projects_refuse_deprecated_events(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "volnux.toml").write_text('events = ["events.py"]\nstrict = true\n', "utf-8")
    loaded = Projects(env={}).for_file(project / "flow.pty")
    found = diagnose("OldCharge\n", "flow.pty", loaded, Lines("OldCharge\n"))
    assert [d.severity for d in found] == [types.DiagnosticSeverity.Error]


def test_a_byte_order_mark_and_windows_line_ends_keep_positions(tmp_path: Path) -> None:
    project = Projects(env={}).for_file(tmp_path / "flow.pty")  # syntax only
    ((code, message, where),) = check(project, "\ufeffA -> $\r\n")
    assert (code, message) == (
        "syntax",
        "unexpected character '$'; expected an event name after '->'",
    )
    assert where == (0, 6, 0, 7)
    ((_, _, where),) = check(project, "A ->\r\n  -> B\r\n")
    assert where == (1, 2, 1, 4)


def test_an_unfinished_text_is_underlined_at_its_end(tmp_path: Path) -> None:
    project = Projects(env={}).for_file(tmp_path / "flow.pty")
    ((_, message, where),) = check(project, "A ->")
    assert message == "expected an event name after '->'"
    assert where == (0, 4, 0, 4)

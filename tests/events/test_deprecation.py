"""Deprecated event versions: declared by the author, noticed by validate, run and strict mode."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import volnux
from volnux.errors import EventDefinitionError
from volnux.events import (
    Deprecated,
    DeprecatedEventRefused,
    EventDeprecationWarning,
    EventRegistry,
    deprecations,
    spec_of,
)
from volnux.events.deprecation import refuse, warn

from ..cli.support import invoke

EVENTS = '''
import volnux
from volnux.events import Deprecated


class Charge(volnux.Event):
    """Charge a card."""

    version = "1.0.0"
    deprecated = Deprecated(
        reason="charges twice on retry",
        since="1.1",
        replacement="Charge@2",
        changelog={"1.1.0": "deprecated: charges twice on retry"},
    )
    changelog = {"1.0.0": "first version"}

    def process(self, out: str = "") -> str:
        if out:
            open(out, "w").close()
        return "v1"


@volnux.event(name="Charge", version="2.0.0")
def charge_v2() -> str:
    return "v2"


@volnux.event(deprecated=Deprecated(reason="use Charge"))
def Pay() -> str:
    return "paid"
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "events.py").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "wf.pty").write_text("Charge@1 -> Charge@2\n  -> Charge@1.0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOLNUX_STRICT", raising=False)
    return tmp_path


def test_a_class_and_a_function_declare_deprecation_and_changelog() -> None:
    class Old(volnux.Event):
        version = "1.0.0"
        deprecated = Deprecated(reason="slow", since="1.1", replacement="Old@2")
        changelog = {"1.0": "first", "1.1.0": "deprecated"}

        def process(self) -> None: ...

    spec = spec_of(Old)
    assert spec is not None and spec.deprecated is not None
    assert spec.deprecated.since == "1.1.0"
    assert spec.deprecated.describe() == "deprecated since 1.1.0: slow; use Old@2 instead"
    # Newest first, versions normalised.
    assert list(spec.changelog.items()) == [("1.1.0", "deprecated"), ("1.0.0", "first")]

    @volnux.event(version="2.0", changelog={"2.0.0": "rewritten"})
    def New() -> None: ...

    new = spec_of(New)
    assert (
        new is not None and new.deprecated is None and dict(new.changelog) == {"2.0.0": "rewritten"}
    )


def test_malformed_deprecations_are_refused_when_defined() -> None:
    with pytest.raises(ValueError, match="must say why"):
        Deprecated(reason=" ")
    with pytest.raises(ValueError, match="version 'soon' is not of the form"):
        Deprecated(reason="x", since="soon")
    with pytest.raises(ValueError, match="changelog key version 'next' is not of the form"):
        Deprecated(reason="x", changelog={"next": "y"})
    with pytest.raises(EventDefinitionError, match=r"deprecated must be a volnux\.Deprecated"):

        @volnux.event(deprecated="old")  # type: ignore[arg-type]
        def Bad() -> None: ...


def test_deprecations_is_pure_and_gives_one_notice_per_version(project: Path) -> None:
    registry = EventRegistry()
    registry.load(str(project / "events.py"))
    old, new = registry.versions("Charge")
    pay = registry.resolve("Pay")
    notices = deprecations({"Charge": old, "Charge#2": new, "Charge#3": old, "Pay": pay})
    assert [(n.event, n.nodes) for n in notices] == [
        ("Charge@1.0.0", ("Charge", "Charge#3")),
        ("Pay@1.0.0", ("Pay",)),
    ]
    assert notices[0].message == (
        "Charge@1.0.0 is deprecated since 1.1.0: charges twice on retry; use Charge@2 instead "
        "(nodes Charge, Charge#3)"
    )
    assert notices[0].as_dict()["replacement"] == "Charge@2"
    assert [n.event for n in deprecations([new, old])] == ["Charge@1.0.0"]
    assert deprecations([new]) == []

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn(notices)
    assert [w.category for w in caught] == [EventDeprecationWarning] * 2
    assert issubclass(EventDeprecationWarning, DeprecationWarning)

    with pytest.raises(DeprecatedEventRefused) as refused:
        refuse(notices, "wf.pty", {"Charge": "wf.pty:1:1"})
    assert "wf.pty:1:1: Charge@1.0.0 is deprecated since 1.1.0" in str(refused.value)
    refuse([], "wf.pty")  # nothing deprecated: nothing to refuse


def test_validate_warns_and_exits_0(project: Path) -> None:
    result = invoke("validate", "wf.pty", "--events", "events.py")
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: wf.pty (3 tasks; syntax and events checked)\n"
    assert result.stderr == (
        "warning: wf.pty:1:1: Charge@1.0.0 is deprecated since 1.1.0: charges twice on retry; "
        "use Charge@2 instead (nodes Charge, Charge#3)\n"
    )


@pytest.mark.parametrize("how", ["flag", "config", "env"])
def test_strict_mode_refuses_before_anything_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: list[str] = []
    if how == "flag":
        args = ["--strict"]
    elif how == "config":
        (project / "volnux.toml").write_text('strict = true\nevents = ["events.py"]\n')
    else:
        monkeypatch.setenv("VOLNUX_STRICT", "1")
    marker = project / "ran"
    result = invoke(
        "run", "wf.pty", "-e", "events.py", "-i", f"out={marker}", "--store", "run.db", *args
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: wf.pty: strict mode refuses deprecated events; nothing was run:",
        "  wf.pty:1:1: Charge@1.0.0 is deprecated since 1.1.0: charges twice on retry; "
        "use Charge@2 instead (nodes Charge, Charge#3)",
        "switch to the replacement, or turn strict mode off (--no-strict, or strict = false "
        "in volnux.toml)",
    ]
    assert not marker.exists()
    assert not (project / "run.db").exists()  # not even a run record

    result = invoke("validate", "wf.pty", "-e", "events.py", *args)
    assert result.exit_code == 2
    assert "strict mode refuses deprecated events" in result.stderr


def test_no_strict_overrides_the_configuration(project: Path) -> None:
    (project / "volnux.toml").write_text("strict = true\n")
    result = invoke("run", "wf.pty", "-e", "events.py", "--store", "memory:", "--no-strict")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: wf.pty:1:1: Charge@1.0.0 is deprecated since 1.1.0")
    assert result.stderr.count("\n") == 1  # warned once, however many nodes use it

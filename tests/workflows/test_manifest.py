"""A unit's manifest: every key read, and every mistake named with its file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from volnux.errors import WorkflowUnitError
from volnux.events.sources import Source
from volnux.units import read_manifest

from .support import write

SOURCE = Source("folder", "x")


def manifest(folder: Path, text: str, pty: str | None = "orders.pty") -> Path:
    if pty is not None:
        write(folder / pty, "Read\n")
    return write(folder / "orders.toml", text)


def test_every_key_is_read(tmp_path: Path) -> None:
    write(tmp_path / "events.py", "")
    write(tmp_path / "more" / "a.py", "")
    path = manifest(
        tmp_path,
        """
        name = "acme.orders"
        version = "v1.2"
        description = "Bill yesterday's orders."
        workflow = "flows/main.pty"
        events = ["events.py", "more/", "acme.events"]

        [inputs]
        region = "eu"
        days = 3

        [deprecated]
        reason = "bills twice"
        since = "1.3"
        use = "acme.orders@2"

        [changelog]
        "1.2" = "adds the region input"
        "1.0" = "first"
        """,
        pty="flows/main.pty",
    )
    unit = read_manifest(path, SOURCE)
    assert (unit.name, str(unit.version), unit.key) == ("acme.orders", "1.2.0", "acme.orders@1.2.0")
    assert unit.workflow == tmp_path / "flows" / "main.pty"
    assert unit.events == (str(tmp_path / "events.py"), str(tmp_path / "more"), "acme.events")
    # A folder is loaded file by file, as [registries] folders are.
    assert unit.event_sources() == [
        str(tmp_path / "events.py"),
        str(tmp_path / "more" / "a.py"),
        "acme.events",
    ]
    assert dict(unit.inputs) == {"region": "eu", "days": 3}
    assert unit.deprecated is not None
    assert unit.deprecated.describe() == (
        "deprecated since 1.3.0: bills twice; use acme.orders@2 instead"
    )
    assert list(unit.changelog.items()) == [("1.2.0", "adds the region input"), ("1.0.0", "first")]
    assert unit.as_dict()["deprecated"]["replacement"] == "acme.orders@2"


def test_defaults_come_from_the_file_name(tmp_path: Path) -> None:
    write(tmp_path / "orders@2.pty", "Read\n")
    path = write(tmp_path / "orders@2.toml", 'version = "2"\ndeprecated = "use refunds"\n')
    unit = read_manifest(path, SOURCE)
    assert (unit.key, unit.workflow.name, unit.events, dict(unit.inputs)) == (
        "orders@2.0.0",
        "orders@2.pty",
        (),
        {},
    )
    assert unit.deprecated is not None and unit.deprecated.reason == "use refunds"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version = "1"\nname2 = "x"\n', "unknown key 'name2'; known keys: changelog, deprecated"),
        ('description = "x"\n', 'version is missing; add version = "1.0.0"'),
        ('version = "one"\n', "version: version 'one' is not of the form MAJOR.MINOR.PATCH"),
        ("version = 1\n", "version must be a string, got int 1"),
        ('version = "1"\nname = "2fast"\n', "name: '2fast' is not a workflow name"),
        ('version = "1"\nworkflow = "gone.pty"\n', "workflow {dir}/gone.pty does not exist"),
        ('version = "1"\nevents = "events.py"\n', "events must be a list of strings, got a string"),
        ('version = "1"\nevents = ["nope.py"]\n', "events: 'nope.py' does not exist"),
        ('version = "1"\nevents = ["no such"]\n', "events: 'no such' is neither a module name"),
        ('version = "1"\ninputs = 3\n', "inputs must be a table ([inputs]), got int 3"),
        ('version = "1"\n[deprecated]\nwhy = "x"\n', "unknown key 'why' in [deprecated]"),
        ('version = "1"\n[deprecated]\nsince = "1"\n', "[deprecated]: reason must say why"),
        ('version = "1"\n[changelog]\n"one" = "x"\n', "[changelog]: changelog key version 'one'"),
        ('version = "1"\n[changelog]\n"1" = 2\n', "[changelog]: changelog entry '1' must be text"),
        ("version = \n", "not valid TOML: "),
    ],
)
def test_a_bad_manifest_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = manifest(tmp_path, text)
    with pytest.raises(WorkflowUnitError) as caught:
        read_manifest(path, SOURCE)
    assert str(caught.value).startswith(f"{path}: {message.format(dir=tmp_path)}")


def test_a_missing_pty_is_named_with_the_fix(tmp_path: Path) -> None:
    path = manifest(tmp_path, 'version = "1"\n', pty=None)
    with pytest.raises(WorkflowUnitError) as caught:
        read_manifest(path, SOURCE)
    assert str(caught.value) == (
        f"{path}: the workflow file {tmp_path / 'orders.pty'} does not exist "
        "(name the .pty with workflow = ...)"
    )


def test_a_pty_removed_after_it_was_found_is_named_when_read(tmp_path: Path) -> None:
    unit = read_manifest(manifest(tmp_path, 'version = "1"\n'), SOURCE)
    unit.workflow.unlink()
    with pytest.raises(WorkflowUnitError, match=r"^workflow orders@1\.0\.0: its file .* does not"):
        unit.text()

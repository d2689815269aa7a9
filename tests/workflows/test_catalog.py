"""Finding workflow units in a project folder, and resolving NAME[@VERSION] among them."""

from __future__ import annotations

from pathlib import Path

import pytest

from volnux.config import load_config
from volnux.errors import WorkflowNotFound, WorkflowUnitError
from volnux.units import WorkflowCatalog, project_units

from .support import unit, write


def catalog(project: Path, config: str = "") -> WorkflowCatalog:
    write(project / "volnux.toml", '[workflows]\nfolders = ["workflows"]\n' + config)
    return project_units(load_config(env={}))


@pytest.fixture
def versions(project: Path) -> Path:
    """orders 1.1.0, 1.2.0, 1.2.5 and 2.0.0, and refunds 1.0.0, in two layouts."""
    folder = project / "workflows"
    for version in ("1.1.0", "1.2.0", "1.2.5", "2.0.0"):
        unit(folder, version)
    # The other layout: NAME@VERSION.toml beside NAME@VERSION.pty, any folder depth.
    write(folder / "money" / "refunds@1.0.0.pty", "Read\n")
    write(folder / "money" / "refunds@1.0.0.toml", 'version = "1.0.0"\n')
    # Underscore and dot folders are not looked in.
    write(folder / "_drafts" / "orders.toml", 'version = "9.0.0"\n')
    write(folder / ".cache" / "x.toml", "not a manifest at all")
    return folder


def test_every_version_is_found_and_a_reference_picks_the_newest_match(
    project: Path, versions: Path
) -> None:
    found = catalog(project)
    assert found.names() == ["orders", "refunds"]
    assert [str(u.version) for u in found.versions("orders")] == [
        "1.1.0",
        "1.2.0",
        "1.2.5",
        "2.0.0",
    ]
    picked = {
        ref: str(found.resolve(ref).version)
        for ref in (
            "orders",
            "orders@latest",
            "orders@1",
            "orders@v1",
            "orders@1.2",
            "orders@1.1.0",
        )
    }
    assert picked == {
        "orders": "2.0.0",
        "orders@latest": "2.0.0",
        "orders@1": "1.2.5",
        "orders@v1": "1.2.5",
        "orders@1.2": "1.2.5",
        "orders@1.1.0": "1.1.0",
    }
    one = found.resolve("orders@1.2.0")
    assert one.key == "orders@1.2.0"
    assert one.workflow == versions / "orders" / "1.2.0" / "orders.pty"
    assert one.manifest == versions / "orders" / "1.2.0" / "orders.toml"
    assert one.events == (str(versions / "orders" / "1.2.0" / "events.py"),)
    assert dict(one.inputs) == {"version": "1.2.0"}
    assert one.description == "orders at 1.2.0."
    assert one.origin == f"folder {versions}"
    assert (one.source.kind, one.source.loadable) == ("folder", str(one.manifest))
    assert one.text() == "Read |-> Bill\n"
    refunds = found.resolve("refunds")
    assert refunds.workflow.name == "refunds@1.0.0.pty" and refunds.events == ()


def test_a_pin_decides_what_a_bare_name_means_and_only_that(project: Path, versions: Path) -> None:
    found = catalog(project, '[workflows.pins]\norders = "1.2"\n')
    assert found.pins == {"orders": "1.2"}
    assert str(found.resolve("orders").version) == "1.2.5"
    # A version written out is not pinned.
    assert str(found.resolve("orders@2").version) == "2.0.0"
    assert str(found.resolve("orders@latest").version) == "2.0.0"


def test_a_pin_that_matches_nothing_says_so(project: Path, versions: Path) -> None:
    found = catalog(project, '[workflows.pins]\norders = "3"\n')
    with pytest.raises(WorkflowNotFound) as caught:
        found.resolve("orders")
    assert str(caught.value).startswith(
        "workflow orders is pinned to @3 in the configuration ([workflows.pins]), and no "
        f"version matches it; found versions: 1.1.0 from folder {versions}; 1.2.0 from"
    )


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("ordrs", "unknown workflow 'ordrs'; did you mean orders?"),
        ("zzz", "unknown workflow 'zzz' (known workflows: orders, refunds)"),
        ("orders@1.x", "workflow orders: version '1.x' is not one of 1.2.3, 1.2, v1 or latest"),
        ("orders@", "workflow reference 'orders@' has nothing after '@'"),
        ("orders@3", "no version of workflow orders matches @3; found versions: 1.1.0 from"),
    ],
)
def test_a_reference_that_meets_no_unit_says_why(
    project: Path, versions: Path, reference: str, message: str
) -> None:
    with pytest.raises(WorkflowNotFound) as caught:
        catalog(project).resolve(reference)
    assert str(caught.value).startswith(message)
    if reference == "ordrs":
        assert caught.value.suggestions == ["orders"]


def test_nothing_configured_means_no_units_and_says_where_to_name_them(project: Path) -> None:
    found = project_units(load_config(env={}))
    assert len(found) == 0
    with pytest.raises(WorkflowNotFound, match=r"no workflow units were found: name a folder"):
        found.resolve("orders")


def test_one_version_from_two_manifests_is_an_error_naming_both(
    project: Path, versions: Path
) -> None:
    write(versions / "copy.pty", "Read\n")
    write(versions / "copy.toml", 'name = "orders"\nversion = "1.2"\n')
    with pytest.raises(WorkflowUnitError) as caught:
        catalog(project)
    said = str(caught.value)
    assert said.startswith("workflow orders@1.2.0 is defined twice: in ")
    assert str(versions / "orders" / "1.2.0" / "orders.toml") in said
    assert str(versions / "copy.toml") in said


def test_a_folder_that_does_not_exist_names_the_setting(project: Path) -> None:
    with pytest.raises(WorkflowUnitError) as caught:
        catalog(project)
    assert str(caught.value) == (
        f"workflows folder {project / 'workflows'} does not exist "
        "(fix [workflows] folders in volnux.toml)"
    )

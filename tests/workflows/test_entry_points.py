"""Installed packages: workflow units declared in the ``volnux.workflows`` entry-point group.

The package is installed for real, as pip lays one out: its files and a
``.dist-info`` folder (METADATA, entry_points.txt, RECORD) in a folder put on
``sys.path``; importlib.metadata finds it there as it finds any distribution.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from volnux.config import load_config
from volnux.errors import WorkflowUnitError
from volnux.units import project_units

from ..cli.support import invoke
from .support import EVENTS, write

ENTRY_POINTS = """
[volnux.workflows]
flows = acme_flows.workflows
nightly = acme_flows.extra:nightly.toml
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the installed distribution ``acme-flows`` 4.2.0."""
    root = tmp_path_factory.mktemp("site")
    package = root / "acme_flows"
    write(package / "__init__.py", "")
    write(package / "events.py", EVENTS)
    # Data folders: no __init__.py needed (namespace packages), nor imported.
    for version in ("1.0.0", "1.1.0"):
        write(package / "workflows" / "orders" / version / "orders.pty", "Read |-> Bill\n")
        write(
            package / "workflows" / "orders" / version / "orders.toml",
            f"""
            version = "{version}"
            description = "Orders, as acme bills them."
            events = ["acme_flows.events"]

            [inputs]
            version = "{version}"
            """,
        )
    write(package / "extra" / "nightly.pty", "Read\n")
    write(package / "extra" / "nightly.toml", 'version = "0.3"\nevents = ["../events.py"]\n')
    info = root / "acme_flows-4.2.0.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: acme-flows\nVersion: 4.2.0\n")
    write(info / "entry_points.txt", ENTRY_POINTS)
    files = [p for p in root.rglob("*") if p.is_file()]
    write(info / "RECORD", "".join(f"{p.relative_to(root)},,\n" for p in files))
    return root


@pytest.fixture
def installed(site: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``site`` on sys.path, and a project that turns workflow entry points on."""
    monkeypatch.syspath_prepend(str(site))
    write(project / "volnux.toml", "[workflows]\nentry_points = true\n")
    return site


def test_units_of_an_installed_package_are_found_by_folder_and_by_manifest(
    installed: Path,
) -> None:
    found = project_units(load_config(env={}))
    assert [u.key for u in found.units()] == ["nightly@0.3.0", "orders@1.0.0", "orders@1.1.0"]
    orders = found.resolve("orders")
    assert orders.key == "orders@1.1.0"
    assert orders.workflow == installed / "acme_flows" / "workflows" / "orders" / "1.1.0" / (
        "orders.pty"
    )
    assert orders.origin == "package acme-flows 4.2.0 (entry point flows = acme_flows.workflows)"
    assert (orders.source.kind, orders.source.registry, orders.source.ref) == (
        "entry-point",
        "acme-flows",
        "4.2.0",
    )
    nightly = found.resolve("nightly@0")
    assert nightly.source.url == "nightly = acme_flows.extra:nightly.toml"
    assert nightly.events == (str(installed / "acme_flows" / "events.py"),)


def test_run_an_installed_unit_by_name(installed: Path, project: Path) -> None:
    done = invoke("run", "orders@1.0")
    assert done.exit_code == 0, done.output
    found = re.search(r"^run ([0-9a-f]{12}) ", done.stdout, re.M)
    assert found
    shown = json.loads(invoke("runs", "show", found.group(1), "--json").stdout)
    assert shown["unit"]["origin"] == (
        "package acme-flows 4.2.0 (entry point flows = acme_flows.workflows)"
    )
    assert shown["unit"]["version"] == "1.0.0"
    # Its events came from the module the manifest names, and the run says so.
    assert {t["source"] for t in shown["tasks"]} == {
        f"acme_flows.events ({installed / 'acme_flows' / 'events.py'})"
    }
    result = json.loads(invoke("runs", "result", found.group(1), "Bill").stdout)
    assert result == {"billed": {"region": "nowhere", "version": "1.0.0"}}


def test_entry_points_are_off_unless_configured(installed: Path, project: Path) -> None:
    (project / "volnux.toml").write_text("")
    assert len(project_units(load_config(env={}))) == 0


def test_a_distribution_named_but_not_installed_is_an_error(installed: Path, project: Path) -> None:
    (project / "volnux.toml").write_text('[workflows]\nentry_points = ["acme-billing"]\n')
    with pytest.raises(WorkflowUnitError) as caught:
        project_units(load_config(env={}))
    assert str(caught.value).startswith(
        "no installed package named acme-billing declares 'volnux.workflows' entry points"
    )
    assert "fix [workflows] entry_points in volnux.toml" in str(caught.value)
    (project / "volnux.toml").write_text('[workflows]\nentry_points = ["acme_flows"]\n')
    assert len(project_units(load_config(env={}))) == 3  # named as the distribution is

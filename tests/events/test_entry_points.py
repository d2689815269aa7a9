"""Installed packages: events declared in the ``volnux.events`` entry-point group.

A real wheel (two versions of one event, as two entry points) is installed
with pip into a temporary target folder; a fresh interpreter with that folder
on its path resolves both versions, as an installed environment would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .support import build_wheel, charge_event, pip_install

RESOLVE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from volnux.config import load_config
    from volnux.events import project_registry

    events = project_registry(load_config())
    out = []
    for ref in sys.argv[1:]:
        name, _, version = ref.partition("@")
        spec = events.registry.resolve(name, version or None)
        out.append({"key": spec.key, "run": spec.target().process(),
                    "source": spec.source.as_dict(), "origin": spec.origin})
    print(json.dumps({"resolved": out, "sources": events.sources}))
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A target folder where pip installed the fixture package ``acme-events`` 3.1.0."""
    root = tmp_path_factory.mktemp("entry-points")
    wheel = build_wheel(
        root / "dist",
        "acme-events",
        "3.1.0",
        {
            "acme_events/__init__.py": "",
            "acme_events/charge_v1.py": charge_event("1.0.0", "v1"),
            "acme_events/charge_v2.py": charge_event("2.0.0", "v2"),
        },
        {"charge-v1": "acme_events.charge_v1", "charge-v2": "acme_events.charge_v2:Charge"},
    )
    target = root / "site"
    pip_install(wheel, target)
    return target


@pytest.fixture(scope="module")
def neighbour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another installed package with ``volnux.events`` entry points, as a real
    environment may hold: what the tests of acme-events assert must not change."""
    root = tmp_path_factory.mktemp("neighbour")
    audit = "import volnux\n\n@volnux.event\ndef Audit():\n    return 'audited'\n"
    wheel = build_wheel(
        root / "dist",
        "zeta-events",
        "0.1.0",
        {"zeta_events/__init__.py": "", "zeta_events/audit.py": audit},
        {"audit": "zeta_events.audit"},
    )
    target = root / "site"
    pip_install(wheel, target)
    return target


def python(
    site: Path, cwd: Path, *args: str, also: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a fresh interpreter with ``site`` (and ``also``) on its path (an
    environment with the package)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOLNUX_")}
    paths = [str(site), *([str(also)] if also is not None else [])]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_pip_installed_the_fixture_as_a_real_distribution(site: Path) -> None:
    dist_info = site / "acme_events-3.1.0.dist-info"
    assert (dist_info / "entry_points.txt").read_text().startswith("[volnux.events]\n")
    assert (dist_info / "INSTALLER").read_text().strip() == "pip"


@pytest.mark.parametrize("with_neighbour", [False, True])
def test_both_versions_resolve_from_the_installed_package(
    site: Path, neighbour: Path, tmp_path: Path, with_neighbour: bool
) -> None:
    (tmp_path / "volnux.toml").write_text("[registries]\nentry_points = true\n")
    also = neighbour if with_neighbour else None
    done = python(site, tmp_path, "-c", RESOLVE, "Charge@1", "Charge@v2", "Charge", also=also)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    keys = [(r["key"], r["run"]) for r in out["resolved"]]
    assert keys == [("Charge@1.0.0", "v1"), ("Charge@2.0.0", "v2"), ("Charge@2.0.0", "v2")]
    source = out["resolved"][0]["source"]
    assert source["kind"] == "entry-point"
    assert (source["registry"], source["ref"]) == ("acme-events", "3.1.0")
    assert source["url"] == "charge-v1 = acme_events.charge_v1"
    assert out["resolved"][1]["source"]["url"] == "charge-v2 = acme_events.charge_v2:Charge"
    assert str(site) in out["resolved"][0]["origin"]
    # A resume in another process imports the same modules by name; whatever
    # else the environment declares is loaded too, and does not matter here.
    ours = [s for s in out["sources"] if s.startswith("acme_events.")]
    assert ours == ["acme_events.charge_v1", "acme_events.charge_v2"]
    assert ("zeta_events.audit" in out["sources"]) is with_neighbour


def test_entry_points_are_off_unless_configured(site: Path, tmp_path: Path) -> None:
    done = python(site, tmp_path, "-c", RESOLVE, "Charge")
    assert done.returncode == 1
    assert "unknown event 'Charge' (no events are loaded: pass --events, or name" in done.stderr


def test_a_pin_picks_the_version_a_bare_name_means(site: Path, tmp_path: Path) -> None:
    (tmp_path / "volnux.toml").write_text(
        '[pins]\nCharge = "v1"\n[registries]\nentry_points = ["acme_events"]\n'
    )
    done = python(site, tmp_path, "-c", RESOLVE, "Charge", "Charge@latest")
    assert done.returncode == 0, done.stderr
    keys = [r["key"] for r in json.loads(done.stdout)["resolved"]]
    assert keys == ["Charge@1.0.0", "Charge@2.0.0"]


def test_the_cli_lists_and_shows_installed_events(
    site: Path, neighbour: Path, tmp_path: Path
) -> None:
    (tmp_path / "volnux.toml").write_text("[registries]\nentry_points = true\n")
    done = python(site, tmp_path, "-m", "volnux", "events", "list", "--json", also=neighbour)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert "Audit" in rows  # the other package's events are listed too
    row = rows["Charge"]
    assert [v["version"] for v in row["versions"]] == ["1.0.0", "2.0.0"]
    assert row["versions"][0]["source"] == (
        "package acme-events 3.1.0 (entry point charge-v1 = acme_events.charge_v1)"
    )


def test_a_distribution_named_but_not_installed_is_an_error(site: Path, tmp_path: Path) -> None:
    (tmp_path / "volnux.toml").write_text('[registries]\nentry_points = ["acme-billing"]\n')
    done = python(site, tmp_path, "-m", "volnux", "events", "list")
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: no installed package named acme-billing declares 'volnux.events' entry points"
    )

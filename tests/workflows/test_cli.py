"""``volnux run NAME[@VERSION]``, ``volnux workflows list | show``, and what a run of a
unit records: its name, version and origin, shown by ``runs show``; a resume uses
the recorded text when the unit's file is gone, and refuses a changed one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ..cli.support import invoke
from .support import unit, write

RUN_ID = r"[0-9a-f]{12}"


@pytest.fixture
def flows(project: Path) -> Path:
    """orders 1.2.0 (deprecated), 1.3.0 and 2.0.0, refunds 1.0.0; bare orders pinned @1."""
    folder = project / "workflows"
    unit(folder, "1.2.0", manifest='deprecated = {reason = "bills twice", use = "orders@1.3"}')
    unit(folder, "1.3.0")
    unit(folder, "2.0.0", pty="Read |-> Bill |-> Bill\n")
    unit(folder, "1.0.0", name="refunds", pty="Wait\n")
    write(
        project / "volnux.toml",
        """
        [workflows]
        folders = ["workflows"]

        [workflows.pins]
        orders = "1"
        """,
    )
    return folder


def run_id(stdout: str) -> str:
    found = re.search(rf"^run ({RUN_ID}) ", stdout, re.M)
    assert found, stdout
    return found.group(1)


def test_run_by_name_runs_the_pinned_version_with_its_default_inputs(
    project: Path, flows: Path
) -> None:
    done = invoke("run", "orders@1.3", "-i", "region=us")
    assert done.exit_code == 0, done.output
    assert done.stderr == ""
    shown = json.loads(invoke("runs", "show", run_id(done.stdout), "--json").stdout)
    assert shown["workflow"] == "orders"
    assert shown["tasks"][1]["node"] == "Bill"
    # --input wins over the unit's default inputs; the others are used.
    result = json.loads(invoke("runs", "result", run_id(done.stdout), "Bill").stdout)
    assert result == {"billed": {"region": "us", "version": "1.3.0"}}
    # The run records the unit: its name, version, where it was found, and its file.
    assert shown["unit"] == {
        "name": "orders",
        "version": "1.3.0",
        "origin": f"folder {flows}",
        "source": {
            "kind": "folder",
            "loadable": str(flows / "orders" / "1.3.0" / "orders.toml"),
            "registry": str(flows),
            "ref": None,
            "commit": None,
            "url": None,
        },
        "file": str(flows / "orders" / "1.3.0" / "orders.pty"),
    }
    text = invoke("runs", "show", run_id(done.stdout)).stdout
    assert f"workflow unit orders@1.3.0 (folder {flows})\n" in text

    bare = invoke("run", "orders")  # pinned @1: the newest 1.x
    assert bare.exit_code == 0, bare.output
    assert "orders@1.3.0" in invoke("runs", "show", run_id(bare.stdout)).stdout
    newest = invoke("run", "orders@latest")
    assert "orders@2.0.0" in invoke("runs", "show", run_id(newest.stdout)).stdout


def test_a_path_is_still_a_path(project: Path, flows: Path) -> None:
    # A file named like a unit wins: an existing path always means the file.
    write(project / "orders", "Read\n")
    write(project / "events.py", (flows / "orders" / "1.3.0" / "events.py").read_text())
    done = invoke("run", "orders", "-e", "events.py")
    assert done.exit_code == 0, done.output
    shown = json.loads(invoke("runs", "show", run_id(done.stdout), "--json").stdout)
    assert shown["unit"] is None and [t["node"] for t in shown["tasks"]] == ["Read"]
    missing = invoke("run", "gone.pty")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: gone.pty: no such file")


def test_a_deprecated_version_warns_and_strict_mode_refuses_it(project: Path, flows: Path) -> None:
    done = invoke("run", "orders@1.2.0")
    assert done.exit_code == 0, done.output
    manifest = flows / "orders" / "1.2.0" / "orders.toml"
    assert done.stderr == (
        f"warning: {manifest}: workflow orders@1.2.0 is deprecated: bills twice; "
        "use orders@1.3 instead\n"
    )
    shown = json.loads(invoke("runs", "show", run_id(done.stdout), "--json").stdout)
    assert shown["unit"]["deprecated"] == "deprecated: bills twice; use orders@1.3 instead"
    refused = invoke("run", "orders@1.2.0", "--strict")
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        "error: strict mode refuses deprecated workflows; nothing was run: workflow "
        "orders@1.2.0 is deprecated"
    )


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (
            "ordrs",
            "error: unknown workflow 'ordrs'; did you mean orders? (and no file ordrs exists "
            "here)\n",
        ),
        (
            "orders@1.x",
            "error: workflow orders: version '1.x' is not one of 1.2.3, 1.2, v1 or latest\n",
        ),
        ("orders@7", "error: no version of workflow orders matches @7; found versions: 1.2.0"),
    ],
)
def test_a_name_that_meets_no_unit_is_exit_2(
    project: Path, flows: Path, argument: str, message: str
) -> None:
    done = invoke("run", argument)
    assert done.exit_code == 2
    assert done.stderr.startswith(message)
    assert not (project / ".volnux").exists()  # refused before a journal was opened


def test_a_bad_manifest_or_a_missing_pty_is_exit_2_naming_the_file(
    project: Path, flows: Path
) -> None:
    manifest = flows / "refunds" / "1.0.0" / "refunds.toml"
    manifest.write_text('color = "blue"\n' + manifest.read_text())
    done = invoke("workflows", "list")
    assert done.exit_code == 2
    assert done.stderr.startswith(f"error: {manifest}: unknown key 'color'")
    manifest.write_text('version = "1.0.0"\nworkflow = "gone.pty"\n')
    done = invoke("run", "orders")
    assert done.exit_code == 2
    assert done.stderr.startswith(f"error: {manifest}: workflow {manifest.parent / 'gone.pty'}")


def test_list_and_show_as_json(project: Path, flows: Path) -> None:
    listed = invoke("workflows", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert list(rows) == ["orders", "refunds"]
    assert rows["orders"]["pin"] == "1"
    assert [v["version"] for v in rows["orders"]["versions"]] == ["1.2.0", "1.3.0", "2.0.0"]
    first = rows["orders"]["versions"][0]
    assert (first["origin"], first["description"]) == (f"folder {flows}", "orders at 1.2.0.")
    assert first["deprecated"]["reason"] == "bills twice"
    assert rows["orders"]["versions"][1]["deprecated"] is None

    shown = invoke("workflows", "show", "orders@2", "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    home = flows / "orders" / "2.0.0"
    assert detail == {
        "workflow": "orders@2.0.0",
        "name": "orders",
        "version": "2.0.0",
        "description": "orders at 2.0.0.",
        "file": str(home / "orders.pty"),
        "manifest": str(home / "orders.toml"),
        "source": {
            "kind": "folder",
            "loadable": str(home / "orders.toml"),
            "registry": str(flows),
            "ref": None,
            "commit": None,
            "url": None,
        },
        "origin": f"folder {flows}",
        "events": [str(home / "events.py")],
        "inputs": {"version": "2.0.0"},
        "deprecated": None,
        "changelog": {},
        "uses": ["Read", "Bill"],
        "tasks": 3,
        "versions": ["1.2.0", "1.3.0", "2.0.0"],
        "pin": "1",
    }


def test_list_and_show_as_text(project: Path, flows: Path) -> None:
    listed = invoke("workflows", "list").stdout.splitlines()
    assert listed[0].split() == ["name", "versions", "source", "deprecated", "description"]
    assert listed[1].split()[:5] == ["orders", "1.2.0,", "1.3.0,", "2.0.0", "(pinned"]
    shown = invoke("workflows", "show", "orders").stdout  # the pin: 1.3.0
    assert shown.startswith("orders@1.3.0\n")
    assert "  versions:    1.2.0, 1.3.0, 2.0.0 (bare orders is pinned @1)\n" in shown
    assert "  uses:        Read, Bill\n" in shown
    assert '  inputs:\n    version = "1.3.0"\n' in shown
    deprecated = invoke("workflows", "show", "orders@1.2").stdout
    assert "  deprecated:  yes: bills twice\n  replacement: orders@1.3\n" in deprecated
    unknown = invoke("workflows", "show", "ordrs")
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "error: unknown workflow 'ordrs'; did you mean orders?\n",
    )


def test_nothing_configured_lists_nothing_and_says_where_to_start(project: Path) -> None:
    assert invoke("workflows", "list", "--json").stdout == "[]\n"
    said = invoke("workflows", "list")
    assert (said.exit_code, said.stdout) == (0, "")
    assert "no workflow units were found" in said.stderr


def test_a_retry_uses_the_recorded_text_after_the_unit_is_deleted(
    project: Path, flows: Path
) -> None:
    failed = invoke("run", "refunds")
    assert failed.exit_code == 1
    rid = re.search(rf"run ({RUN_ID}) failed", failed.stderr)
    assert rid, failed.stderr
    home = flows / "refunds" / "1.0.0"
    (home / "refunds.pty").unlink()
    (home / "refunds.toml").unlink()  # the unit is gone; its events file stays
    write(project / "marker", "")
    done = invoke("runs", "retry", rid.group(1))
    assert done.exit_code == 0, done.output
    shown = json.loads(invoke("runs", "show", rid.group(1), "--json").stdout)
    assert shown["status"] == "succeeded"
    assert shown["unit"]["version"] == "1.0.0"
    assert invoke("workflows", "show", "refunds").exit_code == 2


def test_a_resume_refuses_a_unit_changed_where_the_run_had_started(
    project: Path, flows: Path
) -> None:
    pty = flows / "refunds" / "1.0.0" / "refunds.pty"
    pty.write_text("Read -> Wait\n")
    failed = invoke("run", "refunds")
    rid = re.search(rf"run ({RUN_ID}) failed", failed.stderr)
    assert rid, failed.stderr
    pty.write_text("Read * 3 -> Wait\n")  # Read had run: the recorded version is changed
    refused = invoke("runs", "retry", rid.group(1))
    assert refused.exit_code == 2
    assert "the workflow or its events changed where the run already started" in refused.stderr
    write(project / "marker", "")
    forced = invoke("runs", "retry", rid.group(1), "--force")
    assert forced.exit_code == 0, forced.output

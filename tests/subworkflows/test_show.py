"""``volnux runs show``: a sub-workflow collapsed to one line in its parent; the child
run shown on its own, naming its parent."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from volnux.cli.app import app
from volnux.store import open_store

from .test_running import workflow


def show(root: Path, *args: str) -> str:
    result = CliRunner().invoke(
        app, ["runs", "show", *args, "--store", str(root / "journal.db")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_parent_shows_its_child_collapsed_and_the_child_its_parent(project: Path) -> None:
    journal = open_store(str(project / "journal.db"))
    run = workflow(project, "Validate |-> <double@1.0> |-> Report").run(
        store=journal, run_id="parent1"
    )
    assert run.succeeded
    out = show(project, "parent1")
    line = (
        "sub-workflow workflow:double <double@1.0>: run parent1.double.1 succeeded "
        "(collapsed: volnux runs show parent1.double.1)"
    )
    assert line in out.splitlines()
    assert "Double" not in out  # the child's tasks are not listed in the parent
    data = json.loads(show(project, "parent1", "--json"))
    assert data["sub_workflows"] == [
        {"node": "workflow:double", "workflow": "double@1.0", "child": "parent1.double.1",
         "state": "succeeded", "children": ["parent1.double.1"]}
    ]  # fmt: skip

    out = show(project, "parent1.double.1")
    assert "part of run parent1 (node workflow:double, attempt 1)" in out
    assert "workflow unit double@1.0.0" in out
    assert "Double" in out
    data = json.loads(show(project, "parent1.double.1", "--json"))
    assert data["part_of"] == {
        "parent": "parent1", "node": "workflow:double", "attempt": 1, "round": 0
    }  # fmt: skip


def test_the_run_graph_draws_the_sub_workflow_as_one_box(project: Path) -> None:
    journal = open_store(str(project / "journal.db"))
    workflow(project, "Validate |-> <double@1.0> |-> Report").run(store=journal, run_id="p1")
    store = ["--store", str(project / "journal.db"), "--format", "dot"]
    parent = CliRunner().invoke(app, ["runs", "graph", "p1", *store]).output
    assert '"workflow:double" [label="double@1.0\\nworkflow:double\\nsucceeded' in parent
    assert '"Double"' not in parent
    child = CliRunner().invoke(app, ["runs", "graph", "p1.double.1", *store]).output
    assert '"Double" [label="Double\\nsucceeded' in child

"""Git registries: a repository's ``workflows`` folder, at the commit its ref is pinned
to, the same checkout its events come from; refreshed only when asked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from volnux.config import load_config
from volnux.errors import WorkflowUnitError
from volnux.units import project_units

from ..cli.support import invoke
from ..events.support import Repo
from .support import EVENTS, write

MANIFEST = """version = "{version}"
description = "Orders from the shared registry."
events = ["../events/billing.py"]

[inputs]
version = "{version}"
"""


def publish(repo: Repo, version: str, tag: str | None = None) -> str:
    """Commit orders at ``version`` (and the events it uses); return the commit."""
    return repo.commit(
        {
            "workflows/orders.toml": MANIFEST.format(version=version),
            "workflows/orders.pty": "Read |-> Bill\n",
            "events/billing.py": EVENTS,
        },
        f"orders {version}",
        tag=tag,
    )


def configure(project: Path, repo: Repo, ref: str = "main", extra: str = "") -> None:
    write(
        project / "volnux.toml",
        f'[registries.git.shared]\nurl = "{repo.url}"\nref = "{ref}"\npath = "events"\n{extra}',
    )


def test_a_unit_runs_from_the_registry_and_records_the_commit(project: Path, repo: Repo) -> None:
    commit = publish(repo, "1.0.0")
    configure(project, repo)
    done = invoke("run", "orders@1")
    assert done.exit_code == 0, done.output
    found = re.search(r"^run ([0-9a-f]{12}) ", done.stdout, re.M)
    assert found
    shown = json.loads(invoke("runs", "show", found.group(1), "--json").stdout)
    unit = shown["unit"]
    assert (unit["name"], unit["version"]) == ("orders", "1.0.0")
    assert unit["origin"] == f"git shared: {repo.url}@main (commit {commit[:12]})"
    assert (unit["source"]["kind"], unit["source"]["commit"]) == ("git", commit)
    # The unit's file is in the commit's own checkout, which is never changed.
    assert f"/{commit}/workflows/orders.pty" in unit["file"]
    # Its events are the registry's, from the same commit.
    assert {t["source"] for t in shown["tasks"]} == {f"git+{repo.url}@{commit} (events/billing.py)"}


def test_the_pinned_commit_is_used_until_a_refresh(project: Path, repo: Repo) -> None:
    first = publish(repo, "1.0.0")
    configure(project, repo)
    assert str(project_units(load_config(env={})).resolve("orders").version) == "1.0.0"
    second = publish(repo, "1.1.0")
    cached = project_units(load_config(env={})).resolve("orders")
    assert (str(cached.version), cached.source.commit) == ("1.0.0", first)
    done = invoke("workflows", "refresh")
    assert done.exit_code == 0, done.output
    assert done.stdout == f"shared: {repo.url}@main -> {second} (was {first[:12]})\n"
    fresh = project_units(load_config(env={})).resolve("orders")
    assert (str(fresh.version), fresh.source.commit) == ("1.1.0", second)


def test_a_registry_without_workflows_has_none_unless_the_folder_is_named(
    project: Path, repo: Repo
) -> None:
    repo.commit({"events/billing.py": EVENTS}, "events only")
    configure(project, repo)
    assert len(project_units(load_config(env={}))) == 0
    configure(project, repo, extra='workflows = "flows"\n')
    with pytest.raises(WorkflowUnitError) as caught:
        project_units(load_config(env={}))
    assert "has no folder 'flows'; fix workflows in [registries.git.shared]" in str(caught.value)

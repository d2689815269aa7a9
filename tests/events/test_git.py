"""Git registries: fetched into the cache, pinned to a commit, refreshed only when asked."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from volnux.config import load_config
from volnux.dsl import parse
from volnux.errors import EventLoadError
from volnux.events import project_registry
from volnux.workflow import Workflow

from ..cli.support import invoke
from .support import Repo, charge_event


def write_config(project: Path, text: str) -> None:
    (project / "volnux.toml").write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def tagged(repo: Repo) -> tuple[Repo, str, str]:
    """The registry with tags v1 (Charge 1.0.0) and v2 (Charge 2.0.0); their commits."""
    c1 = repo.commit({"events/charge.py": charge_event("1.0.0", "v1")}, "Charge 1", tag="v1")
    c2 = repo.commit({"events/charge.py": charge_event("2.0.0", "v2")}, "Charge 2", tag="v2")
    return repo, c1, c2


def test_two_tags_load_side_by_side_and_run_in_one_workflow(
    project: Path, tagged: tuple[Repo, str, str]
) -> None:
    repo, c1, c2 = tagged
    write_config(
        project,
        f"""
        [registries.git.old]
        url = "{repo.url}"
        ref = "v1"
        path = "events"

        [registries.git.new]
        url = "{repo.url}"
        ref = "v2"
        path = "events"
        """,
    )
    events = project_registry(load_config())
    one = events.registry.resolve("Charge", "1")
    two = events.registry.resolve("Charge", "latest")
    assert (str(one.version), str(two.version)) == ("1.0.0", "2.0.0")
    # Pinned to the commit each tag named, and that commit is in the origin a run records.
    assert one.source is not None and one.source.commit == c1
    assert two.source is not None and (two.source.registry, two.source.ref) == ("new", "v2")
    assert one.origin == f"git+{repo.url}@{c1} (events/charge.py)"
    assert two.origin == f"git+{repo.url}@{c2} (events/charge.py)"

    workflow = Workflow(parse("Charge@1 |-> Charge@2"), events.registry, sources=events.sources)
    run = workflow.run()
    assert run.succeeded
    assert [run.results[n] for n in ("Charge", "Charge#2")] == ["v1", "v2"]
    assert {pin.origin for pin in workflow.plan.pins().values()} == {one.origin, two.origin}
    # What a later process loads again: the files of the pinned checkouts.
    assert all(c1 in s or c2 in s for s in events.sources)


def test_a_cached_checkout_is_used_as_is_until_refreshed(project: Path, repo: Repo) -> None:
    first = repo.commit({"charge.py": charge_event("1.0.0", "first")}, "first")
    write_config(project, f'[registries.git.pay]\nurl = "{repo.url}"\nref = "main"\n')
    assert project_registry(load_config()).registry.resolve("Charge").source.commit == first  # type: ignore[union-attr]

    second = repo.commit({"charge.py": charge_event("1.1.0", "second")}, "second")
    # The repository may even be gone: without a refresh, nothing is fetched.
    hidden = repo.bare.with_name("hidden.git")
    repo.bare.rename(hidden)
    cached = project_registry(load_config()).registry.resolve("Charge")
    assert (str(cached.version), cached.source.commit) == ("1.0.0", first)  # type: ignore[union-attr]
    with pytest.raises(EventLoadError, match=r"git registry 'pay': cannot fetch 'main' from "):
        project_registry(load_config(), refresh=True)
    hidden.rename(repo.bare)

    fresh = project_registry(load_config(), refresh="pay").registry.resolve("Charge")
    assert (str(fresh.version), fresh.source.commit) == ("1.1.0", second)  # type: ignore[union-attr]
    # The refresh moved the project's pin: the next plain load uses the new commit.
    again = project_registry(load_config()).registry.resolve("Charge")
    assert again.source.commit == second  # type: ignore[union-attr]
    # The old checkout is kept, so a run recorded against it can still be resumed.
    assert (project / ".volnux" / "registries").is_dir()
    assert len(list((project / ".volnux" / "registries").glob(f"pay-*/{first}"))) == 1


def test_volnux_events_refresh_reports_the_commit_it_pinned(project: Path, repo: Repo) -> None:
    first = repo.commit({"charge.py": charge_event("1.0.0", "a")}, "a")
    write_config(
        project,
        f'[registries]\ncache = "cache"\n[registries.git.pay]\nurl = "{repo.url}"\nref = "main"\n',
    )
    result = invoke("events", "refresh")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"pay: {repo.url}@main -> {first} (first fetch)\n"
    assert (project / "cache").is_dir()  # the configured cache, relative to volnux.toml
    second = repo.commit({"charge.py": charge_event("1.0.1", "b")}, "b")
    result = invoke("events", "refresh", "pay")
    assert result.stdout == f"pay: {repo.url}@main -> {second} (was {first[:12]})\n"
    listed = json.loads(invoke("events", "list", "--json").stdout)
    assert listed[0]["versions"][0]["version"] == "1.0.1"
    assert listed[0]["versions"][0]["source"] == f"git pay: {repo.url}@main (commit {second[:12]})"


def test_only_configured_registries_are_used(project: Path, repo: Repo) -> None:
    repo.commit({"charge.py": charge_event("1.0.0", "a")}, "a")
    write_config(project, f'[registries.git.pay]\nurl = "{repo.url}"\nref = "main"\n')
    result = invoke("events", "refresh", "payments")
    assert result.exit_code == 2
    assert "error: no git registry 'payments' is configured in " in result.stderr
    assert "(configured: pay); add [registries.git.payments] with url and ref" in result.stderr

    result = invoke("events", "list", "--events", f"git+{repo.url}")
    assert result.exit_code == 2
    assert "is a git repository; only registries named in the configuration are used" in (
        result.stderr
    )
    assert "(git registries: pay)" in result.stderr


def test_a_ref_that_does_not_exist_names_the_registry_and_the_fix(
    project: Path, repo: Repo
) -> None:
    repo.commit({"charge.py": charge_event("1.0.0", "a")}, "a", tag="v1")
    write_config(project, f'[registries.git.pay]\nurl = "{repo.url}"\nref = "v9"\n')
    with pytest.raises(EventLoadError) as caught:
        project_registry(load_config())
    message = str(caught.value)
    assert message.startswith(f"git registry 'pay': cannot fetch 'v9' from {repo.url}: ")
    assert message.endswith("(check url and ref in [registries.git.pay])")
    # A failed fetch leaves no half-made checkout behind.
    homes = list((project / ".volnux" / "registries").glob("pay-*"))
    assert [p.name for h in homes for p in h.iterdir()] == []


@pytest.mark.parametrize("protocol", ["2", "0"])
def test_a_commit_id_as_ref_and_a_missing_path(
    project: Path, repo: Repo, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    first = repo.commit({"events/charge.py": charge_event("1.0.0", "a")}, "a")
    repo.commit({"events/charge.py": charge_event("2.0.0", "b")}, "b")
    write_config(
        project,
        f'[registries.git.pay]\nurl = "{repo.url}"\nref = "{first}"\npath = "events"\n',
    )
    # Over protocol 0 the server refuses a commit it does not advertise, so
    # the shallow fetch fails and the full fetch takes over.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.version")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", protocol)
    spec = project_registry(load_config()).registry.resolve("Charge")
    assert (str(spec.version), spec.source.commit) == ("1.0.0", first)  # type: ignore[union-attr]

    write_config(
        project, f'[registries.git.pay]\nurl = "{repo.url}"\nref = "main"\npath = "nope"\n'
    )
    with pytest.raises(EventLoadError, match=r"has no folder 'nope'; fix path in \[registries"):
        project_registry(load_config())

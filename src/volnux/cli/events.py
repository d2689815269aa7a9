"""``volnux events list | show | refresh``, and the project settings every command reads.

Events come from ``--events`` and from the project configuration
(docs/configuration.md): events sources, project folders, installed
packages' entry points and git registries, with the configured version pins.

Only typer is imported up front, as in :mod:`volnux.cli.app`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ..config import Config
    from ..events import EventRegistry, EventSpec, ProjectEvents
    from ..executors import PoolSettings
    from ..store import Journal
    from ..workflow import Workflow

__all__ = [
    "ConfigOption",
    "StrictOption",
    "deprecation_warnings",
    "events_app",
    "has_event_sources",
    "load_events",
    "pool_settings",
    "project_config",
]

events_app = typer.Typer(
    name="events",
    help="The events a project can use: where they come from, their versions and docs.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="The project configuration (default: volnux.toml or [tool.volnux] in "
        "pyproject.toml, searched from here upward; or $VOLNUX_CONFIG).",
        metavar="FILE",
        show_default=False,
    ),
]
StrictOption = Annotated[
    bool | None,
    typer.Option(
        "--strict/--no-strict",
        help="Refuse deprecated events before anything runs (default: strict in the "
        "configuration, or $VOLNUX_STRICT).",
        show_default=False,
    ),
]
EventsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--events",
        "-e",
        help="More events: a module name (pkg.events) or a .py file. Repeatable.",
        metavar="MODULE_OR_FILE",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
#: Git registries to fetch again (``events refresh``, ``workflows refresh``).
RegistryNames = Annotated[
    list[str] | None,
    typer.Argument(
        help="Git registries to fetch again (default: every configured one).",
        metavar="[NAME]...",
        show_default=False,
    ),
]


def project_config(
    path: Path | None = None, *, strict: bool | None = None, cluster: str | None = None
) -> Config:
    """The project's settings (file, then environment), with command-line flags applied.

    The Dask cluster chosen is handed to this process's dask executor through
    ``VOLNUX_DASK_ADDRESS``, which it reads when it starts.
    """
    import os

    from ..config import load_config
    from ..executors import executor_names

    config = load_config(path=path, executors=executor_names()).override(
        strict=strict, cluster=cluster
    )
    if config.cluster is not None:
        os.environ["VOLNUX_DASK_ADDRESS"] = config.cluster
    return config


def open_journal(url: str | None, config: Config, *, create: bool = True) -> Journal:
    """The journal ``url`` names (else the configuration's), keeping large results
    where the configuration says (``[results]``, ``$VOLNUX_RESULTS``)."""
    from ..store import open_store
    from ..store.results import configure_results

    journal = open_store(url if url is not None else config.store, create=create)
    configure_results(journal, config.results, config.result_threshold)
    return journal


def pool_settings(config: Config) -> dict[str, PoolSettings]:
    """The configuration's pool sizes (``[executors.NAME]``, ``VOLNUX_NAME_MAX_WORKERS``)."""
    from ..errors import ConfigError
    from ..executors import PoolSettings

    settings = {}
    for name, sizes in config.pools.items():
        try:
            chosen = PoolSettings(**sizes)  # type: ignore[arg-type]
            chosen.check(name)
        except ValueError as exc:
            where = f"[executors.{name}]" + (f" in {config.path}" if config.path else "")
            raise ConfigError(f"{where}: {exc}") from None
        settings[name] = chosen
    return settings


def has_event_sources(config: Config) -> bool:
    """True when the configuration names somewhere events come from."""
    return bool(config.events or config.folders or config.entry_points or config.git)


def load_events(
    config: Config, events: list[str] | None, *, refresh: bool = False
) -> ProjectEvents:
    """The registry of ``--events`` plus everything the configuration names, pins applied."""
    from ..events import project_registry

    return project_registry(config, events or [], refresh=refresh)


def deprecation_warnings(workflow: Workflow, config: Config, where: str) -> list[str]:
    """Lines warning of deprecated events ``workflow`` uses; strict mode raises instead."""
    from ..events.deprecation import deprecations, refuse

    nodes = workflow.plan.nodes
    notices = deprecations({node: plan.spec for node, plan in nodes.items()})
    positions = {
        node: f"{where}:{plan.task.pos.line}:{plan.task.pos.column}" for node, plan in nodes.items()
    }
    if config.strict:
        refuse(notices, where, positions)
    # Located at the first node that uses the event, as an editor jumps to it.
    return [f"{positions[n.nodes[0]] if n.nodes else where}: {n.message}" for n in notices]


def _project(config_path: Path | None, events: list[str] | None) -> EventRegistry:
    from .app import reported_errors

    with reported_errors():
        config = project_config(config_path)
        return load_events(config, events).registry


@events_app.command("list")
def list_events(
    events: EventsOption = None,
    config_path: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every event: name, versions, where they come from, which are deprecated."""
    registry = _project(config_path, events)
    rows = [_summary(registry, name) for name in registry.names()]
    none = "no events are loaded: pass --events, or name sources in volnux.toml"
    versions_table(rows, as_json, none + " (see docs/configuration.md)", source="source")


def versions_table(
    rows: list[dict[str, Any]],
    as_json: bool,
    none: str,
    *,
    source: str,
    description: bool = False,
) -> None:
    """Print ``rows`` as JSON, or ``none`` (on stderr) if there are none, or one line
    per name (``name``, ``pin``, ``versions``: each with ``version``,
    ``deprecated`` and the ``source`` key named): its versions, where they come
    from, the deprecated ones, and (``description``) the newest version's first
    line.  What ``events list`` and ``workflows list`` print."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(none, err=True)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    columns = ("name", "versions", "source", "deprecated") + (
        ("description",) if description else ()
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=column not in ("source", "description"))
    for row in rows:
        versions = ", ".join(v["version"] for v in row["versions"])
        if row["pin"]:
            versions += f" (pinned @{row['pin']})"
        sources = "; ".join(dict.fromkeys(v[source] for v in row["versions"]))
        deprecated = ", ".join(v["version"] for v in row["versions"] if v["deprecated"])
        cells = [row["name"], versions, sources, deprecated]
        if description:
            cells.append(row["versions"][-1]["description"].split("\n", 1)[0])
        table.add_row(*(Text(cell) for cell in cells))
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 200  # captured output has no width; never cut a source short
    console.print(table)


@events_app.command("show")
def show_event(
    reference: Annotated[
        str,
        typer.Argument(
            help="The event, as in a workflow: Name, Name@1.2.3, Name@1.2, Name@v1, Name@latest.",
            metavar="NAME[@VERSION]",
            show_default=False,
        ),
    ],
    events: EventsOption = None,
    config_path: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one event version: signature, docs, retry policy, executor, changelog."""
    from ..errors import EventNotFound
    from .app import fail, reported_errors

    with reported_errors():
        config = project_config(config_path)
        registry = load_events(config, events).registry
    name, _, version = reference.partition("@")
    try:
        spec = registry.resolve(name, version or None)
    except EventNotFound as exc:
        fail(exc.message)
    detail = _detail(registry, spec)
    if spec.is_async and not spec.executor_chosen:
        detail["executor"] = f"{spec.executor} (async def)"  # whatever the project's default
    elif not spec.executor_chosen:
        # What a run would use: the project's default, else threads.
        detail["executor"] = f"{config.executor or spec.executor} (default)"
    if as_json:
        typer.echo(json.dumps(detail, indent=2))
        return
    for line in _detail_lines(detail):
        typer.echo(line)


@events_app.command("refresh")
def refresh(names: RegistryNames = None, config_path: ConfigOption = None) -> None:
    """Fetch git registries' refs again and pin the commits they now point to."""
    from ..events.git import checkout
    from .app import fail, reported_errors

    with reported_errors():
        config = project_config(config_path)
        chosen = [config.git_registry(n) for n in names] if names else list(config.git)
        if not chosen:
            where = config.path or "the configuration (no volnux.toml was found)"
            fail(f"no git registries are configured in {where}; add [registries.git.NAME]")
        for registry in chosen:
            done = checkout(registry, config.cache, refresh=True)
            if done.previous is None:
                change = "(first fetch)"
            elif done.previous == done.commit:
                change = "(unchanged)"
            else:
                change = f"(was {done.previous[:12]})"
            typer.echo(f"{registry.name}: {registry.url}@{registry.ref} -> {done.commit} {change}")


# ------------------------------------------------------------------ details


def _source_text(spec: EventSpec) -> str:
    return str(spec.source) if spec.source is not None else spec.origin


def event_rows(registry: EventRegistry) -> list[dict[str, Any]]:
    """Every event of ``registry``: its versions, each with its source, deprecation,
    changelog and doc (the web view's events page)."""
    rows = []
    for name in registry.names():
        row = _summary(registry, name)
        for entry, spec in zip(row["versions"], registry.versions(name), strict=True):
            entry["changelog"] = dict(spec.changelog)
            entry["doc"] = spec.doc
        rows.append(row)
    return rows


def _summary(registry: EventRegistry, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "pin": registry.pins.get(name),
        "versions": [
            {
                "version": str(spec.version),
                "source": _source_text(spec),
                "origin": spec.origin,
                "deprecated": spec.deprecated.as_dict() if spec.deprecated else None,
            }
            for spec in registry.versions(name)
        ],
    }


def _plain(value: Any) -> Any:
    """A retry policy field as JSON: exception types by name."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _parameters(spec: EventSpec) -> list[dict[str, Any]]:
    kinds = {0: "context", 1: "piped", 2: "input", 3: "other inputs"}
    return [
        {"name": p.name, "from": kinds.get(p.source, "?"), "required": p.required}
        for p in spec.params
    ]


def _detail(registry: EventRegistry, spec: EventSpec) -> dict[str, Any]:
    from ..events.shown import signature_text

    policy = spec.retry
    retry = (
        {f.name: _plain(getattr(policy, f.name)) for f in dataclasses.fields(policy)}
        if dataclasses.is_dataclass(policy)
        else repr(policy)
    )
    return {
        "event": spec.key,
        "name": spec.name,
        "version": str(spec.version),
        "source": spec.source.as_dict() if spec.source else None,
        "origin": spec.origin,
        "fingerprint": spec.fingerprint,
        "signature": signature_text(spec),
        "parameters": _parameters(spec),
        "doc": spec.doc,
        "executor": spec.executor,
        "retry": retry,
        "resources": _resources(spec),
        "deprecated": spec.deprecated.as_dict() if spec.deprecated else None,
        "changelog": dict(spec.changelog),
        "versions": [str(s.version) for s in registry.versions(spec.name)],
        "pin": registry.pins.get(spec.name),
    }


def _resources(spec: EventSpec) -> dict[str, Any] | None:
    """
        from ..events.shown import signature_text
    What the event declared it needs (the fields it set), or None."""
    declared = spec.resources
    default = type(declared)()
    chosen = {
        f.name: getattr(declared, f.name)
        for f in dataclasses.fields(declared)
        if f.init and getattr(declared, f.name) != getattr(default, f.name)
    }
    if chosen.get("gpus") or chosen.get("gpu"):  # the wait matters once a GPU does
        chosen.setdefault("gpu_wait_s", declared.gpu_wait_s)
    return chosen or None


def _detail_lines(d: dict[str, Any]) -> list[str]:
    source = d["source"]
    where = d["origin"] if source is None else f"{source['kind']} {d['origin']}"
    others = ", ".join(d["versions"]) + (
        f" (bare {d['name']} is pinned @{d['pin']})" if d["pin"] else ""
    )
    lines = [
        d["event"],
        f"  signature:   {d['signature']}",
        f"  source:      {where}",
        f"  fingerprint: {d['fingerprint']}",
        f"  executor:    {d['executor']}",
        f"  retry:       {_retry_text(d['retry'])}",
    ]
    if d["resources"]:
        shown = ", ".join(f"{key}={value}" for key, value in d["resources"].items())
        lines.append(f"  resources:   {shown}")
    lines.append(f"  versions:    {others}")
    lines += deprecation_lines(d["deprecated"])
    lines.append("  parameters:")
    for p in d["parameters"] or [{"name": "(none)", "from": "", "required": False}]:
        need = ", required" if p["required"] else ""
        lines.append(f"    {p['name']}" + (f"  ({p['from']}{need})" if p["from"] else ""))
    if d["changelog"]:
        lines.append("  changelog:")
        lines.extend(f"    {version}  {text}" for version, text in d["changelog"].items())
    if d["doc"]:
        lines.append("")
        lines.extend(f"  {line}".rstrip() for line in d["doc"].splitlines())
    return lines


def deprecation_lines(deprecated: dict[str, Any] | None) -> list[str]:
    """The lines ``events show`` and ``workflows show`` give a deprecation (none: none)."""
    if not deprecated:
        return []
    since = f" since {deprecated['since']}" if deprecated["since"] else ""
    lines = [f"  deprecated:  yes{since}: {deprecated['reason']}"]
    if deprecated["replacement"]:
        lines.append(f"  replacement: {deprecated['replacement']}")
    return lines


def _retry_text(retry: Any) -> str:
    if not isinstance(retry, dict):
        return str(retry)
    shown = {k: v for k, v in retry.items() if v not in ((), [], None, False)}
    return ", ".join(f"{k}={v}" for k, v in shown.items())

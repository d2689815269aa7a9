"""``volnux workflows list | show | refresh``, and ``volnux run NAME[@VERSION]``'s lookup.

Workflow units come from the project configuration (docs/workflows.md):
folders of manifests, installed packages' ``volnux.workflows`` entry
points and git registries, with the ``[workflows.pins]`` version pins.

Only typer is imported up front, as in :mod:`volnux.cli.app`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .events import (
    ConfigOption,
    JsonOption,
    RegistryNames,
    deprecation_lines,
    project_config,
    versions_table,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..notes import WorkflowUnit as UnitNote
    from ..units import WorkflowCatalog, WorkflowUnit
    from ..workflow import Workflow

__all__ = ["unit_note", "unit_reference", "unit_workflow", "workflows_app"]

workflows_app = typer.Typer(
    name="workflows",
    help="The workflow units a project can run by name: versions, origins, inputs.",
    no_args_is_help=True,
)

ReferenceArgument = Annotated[
    str,
    typer.Argument(
        help="The workflow: NAME, NAME@1.2.3, NAME@1.2, NAME@v1 or NAME@latest.",
        metavar="NAME[@VERSION]",
        show_default=False,
    ),
]


def unit_reference(argument: Path) -> str | None:
    """``argument`` as a unit reference (``orders@1.2``), or None when it names a file.

    A path that exists, has a folder in it or ends in ``.pty`` is a file, as
    it always was; anything else that looks like ``NAME[@VERSION]`` is a unit.
    """
    from ..config import WORKFLOW_NAME

    text = str(argument)
    if argument.exists() or "/" in text or "\\" in text or text.endswith(".pty"):
        return None
    return text if WORKFLOW_NAME.match(text.partition("@")[0]) else None


def unit_workflow(
    reference: str,
    events: list[str] | None,
    config_path: Path | None,
    strict: bool | None,
    cluster: str | None,
) -> tuple[Config, Workflow, WorkflowUnit]:
    """The project's configuration, and the workflow of unit ``reference`` with the
    project's events and its own; deprecation warnings are printed (strict: refused)."""
    from ..dsl import parse
    from ..errors import WorkflowNotFound
    from ..units import project_units
    from .app import BadArgument, bound_workflow

    config = project_config(config_path, strict=strict, cluster=cluster)
    catalog = project_units(config)
    try:
        unit = catalog.resolve(reference)
    except WorkflowNotFound as exc:
        if reference.partition("@")[0] in catalog.names():
            raise  # a known workflow without that version: not a file either way
        # It might have been meant as a file: say that there is none of either.
        raise BadArgument(f"{exc.message} (and no file {reference} exists here)") from None
    _refuse_or_warn(unit, config)
    graph = parse(unit.text(), str(unit.workflow))
    where = str(unit.workflow)
    workflow = bound_workflow(
        config, graph, [*(events or []), *unit.event_sources()], where, name=unit.name
    )
    return config, workflow, unit


def _refuse_or_warn(unit: WorkflowUnit, config: Config) -> None:
    from ..errors import WorkflowUnitError

    if unit.deprecated is None:
        return
    said = f"workflow {unit.key} is {unit.deprecated.describe()}"
    if config.strict:
        raise WorkflowUnitError(
            f"strict mode refuses deprecated workflows; nothing was run: {said} (run "
            "another version, or turn strict mode off: --no-strict, or strict = false "
            "in volnux.toml)"
        )
    typer.echo(f"warning: {unit.manifest}: {said}", err=True)


def unit_note(unit: WorkflowUnit) -> UnitNote:
    """What a run of ``unit`` records about it (``volnux runs show`` prints it)."""
    from ..notes import WorkflowUnit as UnitNote

    return UnitNote(
        unit.name,
        str(unit.version),
        unit.origin,
        unit.source.as_dict(),
        str(unit.workflow),
        unit.deprecated.describe() if unit.deprecated else "",
    )


def _catalog(config_path: Path | None) -> WorkflowCatalog:
    from ..units import project_units
    from .app import reported_errors

    with reported_errors():
        return project_units(project_config(config_path))


@workflows_app.command("list")
def list_workflows(config_path: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List every workflow unit: name, versions, where they come from, deprecations."""
    catalog = _catalog(config_path)
    rows = [_summary(catalog, name) for name in catalog.names()]
    none = "no workflow units were found: name a folder of them in [workflows] of volnux.toml"
    versions_table(
        rows, as_json, none + " (see docs/workflows.md)", source="origin", description=True
    )


def _summary(catalog: WorkflowCatalog, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "pin": catalog.pins.get(name),
        "versions": [
            {
                "version": str(unit.version),
                "origin": unit.origin,
                "source": unit.source.as_dict(),
                "description": unit.description,
                "deprecated": unit.deprecated.as_dict() if unit.deprecated else None,
            }
            for unit in catalog.versions(name)
        ],
    }


@workflows_app.command("show")
def show_workflow(
    reference: ReferenceArgument, config_path: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Show one workflow unit: description, origin, inputs, events, deprecation, changelog."""
    from ..dsl import parse
    from .app import reported_errors

    catalog = _catalog(config_path)
    with reported_errors():
        unit = catalog.resolve(reference)
        graph = parse(unit.text(), str(unit.workflow))
    detail = {
        **unit.as_dict(),
        "uses": [str(ref) for ref in graph.refs()],
        "tasks": len(graph.tasks()),
        "versions": [str(u.version) for u in catalog.versions(unit.name)],
        "pin": catalog.pins.get(unit.name),
    }
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
        return
    for line in _detail_lines(detail):
        typer.echo(line)


def _detail_lines(d: dict[str, Any]) -> list[str]:
    others = ", ".join(d["versions"]) + (
        f" (bare {d['name']} is pinned @{d['pin']})" if d["pin"] else ""
    )
    lines = [
        d["workflow"],
        f"  source:      {d['origin']}",
        f"  manifest:    {d['manifest']}",
        f"  file:        {d['file']} ({d['tasks']} tasks)",
        f"  versions:    {others}",
    ]
    lines += deprecation_lines(d["deprecated"])
    lines.append(f"  uses:        {', '.join(d['uses'])}")
    lines.append("  events:" + ("" if d["events"] else "      (the project's only)"))
    lines.extend(f"    {source}" for source in d["events"])
    lines.append("  inputs:" + ("" if d["inputs"] else "      (no defaults)"))
    lines.extend(
        f"    {key} = {json.dumps(value, default=str)}" for key, value in d["inputs"].items()
    )
    if d["changelog"]:
        lines.append("  changelog:")
        lines.extend(f"    {version}  {text}" for version, text in d["changelog"].items())
    if d["description"]:
        lines.append("")
        lines.extend(f"  {line}".rstrip() for line in d["description"].splitlines())
    return lines


@workflows_app.command("refresh")
def refresh(names: RegistryNames = None, config_path: ConfigOption = None) -> None:
    """Fetch git registries' refs again (their events and workflows: one checkout serves both)."""
    from .events import refresh as refresh_registries

    refresh_registries(names, config_path)

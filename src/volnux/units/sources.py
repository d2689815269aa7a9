"""Where workflow units are found: project folders, installed packages, git registries.

The same places events come from, found the same way and named in the same
configuration (docs/workflows.md):

- ``[workflows] folders``: every manifest under each folder;
- ``[workflows] entry_points``: the ``volnux.workflows`` entry points of
  installed packages, each naming a package folder (every manifest under it)
  or one manifest in it (``acme_flows.workflows:orders.toml``);
- ``[registries.git.NAME]``: the registry's ``workflows`` folder, at the
  commit the events of that registry are pinned to (one checkout serves both,
  refreshed by ``volnux events refresh`` or ``volnux workflows refresh``).

Each unit's :class:`~volnux.events.sources.Source` says which, as an event's does.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..errors import EventLoadError, WorkflowUnitError
from ..events.git import checkout
from ..events.sources import Source, installed_entry_points
from .catalog import WorkflowCatalog
from .manifest import WorkflowUnit, find_manifests, read_manifest

if TYPE_CHECKING:
    from ..config import Config, GitRegistry

__all__ = [
    "ENTRY_POINT_GROUP",
    "GIT_FOLDER",
    "load_entry_points",
    "load_folder",
    "load_git",
    "project_units",
]

#: The entry-point group installed packages declare their workflow units in.
ENTRY_POINT_GROUP: Final = "volnux.workflows"
#: The folder of a git registry that holds its units, unless ``workflows`` names another.
GIT_FOLDER: Final = "workflows"


def load_folder(
    catalog: WorkflowCatalog,
    folder: Path,
    source_for: Callable[[Path], Source] | None = None,
    *,
    setting: str = "[workflows] folders in volnux.toml",
) -> list[WorkflowUnit]:
    """Add every unit whose manifest is under ``folder`` (default source: ``folder``)."""
    added = []
    for manifest in find_manifests(folder, setting):
        resolved = manifest.resolve()
        source = (
            source_for(resolved)
            if source_for is not None
            else Source("folder", str(resolved), registry=str(folder))
        )
        added.append(catalog.add(read_manifest(manifest, source)))
    return added


def load_entry_points(
    catalog: WorkflowCatalog, only: Iterable[str] | None = None
) -> list[WorkflowUnit]:
    """Add the units installed packages declare in the ``volnux.workflows`` group.

    An entry point names a package (``acme_flows.workflows``: every manifest
    under its folder) or one manifest in that folder
    (``acme_flows.workflows:orders.toml``).  The package is found, not run:
    only its parent packages are imported.
    """
    try:
        found = installed_entry_points(ENTRY_POINT_GROUP, only, "[workflows] entry_points")
    except EventLoadError as exc:
        raise WorkflowUnitError(str(exc)) from None
    added: list[WorkflowUnit] = []
    for item in found:
        ep = item.entry_point
        declared = f"{ep.name} = {ep.value}"
        folder = _package_folder(ep.module, f"entry point {declared} of package {item.dist}")

        def source_for(
            path: Path, dist: str = item.dist, ref: str = item.version, url: str = declared
        ) -> Source:
            return Source("entry-point", str(path), registry=dist, ref=ref, url=url)

        if ep.attr:
            manifest = folder / ep.attr
            if not manifest.is_file():
                raise WorkflowUnitError(
                    f"entry point {declared} of package {item.dist}: {manifest} does not "
                    "exist (the part after ':' names a manifest in the package's folder)"
                )
            added.append(catalog.add(read_manifest(manifest, source_for(manifest.resolve()))))
        else:
            setting = f"entry point {declared} of package {item.dist}"
            added.extend(load_folder(catalog, folder, source_for, setting=setting))
    return added


def _package_folder(module: str, what: str) -> Path:
    """The folder of package ``module`` (a namespace package's too), without running it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise WorkflowUnitError(
            f"{what}: package {module!r} cannot be found: {type(exc).__name__}: {exc}"
        ) from exc
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if spec is None or not locations:
        why = "is not installed" if spec is None else "is a module, not a package folder"
        raise WorkflowUnitError(f"{what}: {module!r} {why}; name the package that holds manifests")
    return Path(locations[0])


def load_git(
    catalog: WorkflowCatalog, git: GitRegistry, cache: Path, *, refresh: bool = False
) -> list[WorkflowUnit]:
    """Add the units of a git registry's ``workflows`` folder, at its pinned commit.

    A registry without the folder has no units, unless its ``workflows`` key
    names the folder: then it must exist.
    """
    found = checkout(git, cache, refresh=refresh)
    folder = found.root / (git.workflows or GIT_FOLDER)
    if not folder.is_dir():
        if git.workflows is None:
            return []
        raise WorkflowUnitError(
            f"git registry {git.name!r}: {git.url}@{git.ref} (commit {found.commit[:12]}) has "
            f"no folder {git.workflows!r}; fix workflows in [registries.git.{git.name}]"
        )

    def source_for(path: Path) -> Source:
        return Source(
            "git", str(path), registry=git.name, ref=git.ref, commit=found.commit, url=git.url
        )

    return load_folder(
        catalog, folder, source_for, setting=f"[registries.git.{git.name}] workflows"
    )


def project_units(config: Config, *, refresh: bool | Iterable[str] = False) -> WorkflowCatalog:
    """Every workflow unit ``config`` names (folders, entry points, git), with its pins.

    Git registries are fetched when not yet cached, and fetched again only
    when ``refresh`` is True (all) or names them, as events' are.
    """
    catalog = WorkflowCatalog(pins=config.workflow_pins)
    for folder in config.workflow_folders:
        load_folder(catalog, folder)
    if config.workflow_entry_points:
        chosen = config.workflow_entry_points
        load_entry_points(catalog, None if isinstance(chosen, bool) else chosen)
    for git, again in config.git_to_load(refresh):
        load_git(catalog, git, config.cache, refresh=again)
    return catalog

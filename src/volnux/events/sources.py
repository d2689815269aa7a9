"""Where events come from: modules, files, project folders and installed packages.

Every loaded event carries a :class:`Source` (``EventSpec.source``) saying
which of these it came from, so that ``volnux events list`` can show it and a
run can record it.  Git registries are in :mod:`volnux.events.git`;
:func:`project_registry` puts everything a project configures together.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from ..errors import EventLoadError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from ..config import Config
    from .base import EventSpec
    from .registry import EventRegistry

__all__ = [
    "ENTRY_POINT_GROUP",
    "InstalledEntryPoint",
    "ProjectEvents",
    "Source",
    "entry_point_sources",
    "folder_files",
    "installed_entry_points",
    "load_entry_points",
    "load_folder",
    "project_registry",
]

#: The entry-point group installed packages declare their events in.
ENTRY_POINT_GROUP: Final = "volnux.events"


@dataclass(frozen=True, slots=True)
class Source:
    """Where one event was loaded from."""

    #: ``module``, ``file``, ``folder``, ``entry-point`` or ``git``.
    kind: str
    #: A module name or file path that loads the same code again (what a run records).
    loadable: str
    #: The registry: a folder path, a distribution name, a git registry's name.
    registry: str | None = None
    #: A distribution's version, or the git ref as configured.
    ref: str | None = None
    #: The git commit the ref resolved to (None for anything not from git).
    commit: str | None = None
    #: The git URL, or the entry point as declared (``name = module:attr``).
    url: str | None = None

    def __str__(self) -> str:
        if self.kind == "git":
            return f"git {self.registry}: {self.url}@{self.ref} (commit {(self.commit or '')[:12]})"
        if self.kind == "entry-point":
            return f"package {self.registry} {self.ref} (entry point {self.url})"
        if self.kind == "folder":
            return f"folder {self.registry}"
        return f"{self.kind} {self.loadable}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (for ``--json`` output and run records)."""
        return {
            "kind": self.kind,
            "loadable": self.loadable,
            "registry": self.registry,
            "ref": self.ref,
            "commit": self.commit,
            "url": self.url,
        }


def folder_files(folder: Path) -> list[Path]:
    """The event files of a project folder: its ``*.py``, sorted, not ``_private.py``."""
    if not folder.is_dir():
        raise EventLoadError(
            f"events folder {folder} does not exist (fix [registries] folders in volnux.toml)"
        )
    # Underscore files are helpers and __init__ files, imported by the others if needed.
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith(("_", ".")))


def load_folder(
    registry: EventRegistry,
    folder: Path,
    source_for: Callable[[Path], Source] | None = None,
) -> list[EventSpec]:
    """Add the events of every file in ``folder`` (see :func:`folder_files`).

    ``source_for`` gives each file's :class:`Source` (default: ``folder``).
    """
    from .registry import load_events_source

    added: list[EventSpec] = []
    for path in folder_files(folder):
        resolved = path.resolve()
        module = load_events_source(str(resolved))
        source = (
            source_for(resolved)
            if source_for is not None
            else Source("folder", str(resolved), registry=str(folder))
        )
        added.extend(registry.add_module(module, source=source))
    return added


@dataclass
class InstalledEntryPoint:
    """One entry point of an installed distribution, with the distribution's name and version."""

    entry_point: EntryPoint
    dist: str
    version: str


def installed_entry_points(
    group: str, only: Iterable[str] | None, setting: str
) -> list[InstalledEntryPoint]:
    """The entry points of ``group``, of the distributions ``only`` names (None: all).

    A distribution named but declaring none raises EventLoadError, which says
    to fix ``setting`` (``[registries] entry_points``).  Sorted by
    distribution, then entry point name, so loading order never depends on
    the environment's.
    """
    # Imported here: importlib.metadata costs ~20 ms, and only this needs it.
    import importlib.metadata

    wanted = None if only is None else {_canonical(d) for d in only}
    found = []
    for ep in importlib.metadata.entry_points(group=group):
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        if wanted is None or _canonical(dist) in wanted:
            found.append(InstalledEntryPoint(ep, dist, version))
    if wanted is not None:
        missing = wanted - {_canonical(f.dist) for f in found}
        if missing:
            raise EventLoadError(
                f"no installed package named {', '.join(sorted(missing))} declares "
                f"'{group}' entry points (is it installed in this environment? "
                f"fix {setting} in volnux.toml)"
            )
    return sorted(found, key=lambda f: (f.dist, f.entry_point.name))


def _entry_points(only: Iterable[str] | None) -> list[InstalledEntryPoint]:
    return installed_entry_points(ENTRY_POINT_GROUP, only, "[registries] entry_points")


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def load_entry_points(
    registry: EventRegistry, only: Iterable[str] | None = None
) -> list[EventSpec]:
    """Add the events installed packages declare in the ``volnux.events`` group.

    An entry point names a module (every event defined in it) or one event
    (``module:Charge``).  ``only`` limits loading to these distributions.
    """
    added: list[EventSpec] = []
    for found in _entry_points(only):
        ep = found.entry_point
        try:
            obj = ep.load()
        except Exception as exc:
            raise EventLoadError(
                f"entry point {ep.name} = {ep.value} of package {found.dist} failed to "
                f"import: {type(exc).__name__}: {exc}"
            ) from exc
        source = Source(
            kind="entry-point",
            loadable=ep.module,
            registry=found.dist,
            ref=found.version,
            url=f"{ep.name} = {ep.value}",
        )
        if inspect.ismodule(obj):
            added.extend(registry.add_module(obj, source=source))
        else:
            added.append(registry.add(obj, source=source))
    return added


def entry_point_sources(only: Iterable[str] | None = None) -> list[str]:
    """The modules the ``volnux.events`` entry points name (without importing them)."""
    return list(dict.fromkeys(f.entry_point.module for f in _entry_points(only)))


@dataclass
class ProjectEvents:
    """A project's events: the registry, and what a later process loads to get them again."""

    #: Every event the configuration and the extra sources provide, with the pins.
    registry: EventRegistry
    #: Module names and file paths (``make_registry`` loads these on resume).
    sources: list[str] = field(default_factory=list)


def project_registry(
    config: Config,
    extra: Iterable[str | ModuleType] = (),
    *,
    refresh: bool | Iterable[str] = False,
) -> ProjectEvents:
    """Every event ``config`` names (sources, folders, entry points, git), plus ``extra``.

    ``extra`` are ``--events`` values.  Git registries are fetched when not
    yet cached, and fetched again only when ``refresh`` is True (all) or
    names them.  A git URL given as an events source is refused: only
    registries named in the configuration are used.
    """
    from .git import load_git
    from .registry import EventRegistry

    registry = EventRegistry(pins=config.pins)
    sources: list[str] = []
    for item in (*config.events, *extra):
        if isinstance(item, ModuleType):
            registry.add_module(item, source=Source("module", item.__name__))
            sources.append(item.__name__)
            continue
        _refuse_unconfigured(item, config)
        registry.load(item)
        sources.append(_loadable(item))
    for folder in config.folders:
        sources.extend(str(p.resolve()) for p in folder_files(folder))
        load_folder(registry, folder)
    if config.entry_points:
        only = None if isinstance(config.entry_points, bool) else config.entry_points
        load_entry_points(registry, only)
        sources.extend(entry_point_sources(only))
    for git, again in config.git_to_load(refresh):
        sources.extend(load_git(registry, git, config.cache, refresh=again))
    return ProjectEvents(registry, list(dict.fromkeys(sources)))


def _loadable(item: str) -> str:
    """A module name as written; a file path made absolute (a resume may run elsewhere)."""
    looks_like_path = item.endswith(".py") or "/" in item or "\\" in item
    return str(Path(item).resolve()) if looks_like_path else item


def _refuse_unconfigured(item: str, config: Config) -> None:
    lowered = item.lower()
    if lowered.startswith(("git+", "git@", "git://")) or lowered.endswith(".git"):
        names = ", ".join(g.name for g in config.git) or "none configured"
        raise EventLoadError(
            f"events source {item!r} is a git repository; only registries named in the "
            f"configuration are used (git registries: {names}); add it as "
            "[registries.git.NAME] with url and ref in volnux.toml"
        )

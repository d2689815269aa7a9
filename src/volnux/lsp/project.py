"""The events of each project an editor has workflows open in, loaded once and kept.

A workflow's events are found as ``volnux validate`` finds them: the
project configuration (``volnux.toml``, or ``[tool.volnux]`` in
``pyproject.toml``) nearest the file's folder upward, plus the server's own
``--events``.  Importing events runs the project's code and may take a
second, so a project's registry is kept between edits and loaded again only
when a file it came from changes on disk (its modification time): the
configuration, an events file or folder, or a file that defines an event.
A helper module those files import is not watched; saving an events file
picks its change up.

A configuration or events file that cannot be used is not an exception here:
the project keeps the reason (:attr:`Project.problem`), which the editor
shows once, and the workflow is checked for syntax alone until it is fixed.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import find_config, load_config
from ..errors import VolnuxError

if TYPE_CHECKING:
    from ..config import Config
    from ..events import EventRegistry

__all__ = ["Project", "Projects"]

log = logging.getLogger(__name__)

#: Seconds a folder's configuration file is trusted before it is looked up again
#: (a volnux.toml created or removed meanwhile is noticed after this long).
RECHECK_S = 1.0


@dataclass
class Project:
    """One project's settings and events, as loaded at :attr:`loaded_at`."""

    #: The configuration file (None: none was found; the defaults apply).
    path: Path | None
    #: The settings (None when the configuration could not be read).
    config: Config | None
    #: The events (None: no events source is configured, or they failed to load).
    registry: EventRegistry | None
    #: Why the configuration or the events could not be used, or None.
    problem: str | None = None
    #: File -> its modification time (ns) when loaded; None for a missing file.
    watched: dict[str, int | None] = field(default_factory=dict)
    #: ``time.monotonic()`` when it was loaded.
    loaded_at: float = 0.0
    #: Seconds the load took.
    took_s: float = 0.0

    @property
    def strict(self) -> bool:
        """True when the project refuses deprecated events (``strict = true``)."""
        return bool(self.config and self.config.strict)

    def stale(self) -> bool:
        """True when a watched file changed, appeared or went away since the load."""
        return any(_mtime(path) != seen for path, seen in self.watched.items())


class Projects:
    """Every project seen so far, by configuration file; each loaded on first use.

    ``extra`` are event sources loaded for every project (``volnux lsp
    --events``).  ``env`` stands in for ``os.environ`` (``VOLNUX_CONFIG``
    names one configuration for every file, as it does for the CLI).
    """

    def __init__(
        self,
        extra: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Made absolute now: a relative path means the folder the server started in.
        self.extra = [_absolute(s) for s in extra]
        self._env = os.environ if env is None else env
        self._clock = clock
        self._located: dict[Path, tuple[float, Path | None]] = {}
        self._projects: dict[Path | None, Project] = {}
        self._lock = threading.Lock()

    def for_file(self, path: Path | None) -> Project:
        """The project of the workflow at ``path`` (None: an unsaved file: the working folder)."""
        folder = (path.parent if path is not None else Path.cwd()).resolve()
        # The server checks on one thread and answers hover and completion on
        # another; a project is loaded by one of them, once.
        with self._lock:
            found = self._locate(folder)
            project = self._projects.get(found)
            if project is None or project.stale():
                project = self._load(found, folder, project)
                self._projects[found] = project
            return project

    def _locate(self, folder: Path) -> Path | None:
        named = self._env.get("VOLNUX_CONFIG")
        if named:
            return Path(named).expanduser().resolve()
        now = self._clock()
        seen = self._located.get(folder)
        if seen is not None and now - seen[0] < RECHECK_S:
            return seen[1]
        try:
            found = find_config(folder)
        except VolnuxError:  # an unreadable pyproject.toml on the way up
            found = None
        found = found.resolve() if found is not None else None
        self._located[folder] = (now, found)
        return found

    def _load(self, path: Path | None, folder: Path, previous: Project | None) -> Project:
        from ..events import project_registry
        from ..executors import executor_names

        started = time.perf_counter()
        if previous is not None:
            _forget_modules(p for p in previous.watched if p.endswith(".py"))
        config: Config | None = None
        registry: EventRegistry | None = None
        problem: str | None = None
        try:
            config = load_config(start=folder, path=path, env=self._env, executors=executor_names())
            if _has_sources(config) or self.extra:
                registry = project_registry(config, self.extra).registry
        except (VolnuxError, OSError, ValueError) as exc:
            # Importing events runs the project's code: whatever it raised was
            # wrapped (EventLoadError) by the registry; the rest is said here.
            where = f" ({path})" if path is not None else ""
            problem = f"events could not be loaded{where}: {exc}"
        took = time.perf_counter() - started
        project = Project(
            path=path,
            config=config,
            registry=registry,
            problem=problem,
            watched=_snapshot(_watch_list(path, config, self.extra, registry)),
            loaded_at=self._clock(),
            took_s=took,
        )
        count = len(registry) if registry is not None else 0
        log.info(
            "project %s: %d event versions in %.0f ms%s",
            path or folder,
            count,
            took * 1000,
            f"; {problem}" if problem else "",
        )
        return project


def _has_sources(config: Config) -> bool:
    """True when the configuration names somewhere events come from."""
    return bool(config.events or config.folders or config.entry_points or config.git)


def _absolute(source: str) -> str:
    looks_like_path = source.endswith(".py") or "/" in source or "\\" in source
    return str(Path(source).resolve()) if looks_like_path else source


def _watch_list(
    path: Path | None,
    config: Config | None,
    extra: Sequence[str],
    registry: EventRegistry | None,
) -> list[str]:
    """The files whose change means the project must be loaded again."""
    files: list[str] = []
    if path is not None:
        files.append(str(path))
    sources = [*(config.events if config else ()), *extra]
    files.extend(s for s in sources if s.endswith(".py") or "/" in s or "\\" in s)
    for folder in config.folders if config else ():
        files.append(str(folder))  # its time changes when a file is added or removed
        if folder.is_dir():
            files.extend(str(p) for p in sorted(folder.glob("*.py")))
    for spec in registry.specs() if registry is not None else ():
        where = _source_file(spec.target)
        if where is not None:
            files.append(where)
    return list(dict.fromkeys(files))


def _source_file(target: Any) -> str | None:
    try:
        where = inspect.getsourcefile(inspect.unwrap(target))
    except TypeError:  # a built-in, or made at run time
        return None
    return os.path.realpath(where) if where else None


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _snapshot(paths: Iterable[str]) -> dict[str, int | None]:
    return {path: _mtime(path) for path in paths}


def _forget_modules(files: Iterable[str]) -> None:
    """Drop the modules loaded from ``files``, so that loading the events again runs
    their new code (an import finds a module already loaded and returns it)."""
    wanted = {os.path.realpath(f) for f in files}
    # Compared by base name first: resolving every loaded module's path is slow.
    names = {os.path.basename(f) for f in wanted}
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if not isinstance(where, str) or os.path.basename(where) not in names:
            continue
        if os.path.realpath(where) in wanted:
            del sys.modules[name]

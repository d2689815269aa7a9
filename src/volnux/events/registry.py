"""Where events are found, and how ``Name@version`` resolves to one of them."""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import EventDefinitionError, EventLoadError, EventNotFound
from .base import FILE_MODULE_PREFIX, EventSpec, spec_of
from .versions import matches, parse_spec

if TYPE_CHECKING:
    from .sources import Source

__all__ = ["EventRegistry", "load_events_source"]


class EventRegistry:
    """The events one workflow may use, by name and version.

    ``pins`` maps an event name to the version spec a bare reference
    (``Charge``, no ``@``) resolves to, as ``[pins]`` in volnux.toml does.
    """

    def __init__(
        self, events: Iterable[Any] = (), *, pins: Mapping[str, str] | None = None
    ) -> None:
        self._by_name: dict[str, dict[str, EventSpec]] = {}
        self._pins: dict[str, str] = {}
        for obj in events:
            self.add(obj)
        for name, spec in (pins or {}).items():
            self.pin(name, spec)

    def pin(self, name: str, version: str) -> None:
        """Make a bare ``name`` resolve as ``name@version`` (ValueError if malformed)."""
        parse_spec(version)  # refuse a bad spec now, not at the first reference
        self._pins[name] = version

    @property
    def pins(self) -> Mapping[str, str]:
        """Event name to the version spec its bare references resolve to."""
        return dict(self._pins)

    def add(self, obj: Any, *, source: Source | None = None) -> EventSpec:
        """Add an event class, decorated function or EventSpec (from ``source``, if given)."""
        spec = spec_of(obj)
        if spec is None:
            raise EventDefinitionError(
                f"{obj!r} is not an event: subclass volnux.Event or decorate a "
                "function with @volnux.event"
            )
        versions = self._by_name.setdefault(spec.name, {})
        key = str(spec.version)
        existing = versions.get(key)
        if existing is not None and existing.target is not spec.target:
            raise EventDefinitionError(
                f"event {spec.key} is defined twice: in {existing.origin} and in {spec.origin}"
            )
        if source is not None:
            spec.source = source
        versions[key] = spec
        return spec

    def add_module(self, module: ModuleType, *, source: Source | None = None) -> list[EventSpec]:
        """Add every event defined in ``module`` (not those it merely imports)."""
        added = []
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) != module.__name__:
                continue
            spec = spec_of(value) if _is_event_like(value) else None
            if spec is not None:
                added.append(self.add(spec, source=source))
        return added

    def load(self, source: str) -> list[EventSpec]:
        """Add the events of a module name (``pkg.events``) or a ``.py`` path."""
        from .sources import Source

        module = load_events_source(source)
        if _looks_like_path(source):
            where = Source("file", str(Path(source).resolve()))
        else:
            where = Source("module", source)
        return self.add_module(module, source=where)

    def names(self) -> list[str]:
        """Every known event name, sorted."""
        return sorted(self._by_name)

    def versions(self, name: str) -> list[EventSpec]:
        """Every version of ``name``, oldest first."""
        return sorted(self._by_name.get(name, {}).values(), key=lambda s: s.version)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_name.values())

    def specs(self) -> list[EventSpec]:
        """Every loaded event version, by name, oldest version first."""
        return [spec for name in self.names() for spec in self.versions(name)]

    def resolve(self, name: str, version: str | None = None) -> EventSpec:
        """The event a reference means; EventNotFound says why there is none.

        A bare name (``version`` None) follows the name's pin if there is
        one, else it resolves to the newest version.
        """
        found = self._by_name.get(name)
        if not found:
            close = difflib.get_close_matches(name, self._by_name, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            known = (
                ""
                if close
                else (
                    f" (known events: {', '.join(self.names()[:12])}"
                    f"{', ...' if len(self._by_name) > 12 else ''})"
                    if self._by_name
                    else " (no events are loaded: pass --events, or name sources in volnux.toml)"
                )
            )
            raise EventNotFound(f"unknown event {name!r}{hint}{known}", close)
        pinned = version is None and name in self._pins
        wanted = self._pins[name] if pinned else version
        try:
            prefix = parse_spec(wanted)
        except ValueError as exc:
            raise EventNotFound(str(exc)) from None
        candidates = [s for s in found.values() if matches(s.version, prefix)]
        if not candidates:
            have = "; ".join(f"{s.version} from {_where(s)}" for s in self.versions(name))
            why = (
                f"{name} is pinned to @{wanted} in the configuration ([pins]), and no "
                "version matches it"
                if pinned
                else f"no version of {name} matches @{wanted}"
            )
            raise EventNotFound(f"{why}; loaded versions: {have}")
        return max(candidates, key=lambda s: s.version)


def _where(spec: EventSpec) -> str:
    return str(spec.source) if spec.source is not None else spec.origin


def _looks_like_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or "\\" in source


def _is_event_like(value: Any) -> bool:
    if inspect.isclass(value):
        from .base import Event

        return issubclass(value, Event) and value is not Event
    return hasattr(value, "__volnux_event__")


def _why(exc: BaseException) -> str:
    """What went wrong while importing events, in one line."""
    if isinstance(exc, SystemExit):  # a script's sys.exit() is not the command's exit
        return f"it called sys.exit({exc.code!r}) while being imported"
    return f"{type(exc).__name__}: {exc}"


#: The attribute of an events file's module that holds the file's text as loaded.
SOURCE_ATTRIBUTE = "__volnux_source__"


def load_events_source(source: str) -> ModuleType:
    """Import a module by dotted name, or a Python file by path."""
    if _looks_like_path(source):
        path = Path(source)
        if not path.is_file():
            raise EventLoadError(f"events file {source} does not exist")
        resolved = path.resolve()
        digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
        module_name = f"{FILE_MODULE_PREFIX}{resolved.stem}_{digest}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, resolved)
        if spec is None or spec.loader is None:
            raise EventLoadError(f"events file {source} cannot be loaded as Python")
        module = importlib.util.module_from_spec(spec)
        # The text that ran, kept so that an executor whose workers cannot read
        # the file (a cluster's, on other machines) ships exactly that code.
        try:
            module.__dict__[SOURCE_ATTRIBUTE] = resolved.read_bytes()
        except OSError as exc:
            raise EventLoadError(f"events file {source} cannot be read: {exc}") from exc
        # Registered before running so pickling (process executor) finds it.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:
            del sys.modules[module_name]
            raise EventLoadError(f"events file {source} failed to import: {_why(exc)}") from exc
        return module
    try:
        return importlib.import_module(source)
    except SystemExit as exc:
        raise EventLoadError(f"events module {source!r} failed to import: {_why(exc)}") from exc
    except ModuleNotFoundError as exc:
        if exc.name and source.startswith(exc.name):
            raise EventLoadError(
                f"events module {source!r} was not found (is it installed, or on PYTHONPATH? "
                "a file path must end in .py)"
            ) from exc
        raise EventLoadError(
            f"events module {source!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:
        raise EventLoadError(
            f"events module {source!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc

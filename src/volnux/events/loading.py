"""Events given as a list of things: modules, module names, ``.py`` paths, classes, functions.

:func:`make_registry` builds a registry from such a list (what ``Workflow``
takes as ``events``); :func:`event_sources` says what a later process loads
to find the same events again (what a run records, and a resume loads).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from .registry import EventRegistry

__all__ = ["EventsArg", "event_sources", "make_registry"]

#: What may be given as a workflow's events.
EventsArg = EventRegistry | Iterable[Any] | None


def event_sources(events: EventsArg) -> list[str]:
    """What ``events`` was loaded from, as strings a later process can load again."""
    if events is None or isinstance(events, EventRegistry):
        return []
    if isinstance(events, str | ModuleType | Path):
        events = [events]
    sources: list[str] = []
    for item in events:
        if isinstance(item, ModuleType):
            name = item.__name__
            if name.startswith("volnux_events_") and getattr(item, "__file__", None):
                sources.append(str(item.__file__))  # a file loaded by path
            elif name != "__main__":
                sources.append(name)
        elif isinstance(item, str | Path):
            text = str(item)
            looks_like_path = text.endswith(".py") or "/" in text or "\\" in text
            sources.append(str(Path(text).resolve()) if looks_like_path else text)
        else:
            module = getattr(item, "__module__", None)
            if module and module != "__main__" and not module.startswith("volnux_events_"):
                sources.append(module)
    return list(dict.fromkeys(sources))


def make_registry(events: EventsArg) -> EventRegistry:
    """A registry from modules, module names, ``.py`` paths, classes or functions."""
    if isinstance(events, EventRegistry):
        return events
    registry = EventRegistry()
    if events is None:
        return registry
    if isinstance(events, str | ModuleType):
        events = [events]
    for item in events:
        if isinstance(item, ModuleType):
            registry.add_module(item)
        elif isinstance(item, str | Path):
            registry.load(str(item))
        elif isinstance(item, EventRegistry):
            for name in item.names():
                for spec in item.versions(name):
                    registry.add(spec)
        else:
            registry.add(item)
    return registry

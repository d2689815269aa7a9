"""The public surface of `volnux` is exactly what __all__ says, and it is pinned here.

Adding or removing a public name is a user-visible change: update this list
and CHANGELOG.md together.
"""

from __future__ import annotations

import importlib.metadata
from types import ModuleType

import volnux

PUBLIC = [
    "ConfigError",
    "Context",
    "Deprecated",
    "DeprecatedEventRefused",
    "Event",
    "EventDefinitionError",
    "EventDeprecationWarning",
    "EventLoadError",
    "EventRegistry",
    "Failure",
    "FailureInfo",
    "InputError",
    "NeedsOperator",
    "PermanentError",
    "PointyError",
    "RenderError",
    "ResultEvaluation",
    "ResumeRefused",
    "RetryPolicy",
    "Route",
    "Run",
    "RunError",
    "RunState",
    "StoreError",
    "TaskState",
    "TaskView",
    "TransientError",
    "VolnuxError",
    "Workflow",
    "__version__",
    "event",
]


def test_all_is_pinned_and_sorted() -> None:
    assert volnux.__all__ == PUBLIC
    assert sorted(PUBLIC) == PUBLIC


def test_every_public_name_is_importable_from_volnux() -> None:
    namespace: dict[str, object] = {}
    exec(f"from volnux import {', '.join(PUBLIC)}", namespace)
    for name in PUBLIC:
        assert namespace[name] is getattr(volnux, name)


def test_public_objects_are_volnux_own() -> None:
    for name in PUBLIC:
        obj = getattr(volnux, name)
        if name != "__version__":
            assert obj.__module__.startswith("volnux."), (name, obj.__module__)


def test_nothing_public_hides_outside_all() -> None:
    # Subpackages are reachable as attributes once imported; they are not API names.
    extra = [
        name
        for name in dir(volnux)
        if not name.startswith("_")
        and name not in PUBLIC
        and not isinstance(getattr(volnux, name), ModuleType)
    ]
    assert extra == []


def test_version_matches_the_installed_distribution() -> None:
    assert volnux.__version__ == importlib.metadata.version("volnux")

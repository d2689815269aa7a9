"""Volnux: readable workflows in Pointy-lang, with runs that survive failure.

The public API is exactly what ``__all__`` lists; everything else is private
and may change without notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigError,
    DeprecatedEventRefused,
    EventDefinitionError,
    EventLoadError,
    InputError,
    PointyError,
    RenderError,
    ResumeRefused,
    RunError,
    StoreError,
    VolnuxError,
)
from .states import RunState, TaskState

if TYPE_CHECKING:
    from .engine import Run, TaskView
    from .events import (
        Context,
        Deprecated,
        Event,
        EventDeprecationWarning,
        EventRegistry,
        Failure,
        FailureInfo,
        NeedsOperator,
        PermanentError,
        ResultEvaluation,
        RetryPolicy,
        Route,
        TransientError,
        event,
    )
    from .workflow import Workflow

#: The public names imported on first use, and their modules.  ``import
#: volnux`` then costs only the errors and states: a module that defines
#: events loads the authoring API and not the engine, and ``volnux --help``
#: loads neither.
_LAZY = {
    **dict.fromkeys(("Run", "TaskView"), ".engine"),
    **dict.fromkeys(
        (
            "Context",
            "Deprecated",
            "Event",
            "EventDeprecationWarning",
            "EventRegistry",
            "Failure",
            "FailureInfo",
            "NeedsOperator",
            "PermanentError",
            "ResultEvaluation",
            "RetryPolicy",
            "Route",
            "TransientError",
            "event",
        ),
        ".events",
    ),
    "Workflow": ".workflow",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'volnux' has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return list(__all__)


__version__ = "0.1.0"

__all__ = [
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

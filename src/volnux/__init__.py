"""Volnux: readable workflows in Pointy-lang, with runs that survive failure.

The public API is exactly what ``__all__`` lists; everything else is private
and may change without notice.
"""

from .engine import Run, TaskView
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
from .states import RunState, TaskState
from .workflow import Workflow

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

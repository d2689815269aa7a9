"""Volnux: readable workflows in Pointy-lang, with runs that survive failure.

The public API is exactly what ``__all__`` lists; everything else is private
and may change without notice.
"""

from .engine import Run, TaskView
from .errors import (
    EventDefinitionError,
    EventLoadError,
    InputError,
    PointyError,
    ResumeRefused,
    RunError,
    StoreError,
    VolnuxError,
)
from .events import (
    Context,
    Event,
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
    "Context",
    "Event",
    "EventDefinitionError",
    "EventLoadError",
    "EventRegistry",
    "Failure",
    "FailureInfo",
    "InputError",
    "NeedsOperator",
    "PermanentError",
    "PointyError",
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

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
    EventNotFound,
    Fenced,
    InputError,
    JournalNotFound,
    PointyError,
    RenderError,
    ResultMissing,
    ResumeRefused,
    RunClaimed,
    RunError,
    RunExists,
    RunNotFound,
    SourceChanged,
    StoreError,
    UnencodableResult,
    Unpicklable,
    VolnuxError,
    WorkerLost,
)
from .states import RunState, TaskState

if TYPE_CHECKING:
    from .batch import BatchRun, splitter
    from .config import Config, load_config
    from .dsl import format_graph, format_text, parse, parse_file
    from .engine import Run, TaskView
    from .engine.owners import cancel_run, pause_run
    from .engine.stop import StopRequest
    from .events import (
        BatchInfo,
        Context,
        Deprecated,
        Event,
        EventDeprecationWarning,
        EventRegistry,
        Failure,
        FailureInfo,
        NeedsOperator,
        Partial,
        PermanentError,
        Resources,
        ResultEvaluation,
        RetryPolicy,
        Route,
        TransientError,
        deprecations,
        event,
        project_registry,
    )
    from .events.logs import capture_logs, capture_prints
    from .executors import PoolSettings, executor_names
    from .observability import otel, signals
    from .observability.ascii import to_ascii
    from .observability.dot import to_dot
    from .observability.pictures import run_dot
    from .observability.render import render
    from .store import Journal, MemoryJournal, SQLiteJournal, open_store
    from .store.results import ResultRef, ResultStore
    from .workflow import Workflow

#: The public names imported on first use, and their modules.  ``import
#: volnux`` then costs only the errors and states: a module that defines
#: events loads the authoring API and not the engine, and ``volnux --help``
#: loads neither.
_LAZY = {
    **dict.fromkeys(("Config", "load_config"), ".config"),
    **dict.fromkeys(("format_graph", "format_text", "parse", "parse_file"), ".dsl"),
    **dict.fromkeys(("Journal", "MemoryJournal", "SQLiteJournal", "open_store"), ".store"),
    **dict.fromkeys(("ResultRef", "ResultStore"), ".store.results"),
    **dict.fromkeys(("PoolSettings", "executor_names"), ".executors"),
    **dict.fromkeys(("capture_logs", "capture_prints"), ".events.logs"),
    "to_ascii": ".observability.ascii",
    "to_dot": ".observability.dot",
    "run_dot": ".observability.pictures",
    "render": ".observability.render",
    **dict.fromkeys(("Run", "TaskView"), ".engine"),
    "StopRequest": ".engine.stop",
    **dict.fromkeys(("cancel_run", "pause_run"), ".engine.owners"),
    **dict.fromkeys(
        (
            "BatchInfo",
            "Context",
            "Deprecated",
            "Event",
            "EventDeprecationWarning",
            "EventRegistry",
            "Failure",
            "FailureInfo",
            "NeedsOperator",
            "Partial",
            "PermanentError",
            "Resources",
            "ResultEvaluation",
            "RetryPolicy",
            "Route",
            "TransientError",
            "deprecations",
            "event",
            "project_registry",
        ),
        ".events",
    ),
    "Workflow": ".workflow",
    **dict.fromkeys(("BatchRun", "splitter"), ".batch"),
}

#: Public modules, imported on first use: ``volnux.signals.task_failed.connect(fn)``.
_MODULES = {"otel": ".observability.otel", "signals": ".observability.signals"}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is not None:
        value = getattr(importlib.import_module(where, __name__), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name], __name__)
    else:
        raise AttributeError(f"module 'volnux' has no attribute {name!r}")
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return list(__all__)


__version__ = "0.1.0"

__all__ = [
    "BatchInfo",
    "BatchRun",
    "Config",
    "ConfigError",
    "Context",
    "Deprecated",
    "DeprecatedEventRefused",
    "Event",
    "EventDefinitionError",
    "EventDeprecationWarning",
    "EventLoadError",
    "EventNotFound",
    "EventRegistry",
    "Failure",
    "FailureInfo",
    "Fenced",
    "InputError",
    "Journal",
    "JournalNotFound",
    "MemoryJournal",
    "NeedsOperator",
    "Partial",
    "PermanentError",
    "PointyError",
    "PoolSettings",
    "RenderError",
    "Resources",
    "ResultEvaluation",
    "ResultMissing",
    "ResultRef",
    "ResultStore",
    "ResumeRefused",
    "RetryPolicy",
    "Route",
    "Run",
    "RunClaimed",
    "RunError",
    "RunExists",
    "RunNotFound",
    "RunState",
    "SQLiteJournal",
    "SourceChanged",
    "StopRequest",
    "StoreError",
    "TaskState",
    "TaskView",
    "TransientError",
    "UnencodableResult",
    "Unpicklable",
    "VolnuxError",
    "WorkerLost",
    "Workflow",
    "__version__",
    "cancel_run",
    "capture_logs",
    "capture_prints",
    "deprecations",
    "event",
    "executor_names",
    "format_graph",
    "format_text",
    "load_config",
    "open_store",
    "otel",
    "parse",
    "parse_file",
    "pause_run",
    "project_registry",
    "render",
    "run_dot",
    "signals",
    "splitter",
    "to_ascii",
    "to_dot",
]

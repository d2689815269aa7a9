"""Events: the authoring API (what user code imports) and the registry."""

from .base import Context, Event, EventSpec, Failure, FailureInfo, Route, event, spec_of
from .deprecation import (
    Deprecated,
    DeprecatedEventRefused,
    DeprecationNotice,
    EventDeprecationWarning,
    deprecations,
)
from .evaluation import ResultEvaluation
from .failures import NeedsOperator, PermanentError, TransientError
from .registry import EventRegistry, LookupFailed, load_events_source
from .retry import RetryPolicy
from .sources import ProjectEvents, Source, project_registry
from .versions import Version, parse_version

__all__ = [
    "Context",
    "Deprecated",
    "DeprecatedEventRefused",
    "DeprecationNotice",
    "Event",
    "EventDeprecationWarning",
    "EventRegistry",
    "EventSpec",
    "Failure",
    "FailureInfo",
    "LookupFailed",
    "NeedsOperator",
    "PermanentError",
    "ProjectEvents",
    "ResultEvaluation",
    "RetryPolicy",
    "Route",
    "Source",
    "TransientError",
    "Version",
    "deprecations",
    "event",
    "load_events_source",
    "parse_version",
    "project_registry",
    "spec_of",
]

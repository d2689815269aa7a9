"""Events: the authoring API (what user code imports) and the registry."""

from .base import (
    BatchInfo,
    Context,
    Event,
    EventSpec,
    Failure,
    FailureInfo,
    Partial,
    Route,
    event,
    spec_of,
)
from .deprecation import (
    Deprecated,
    DeprecatedEventRefused,
    DeprecationNotice,
    EventDeprecationWarning,
    deprecations,
)
from .evaluation import ResultEvaluation
from .failures import NeedsOperator, PermanentError, TransientError
from .loading import EventsArg, event_sources, make_registry
from .registry import EventRegistry, load_events_source
from .resources import Resources
from .retry import RetryPolicy
from .sources import ProjectEvents, Source, project_registry
from .versions import Version, parse_version

__all__ = [
    "BatchInfo",
    "Context",
    "Deprecated",
    "DeprecatedEventRefused",
    "DeprecationNotice",
    "Event",
    "EventDeprecationWarning",
    "EventRegistry",
    "EventSpec",
    "EventsArg",
    "Failure",
    "FailureInfo",
    "NeedsOperator",
    "Partial",
    "PermanentError",
    "ProjectEvents",
    "Resources",
    "ResultEvaluation",
    "RetryPolicy",
    "Route",
    "Source",
    "TransientError",
    "Version",
    "deprecations",
    "event",
    "event_sources",
    "load_events_source",
    "make_registry",
    "parse_version",
    "project_registry",
    "spec_of",
]

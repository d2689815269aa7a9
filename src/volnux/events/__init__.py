"""Events: the authoring API (what user code imports) and the registry."""

from .base import Context, Event, EventSpec, Failure, FailureInfo, Route, event, spec_of
from .failures import NeedsOperator, PermanentError, TransientError
from .registry import EventRegistry, LookupFailed, load_events_source
from .retry import RetryPolicy
from .versions import Version, parse_version

__all__ = [
    "Context",
    "Event",
    "EventRegistry",
    "EventSpec",
    "Failure",
    "FailureInfo",
    "LookupFailed",
    "NeedsOperator",
    "PermanentError",
    "RetryPolicy",
    "Route",
    "TransientError",
    "Version",
    "event",
    "load_events_source",
    "parse_version",
    "spec_of",
]

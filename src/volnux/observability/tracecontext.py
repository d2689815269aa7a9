"""Carrying trace context from the engine to an attempt's worker (thread or process).

The engine puts the task span's context into a plain ``dict[str, str]``
(``Context.carrier``, W3C ``traceparent`` by default) that pickles to any
worker; :func:`attached` makes it current there, so spans an event starts
nest under its task's span.  OpenTelemetry is imported only when a carrier is
given: a run nobody traces never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["run_attached"]

T = TypeVar("T")


def run_attached(carrier: Mapping[str, str], fn: Callable[[], T]) -> T:
    """Call ``fn()`` with the trace context in ``carrier`` attached (as is if none)."""
    try:
        from opentelemetry import context, propagate
    except ImportError:  # a carrier from a tracing parent, a worker without the API
        return fn()
    token = context.attach(propagate.extract(carrier))
    try:
        return fn()
    finally:
        context.detach(token)


def attach(carrier: Mapping[str, str]) -> Callable[[], None]:
    """Attach the trace context in ``carrier`` (for an ``async`` attempt, in its task's
    own context); call what this returns to detach it."""
    try:
        from opentelemetry import context, propagate
    except ImportError:
        return lambda: None
    token = context.attach(propagate.extract(carrier))
    return lambda: context.detach(token)

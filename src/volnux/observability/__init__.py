"""Observing runs from outside the engine: signals, OpenTelemetry, pictures and logs.

Nothing here changes execution; every module reads a graph, a run's states or
the engine's journaled transitions (through :class:`observer.Observer`).
``signals`` loads blinker and ``otel`` loads OpenTelemetry; neither is imported
until used.
"""

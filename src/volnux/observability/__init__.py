"""Observing runs from outside the engine: graph export (DOT), and later signals and metrics.

Nothing here changes execution; every module reads a graph or a run's states.
"""

"""Pointy-lang: parse workflow text into a Graph, and format a Graph as text.

``parse`` and ``parse_file`` raise :class:`~volnux.errors.PointyError` for any
problem in the text (with ``file:line:col`` and a caret), and ``parse_file``
raises :class:`~volnux.errors.VolnuxError` for a file it cannot read.
"""

from .formatter import format_graph
from .parser import parse, parse_file

__all__ = ["format_graph", "parse", "parse_file"]

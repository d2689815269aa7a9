"""Pointy-lang: parse workflow text into a Graph, and format a Graph (or a file's text).

``parse`` and ``parse_file`` raise :class:`~volnux.errors.PointyError` for any
problem in the text (with ``file:line:col`` and a caret), and ``parse_file``
raises :class:`~volnux.errors.VolnuxError` for a file it cannot read.  A text
this user has parsed before loads from the cache (:mod:`volnux.dsl.cache`),
without importing the parser at all.
"""

from __future__ import annotations

import os

from volnux.errors import VolnuxError
from volnux.graph.model import Graph

from . import cache
from .formatter import format_graph
from .layout import format_text

__all__ = ["format_graph", "format_text", "parse", "parse_file"]


def parse(text: str, filename: str = "<text>") -> Graph:
    """Parse Pointy-lang ``text``; errors name ``filename``, line and column."""
    graph = cache.load(text, filename)
    if graph is None:
        # Imported on the first parse that misses: lark costs about 20 ms to import.
        from .parser import parse as parse_text

        graph = parse_text(text, filename)
        cache.save(graph)
    return graph


def parse_file(path: str | os.PathLike[str]) -> Graph:
    """Read and parse a ``.pty`` file; unreadable files raise VolnuxError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise VolnuxError(f"cannot read workflow file {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VolnuxError(
            f"cannot read workflow file {path}: not UTF-8 text (byte {exc.start})"
        ) from exc
    return parse(text, filename=os.fspath(path))

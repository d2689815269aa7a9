"""Batch pipelines: one workflow over a huge input, as many small resumable runs.

This part splits a source into batches (:func:`splitter`): lazily, so that
memory holds the batches in flight and not the input, and with a position
per batch (JSON data) from which a resume reads exactly the same items.
``model`` holds the values, ``identity`` how a changed source is told,
``split`` the table of kinds, and one module per kind of source: ``text``
(lines, jsonl, bytes), ``rows`` (csv), ``parquet``, ``files``, ``iterable``
and ``custom``.  Running a workflow over the batches builds on this.
"""

from .base import FileSplitter
from .custom import ENTRY_POINT_GROUP
from .model import Batch, Position, SourceIdentity, Splitter
from .split import KINDS, splitter

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "Batch",
    "FileSplitter",
    "Position",
    "SourceIdentity",
    "Splitter",
    "splitter",
]

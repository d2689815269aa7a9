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
from .limits import Tolerance
from .model import Batch, Position, SourceIdentity, Splitter
from .result import BatchRun
from .split import KINDS, guess_kind, recordable, splitter
from .summary import BatchState, BatchSummary, is_batch_run, summarize

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "Batch",
    "BatchRun",
    "BatchState",
    "BatchSummary",
    "FileSplitter",
    "Position",
    "SourceIdentity",
    "Splitter",
    "Tolerance",
    "guess_kind",
    "is_batch_run",
    "recordable",
    "splitter",
    "summarize",
]

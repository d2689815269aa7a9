"""Kind ``parquet``: the rows of a Parquet file, as dicts, ``batch_size`` rows a batch.

pyarrow is an optional extra, imported when a ``parquet`` splitter is made,
so that installing Volnux does not pull in a large native library for the
few who read Parquet; without it the error says what to install.

The file is read one row group at a time (Parquet's unit of reading), so
memory holds one row group and one batch, whatever the file's size.  A
position is ``{first_item, count}``, the batch's rows: reading it again reads
only the row groups that hold them, found from the file's metadata.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Final

from ..errors import InputError, SourceChanged
from .base import FileSplitter
from .model import Batch, Position, position_ints

__all__ = ["INSTALL_HINT", "ParquetSplitter"]

INSTALL_HINT: Final = "the 'parquet' batch source needs pyarrow: pip install 'volnux[parquet]'"


def _parquet() -> Any:
    """The ``pyarrow.parquet`` module, or ``InputError`` saying how to install it."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc


class ParquetSplitter(FileSplitter):
    """Kind ``parquet``: each row is an item, a dict from column names to values.

    ``columns`` (a list of names) reads only those columns.
    """

    kind = "parquet"

    def __init__(self, source: Any, batch_size: int, *, columns: list[str] | None = None) -> None:
        super().__init__(source, batch_size)
        self.columns = list(columns) if columns is not None else None
        self._pq = _parquet()

    def _open(self) -> Any:
        try:
            return self._pq.ParquetFile(self.path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowIOError, ArrowInvalid
            raise InputError(
                f"{self.path} is not a Parquet file that pyarrow reads: {exc}"
            ) from exc

    def _group(self, file: Any, group: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = file.read_row_group(group, columns=self.columns).to_pylist()
        return rows

    def __iter__(self) -> Iterator[Batch]:
        file = self._open()
        pending: list[dict[str, Any]] = []
        first_item = index = 0
        for group in range(file.num_row_groups):
            rows = pending + self._group(file, group)
            taken = 0
            while len(rows) - taken >= self.batch_size:
                items = rows[taken : taken + self.batch_size]
                yield Batch(index, self._position(first_item, len(items)), items)
                index, first_item, taken = index + 1, first_item + len(items), taken + len(items)
            pending = rows[taken:]
        if pending:
            yield Batch(index, self._position(first_item, len(pending)), pending)

    def _position(self, first_item: int, count: int) -> Position:
        return {"kind": self.kind, "first_item": first_item, "count": count}

    def read(self, position: Position) -> list[Any]:
        """The rows of the batch at ``position``, from the row groups that hold them."""
        first, count = position_ints(position, self.kind, "first_item", "count")
        file = self._open()
        rows: list[dict[str, Any]] = []
        group_start = 0
        for group in range(file.num_row_groups):
            if group_start >= first + count:
                break
            group_rows = int(file.metadata.row_group(group).num_rows)
            group_end = group_start + group_rows
            if group_end > first and group_start < first + count:
                low = max(first, group_start) - group_start
                high = min(first + count, group_end) - group_start
                rows.extend(self._group(file, group)[low:high])
            group_start = group_end
        if len(rows) != count:
            raise SourceChanged(
                self.path, [f"rows {first}-{first + count} are {len(rows)} rows, not {count}"]
            )
        return rows

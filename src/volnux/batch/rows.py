"""Kind ``csv``: rows of a CSV file as dicts keyed by its header row.

A quoted field may hold newlines, so a row is not a line, and only the
``csv`` module knows where a row ends.  It pulls one line at a time from the
iterable it is given and never reads ahead, so feeding it the file's lines
from a counter (:class:`_Lines`) tells the byte offset of every row
boundary: a batch's position is the byte range of whole rows, and reading it
again hands the ``csv`` module that range alone.

The header row is read once per splitter and applied to every batch: a batch
read again from the middle of the file has its columns named all the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from ..errors import InputError, SourceChanged
from .base import FileSplitter, check_encoding
from .model import Batch, Position, position_ints
from .text import BOM

__all__ = ["CsvSplitter"]


class _Lines:
    """The lines of a binary file as text, for ``csv.reader``, counting what it took.

    ``offset`` is the bytes taken so far and ``number`` the lines: both
    stand at a row boundary each time the reader returns a row.
    """

    def __init__(self, f: IO[bytes], path: str, encoding: str, number: int = 0) -> None:
        self._f = f
        self._path = path
        self._encoding = encoding
        self.offset = 0
        self.number = number

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._f.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.number += 1
        try:
            text = raw.decode(self._encoding)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self._path}:{self.number}: not {self._encoding} text "
                f"({exc.reason} at byte {exc.start + 1} of the line)"
            ) from exc
        # Spreadsheets save UTF-8 CSV with a byte-order mark: it is not the first name.
        return text.removeprefix(BOM) if self.number == 1 else text


class CsvSplitter(FileSplitter):
    """Kind ``csv``: each data row is an item, a dict from the header's names to strings.

    Options are the ``csv`` module's (``delimiter``, ``quotechar``,
    ``escapechar``, ``doublequote``, ``skipinitialspace``) and ``encoding``.
    Rows end at ``\\n`` or ``\\r\\n``; blank lines are skipped; a row whose
    number of fields differs from the header's is an error naming its line.
    A position is ``{offset, length, first_line, first_item, count}``: the
    byte range of its rows, the index (from 0) of the file line where it
    starts, of its first row among the data rows, and how many rows.
    """

    kind = "csv"

    def __init__(
        self,
        source: Any,
        batch_size: int,
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        quotechar: str = '"',
        escapechar: str | None = None,
        doublequote: bool = True,
        skipinitialspace: bool = False,
    ) -> None:
        super().__init__(source, batch_size)
        self.encoding = check_encoding(encoding)
        self.dialect: dict[str, Any] = {
            "delimiter": delimiter,
            "quotechar": quotechar,
            "escapechar": escapechar,
            "doublequote": doublequote,
            "skipinitialspace": skipinitialspace,
        }
        try:
            csv.reader([], **self.dialect)
        except TypeError as exc:
            raise InputError(f"bad CSV options for {self.path}: {exc}") from exc
        self._header: list[str] | None = None

    def header(self) -> list[str]:
        """The column names, from the file's first row (read once)."""
        if self._header is None:
            with open(self.path, "rb") as f:
                lines = _Lines(f, self.path, self.encoding)
                self._header = self._read_header(csv.reader(lines, **self.dialect), lines)
        return self._header

    def __iter__(self) -> Iterator[Batch]:
        with open(self.path, "rb") as f:
            lines = _Lines(f, self.path, self.encoding)
            reader = csv.reader(lines, **self.dialect)
            header = self._header = self._read_header(reader, lines)
            start, first_line = lines.offset, lines.number
            first_item = index = 0
            items: list[dict[str, str]] = []
            for row in self._rows(reader, lines, header):
                items.append(row)
                if len(items) == self.batch_size:
                    end = lines.offset  # the reader has just returned the batch's last row
                    yield Batch(
                        index,
                        self._range_position(start, end, first_line, first_item, items),
                        items,
                    )
                    index, first_item = index + 1, first_item + len(items)
                    start, first_line, items = end, lines.number, []
            if items:
                end = lines.offset
                yield Batch(
                    index, self._range_position(start, end, first_line, first_item, items), items
                )

    def read(self, position: Position) -> list[Any]:
        """The rows of the batch at ``position``: its byte range, parsed again."""
        offset, length, first_line, count = position_ints(
            position, self.kind, "offset", "length", "first_line", "count"
        )
        header = self.header()
        data = self.read_range(offset, length)
        lines = _Lines(io.BytesIO(data), self.path, self.encoding, first_line)
        rows = list(self._rows(csv.reader(lines, **self.dialect), lines, header))
        if len(rows) != count:
            raise SourceChanged(
                self.path, [f"bytes {offset}-{offset + length} hold {len(rows)} rows, not {count}"]
            )
        return rows

    def _read_header(self, reader: Iterator[list[str]], lines: _Lines) -> list[str]:
        """The first row that is not blank, checked to name every column once."""
        found = next(((n, row) for n, row in self._parsed(reader, lines) if row), None)
        if found is None:
            raise InputError(
                f"{self.path}: no header row (the file is empty); a 'csv' source starts "
                "with a row naming its columns"
            )
        number, header = found
        where = f"{self.path}:{number}"
        for column, name in enumerate(header, 1):
            if not name.strip():
                raise InputError(
                    f"{where}: column {column} of the header row has no name; a 'csv' "
                    "source starts with a row naming each of its columns"
                )
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise InputError(f"{where}: the header row names column {name!r} twice")
            seen.add(name)
        return header

    def _rows(
        self, reader: Iterator[list[str]], lines: _Lines, header: list[str]
    ) -> Iterator[dict[str, str]]:
        """The data rows as dicts; blank lines skipped, a row of the wrong width refused."""
        for number, row in self._parsed(reader, lines):
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(
                    f"{self.path}:{number}: a row of {len(row)} fields, but the "
                    f"header names {len(header)} ({', '.join(header)})"
                )
            yield dict(zip(header, row, strict=True))

    def _parsed(
        self, reader: Iterator[list[str]], lines: _Lines
    ) -> Iterator[tuple[int, list[str]]]:
        """The reader's rows with the line (from 1) where each starts, for messages."""
        while True:
            number = lines.number + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{self.path}:{number}: {exc}") from exc
            yield number, row

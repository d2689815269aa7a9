"""Splitting a file by lines (``lines``, ``jsonl``) or by fixed byte ranges (``bytes``).

The file is read in binary and split on the byte ``\\n``, counting bytes as
it goes: a batch's position is the byte range of its lines, so a resume
seeks straight to it instead of reading the file from the start, and text
mode's opaque ``tell()`` cookies never reach the journal.  A line ends at
``\\n`` or ``\\r\\n``, which is not part of it; a lone ``\\r`` or a Unicode
line separator (U+2028, NEL) is text within a line, as in the file, and a
last line without a newline is a line.  A byte-order mark opening the file
is not part of its first line.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

from ..errors import InputError, SourceChanged
from .base import FileSplitter, check_encoding
from .model import Batch, Position, position_ints

__all__ = ["BOM", "ByteSplitter", "JsonLinesSplitter", "LineSplitter"]

#: The byte-order mark that may open a UTF-8 file, decoded.
BOM: Final = "\ufeff"

#: What ``parse`` returns for a line that holds no item (a blank line of JSON lines).
_SKIP: Final = object()


class _LineItems(FileSplitter):
    """One item per line: the batching and the reading again, for ``lines`` and ``jsonl``.

    A position is ``{offset, length, first_line, first_item, count}``: the
    byte range, the index (from 0) of its first line in the file, of its
    first item among the file's items, and how many items it holds.
    """

    def __init__(self, source: Any, batch_size: int, *, encoding: str = "utf-8") -> None:
        super().__init__(source, batch_size)
        self.encoding = check_encoding(encoding)

    def parse(self, raw: bytes, number: int) -> Any:
        """The item of line ``number`` (from 1), given with its newline, or ``_SKIP``."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Batch]:
        with open(self.path, "rb") as f:
            yield from self._batches(f)

    def after(self, position: Position, index: int) -> Iterator[Batch]:
        """The batches after the one at ``position`` (whose index was ``index - 1``),
        read from the end of its byte range: a resume does not read the file again
        up to there."""
        offset, length, first_line, first_item, count = position_ints(
            position, self.kind, "offset", "length", "first_line", "first_item", "count"
        )
        lines = self.read_range(offset, length).count(b"\n")
        with open(self.path, "rb") as f:
            f.seek(offset + length)
            yield from self._batches(
                f, offset + length, first_line + lines, first_item + count, index
            )

    def _batches(
        self,
        lines: Iterable[bytes],
        offset: int = 0,
        first_line: int = 0,
        first_item: int = 0,
        index: int = 0,
    ) -> Iterator[Batch]:
        start = offset  # bytes
        number = first_line  # lines
        items: list[Any] = []
        for raw in lines:
            number += 1
            offset += len(raw)
            value = self.parse(raw, number)
            if value is _SKIP:
                continue
            items.append(value)
            if len(items) == self.batch_size:
                yield Batch(
                    index, self._range_position(start, offset, first_line, first_item, items), items
                )
                index, first_item = index + 1, first_item + len(items)
                start, first_line, items = offset, number, []
        if items:
            yield Batch(
                index, self._range_position(start, offset, first_line, first_item, items), items
            )

    def read(self, position: Position) -> list[Any]:
        """The items of the batch at ``position``: its byte range, split and parsed again."""
        offset, length, first_line, count = position_ints(
            position, self.kind, "offset", "length", "first_line", "count"
        )
        data = self.read_range(offset, length)
        items = []
        for number, raw in enumerate(io.BytesIO(data), first_line + 1):
            value = self.parse(raw, number)
            if value is not _SKIP:
                items.append(value)
        if len(items) != count:
            raise SourceChanged(
                self.path,
                [f"bytes {offset}-{offset + length} hold {len(items)} items, not {count}"],
            )
        return items

    def text(self, raw: bytes, number: int) -> str:
        """Line ``number`` without its newline, decoded; a bad byte is an error naming the line."""
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self.path}:{number}: not {self.encoding} text "
                f"({exc.reason} at byte {exc.start + 1} of the line)"
            ) from exc
        # A byte-order mark (Windows tools write one) is not part of the first line.
        return text.removeprefix(BOM) if number == 1 else text


class LineSplitter(_LineItems):
    """Kind ``lines``: each line is an item, a ``str`` without its newline.

    Every line is an item, so a batch is ``batch_size`` lines taken whole
    (``islice`` of the file) and decoded at once: about 1 µs a line, where
    handling lines one by one in Python took 7.
    """

    kind = "lines"

    def parse(self, raw: bytes, number: int) -> Any:
        return self.text(raw, number)

    def __iter__(self) -> Iterator[Batch]:
        with open(self.path, "rb") as f:
            yield from self._whole_lines(f, 0, 0, 0)

    def after(self, position: Position, index: int) -> Iterator[Batch]:
        """The batches after the one at ``position`` (see :meth:`_LineItems.after`)."""
        offset, length, first_line, count = position_ints(
            position, self.kind, "offset", "length", "first_line", "count"
        )
        with open(self.path, "rb") as f:
            f.seek(offset + length)
            yield from self._whole_lines(f, offset + length, first_line + count, index)

    def _whole_lines(
        self, f: Iterable[bytes], offset: int, first_line: int, index: int
    ) -> Iterator[Batch]:
        """Batches of ``batch_size`` whole lines of ``f``, from byte ``offset`` (line
        ``first_line``, batch ``index``) on."""
        while raws := list(itertools.islice(f, self.batch_size)):
            items = self.lines(raws, first_line + 1)
            end = offset + sum(map(len, raws))
            position = self._range_position(offset, end, first_line, first_line, items)
            yield Batch(index, position, items)
            index, offset, first_line = index + 1, end, first_line + len(raws)

    def read(self, position: Position) -> list[Any]:
        """The lines of the batch at ``position``, read again from its byte range."""
        offset, length, first_line, count = position_ints(
            position, self.kind, "offset", "length", "first_line", "count"
        )
        items = self.lines(io.BytesIO(self.read_range(offset, length)).readlines(), first_line + 1)
        if len(items) != count:
            raise SourceChanged(
                self.path,
                [f"bytes {offset}-{offset + length} hold {len(items)} items, not {count}"],
            )
        return items

    def lines(self, raws: list[bytes], number: int) -> list[str]:
        """The text of ``raws`` (whole lines, the first being line ``number``), each
        without its newline: decoded together, split on ``\n``."""
        data = b"".join(raws)
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError:
            # Line by line, to say which line is not text.
            return [self.text(raw, n) for n, raw in enumerate(raws, number)]
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()  # the empty text after the last newline
            ended = len(lines)
        else:
            ended = len(lines) - 1  # the last line has no newline: its \r is text
        if "\r" in text:
            for i in range(ended):
                if lines[i].endswith("\r"):
                    lines[i] = lines[i][:-1]
        if number == 1 and lines:
            lines[0] = lines[0].removeprefix(BOM)
        return lines


class JsonLinesSplitter(_LineItems):
    """Kind ``jsonl``: each line holds one JSON value; blank lines are skipped.

    A line that is not JSON is an error naming the file and line: a batch
    run should stop at bad input, not quietly drop a record.
    """

    kind = "jsonl"

    def parse(self, raw: bytes, number: int) -> Any:
        text = self.text(raw, number)
        if not text.strip():
            return _SKIP
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{self.path}:{number}:{exc.colno}: not a JSON value: {exc.msg}"
            ) from exc


class ByteSplitter(FileSplitter):
    """Kind ``bytes``: fixed ranges of ``batch_size`` bytes (the last may be shorter).

    Each batch holds one item, the ``bytes`` of its range: a range of bytes
    has no smaller unit that means anything to Volnux.  A position is
    ``{offset, length, first_item, count}`` (``first_item`` is the batch's
    index, ``count`` is 1).
    """

    kind = "bytes"

    def __iter__(self) -> Iterator[Batch]:
        with open(self.path, "rb") as f:
            index = offset = 0
            while chunk := f.read(self.batch_size):
                yield Batch(index, self._position(index, offset, len(chunk)), [chunk])
                index, offset = index + 1, offset + len(chunk)

    def _position(self, index: int, offset: int, length: int) -> Position:
        return {
            "kind": self.kind,
            "offset": offset,
            "length": length,
            "first_item": index,
            "count": 1,
        }

    def read(self, position: Position) -> list[Any]:
        """The one item of the batch at ``position``: the bytes of its range."""
        offset, length = position_ints(position, self.kind, "offset", "length")
        return [self.read_range(offset, length)]

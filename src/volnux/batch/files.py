"""Kind ``files``: the files of a directory, or those a glob pattern matches.

Each item is a file's absolute path, as a string; the workflow opens it.
The files are listed once and sorted, so that batch N holds the same files
on every run over the same directory; a directory gives its regular files,
not those of its subdirectories (a pattern with ``**`` reaches into them).

A position names its files, ``{first_item, count, files}``: a resume reads
back exactly those paths even if files were added in between (which the
source's identity, the listing with sizes and mtimes, reports).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from typing import Any, Final

from ..errors import InputError
from .base import check_batch_size
from .identity import check_identity, files_identity
from .model import Batch, Position, SourceIdentity, position_ints

__all__ = ["FilesSplitter"]

#: What makes a source a pattern rather than a directory's path.
_MAGIC: Final = re.compile(r"[*?[]")


class FilesSplitter:
    """Kind ``files``: ``batch_size`` file paths a batch, from a directory or a pattern."""

    kind = "files"
    rereadable = True

    def __init__(self, source: Any, batch_size: int) -> None:
        if not isinstance(source, str | os.PathLike):
            raise InputError(
                f"a 'files' source is a directory or a glob pattern, not a {type(source).__name__}"
            )
        #: The directory (absolute) or the pattern, as given.
        self.source = os.fspath(source)
        self.batch_size = check_batch_size(batch_size)
        if not self.paths() and _MAGIC.search(self.source):
            # Most likely a typo; an empty directory is only empty.
            raise InputError(f"no files match {self.source!r} (the 'files' batch source)")

    def paths(self) -> list[str]:
        """The source's files now: absolute paths, sorted."""
        source = self.source
        if os.path.isdir(source):
            folder = os.path.abspath(source)
            listed = (os.path.join(folder, name) for name in os.listdir(folder))
            return sorted(p for p in listed if os.path.isfile(p))
        if _MAGIC.search(source):
            matched = glob.glob(source, recursive=True)
            return sorted(os.path.abspath(p) for p in matched if os.path.isfile(p))
        if os.path.exists(source):
            raise InputError(
                f"{source} is a file; a 'files' source is a directory or a glob pattern "
                "(to split one file, use kind 'lines', 'csv', 'jsonl', 'bytes' or 'parquet')"
            )
        raise InputError(f"no directory {source} (the 'files' batch source)")

    def __iter__(self) -> Iterator[Batch]:
        paths = self.paths()
        for index, start in enumerate(range(0, len(paths), self.batch_size)):
            items = paths[start : start + self.batch_size]
            position = {"kind": self.kind, "first_item": start, "count": len(items), "files": items}
            yield Batch(index, position, list(items))

    def read(self, position: Position) -> list[Any]:
        """The paths the batch at ``position`` holds (kept in the position itself)."""
        (count,) = position_ints(position, self.kind, "count")
        files = position.get("files")
        if (
            not isinstance(files, list)
            or len(files) != count
            or not all(isinstance(p, str) for p in files)
        ):
            raise InputError(f"the position of a 'files' batch needs {count} paths, not {files!r}")
        return list(files)

    def identity(self) -> SourceIdentity:
        """The files now, each with its size and mtime_ns."""
        return files_identity(self.source, self.paths())

    def check(self, identity: SourceIdentity, *, force: bool = False) -> list[str]:
        """Files added, removed or changed since ``identity``; ``SourceChanged`` unless forced."""
        return check_identity(self.source, identity, self.identity(), force=force)

    def __repr__(self) -> str:
        return f"<FilesSplitter {self.source} batch_size={self.batch_size}>"

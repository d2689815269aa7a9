"""The identity of a source, and what changed between two of them.

A file is the same file when its size, its modification time (in
nanoseconds) and the SHA-256 of its first 64 KiB are.  Hashing the whole
file would be exact but would read a 500 GB input once more on every start
and resume; size and mtime catch appends and rewrites, and the first block
catches an edit in place that kept the size and had its mtime restored (a
copy with ``cp -p``, an ``rsync`` of another version).

A directory or pattern is the same when it lists the same files, each of
the same size and mtime.  Contents are not hashed: there may be thousands.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import InputError, SourceChanged
from .model import SourceIdentity

__all__ = [
    "FIRST_BLOCK",
    "changes",
    "check_identity",
    "file_identity",
    "files_identity",
    "require_file",
]

#: How much of a file's start is hashed into its identity.
FIRST_BLOCK: Final = 64 * 1024


def require_file(source: object, kind: str) -> str:
    """The absolute path of the regular file ``source``, or ``InputError`` saying why not."""
    if not isinstance(source, str | os.PathLike):
        raise InputError(
            f"a {kind!r} source is the path of a file, not a {type(source).__name__}"
            + ("; for items in memory use kind 'iterable'" if kind != "iterable" else "")
        )
    path = os.path.abspath(os.fspath(source))
    if os.path.isdir(path):
        raise InputError(
            f"{path} is a directory; a {kind!r} source is one file "
            "(kind 'files' splits a directory or pattern into its files)"
        )
    if not os.path.isfile(path):
        raise InputError(f"no file {path} (the {kind!r} batch source)")
    return path


def file_identity(path: str) -> SourceIdentity:
    """What the file at ``path`` is now: path, size, mtime_ns, sha256 of its first block."""
    try:
        with open(path, "rb") as f:
            stat = os.fstat(f.fileno())
            first = f.read(FIRST_BLOCK)
    except FileNotFoundError as exc:
        raise InputError(f"no file {path} (the batch source)") from exc
    return {
        "kind": "file",
        "path": path,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": hashlib.sha256(first).hexdigest(),
    }


def files_identity(source: str, paths: Sequence[str]) -> SourceIdentity:
    """What the files of a directory or pattern are now: each path, size and mtime_ns."""
    files = []
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue  # gone between the listing and now: it is not there
        files.append({"path": path, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return {"kind": "files", "source": source, "files": files}


def check_identity(
    source: str, then: Mapping[str, Any], now: SourceIdentity, *, force: bool
) -> list[str]:
    """What changed from ``then`` to ``now``; ``SourceChanged`` naming it unless ``force``."""
    found = changes(then, now)
    if found and not force:
        raise SourceChanged(source, found)
    return found


def changes(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between two identities, one phrase each; empty when none does."""
    if not isinstance(then, Mapping) or then.get("kind") != now.get("kind"):
        was = then.get("kind") if isinstance(then, Mapping) else type(then).__name__
        return [f"it was a source of kind {was!r}, and is now one of kind {now.get('kind')!r}"]
    if now["kind"] == "file":
        return _file_changes(then, now)
    if now["kind"] == "files":
        return _files_changes(then, now)
    return []


def _file_changes(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    found = []
    if then.get("path") != now["path"]:
        found.append(f"it was {then.get('path')}, and is now {now['path']}")
    found.extend(_stat_changes(then, now))
    if then.get("sha256") != now["sha256"]:
        found.append(f"its first block ({FIRST_BLOCK // 1024} KiB) differs")
    return found


def _files_changes(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    before = {f.get("path"): f for f in then.get("files", []) if isinstance(f, Mapping)}
    after = {f["path"]: f for f in now["files"]}
    found = []
    added = [p for p in after if p not in before]
    removed = [str(p) for p in before if p not in after]
    if added:
        found.append(f"{_count(added)} added ({_some(added)})")
    if removed:
        found.append(f"{_count(removed)} removed ({_some(removed)})")
    for path, was in before.items():
        if path in after:
            found.extend(f"{path}: {change}" for change in _stat_changes(was, after[path]))
    return found


def _stat_changes(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    found = []
    if then.get("size") != now["size"]:
        found.append(f"size {then.get('size')} -> {now['size']} bytes")
    if then.get("mtime_ns") != now["mtime_ns"]:
        found.append(f"modified at {_when(now['mtime_ns'])} (was {_when(then.get('mtime_ns'))})")
    return found


def _when(mtime_ns: object) -> str:
    """A modification time to the nanosecond, in UTC: two saves a moment apart differ."""
    if isinstance(mtime_ns, bool) or not isinstance(mtime_ns, int):
        return repr(mtime_ns)
    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M:%S}.{nanos:09d} UTC"


def _count(paths: list[str]) -> str:
    return f"{len(paths)} file" + ("" if len(paths) == 1 else "s")


def _some(paths: list[str], shown: int = 3) -> str:
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")

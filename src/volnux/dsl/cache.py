"""Parsed workflows kept between processes: a text parsed once loads without lark.

A process that parses a workflow (``volnux run``, ``Workflow.from_file``)
leaves its :class:`~volnux.graph.model.Graph` here; a later process given
the same text and file name (``volnux runs resume``, the next ``volnux
run``) loads it instead of importing lark and parsing again.  For a
200-step chain that is about 30 ms of a resume's start, for a 10,000-step
one about 300 ms.

The folder is the user's cache folder (:func:`cache_dir`): entries are
pickles, so it is used only when no other user can write to it.  An entry is
named by a digest of the text, its file name, and this version of the
grammar, the graph builder, the graph model and lark, so a changed parser never
loads an old entry; an entry that cannot be read, or holds anything but the
graph of exactly that text, is deleted and the text parsed again.  At most
:data:`MAX_ENTRIES` are kept, the least recently used going first.
``VOLNUX_CACHE_DIR=off`` turns the cache (and the parser's table cache) off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import itertools
import os
import pickle
import sys
from pathlib import Path

from volnux.graph.model import Graph

__all__ = ["MAX_ENTRIES", "cache_dir", "load", "save"]

#: Entries kept at most; pruning (a process's first save, then every PRUNE_EVERY)
#: keeps the 3/4 most recently used.
MAX_ENTRIES = 256
PRUNE_EVERY = 32
#: Graphs pickled above this size are not kept (a 10,000-step chain is about 0.7 MB).
MAX_BYTES = 32 * 2**20
#: Bumped when what an entry holds changes shape.
FORMAT = 1

_HERE = Path(__file__).resolve().parent
#: The files a parsed graph depends on: change one and every entry is stale.
_SOURCES = (
    _HERE / "grammar.lark",
    _HERE / "builder.py",
    _HERE / "parser.py",
    _HERE.parent / "graph" / "model.py",
)
_saves = itertools.count(1)


@functools.cache
def cache_dir() -> Path | None:
    """The folder for cached parser output, or None when there must be none.

    ``$VOLNUX_CACHE_DIR`` (``off`` for none), else ``$XDG_CACHE_HOME/volnux``
    or ``~/.cache/volnux``; created if missing, and refused (None) if another
    user owns it or may write to it, since what it holds is unpickled.
    """
    setting = os.environ.get("VOLNUX_CACHE_DIR")
    if setting and setting.strip().lower() == "off":
        return None
    base = setting or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "volnux"
    )
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.stat(base)
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None  # others could plant a pickle there
    return Path(base)


@functools.cache
def _graphs() -> Path | None:
    base = cache_dir()
    if base is None:
        return None
    folder = base / "graphs"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder


@functools.cache
def _code_key() -> bytes:
    digest = hashlib.sha256(f"{FORMAT} {sys.version_info[:2]}".encode())
    # lark's version too (its __init__ states it), found without importing lark.
    lark = importlib.util.find_spec("lark")
    if lark is None or lark.origin is None:
        return b""
    for source in (*_SOURCES, Path(lark.origin)):
        try:
            digest.update(source.read_bytes())
        except OSError:  # not installed as files: no stable key, so no cache
            return b""
    return digest.digest()


def _entry(text: str, filename: str) -> Path | None:
    folder = _graphs()
    code = _code_key()
    if folder is None or not code:
        return None
    digest = hashlib.sha256(code)
    digest.update(filename.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return folder / f"{digest.hexdigest()[:40]}.graph"


def load(text: str, filename: str) -> Graph | None:
    """The cached graph of ``text`` from ``filename``, or None (parse it)."""
    path = _entry(text, filename)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None  # not cached (the usual miss)
    try:
        graph = pickle.loads(data)
        if type(graph) is not Graph or graph.source != text or graph.filename != filename:
            raise ValueError("not the graph of this text")
    except Exception:  # damaged, foreign or stale: parse again, and forget it
        _unlink(path)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: pruned last
    return graph


def save(graph: Graph) -> None:
    """Keep ``graph`` for the next process that parses the same text (best effort)."""
    path = _entry(graph.source, graph.filename)
    if path is None:
        return
    try:
        data = pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)
    except (RecursionError, pickle.PicklingError):  # extreme nesting: just parse next time
        return
    if len(data) > MAX_BYTES:
        return
    import tempfile  # only when saving: it costs a few ms to import

    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)  # readers see the whole entry or none
    except OSError:
        _unlink(Path(temp))
        return
    if next(_saves) % PRUNE_EVERY == 1:  # a process's first save, then every 32nd
        prune(path.parent)


def prune(folder: Path, keep: int = MAX_ENTRIES) -> None:
    """Delete the least recently used entries past ``keep`` (down to 3/4 of it)."""
    try:
        names = [name for name in os.listdir(folder) if name.endswith(".graph")]
    except OSError:
        return
    if len(names) <= keep:
        return
    aged = []
    for name in names:
        with contextlib.suppress(OSError):  # another process may have pruned it
            aged.append((os.stat(folder / name).st_mtime, name))
    aged.sort()
    for _, name in aged[: len(aged) - keep * 3 // 4]:
        _unlink(folder / name)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()

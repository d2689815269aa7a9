"""The result store: large results kept beside the journal, by content.

A result larger than the store's threshold (256 KiB unless configured), or
any result of an event declared with ``store_result="external"``, is written
to a result store instead of the journal.  The file is named by the SHA-256
of its bytes (``sha256/ab/abcdef...``), so equal results are kept once; the
journal keeps a :class:`ResultRef` (hash, size, codec, location, and the run
and node that made it).  Whoever needs the value reads the file back and
checks its hash: a missing or altered file is :class:`~volnux.errors.ResultMissing`.

Where the attempt runs decides who writes: an attempt writes its own large
array, table or bytes where it runs (a worker process, a Dask worker on
another machine), and hands the engine only the reference; the engine
writes a result whose encoded form turned out larger than the threshold.
A task given a reference (``|->``, or on resume) reads it where it runs.

The store is a local folder (by default ``results/`` beside a SQLite
journal: ``.volnux/results``) or any ``fsspec`` URL (``s3://``, ``gs://``,
``file://``, ``memory://``), so that workers on other machines write and
read results directly.  Values are encoded by the journal's codecs: NumPy
arrays as ``.npy``, pyarrow tables and pandas data frames as Parquet, bytes
as they are, other data as JSON, and pickle only where it is allowed.

A file is written under a temporary name, flushed to disk, then renamed to
its hash: a crash leaves either no file or the whole one.  ``volnux results
gc`` removes files no journaled run refers to (:func:`collect_garbage`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from ..errors import CorruptStoreError, ResultMissing, StoreError, UnencodableResult
from .codec import CodecSet, FileCodec, PickleCodec, typed_codec

__all__ = [
    "BESIDE",
    "DEFAULT_THRESHOLD",
    "RESULT_MODES",
    "ResultRef",
    "ResultStore",
    "collect_garbage",
    "configure_results",
    "has_refs",
    "quick_size",
    "resolve_refs",
    "result_store",
    "value_of",
]

#: Results whose size is above this (bytes) go to the result store by default.
DEFAULT_THRESHOLD: Final = 256 * 1024

#: What an event may say of its results: ``auto`` (by size), ``external``
#: (always in the result store), ``journal`` (never).
RESULT_MODES: Final = ("auto", "external", "journal")

_HASH_NAME: Final = "sha256"
_HEX: Final = re.compile(r"^[0-9a-f]{64}$")
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class ResultRef:
    """Where a result kept outside the journal is, and how to check it."""

    #: The SHA-256 of the stored bytes, as hex.
    digest: str
    #: The stored bytes' length.
    size: int
    #: The codec that wrote them (``npy``, ``parquet``, ``json``, ``bytes`` ...).
    codec: str
    #: The file: an absolute path, or an fsspec URL.
    location: str
    #: The run and node whose result it is.
    run: str = ""
    node: str = ""

    def to_json(self) -> dict[str, Any]:
        """Its JSON form, as journaled."""
        return {
            _HASH_NAME: self.digest,
            "size": self.size,
            "codec": self.codec,
            "location": self.location,
            "run": self.run,
            "node": self.node,
        }

    @classmethod
    def from_json(cls, data: Any) -> ResultRef:
        """The reference of :meth:`to_json`'s form; ValueError if it is not one."""
        try:
            digest, size = data[_HASH_NAME], data["size"]
            codec, location = data["codec"], data["location"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a result reference: {data!r}") from exc
        if not (isinstance(digest, str) and _HEX.match(digest)) or type(size) is not int:
            raise ValueError(f"not a result reference: {data!r}")
        return cls(
            digest, size, str(codec), str(location), data.get("run", ""), data.get("node", "")
        )

    def describe(self) -> str:
        """``2.0 MiB npy, sha256 1f2e3d4c at /path/...``: for people."""
        return f"{human_size(self.size)} {self.codec}, sha256 {self.digest[:8]} at {self.location}"

    def __str__(self) -> str:
        return f"<result {self.describe()}>"

    def load(self, *, allow_pickle: bool = False) -> Any:
        """The value, read from its file and checked against its hash.

        Raises :class:`~volnux.errors.ResultMissing` when the file is gone or
        its bytes are not those stored.
        """
        return _filesystem(self.location).load(
            self, CodecSet(PickleCodec() if allow_pickle else None)
        )

    def copy_to(self, out: IO[bytes]) -> None:
        """Write the stored bytes, checked against the hash, to ``out``."""
        fs = _filesystem(self.location)
        fs.verify(self)
        with fs.open_read(self) as source:
            while chunk := source.read(_CHUNK):
                out.write(chunk)


def human_size(size: int) -> str:
    """``512 B``, ``3.4 KiB``, ``52.0 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def quick_size(value: Any) -> int | None:
    """The size of ``value`` in bytes when it is known without encoding it (bytes,
    text, arrays and tables); None for other values (the engine measures their
    encoded form)."""
    cls = type(value)
    if cls is bytes or cls is bytearray or cls is str:
        return len(value)
    if typed_codec(value) is None:
        return None
    try:
        if cls.__name__ == "DataFrame":
            return int(value.memory_usage(index=True, deep=False).sum())
        return int(value.nbytes)
    except Exception:  # a type we guessed wrong: let the engine measure it
        return None


class ResultStore:
    """A folder or fsspec URL where results are kept by content (see the module).

    Small and picklable: it travels with attempts to worker processes and Dask
    workers, which write and read the results themselves.
    """

    __slots__ = ("allow_pickle", "location", "threshold")

    def __init__(
        self,
        location: str | os.PathLike[str],
        threshold: int | str = DEFAULT_THRESHOLD,
        *,
        allow_pickle: bool = False,
    ) -> None:
        text = os.fspath(location)
        if "://" not in text:
            text = str(Path(text).expanduser().absolute())
        elif text.startswith("file://"):
            text = str(Path(text.removeprefix("file://")).expanduser().absolute())
        #: An absolute path, or an fsspec URL.
        self.location = text.rstrip("/") or "/"
        if type(threshold) is not int:
            from ..config import parse_size  # its forms ("256KiB"), read with the file's

            threshold = parse_size(threshold)
        elif threshold < 0:
            raise ValueError(f"a threshold cannot be negative, got {threshold}")
        #: Results larger than this many bytes are kept here.
        self.threshold: int = threshold
        #: Whether values no other codec takes may be pickled (as the journal allows).
        self.allow_pickle = allow_pickle

    def __repr__(self) -> str:
        return f"ResultStore({self.location!r}, threshold={self.threshold})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.location, self.threshold, self.allow_pickle))

    def codecs(self) -> CodecSet:
        """The codecs values are written with."""
        return CodecSet(PickleCodec() if self.allow_pickle else None)

    def put(self, value: Any, run: str, node: str) -> ResultRef:
        """Keep ``value`` (encoded by type) and return its reference.

        Raises :class:`~volnux.errors.UnencodableResult` when no codec takes it.
        """
        typed = typed_codec(value)
        fs = _filesystem(self.location)
        if typed is not None:
            try:
                return fs.write(lambda out: typed.dump(value, out), typed.name, run, node)
            except Exception as exc:
                if not self.allow_pickle:
                    raise UnencodableResult(node, value, f"{typed.name}: {exc}") from exc
        data, codec = self.codecs().encode(node, value)
        if codec is None:
            raise UnencodableResult(node, value, "None is not kept in the result store")
        return self.put_encoded(data, codec, run, node)

    def put_encoded(self, data: bytes | str | None, codec: str, run: str, node: str) -> ResultRef:
        """Keep a value the journal's codec ``codec`` already encoded as ``data``."""
        raw = data.encode("utf-8") if isinstance(data, str) else (data or b"")
        return _filesystem(self.location).write(lambda out: out.write(raw), codec, run, node)

    def files(self) -> Iterator[tuple[str, str, float]]:
        """``(digest, location, modified)`` of every result file kept here."""
        return _filesystem(self.location).files()

    def remove(self, location: str) -> None:
        """Delete one result file."""
        _filesystem(self.location).remove(location)


class _Beside:
    """The default of a journal's ``results=``: the folder beside the journal."""

    def __repr__(self) -> str:
        return "BESIDE"


#: A journal's default result store: its own folder (see each journal).
BESIDE: Final = _Beside()


def result_store(given: object, beside: Path, codec: object = None) -> ResultStore | None:
    """The result store a journal was given: ``BESIDE`` (the folder ``beside``),
    None (results stay in the journal), a store, or a folder or URL."""
    allow = isinstance(codec, PickleCodec)
    if given is BESIDE:
        return ResultStore(beside, allow_pickle=allow)
    if given is None or isinstance(given, ResultStore):
        return given
    if isinstance(given, (str, os.PathLike)):
        return ResultStore(given, allow_pickle=allow)
    raise TypeError(f"results must be a ResultStore, a folder or a URL, not {type(given).__name__}")


def configure_results(journal: Any, location: str | None, threshold: int | None) -> None:
    """Keep ``journal``'s large results at ``location`` (None: where it keeps them
    now, else ``.volnux/results`` here) and above ``threshold`` bytes (None: as now,
    else the default)."""
    if location is None and threshold is None:
        return
    current: ResultStore | None = getattr(journal, "results", None)
    if location is None:
        location = current.location if current else str(Path.cwd() / ".volnux" / "results")
    if threshold is None:
        threshold = current.threshold if current else DEFAULT_THRESHOLD
    allow = current.allow_pickle if current else False
    journal.results = ResultStore(location, threshold, allow_pickle=allow)


def _rebuild(location: str, threshold: int, allow_pickle: bool) -> ResultStore:
    return ResultStore(location, threshold, allow_pickle=allow_pickle)


def value_of(result: Any) -> Any:
    """``result``, or the value it refers to when it is a :class:`ResultRef` (read now)."""
    return result.load() if type(result) is ResultRef else result


def has_refs(value: Any) -> bool:
    """Whether ``value`` is a :class:`ResultRef` or a group's results holding one."""
    cls = type(value)
    if cls is ResultRef:
        return True
    if cls is dict:
        return ResultRef in set(map(type, value.values()))
    return False


def resolve_refs(value: Any, allow_pickle: bool = False) -> Any:
    """``value`` with its references (see :func:`has_refs`) read back."""
    if type(value) is ResultRef:
        return value.load(allow_pickle=allow_pickle)
    return {
        key: item.load(allow_pickle=allow_pickle) if type(item) is ResultRef else item
        for key, item in value.items()
    }


class _HashingWriter(io.RawIOBase):
    """Writes through to a file while hashing and counting what passes; closing it
    (as some writers do when done) leaves the file open."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__()
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.hash.update(view)
        self.size += view.nbytes
        self.out.write(view)
        return view.nbytes

    def tell(self) -> int:
        return self.size


class _Files:
    """The operations a result store needs of a filesystem (see _Local, _Remote)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def write(self, dump: Callable[[Any], Any], codec: str, run: str, node: str) -> ResultRef:
        """Write a file through ``dump``, name it by its hash, return its reference."""
        temporary = self._join("tmp", f"{os.urandom(16).hex()}.part")
        try:
            with self._open_new(temporary) as out:
                writer = _HashingWriter(out)
                dump(writer)
                self._sync(out)
            digest = writer.hash.hexdigest()
            final = self._join(_HASH_NAME, digest[:2], digest)
            self._publish(temporary, final)
        except BaseException:
            self._discard(temporary)
            raise
        return ResultRef(digest, writer.size, codec, final, run, node)

    def verify(self, ref: ResultRef) -> None:
        """Raise ResultMissing unless the file holds exactly the bytes stored."""
        digest, size = hashlib.sha256(), 0
        with self.open_read(ref) as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        if digest.hexdigest() != ref.digest or size != ref.size:
            raise ResultMissing(
                f"the result of {ref.node} in run {ref.run} at {ref.location} is not what was "
                f"stored (sha256 {digest.hexdigest()[:12]}, {size} bytes; expected "
                f"{ref.digest[:12]}, {ref.size} bytes): run it again with "
                f"volnux runs retry {ref.run} --from {ref.node}"
            )

    def load(self, ref: ResultRef, codecs: CodecSet) -> Any:
        """The value of ``ref``, checked."""
        self.verify(ref)
        codec = codecs.codec(ref.codec, f"the result of {ref.node} in run {ref.run}")
        where = f"the result of {ref.node} in run {ref.run} at {ref.location}"
        with self.open_read(ref) as source:
            if isinstance(codec, FileCodec):  # reads the file itself, in pieces
                try:
                    return codec.load(source)
                except Exception as exc:
                    raise CorruptStoreError(f"{where} cannot be decoded: {exc}") from exc
            data = source.read()
        return codecs.decode(ref.codec, data, where)

    def open_read(self, ref: ResultRef) -> IO[bytes]:
        """The file of ``ref``, open for reading; ResultMissing if it is gone."""
        try:
            return self._open_existing(ref.location)
        except FileNotFoundError:
            raise ResultMissing(
                f"the result of {ref.node} in run {ref.run} is missing: no file at "
                f"{ref.location}; run it again with volnux runs retry {ref.run} "
                f"--from {ref.node}"
            ) from None

    # What each filesystem provides.
    def _join(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def _open_new(self, path: str) -> Any:
        raise NotImplementedError

    def _open_existing(self, path: str) -> IO[bytes]:
        raise NotImplementedError

    def _sync(self, out: Any) -> None:
        pass

    def _publish(self, temporary: str, final: str) -> None:
        raise NotImplementedError

    def _discard(self, path: str) -> None:
        raise NotImplementedError

    def files(self) -> Iterator[tuple[str, str, float]]:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError


class _Local(_Files):
    """A folder on this machine."""

    def _open_new(self, path: str) -> Any:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, "xb")

    def _open_existing(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    def _sync(self, out: Any) -> None:
        out.flush()
        os.fsync(out.fileno())

    def _publish(self, temporary: str, final: str) -> None:
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(temporary, final)  # the same content, if it was there: no harm

    def _discard(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def files(self) -> Iterator[tuple[str, str, float]]:
        top = Path(self.root) / _HASH_NAME
        if not top.is_dir():
            return
        for path in top.glob("*/*"):
            if _HEX.match(path.name):
                try:
                    yield path.name, str(path), path.stat().st_mtime
                except FileNotFoundError:
                    continue

    def remove(self, path: str) -> None:
        self._discard(path)


class _Remote(_Files):
    """Any fsspec filesystem (``s3://``, ``memory://`` ...)."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        try:
            import fsspec
        except ImportError:
            raise StoreError(
                f"the result store {root} needs fsspec: pip install 'volnux[dask]' "
                "(or pip install fsspec, with the package for that filesystem)"
            ) from None
        self.fs, _ = fsspec.core.url_to_fs(root)

    def _open_new(self, path: str) -> Any:
        return self.fs.open(path, "wb")

    def _open_existing(self, path: str) -> IO[bytes]:
        if not self.fs.exists(path):
            raise FileNotFoundError(path)
        opened: IO[bytes] = self.fs.open(path, "rb")
        return opened

    def _publish(self, temporary: str, final: str) -> None:
        if self.fs.exists(final):  # the same bytes are there already
            self.fs.rm(temporary)
        else:
            self.fs.mv(temporary, final)

    def _discard(self, path: str) -> None:
        try:
            if self.fs.exists(path):
                self.fs.rm(path)
        except OSError:
            pass

    def files(self) -> Iterator[tuple[str, str, float]]:
        top = self._join(_HASH_NAME)
        if not self.fs.exists(top):
            return
        for path, info in self.fs.find(top, detail=True).items():
            name = path.rsplit("/", 1)[-1]
            if _HEX.match(name):
                yield name, self.fs.unstrip_protocol(path), _modified(info)

    def remove(self, path: str) -> None:
        self._discard(path)


def _modified(info: dict[str, Any]) -> float:
    """When an fsspec file was last written, in seconds since the epoch (now if unknown)."""
    for key in ("mtime", "created", "LastModified", "last_modified"):
        found = info.get(key)
        if isinstance(found, (int, float)):
            return float(found)
        if found is not None and hasattr(found, "timestamp"):
            return float(found.timestamp())
    return time.time()


def _filesystem(location: str) -> _Files:
    """The filesystem of a store's location or of one of its files."""
    if "://" in location:
        return _Remote(location)
    return _Local(location)


def collect_garbage(
    store: ResultStore,
    referenced: Iterable[str],
    *,
    older_than: float = 3600.0,
    dry_run: bool = False,
) -> tuple[list[tuple[str, int]], int]:
    """Remove the files of ``store`` whose digest is not in ``referenced`` and that
    were written more than ``older_than`` seconds ago (a result written just now may
    belong to a run that has not journaled it yet).

    Returns ``([(location, size), ...] removed (or, dry, to remove), files kept)``.
    """
    keep = set(referenced)
    now = time.time()
    removed: list[tuple[str, int]] = []
    kept = 0
    fs = _filesystem(store.location)
    for digest, location, modified in store.files():
        if digest in keep or now - modified < older_than:
            kept += 1
            continue
        size = _size_of(fs, location)
        if not dry_run:
            store.remove(location)
        removed.append((location, size))
    return removed, kept


def _size_of(fs: _Files, location: str) -> int:
    if isinstance(fs, _Remote):
        return int(fs.fs.size(location) or 0)
    try:
        return os.stat(location).st_size
    except FileNotFoundError:
        return 0

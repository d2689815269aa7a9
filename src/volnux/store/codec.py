"""How task results become bytes in a journal, and back.

A result is stored by the first codec that takes it:

1. ``None`` is stored as SQL NULL (no codec).
2. A ``bytes`` value is stored as it is, by :class:`BytesCodec` (``"bytes"``).
3. Anything :class:`JsonCodec` accepts is stored as JSON text (``"json"``).
4. Anything else goes to the journal's *extra* codec, when one was given
   (:class:`PickleCodec` or your own :class:`Codec`).

Between 3 and 4, values of a few data types are stored by a codec chosen by
their type, without any opt-in (neither runs code when read): a NumPy array
as ``.npy`` (:class:`NumpyCodec`, ``"npy"``, object arrays refused), a
pyarrow ``Table`` as Parquet (:class:`ArrowCodec`, ``"parquet"``) and a
pandas ``DataFrame`` as Parquet (:class:`PandasCodec`, ``"pandas"``, through
pyarrow).  Their libraries are imported only when such a value or row is
met.  A :class:`~volnux.store.results.ResultRef` (a result kept in the
result store) is stored as its JSON description (``"ref"``).

If no codec takes the value, :meth:`CodecSet.encode` raises
:class:`~volnux.store.base.UnencodableResult`, before anything is written.

The JSON codec is strict on purpose.  A resumed run reads results back from
the journal while an uninterrupted run passes them on in memory; the two must
see the same values, so the codec refuses what JSON would silently change:
dict keys that are not strings (``{1: "a"}`` would come back as
``{"1": "a"}``), subclasses of the JSON types (an ``OrderedDict``,
``defaultdict``, ``IntEnum`` or named tuple would come back as the plain
type), and bytes nested inside a container.  One change is accepted and
documented: **a tuple comes back as a list** (JSON has no tuple, and
returning a pair is too common to refuse).  ``NaN`` and ``±Infinity`` are
written as Python's JSON does (``NaN``, ``Infinity``), which Python reads
back exactly but strict JSON parsers do not.

Each row stores the name of the codec that wrote it, so a reader knows how to
decode it.  A row written by a codec the reader does not have is an error,
never a guess: in particular a pickled row is only unpickled by a journal
opened with pickle turned on.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Iterable
from typing import IO, Any, Protocol, runtime_checkable

from ..errors import CorruptStoreError, StoreError, UnencodableResult, type_name

__all__ = [
    "ArrowCodec",
    "BytesCodec",
    "Codec",
    "CodecSet",
    "JsonCodec",
    "NumpyCodec",
    "PandasCodec",
    "PickleCodec",
    "typed_codec",
]


@runtime_checkable
class Codec(Protocol):
    """Turns values into ``bytes`` or ``str`` for a journal row, and back.

    ``encode`` raises (any exception) when it cannot encode a value; the
    journal turns that into :class:`~volnux.store.base.UnencodableResult`.
    ``name`` is stored with every row the codec writes and must stay the same
    for as long as such rows exist.
    """

    @property
    def name(self) -> str:
        """The name stored with each row this codec writes."""
        ...

    def encode(self, value: Any) -> bytes | str:
        """The stored form of ``value``."""
        ...

    def decode(self, data: bytes | str) -> Any:
        """The value whose stored form is ``data``."""
        ...


class _Refused(Exception):
    """A value JSON would not give back unchanged; ``path`` leads to the culprit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []  # innermost first, filled while unwinding

    def where(self) -> str:
        """``[...][...]``: the place of the refused part ("" for the whole value)."""
        return "".join(reversed(self.path))


_SCALARS = frozenset({type(None), bool, int, float, str})
_STR_ONLY = frozenset({str})


def _type_name(value: Any) -> str:
    return type_name(type(value))


def _check_json(value: Any) -> None:
    """Raise :class:`_Refused` unless ``value`` comes back from JSON unchanged
    (tuples as lists).  ``set(map(type, ...))`` runs in C, so flat containers
    of scalars, the common case, cost little more than the encoding itself."""
    cls = type(value)
    if cls in _SCALARS:
        return
    children: Iterable[tuple[Any, Any]]
    if cls is dict:
        if not set(map(type, value)) <= _STR_ONLY:
            key = next(k for k in value if type(k) is not str)
            raise _Refused(
                f"it has the key {key!r} ({_type_name(key)}); JSON keys are strings, so it "
                "would come back changed"
            )
        if set(map(type, value.values())) <= _SCALARS:
            return
        children = value.items()
    elif cls is list or cls is tuple:
        if set(map(type, value)) <= _SCALARS:
            return
        children = enumerate(value)
    elif isinstance(value, bytes):
        raise _Refused("bytes are only stored as a whole result, not inside a container")
    elif isinstance(value, (dict, list, tuple, str, int, float)):
        raise _Refused(
            f"a {_type_name(value)} would come back from JSON as a plain "
            f"{_json_base(value)}; convert it first"
        )
    else:
        raise _Refused(f"a {_type_name(value)} is not a JSON type")
    for key, child in children:
        if type(child) not in _SCALARS:
            try:
                _check_json(child)
            except _Refused as exc:
                exc.path.append(f"[{key!r}]")
                raise


def _json_base(value: Any) -> str:
    for base in (bool, int, float, str, dict, list, tuple):
        if isinstance(value, base):
            return "list" if base is tuple else base.__name__
    return "value"  # pragma: no cover - only called for the types above


# Built once: json.dumps with any non-default argument builds a new encoder on
# every call, which costs more than encoding a small result.  check_circular
# is off because _check_json has already recursed through every container (a
# cycle ends in RecursionError there); ensure_ascii (the default) keeps lone
# surrogates storable as UTF-8.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


class JsonCodec:
    """JSON text; refuses what JSON would change (see the module docstring)."""

    name = "json"

    def encode(self, value: Any) -> str:
        """JSON text for ``value``; raises ``ValueError`` when it would not round-trip."""
        cls = type(value)
        if cls is int:  # the commonest result; int's repr is its JSON
            return int.__repr__(value)
        if cls is str:
            return _ENCODER.encode(value)
        try:
            _check_json(value)
        except _Refused as exc:
            where = exc.where()
            raise ValueError(f"at {where}: {exc.reason}" if where else exc.reason) from None
        except RecursionError:
            raise ValueError("it is nested too deeply, or contains itself") from None
        try:
            return _ENCODER.encode(value)
        except (ValueError, RecursionError) as exc:  # e.g. an int over 4300 digits
            raise ValueError(str(exc)) from exc

    def decode(self, data: bytes | str) -> Any:
        """The value of JSON text ``data``."""
        return json.loads(data)


class BytesCodec:
    """A ``bytes`` result, stored as it is (a BLOB)."""

    name = "bytes"

    def encode(self, value: Any) -> bytes:
        """``value`` itself; raises ``TypeError`` unless it is exactly ``bytes``."""
        if type(value) is not bytes:
            raise TypeError(f"a {_type_name(value)} is not bytes")
        return value

    def decode(self, data: bytes | str) -> bytes:
        """The stored bytes."""
        return data if isinstance(data, bytes) else data.encode("utf-8")


class PickleCodec:
    """Any picklable value, with :mod:`pickle` protocol 5.

    **Loading a pickle runs code chosen by whoever wrote it.**  Turn this on
    only for a journal whose every writer you trust: anyone who can write to
    a shared database file can make every reader that has pickle turned on
    run their code.  A journal without pickle refuses pickled rows instead of
    loading them.
    """

    name = "pickle"

    # Fixed, not HIGHEST_PROTOCOL, so that a file written by a newer Python
    # stays readable by every Python this package supports.
    protocol = 5

    def encode(self, value: Any) -> bytes:
        """The pickle of ``value``."""
        return pickle.dumps(value, protocol=self.protocol)

    def decode(self, data: bytes | str) -> Any:
        """The unpickled value (runs code from ``data``: trust the writer)."""
        if not isinstance(data, bytes):
            raise TypeError("pickled data must be bytes, not text")
        return pickle.loads(data)


class FileCodec:
    """A codec that writes to and reads from a binary file object (the result
    store streams large values through :meth:`dump` and :meth:`load`)."""

    name = ""

    def dump(self, value: Any, out: IO[bytes]) -> None:
        """Write the stored form of ``value`` to ``out``."""
        raise NotImplementedError

    def load(self, source: IO[bytes]) -> Any:
        """The value whose stored form ``source`` holds."""
        raise NotImplementedError

    def encode(self, value: Any) -> bytes:
        """The stored form of ``value``, in memory."""
        out = io.BytesIO()
        self.dump(value, out)
        return out.getvalue()

    def decode(self, data: bytes | str) -> Any:
        """The value of the stored form ``data``."""
        if not isinstance(data, bytes):
            raise TypeError(f"{self.name} data must be bytes, not text")
        return self.load(io.BytesIO(data))


class NumpyCodec(FileCodec):
    """A NumPy array as an ``.npy`` file; arrays of Python objects are refused
    (they would need pickle)."""

    name = "npy"

    def dump(self, value: Any, out: IO[bytes]) -> None:
        """``numpy.save`` of ``value``, without pickle."""
        import numpy

        if value.dtype.hasobject:
            raise ValueError("an array of Python objects would need pickle")
        numpy.save(out, value, allow_pickle=False)

    def load(self, source: IO[bytes]) -> Any:
        """``numpy.load``, without pickle."""
        import numpy

        return numpy.load(source, allow_pickle=False)


class ArrowCodec(FileCodec):
    """A pyarrow ``Table`` as Parquet."""

    name = "parquet"

    def dump(self, value: Any, out: IO[bytes]) -> None:
        """Parquet of ``value``."""
        import pyarrow.parquet as pq

        pq.write_table(value, out)

    def load(self, source: IO[bytes]) -> Any:
        """The table (Parquet needs a seekable ``source``)."""
        import pyarrow.parquet as pq

        return pq.read_table(source)


class PandasCodec(FileCodec):
    """A pandas ``DataFrame`` as Parquet, through pyarrow (index kept)."""

    name = "pandas"

    def dump(self, value: Any, out: IO[bytes]) -> None:
        """Parquet of ``value``."""
        import pyarrow
        import pyarrow.parquet as pq

        pq.write_table(pyarrow.Table.from_pandas(value), out)

    def load(self, source: IO[bytes]) -> Any:
        """The data frame."""
        import pyarrow.parquet as pq

        return pq.read_table(source).to_pandas()


_NUMPY, _ARROW, _PANDAS = NumpyCodec(), ArrowCodec(), PandasCodec()

#: (module prefix, class name) -> the codec chosen for values of that type.
_TYPED: dict[tuple[str, str], FileCodec] = {
    ("numpy", "ndarray"): _NUMPY,
    ("pyarrow", "Table"): _ARROW,
    ("pandas", "DataFrame"): _PANDAS,
}


def typed_codec(value: Any) -> FileCodec | None:
    """The codec chosen for ``value`` by its type (a NumPy array, a pyarrow table,
    a pandas data frame), or None; no library is imported to tell."""
    cls = type(value)
    return _TYPED.get((cls.__module__.partition(".")[0], cls.__name__))


class RefCodec:
    """A :class:`~volnux.store.results.ResultRef`, as its JSON description."""

    name = "ref"

    def encode(self, value: Any) -> str:
        """The reference's JSON text."""
        return json.dumps(value.to_json(), separators=(",", ":"))

    def decode(self, data: bytes | str) -> Any:
        """The reference (not what it refers to)."""
        from .results import ResultRef

        return ResultRef.from_json(json.loads(data))


_JSON = JsonCodec()
_BYTES = BytesCodec()
_REF = RefCodec()
_BUILTIN_NAMES = frozenset({_JSON.name, _BYTES.name, _REF.name, *(c.name for c in _TYPED.values())})


class CodecSet:
    """The codecs one journal uses: bytes, JSON, then an optional extra codec."""

    def __init__(self, extra: Codec | None = None) -> None:
        if extra is not None and extra.name in _BUILTIN_NAMES:
            raise ValueError(f"codec name {extra.name!r} is taken by a built-in codec")
        self.extra = extra
        self._by_name: dict[str, Codec] = {_JSON.name: _JSON, _BYTES.name: _BYTES, _REF.name: _REF}
        self._by_name.update((codec.name, codec) for codec in _TYPED.values())
        if extra is not None:
            self._by_name[extra.name] = extra

    def encode(self, node_id: str, value: Any) -> tuple[bytes | str | None, str | None]:
        """``(stored form, codec name)`` of task ``node_id``'s result.

        Raises :class:`UnencodableResult` when no codec takes ``value``.
        """
        try:
            return self.encode_value(value)
        except ValueError as exc:
            raise UnencodableResult(node_id, value, str(exc)) from exc.__cause__

    def encode_value(self, value: Any) -> tuple[bytes | str | None, str | None]:
        """``(stored form, codec name)``, ``(None, None)`` for ``None``.

        Raises ``ValueError``, saying why, when no codec takes ``value``.
        """
        if value is None:
            return None, None
        if type(value) is bytes:
            return value, _BYTES.name
        try:
            return _JSON.encode(value), _JSON.name
        except ValueError as exc:
            json_reason = str(exc)
        from .results import ResultRef

        if type(value) is ResultRef:
            return _REF.encode(value), _REF.name
        typed = typed_codec(value)
        if typed is not None:
            try:
                return typed.encode(value), typed.name
            except Exception as exc:  # e.g. an object array: the extra codec may take it
                json_reason = f"{typed.name}: {exc}"
        extra = self.extra
        if extra is None:
            raise ValueError(
                f"{json_reason} (values are stored as JSON: return JSON data, or open the "
                "journal with a codec for this type, e.g. allow_pickle=True)"
            )
        try:
            return extra.encode(value), extra.name
        # A codec may be user code and may fail in any way; whatever the
        # failure, the value cannot be stored and the caller must be told so.
        except Exception as exc:
            raise ValueError(f"not JSON ({json_reason}), and {extra.name}: {exc}") from exc

    def decode(self, codec_name: str | None, data: bytes | str | None, where: str) -> Any:
        """The value stored as ``data`` by codec ``codec_name``; ``where`` names the row.

        Raises :class:`StoreError` when this set lacks the codec (a pickled row
        read without pickle turned on), :class:`CorruptStoreError` when the
        data does not decode.
        """
        if codec_name is None:
            return None
        codec = self.codec(codec_name, where)
        if data is None:
            raise StoreError(f"{where} names codec {codec_name!r} but holds no data")
        try:
            return codec.decode(data)
        # As in encode: the codec may be user code; any failure means the row
        # cannot be read, which the caller reports with the row's place.
        except Exception as exc:
            raise CorruptStoreError(
                f"{where} cannot be decoded with {codec_name!r}: {exc}"
            ) from exc

    def codec(self, codec_name: str, where: str) -> Codec:
        """The codec named ``codec_name``; :class:`StoreError` (saying what ``where``
        needs it for) when this set lacks it."""
        codec = self._by_name.get(codec_name)
        if codec is None:
            if codec_name == PickleCodec.name:
                raise StoreError(
                    f"{where} was stored with pickle, which this journal does not load: "
                    "unpickling runs code from the database. If you trust every writer "
                    "of this database, open it with allow_pickle=True"
                )
            raise StoreError(
                f"{where} was stored with codec {codec_name!r}, which this journal does not "
                f"have (it has {', '.join(sorted(self._by_name))}); open it with that codec"
            )
        return codec

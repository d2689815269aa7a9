"""The codecs: what JSON stores exactly, what it refuses and why, pickle and custom codecs."""

from __future__ import annotations

import collections
import decimal
import enum
import math
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from volnux.errors import CorruptStoreError, StoreError
from volnux.store.base import UnencodableResult
from volnux.store.codec import BytesCodec, Codec, CodecSet, JsonCodec, PickleCodec


class Colour(enum.IntEnum):
    RED = 1


class Point(NamedTuple):
    x: int
    y: int


class DecimalCodec:
    """A custom codec: decimals as their string."""

    name = "decimal"

    def encode(self, value: Any) -> str:
        if not isinstance(value, decimal.Decimal):
            raise TypeError("only Decimal")
        return str(value)

    def decode(self, data: bytes | str) -> Any:
        return decimal.Decimal(data if isinstance(data, str) else data.decode())


def test_codecs_satisfy_the_protocol() -> None:
    for codec in (JsonCodec(), BytesCodec(), PickleCodec(), DecimalCodec()):
        assert isinstance(codec, Codec)


@pytest.mark.parametrize(
    "value",
    [None, 0, 1.25, "x", True, [1, "a", None], {"a": [1, {"b": 2.0}]}, 10**300,
     float("inf"), -float("inf"), "\ud800 lone surrogate", "日本語"],
    ids=repr,
)  # fmt: skip
def test_json_round_trips_exactly(value: Any) -> None:
    codec = JsonCodec()
    assert codec.decode(codec.encode(value)) == value


def test_json_keeps_nan() -> None:
    codec = JsonCodec()
    assert math.isnan(codec.decode(codec.encode(float("nan"))))


def test_a_tuple_comes_back_as_a_list() -> None:
    codec = JsonCodec()
    assert codec.decode(codec.encode((1, (2, 3), {"k": (4,)}))) == [1, [2, 3], {"k": [4]}]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1, 2}, "a set is not a JSON type"),
        (object(), "a object is not a JSON type"),
        ({1: "a"}, "the key 1 (int)"),
        ({"ok": {(1, 2): "a"}}, "at ['ok']: it has the key (1, 2) (tuple)"),
        ([0, [1, {"k": {2}}]], "at [1][1]['k']: a set is not a JSON type"),
        (collections.OrderedDict(a=1), "collections.OrderedDict would come back from JSON as a "
                                       "plain dict"),
        ({"d": collections.defaultdict(list)}, "at ['d']: a collections.defaultdict"),
        (Colour.RED, "would come back from JSON as a plain int"),
        ([Point(1, 2)], "come back from JSON as a plain list"),
        ({"raw": b"x"}, "bytes are only stored as a whole result"),
        (bytearray(b"x"), "a bytearray is not a JSON type"),
        (decimal.Decimal("1.5"), "decimal.Decimal is not a JSON type"),
        (10**5000, "digits"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else "",
)  # fmt: skip
def test_json_refuses_what_it_would_change(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        JsonCodec().encode(value)
    assert message in str(info.value)


def test_json_refuses_a_value_that_contains_itself() -> None:
    value: list[Any] = [1]
    value.append(value)
    with pytest.raises(ValueError, match="contains itself"):
        JsonCodec().encode(value)


def test_codec_set_picks_bytes_json_then_extra() -> None:
    codecs = CodecSet(DecimalCodec())
    assert codecs.encode("t", None) == (None, None)
    assert codecs.encode("t", b"ab") == (b"ab", "bytes")
    assert codecs.encode("t", {"a": 1}) == ('{"a":1}', "json")
    assert codecs.encode("t", decimal.Decimal("1.5")) == ("1.5", "decimal")
    assert codecs.decode("decimal", "1.5", "here") == decimal.Decimal("1.5")
    assert codecs.decode(None, None, "here") is None


def test_unencodable_names_the_task_and_the_way_out() -> None:
    with pytest.raises(UnencodableResult) as info:
        CodecSet().encode("price", {"when": {1, 2}})
    error = info.value
    assert error.node_id == "price"
    assert error.type_name == "dict"
    text = str(error)
    assert "'price'" in text and "at ['when']: a set" in text and "allow_pickle" in text


def test_extra_codec_failure_gives_both_reasons() -> None:
    with pytest.raises(UnencodableResult) as info:
        CodecSet(DecimalCodec()).encode("t", {1, 2})
    assert "a set is not a JSON type" in str(info.value)
    assert "decimal: only Decimal" in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)


def test_pickle_round_trips_what_json_refuses() -> None:
    codecs = CodecSet(PickleCodec())
    value = {"when": {1, 2}, "point": Point(1, 2), 3: collections.OrderedDict(a=1)}
    data, name = codecs.encode("t", value)
    assert name == "pickle" and isinstance(data, bytes)
    assert codecs.decode(name, data, "row") == value
    # JSON still comes first: a pickle-enabled journal writes readable rows.
    assert codecs.encode("t", [1]) == ("[1]", "json")


def test_unpickleable_value_is_unencodable() -> None:
    with pytest.raises(UnencodableResult, match="pickle"):
        CodecSet(PickleCodec()).encode("t", lambda: None)


def test_pickled_rows_are_refused_without_pickle() -> None:
    data, name = CodecSet(PickleCodec()).encode("t", {1, 2})
    assert name is not None
    with pytest.raises(StoreError, match="allow_pickle=True") as info:
        CodecSet().decode(name, data, "the result of task 't'")
    assert "the result of task 't'" in str(info.value)
    assert "runs code" in str(info.value)


def test_rows_of_an_unknown_codec_are_refused() -> None:
    with pytest.raises(StoreError, match="'decimal'"):
        CodecSet().decode("decimal", "1.5", "row 3")


def test_undecodable_data_is_corrupt() -> None:
    with pytest.raises(CorruptStoreError, match="row 3"):
        CodecSet().decode("json", "{not json", "row 3")


def test_builtin_codec_names_are_taken() -> None:
    class Impostor(DecimalCodec):
        name = "json"

    with pytest.raises(ValueError, match="taken"):
        CodecSet(Impostor())


def test_a_type_from_an_events_file_is_named_by_its_file(tmp_path: Path) -> None:
    from volnux.errors import UnencodableResult
    from volnux.events import load_events_source

    (tmp_path / "shop.py").write_text("class Basket:\n    pass\n")
    module = load_events_source(str(tmp_path / "shop.py"))
    error = UnencodableResult("Pack", module.Basket(), "not JSON")
    assert error.type_name == "Basket (shop.py)"
    assert "volnux_events_" not in str(error)
    assert UnencodableResult("Pack", {1}, "x").type_name == "set"

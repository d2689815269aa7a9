"""The fast record encoder writes exactly what the general one writes."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volnux.engine.clock import microsecond_time
from volnux.states import TaskState
from volnux.store.base import ErrorInfo, TaskRecord
from volnux.store.sqlite.records import RecordEncoder, decode_batch, encode_record

times = st.floats(allow_nan=False, allow_infinity=False, width=64)
# (data, codec) as the journal hands them over: no result, JSON text, or another codec's output.
encoded = st.one_of(
    st.just((None, None)),
    st.integers().map(lambda i: (str(i), "json")),
    st.text().map(lambda t: (json.dumps(t), "json")),
    st.binary(max_size=8).map(lambda b: (b, "pickle")),
    st.text(max_size=8).map(lambda t: (t, "custom")),
)


@given(
    node_id=st.text(max_size=12),
    state=st.sampled_from(TaskState),
    attempt=st.integers(min_value=0, max_value=10**6),
    at=times,
    rnd=st.integers(min_value=0, max_value=10**9),
    descriptor=st.none() | st.integers(min_value=-1, max_value=9),
    error=st.none() | st.builds(ErrorInfo, st.text(max_size=8), st.text(max_size=8)),
    retry_at=st.none() | times,
    note=st.none() | st.text(max_size=8),
    data_codec=encoded,
)
def test_fast_encoder_matches_general(
    node_id: str,
    state: TaskState,
    attempt: int,
    at: float,
    rnd: int,
    descriptor: int | None,
    error: ErrorInfo | None,
    retry_at: float | None,
    note: str | None,
    data_codec: tuple[bytes | str | None, str | None],
) -> None:
    data, codec = data_codec
    rec = TaskRecord("r", node_id, state, attempt, at, rnd, descriptor, None, error, retry_at, note)
    fast = RecordEncoder()
    assert fast(rec, data, codec) == encode_record(rec, data, codec)
    assert fast(rec, data, codec) == encode_record(rec, data, codec)  # the cached name too
    json.loads(fast(rec, data, codec))  # and it is JSON


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_fast_encoder_refuses_unwritable_times(bad: float) -> None:
    rec = TaskRecord("r", "A", TaskState.RUNNING, 1, bad)
    with pytest.raises(ValueError, match="cannot be recorded"):
        RecordEncoder()(rec, None, None)


def test_fast_encoder_forgets_names_past_its_bound() -> None:
    fast = RecordEncoder()
    for i in range(RecordEncoder.MAX_NAMES + 10):
        fast(TaskRecord("r", f"n{i}", TaskState.RUNNING, 1, 1.0), None, None)
    assert len(fast._names) <= RecordEncoder.MAX_NAMES
    assert fast(TaskRecord("r", "n1", TaskState.RUNNING, 1, 1.0), None, None).startswith('["n1",')


def _read_back(text: str) -> list[TaskRecord]:
    def no_codec(codec: str, data: bytes | str, place: str) -> object:
        raise AssertionError(f"no codec expected, got {codec} at {place}")

    return decode_batch("[" + text + "]", "r", lambda value, _: TaskState(value), no_codec, str)


@given(at=times, retry_at=st.none() | times)
def test_times_read_back_as_exactly_the_same_floats(at: float, retry_at: float | None) -> None:
    # Whichever spelling is used, the same float must come back, and a float
    # it must stay (100.0 and -0.0 would read back as ints if written so).
    for rec in (
        TaskRecord("r", "A", TaskState.RUNNING, 1, at),
        TaskRecord("r", "A", TaskState.RETRYING, 1, at, next_attempt_at=retry_at),
    ):
        (back,) = _read_back(RecordEncoder()(rec, None, None))
        assert back == rec
        assert type(back.at) is float and math.copysign(1, back.at) == math.copysign(1, at)
        assert back.next_attempt_at is None or type(back.next_attempt_at) is float


@pytest.mark.parametrize(
    ("at", "written"),
    [
        # Whole microseconds (what the engine's clock gives): their count.
        (100.0, "100000000"),
        (0.1, "100000"),
        (-2.5, "-2500000"),
        (9e9, "9000000000000000"),
        # Anything else: the float, with 17 digits, that still reads as a float.
        (1764496050.1234567, "1764496050.1234567"),
        (0.1234567891, "0.12345678910000001"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1e10, "10000000000.0"),  # past 2**53 microseconds
        (1e22, "1e+22"),
    ],
)
def test_times_are_written_as_microseconds_when_whole(at: float, written: str) -> None:
    for fast in (True, False):
        rec = TaskRecord("r", "A", TaskState.RUNNING, 1, at, note=None if fast else "n")
        text = RecordEncoder()(rec, None, None)  # a note takes the general encoder
        assert f",{written}," in text
        (back,) = _read_back(text)
        assert back.at == at and type(back.at) is float
        assert math.copysign(1, back.at) == math.copysign(1, at)


@given(st.integers(min_value=1_700_000_000_000_000, max_value=2**51))
def test_the_engine_clock_times_are_written_as_microseconds(us: int) -> None:
    at = us / 1e6  # what microsecond_time() returns
    rec = TaskRecord("r", "A", TaskState.RETRYING, 1, at, next_attempt_at=at)
    text = RecordEncoder()(rec, None, None)
    assert text.count(f",{us},") == 2 and text.endswith(f",{us},null]")
    (back,) = _read_back(text)
    assert back.at == at and back.next_attempt_at == at


def test_microsecond_time_is_now_to_the_microsecond() -> None:
    before = time.time()
    now = microsecond_time()
    after = time.time()
    assert before - 1e-6 <= now <= after
    assert round(now * 1e6) / 1e6 == now

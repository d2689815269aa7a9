"""The result store: large results kept by content beside the journal, read back checked."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from volnux.errors import CorruptStoreError, ResultMissing, UnencodableResult
from volnux.store.codec import CodecSet, typed_codec
from volnux.store.results import (
    DEFAULT_THRESHOLD,
    ResultRef,
    ResultStore,
    collect_garbage,
    has_refs,
    quick_size,
    resolve_refs,
)
from volnux.store.sqlite import SQLiteJournal


def test_arrays_tables_and_frames_are_stored_by_type_without_pickle() -> None:
    codecs = CodecSet()
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    fortran = np.asfortranarray(np.linspace(0, 1, 20).reshape(4, 5))
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", None]})
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": ["p", "q"]}, index=["r1", "r2"])
    for value, name in ((array, "npy"), (fortran, "npy"), (table, "parquet"), (frame, "pandas")):
        data, codec = codecs.encode_value(value)
        assert codec == name and isinstance(data, bytes)
        back = codecs.decode(codec, data, "here")
        assert type(back) is type(value)
        if name == "npy":
            assert back.dtype == value.dtype and np.array_equal(back, value)
        elif name == "parquet":
            assert back.equals(value)
        else:
            pd.testing.assert_frame_equal(back, value)


def test_an_array_of_objects_needs_pickle_and_says_so() -> None:
    objects = np.array([{"a": 1}, None], dtype=object)
    with pytest.raises(
        UnencodableResult, match="npy: an array of Python objects would need pickle"
    ):
        CodecSet().encode("T", objects)


def test_types_are_told_apart_without_importing_their_libraries() -> None:
    assert typed_codec(np.zeros(2)) is not None and typed_codec([1, 2]) is None
    assert quick_size(np.zeros(10)) == 80 and quick_size(b"abc") == 3 and quick_size("ab") == 2
    assert quick_size({"a": 1}) is None


def test_equal_values_are_kept_once_named_by_their_hash(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    array = np.arange(1000, dtype=np.float64)
    first = store.put(array, "run-1", "A")
    second = store.put(array.copy(), "run-2", "B")
    stored = Path(first.location).read_bytes()
    assert first.digest == second.digest == hashlib.sha256(stored).hexdigest()
    assert (
        first.location
        == second.location
        == str(tmp_path / "results" / "sha256" / first.digest[:2] / first.digest)
    )
    assert first.size == len(stored) and first.codec == "npy"
    assert (first.run, first.node, second.run, second.node) == ("run-1", "A", "run-2", "B")
    assert [d for d, _, _ in store.files()] == [first.digest]
    assert not list((tmp_path / "results" / "tmp").iterdir())  # no partial files left
    assert np.array_equal(first.load(), array)
    frame = pd.DataFrame({"k": list(range(100))})
    pd.testing.assert_frame_equal(store.put(frame, "r", "F").load(), frame)


def test_a_reference_journals_as_json_and_comes_back() -> None:
    ref = ResultRef("ab" * 32, 10, "npy", "/somewhere/x", "run-1", "A")
    data, codec = CodecSet().encode_value(ref)
    assert codec == "ref"
    assert CodecSet().decode(codec, data, "here") == ref
    with pytest.raises(CorruptStoreError, match="not a result reference"):
        CodecSet().decode("ref", '{"sha256": "zz", "size": 1}', "here")


def test_a_missing_file_names_the_run_node_and_location(tmp_path: Path) -> None:
    ref = ResultStore(tmp_path).put(b"payload" * 10, "run-7", "Train")
    os.unlink(ref.location)
    with pytest.raises(ResultMissing) as caught:
        ref.load()
    message = str(caught.value)
    assert "the result of Train in run run-7 is missing" in message
    assert ref.location in message and "volnux runs retry run-7 --from Train" in message


def test_a_file_whose_bytes_changed_is_refused(tmp_path: Path) -> None:
    ref = ResultStore(tmp_path).put(np.arange(100), "run-7", "Train")
    data = bytearray(Path(ref.location).read_bytes())
    data[-1] ^= 0xFF  # one bit of the last element
    Path(ref.location).write_bytes(bytes(data))
    with pytest.raises(ResultMissing, match=r"the result of Train in run run-7 at .* is not what"):
        ref.load()
    out = io.BytesIO()
    with pytest.raises(ResultMissing):
        ref.copy_to(out)


def test_an_fsspec_url_keeps_results_too() -> None:
    store = ResultStore("memory://volnux-test-results")
    ref = store.put(pa.table({"x": list(range(50))}), "r", "N")
    assert ref.location.startswith("memory://volnux-test-results/sha256/")
    assert ref.load().column("x").to_pylist() == list(range(50))
    assert [d for d, _, _ in store.files()] == [ref.digest]
    removed, kept = collect_garbage(store, set(), older_than=0)
    assert len(removed) == 1 and removed[0][0].endswith(ref.digest) and kept == 0
    assert list(store.files()) == []


def test_gc_removes_only_old_files_no_run_refers_to(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    kept_ref = store.put(b"a" * 100, "r", "A")
    old = store.put(b"b" * 100, "r", "B")
    new = store.put(b"c" * 100, "r", "C")
    long_ago = time.time() - 7200
    for ref in (kept_ref, old):
        os.utime(ref.location, (long_ago, long_ago))
    removed, kept = collect_garbage(store, {kept_ref.digest}, older_than=3600, dry_run=True)
    assert [loc for loc, _ in removed] == [old.location] and kept == 2
    assert Path(old.location).exists()  # a dry run removes nothing
    removed, kept = collect_garbage(store, {kept_ref.digest}, older_than=3600)
    assert [(loc, size) for loc, size in removed] == [(old.location, 100)]
    assert not Path(old.location).exists()
    assert Path(kept_ref.location).exists() and Path(new.location).exists()


def test_references_in_what_is_piped_are_read_back(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    ref = store.put(b"z" * 10, "r", "A")
    assert has_refs(ref) and has_refs({"A": ref, "B": 2}) and not has_refs([ref])
    assert not has_refs({"a": 1}) and not has_refs(None)
    assert resolve_refs({"A": ref, "B": 2}) == {"A": b"z" * 10, "B": 2}


def test_a_sqlite_journal_keeps_results_beside_itself_by_default(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "state" / "volnux.db")
    try:
        assert journal.results is not None
        assert journal.results.location == str(tmp_path / "state" / "results")
        assert journal.results.threshold == DEFAULT_THRESHOLD == 256 * 1024
        assert not (tmp_path / "state" / "results").exists()  # made when first needed
    finally:
        journal.close()
    other = SQLiteJournal(tmp_path / "b.db", results=None)
    assert other.results is None
    other.close()


def test_a_result_store_pickles_small_for_workers(tmp_path: Path) -> None:
    import pickle

    store = ResultStore(tmp_path, "1MB", allow_pickle=True)
    back = pickle.loads(pickle.dumps(store))
    assert (back.location, back.threshold, back.allow_pickle) == (str(tmp_path), 10**6, True)
    with pytest.raises(ValueError, match="is not a size"):
        ResultStore(tmp_path, "lots")

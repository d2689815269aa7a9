"""Splitting sources into batches: every kind covers its items once, in order, in
batches of ``batch_size``; each batch reads back from its position alone; a changed
source is refused by name unless forced; and memory stays bounded by the batch."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volnux.batch import KINDS, Batch, FileSplitter, Position, Splitter, splitter
from volnux.errors import InputError, ResumeRefused, SourceChanged, VolnuxError

SRC = Path(__file__).resolve().parents[2] / "src"


def roundtrip(value: Any) -> Any:
    """``value`` as a journal gives it back: through JSON."""
    return json.loads(json.dumps(value))


def batches_of(split: Splitter, expected: list[Any], batch_size: int) -> list[Batch]:
    """The batches of ``split``, checked to cover ``expected`` once, in order, and to
    read back from their positions (as JSON) to the same items."""
    batches = list(split)
    assert [b.index for b in batches] == list(range(len(batches)))
    assert [item for b in batches for item in b.items] == expected
    assert all(b.size == batch_size for b in batches[:-1])
    assert all(0 < b.size <= batch_size for b in batches)
    for batch in batches:
        assert roundtrip(batch.position) == batch.position
        assert split.read(roundtrip(batch.position)) == batch.items
    return batches


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------- lines


LINES_TEXT = "héllo\r\nwörld\n\na\rb\u2028c\n日本語\r\n\r\nlast without newline"
LINES = ["héllo", "wörld", "", "a\rb\u2028c", "日本語", "", "last without newline"]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 100])
def test_lines_cover_the_file_with_crlf_unicode_and_no_final_newline(
    tmp_path: Path, batch_size: int
) -> None:
    path = write(tmp_path / "l.txt", LINES_TEXT)
    batches = batches_of(splitter("lines", path, batch_size), LINES, batch_size)
    first = batches[0].position
    assert first == {
        "kind": "lines",
        "offset": 0,
        "length": first["length"],
        "first_line": 0,
        "first_item": 0,
        "count": min(batch_size, len(LINES)),
    }
    assert sum(b.position["length"] for b in batches) == path.stat().st_size


def test_lines_of_an_empty_file_are_no_batches(tmp_path: Path) -> None:
    assert list(splitter("lines", write(tmp_path / "e.txt", ""), 3)) == []


def test_a_line_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", b"ok\nok\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"bad\.txt:3: not utf-8 text"):
        list(splitter("lines", path, 10))
    assert next(iter(splitter("lines", path, 10, encoding="latin-1"))).items[2] == "ÿþ"


def test_utf16_is_refused_because_lines_are_split_on_the_byte_newline(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"utf-16.*convert the file to UTF-8"):
        splitter("lines", write(tmp_path / "l.txt", "a\n"), 1, encoding="utf-16")


def _line_files() -> st.SearchStrategy[tuple[list[str], list[str], bool]]:
    # A line holds anything but "\n"; one ending in "\r" would read as ending in
    # "\r\n", so it gets a letter after it.
    line = st.one_of(
        st.sampled_from(["", "\r", "a\rb", "é", "日本", "\u2028", "\x85", " "]),
        st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",))),
    ).map(lambda s: s + "x" if s.endswith("\r") else s)
    return st.lists(line, max_size=30).flatmap(
        lambda lines: st.tuples(
            st.just(lines),
            st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)),
            st.booleans(),
        )
    )


@settings(max_examples=80, deadline=None)
@given(_line_files(), st.integers(min_value=1, max_value=12))
def test_lines_property_concatenated_batches_are_the_lines(
    case: tuple[list[str], list[str], bool], batch_size: int
) -> None:
    lines, ends, final_newline = case
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    if lines and not final_newline:
        text = text[: -len(ends[-1])]
    # Without a final newline an empty last line leaves no trace in the file.
    expected = lines[:-1] if lines and not final_newline and lines[-1] == "" else lines
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "lines.txt", text)
        batches_of(splitter("lines", path, batch_size), expected, batch_size)


# --------------------------------------------------------------------- jsonl


def test_jsonl_skips_blank_lines_and_reads_back_by_position(tmp_path: Path) -> None:
    path = write(tmp_path / "j.jsonl", '{"a": 1}\n\n  \n[2, "é"]\r\n3\nnull\n"s"\n\n')
    batches = batches_of(splitter("jsonl", path, 2), [{"a": 1}, [2, "é"], 3, None, "s"], 2)
    assert [b.position["first_line"] for b in batches] == [0, 4, 6]
    assert [b.position["first_item"] for b in batches] == [0, 2, 4]


def test_a_jsonl_line_that_is_not_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "j.jsonl", '{"a": 1}\n\n[2]\n{oops}\n5\n')
    with pytest.raises(InputError, match=r"j\.jsonl:4:2: not a JSON value"):
        list(splitter("jsonl", path, 10))
    # The batch before the bad line was already given: the error comes where it is.
    assert next(iter(splitter("jsonl", path, 2))).items == [{"a": 1}, [2]]


# ----------------------------------------------------------------------- csv

CSV_TEXT = (
    'id,note,n\r\n1,"two\nlines",10\r\n2,plain,20\n\n3,"quoted, comma",30\n'
    '4,"three\r\nline\nfield",40\n5,"say ""hi""",50\n6,é,60'
)
CSV_ROWS = [
    {"id": "1", "note": "two\nlines", "n": "10"},
    {"id": "2", "note": "plain", "n": "20"},
    {"id": "3", "note": "quoted, comma", "n": "30"},
    {"id": "4", "note": "three\r\nline\nfield", "n": "40"},
    {"id": "5", "note": 'say "hi"', "n": "50"},
    {"id": "6", "note": "é", "n": "60"},
]


@pytest.mark.parametrize("batch_size", [1, 2, 4, 6, 50])
def test_csv_rows_with_multiline_quoted_fields_keep_whole_rows_in_each_batch(
    tmp_path: Path, batch_size: int
) -> None:
    path = write(tmp_path / "d.csv", CSV_TEXT)
    split = splitter("csv", path, batch_size)
    batches_of(split, CSV_ROWS, batch_size)
    # A fresh splitter (a resume) reads the header once and any batch by position.
    last = list(split)[-1]
    assert splitter("csv", path, batch_size).read(roundtrip(last.position)) == last.items


def test_a_byte_order_mark_is_not_part_of_the_first_line_or_column(tmp_path: Path) -> None:
    bom = "\ufeff"
    lines = splitter("lines", write(tmp_path / "l.txt", f"{bom}a\n{bom}b\n"), 1)
    batches_of(lines, ["a", f"{bom}b"], 1)
    rows = splitter("csv", write(tmp_path / "d.csv", f"{bom}id,n\n1,2\n"), 1)
    batches_of(rows, [{"id": "1", "n": "2"}], 1)
    values = splitter("jsonl", write(tmp_path / "j.jsonl", f"{bom}[1]\n\n[2]\n"), 5)
    batches_of(values, [[1], [2]], 5)


def test_csv_options_reach_the_csv_module(tmp_path: Path) -> None:
    path = write(tmp_path / "d.tsv", "a;b\n1;'x;y'\n")
    rows = next(iter(splitter("csv", path, 5, delimiter=";", quotechar="'"))).items
    assert rows == [{"a": "1", "b": "x;y"}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"e\.csv: no header row \(the file is empty\)"),
        ("\n\n", r"e\.csv: no header row"),
        ("a,,c\n1,2,3\n", r"e\.csv:1: column 2 of the header row has no name"),
        ("a,b,a\n1,2,3\n", r"e\.csv:1: the header row names column 'a' twice"),
        ('a,b\n1,2\n3,"x\ny",4\n', r"e\.csv:3: a row of 3 fields, but the header names 2 \(a, b\)"),
    ],
)
def test_a_csv_without_a_usable_header_or_with_a_ragged_row_is_refused_by_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        list(splitter("csv", write(tmp_path / "e.csv", text), 2))


# --------------------------------------------------------------------- bytes


def test_bytes_are_ranges_of_batch_size_bytes_one_item_each(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4 + b"tail"
    path = write(tmp_path / "b.bin", data)
    batches = list(splitter("bytes", path, 100))
    assert b"".join(b.items[0] for b in batches) == data
    assert [len(b.items[0]) for b in batches] == [100] * 10 + [28]
    assert all(b.size == 1 for b in batches)
    split = splitter("bytes", path, 100)
    assert all(split.read(roundtrip(b.position)) == b.items for b in batches)
    assert batches[3].position == {
        "kind": "bytes",
        "offset": 300,
        "length": 100,
        "first_item": 3,
        "count": 1,
    }


# --------------------------------------------------------------------- files


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ["c.csv", "a.csv", "b.txt", "d.csv", "e.csv"]:
        write(folder / name, name)
    write(folder / "sub" / "z.csv", "not listed from the directory")
    return folder


def test_files_of_a_directory_are_its_files_sorted_not_its_subdirectories(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path)
    expected = [str(folder / n) for n in ["a.csv", "b.txt", "c.csv", "d.csv", "e.csv"]]
    batches = batches_of(splitter("files", folder, 2), expected, 2)
    assert batches[1].position == {
        "kind": "files",
        "first_item": 2,
        "count": 2,
        "files": expected[2:4],
    }


def test_files_of_a_glob_pattern(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    expected = [str(folder / n) for n in ["a.csv", "c.csv", "d.csv", "e.csv"]]
    batches_of(splitter("files", str(folder / "*.csv"), 3), expected, 3)
    deep = [*expected, str(folder / "sub" / "z.csv")]
    assert [p for b in splitter("files", f"{folder}/**/*.csv", 3) for p in b.items] == sorted(deep)


def test_files_say_what_is_wrong_with_the_source(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    with pytest.raises(InputError, match=r"no files match '.*\*\.parquet'"):
        splitter("files", str(folder / "*.parquet"), 2)
    with pytest.raises(InputError, match=r"a\.csv is a file; a 'files' source is a directory"):
        splitter("files", folder / "a.csv", 2)
    with pytest.raises(InputError, match=r"no directory .*nowhere"):
        splitter("files", tmp_path / "nowhere", 2)
    assert list(splitter("files", tmp_path / "in" / "sub" / "..", 10))  # any spelling of a folder


def test_a_changed_directory_names_the_files_added_removed_and_changed(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    split = splitter("files", folder, 2)
    then = roundtrip(split.identity())
    assert split.check(then) == []
    write(folder / "f.csv", "new")
    (folder / "e.csv").unlink()
    write(folder / "a.csv", "longer than before")
    with pytest.raises(SourceChanged) as caught:
        split.check(then)
    changes = caught.value.changes
    assert changes[0] == f"1 file added ({folder / 'f.csv'})"
    assert changes[1] == f"1 file removed ({folder / 'e.csv'})"
    assert f"{folder / 'a.csv'}: size 5 -> 18 bytes" in changes
    assert split.check(then, force=True) == changes


# ------------------------------------------------------------------ iterable


def test_an_iterable_is_consumed_lazily_batch_by_batch() -> None:
    pulled = 0

    def numbers() -> Iterator[int]:
        nonlocal pulled
        n = 0
        while True:  # endless: only back-pressure lets this end
            pulled += 1
            yield n
            n += 1

    first = list(islice(splitter("iterable", numbers(), 4), 3))
    assert [b.items for b in first] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert pulled == 12
    assert first[2].position == {"kind": "iterable", "first_item": 8, "count": 4}


def test_an_iterable_covers_its_items_but_its_batches_cannot_be_read_again() -> None:
    split = splitter("iterable", range(10), 3)
    batches = list(split)
    assert [x for b in batches for x in b.items] == list(range(10))
    assert [b.size for b in batches] == [3, 3, 3, 1]
    assert split.rereadable is False
    with pytest.raises(InputError, match="Keep each batch's items in the journal"):
        split.read(batches[0].position)
    assert split.check(roundtrip(split.identity())) == []


def test_an_iterable_source_that_is_text_or_not_iterable_is_refused() -> None:
    with pytest.raises(InputError, match=r"not a str .*use kind 'lines'"):
        splitter("iterable", "abc", 2)
    with pytest.raises(InputError, match="int is not"):
        splitter("iterable", 5, 2)


# -------------------------------------------------------------------- custom


def halves(source: Any, batch_size: int) -> Iterator[list[int]]:
    """A custom splitter: ``source`` numbers, in batches of at most ``batch_size``."""
    for start in range(0, source, batch_size):
        yield list(range(start, min(start + batch_size, source)))
    yield []  # an empty batch is left out


def test_a_custom_function_gives_the_batches() -> None:
    split = splitter("custom", 5, 2, using=halves)
    batches = list(split)
    assert [b.items for b in batches] == [[0, 1], [2, 3], [4]]
    assert [b.position for b in batches][2] == {"kind": "custom", "first_item": 4, "count": 1}
    assert split.rereadable is False


def test_a_custom_function_by_module_path_or_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "volnux_test_splitters.py",
        "def by_words(source, batch_size):\n"
        "    words = open(source).read().split()\n"
        "    return [words[i:i + batch_size] for i in range(0, len(words), batch_size)]\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path / "w.txt", "a b c\nd e")
    split = splitter("custom", path, 2, using="volnux_test_splitters:by_words")
    assert [b.items for b in split] == [["a", "b"], ["c", "d"], ["e"]]
    # Its source is a file: the file's identity is kept, and a change is refused.
    then = roundtrip(split.identity())
    write(path, "a b c\nd e f")
    with pytest.raises(SourceChanged, match="size 9 -> 11 bytes"):
        split.check(then)

    entry = importlib.metadata.EntryPoint(
        "words", "volnux_test_splitters:by_words", "volnux.splitters"
    )
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: [entry] if group == "volnux.splitters" else [],
    )
    assert next(iter(splitter("custom", path, 3, using="words"))).items == ["a", "b", "c"]
    with pytest.raises(InputError, match=r"no splitter 'wordz' .*\(registered: words\)"):
        splitter("custom", path, 3, using="wordz")


class Words(FileSplitter):
    """A custom splitter class: the words of a file, on the shared file base."""

    kind = "words"

    def _words(self) -> list[str]:
        return Path(self.path).read_text(encoding="utf-8").split()

    def __iter__(self) -> Iterator[Batch]:
        words = self._words()
        for index, start in enumerate(range(0, len(words), self.batch_size)):
            items = words[start : start + self.batch_size]
            yield Batch(index, {"kind": "words", "first_item": start, "count": len(items)}, items)

    def read(self, position: Position) -> list[Any]:
        start, count = position["first_item"], position["count"]
        return self._words()[start : start + count]


def test_a_custom_class_has_the_protocol_of_the_built_in_splitters(tmp_path: Path) -> None:
    path = write(tmp_path / "w.txt", "one two three four five")
    split = splitter("custom", path, 2, using=Words)
    assert isinstance(split, Splitter)
    batches_of(split, ["one", "two", "three", "four", "five"], 2)
    assert split.check(roundtrip(split.identity())) == []


def test_custom_needs_something_usable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kind 'custom' needs using="):
        splitter("custom", 5, 2)
    with pytest.raises(InputError, match="cannot import 'no_such_module_x'"):
        splitter("custom", 5, 2, using="no_such_module_x:f")
    with pytest.raises(InputError, match=r"volnux\.batch has no 'nope'"):
        splitter("custom", 5, 2, using="volnux.batch:nope")
    with pytest.raises(InputError, match="splitter function halves takes no options"):
        splitter("custom", 5, 2, using=halves, colour="red")

    class Half:
        kind = "half"

        def __init__(self, source: Any, batch_size: int) -> None:
            pass

        def __iter__(self) -> Iterator[Batch]:
            return iter([])

    with pytest.raises(InputError, match="lacks rereadable, read, identity, check"):
        splitter("custom", 5, 2, using=Half)
    with pytest.raises(InputError, match="returned a int"):
        list(splitter("custom", 5, 2, using=lambda source, size: 3))


# ---------------------------------------------------------- bad input, kinds


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(InputError) as caught:
        splitter("xml", "data.xml", 10)
    assert str(caught.value).startswith(
        "unknown batch source kind 'xml'; the kinds are "
        "bytes, csv, custom, files, iterable, jsonl, lines, parquet"
    )
    assert sorted(KINDS) == [
        "bytes",
        "csv",
        "custom",
        "files",
        "iterable",
        "jsonl",
        "lines",
        "parquet",
    ]


@pytest.mark.parametrize("batch_size", [0, -3, 1.5, True, "10", None])
def test_batch_size_must_be_a_whole_number_from_one(tmp_path: Path, batch_size: Any) -> None:
    path = write(tmp_path / "l.txt", "a\n")
    with pytest.raises(InputError, match=r"batch_size must be a whole number >= 1, not"):
        splitter("lines", path, batch_size)


@pytest.mark.parametrize("kind", ["lines", "jsonl", "csv", "bytes"])
def test_a_missing_file_or_a_directory_is_named(tmp_path: Path, kind: str) -> None:
    with pytest.raises(InputError, match=rf"no file .*missing\.txt \(the '{kind}' batch source\)"):
        splitter(kind, tmp_path / "missing.txt", 10)
    with pytest.raises(InputError, match=r"is a directory; .*kind 'files' splits a directory"):
        splitter(kind, tmp_path, 10)


def test_an_unknown_option_names_the_options_there_are(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "a\n")
    with pytest.raises(
        InputError, match=r"kind 'lines' takes no option 'delim'; its options are encoding"
    ):
        splitter("lines", path, 1, delim=",")
    with pytest.raises(InputError, match=r"kind 'bytes' takes no option 'encoding'; it takes no"):
        splitter("bytes", path, 1, encoding="utf-8")


def test_a_position_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "a\nb\n")
    split = splitter("lines", path, 1)
    with pytest.raises(InputError, match=r"not the position of a 'lines' batch .*'csv'"):
        split.read({"kind": "csv", "offset": 0, "length": 2, "first_line": 0, "count": 1})
    with pytest.raises(InputError, match="needs 'length' as a whole number >= 0, not -1"):
        split.read({"kind": "lines", "offset": 0, "length": -1, "first_line": 0, "count": 1})


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = write(tmp_path / "t.parquet", b"PAR1")
    with pytest.raises(InputError, match=r"pip install 'volnux\[parquet\]'"):
        splitter("parquet", path, 10)


# ------------------------------------------------------- changed-source check


@pytest.mark.parametrize("kind", ["lines", "jsonl", "csv", "bytes"])
def test_a_changed_file_is_refused_naming_what_changed_unless_forced(
    tmp_path: Path, kind: str
) -> None:
    path = write(tmp_path / "data", "h\n1\n2\n")
    split = splitter(kind, path, 2)
    then = roundtrip(split.identity())
    assert then["size"] == 6 and then["path"] == str(path) and len(then["sha256"]) == 64
    assert split.check(then) == []

    with path.open("a") as f:  # append a line
        f.write("3\n")
    with pytest.raises(SourceChanged) as caught:
        split.check(then)
    assert caught.value.changes[0] == "size 6 -> 8 bytes"
    assert str(caught.value).startswith(f"the batch source {path} changed since the run started")
    assert split.check(then, force=True) == caught.value.changes

    write(path, "h\n1\n2\n")  # the same bytes again, saved later
    os.utime(path, ns=(then["mtime_ns"] + 5_000_000_000, then["mtime_ns"] + 5_000_000_000))
    with pytest.raises(SourceChanged, match=r"modified at \d{4}-\d\d-\d\d .*UTC \(was ") as mtime:
        split.check(then)
    assert len(mtime.value.changes) == 1

    write(path, "H\n9\n2\n")  # other first bytes, the same size and mtime
    os.utime(path, ns=(then["mtime_ns"], then["mtime_ns"]))
    with pytest.raises(SourceChanged) as block:
        split.check(then)
    assert block.value.changes == ["its first block (64 KiB) differs"]
    assert split.check(then, force=True) == ["its first block (64 KiB) differs"]


def test_reading_a_batch_of_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "a\nb\nc\nd\n")
    split = splitter("lines", path, 2)
    last = list(split)[-1]
    write(path, "a\nb\nc")
    with pytest.raises(SourceChanged, match="it ends at byte 5, inside the batch's range"):
        split.read(last.position)
    write(path, "a\nb\ncdd\n")
    with pytest.raises(SourceChanged, match="bytes 4-8 hold 1 items, not 2"):
        split.read(last.position)


def test_source_changed_is_a_resume_refusal_and_survives_pickling() -> None:
    error = SourceChanged("/data/x.csv", ["size 1 -> 2 bytes"])
    assert isinstance(error, ResumeRefused) and isinstance(error, VolnuxError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.source, copy.changes, str(copy)) == (error.source, error.changes, str(error))


# ------------------------------------------------------------- bounded memory

# The peak is VmHWM (KiB), this program's own: ru_maxrss carries over, across
# exec, the peak of the process it was forked from (pytest's).
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from volnux.batch import splitter

def peak():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))

split = splitter("lines", sys.argv[2], 1000)
before = peak()
items = batches = 0
for batch in split:
    items += batch.size
    batches += 1
after = peak()
print(items, batches, before, after)
"""


def test_iterating_a_50_mb_file_holds_a_batch_not_the_file(tmp_path: Path) -> None:
    block = "".join(f"{i:07d} {'payload ' * 11}é\n" for i in range(10_000)).encode()
    path = tmp_path / "big.txt"
    with path.open("wb") as f:
        while f.tell() < 50 * 2**20:
            f.write(block)
    lines = path.stat().st_size // len(block) * 10_000
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(SRC), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    items, batches, before_kb, after_kb = map(int, done.stdout.split())
    assert (items, batches) == (lines, -(-lines // 1000))
    grown_mb = (after_kb - before_kb) / 1024
    assert grown_mb < 20, f"peak RSS grew by {grown_mb:.1f} MB over a 50 MB file"


def test_lines_read_whole_agree_with_lines_read_one_by_one(tmp_path: Path) -> None:
    # A batch is decoded at once; each line's own decoding is the reference.
    raw = "\ufeffa\r\nb\rc\n\r\n\u2028\nlast\r".encode()
    path = tmp_path / "mixed.txt"
    path.write_bytes(raw)
    split = splitter("lines", path, 2)
    one_by_one = [split.parse(line, n) for n, line in enumerate(io.BytesIO(raw).readlines(), 1)]  # type: ignore[attr-defined]
    assert one_by_one == ["a", "b\rc", "", "\u2028", "last\r"]
    batches = list(split)
    assert [item for b in batches for item in b.items] == one_by_one
    assert [split.read(b.position) for b in batches] == [b.items for b in batches]


@pytest.mark.parametrize("kind", ["lines", "jsonl"])
def test_after_a_batch_gives_the_batches_that_follow_it(tmp_path: Path, kind: str) -> None:
    # A resume splits from the end of the last batch begun, not from the top.
    text = "".join(
        f'{{"n": {i}}}\n' + ("\n" if kind == "jsonl" and i % 4 == 0 else "") for i in range(23)
    )
    path = tmp_path / "data.txt"
    path.write_text(text)
    split = splitter(kind, path, 5)
    every = list(split)
    for cut in range(len(every)):
        rest = list(split.after(every[cut].position, cut + 1))  # type: ignore[attr-defined]
        assert rest == every[cut + 1 :], cut

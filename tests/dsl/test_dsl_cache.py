"""The parse cache: a text parsed once loads in the next process without lark."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from volnux.dsl import cache, parse
from volnux.dsl import parser as uncached
from volnux.graph.model import Graph, Group, Task, iter_blocks

TEXT = "@mode: CFG\nValidate -> Charge@1.2 * 3 (0 -> Refund, 1 -> Ship || Notify) |-> Done\n"

# A fresh interpreter parses TEXT and reports whether it had to import lark.
CHILD = """
import sys
from volnux.dsl import parse
graph = parse(sys.stdin.read(), sys.argv[1])
print("lark" in sys.modules, len(graph.tasks()))
"""


def child_parse(
    cache_dir: Path | str, text: str = TEXT, filename: str = "flow.pty"
) -> tuple[bool, int]:
    env = {**os.environ, "VOLNUX_CACHE_DIR": str(cache_dir)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, filename],
        input=text,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lark, tasks = done.stdout.split()
    return lark == "True", int(tasks)


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "graphs").glob("*.graph"))


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process's cache, pointed at an empty folder for the test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("VOLNUX_CACHE_DIR", str(folder))
    for fn in (cache.cache_dir, cache._graphs):
        fn.cache_clear()
    yield folder
    for fn in (cache.cache_dir, cache._graphs):
        fn.cache_clear()


def test_a_parsed_text_loads_in_the_next_process_without_lark(tmp_path: Path) -> None:
    assert child_parse(tmp_path) == (True, 6)  # parsed, and kept
    assert len(entries(tmp_path)) == 1
    assert child_parse(tmp_path) == (False, 6)  # loaded: lark never imported
    # Another text, or the same text from another file, is parsed.
    assert child_parse(tmp_path, TEXT.rstrip() + " -> Audit\n") == (True, 7)
    assert child_parse(tmp_path, TEXT, "other.pty") == (True, 6)
    assert len(entries(tmp_path)) == 3


def test_the_cached_graph_equals_a_fresh_parse(own_cache: Path) -> None:
    first = parse(TEXT, "flow.pty")
    again = parse(TEXT, "flow.pty")  # from the cache
    fresh = uncached.parse(TEXT, "flow.pty")
    assert again is not first and again == first == fresh
    assert (again.source, again.filename) == (TEXT, "flow.pty")
    assert [t.pos for t in again.tasks()] == [t.pos for t in fresh.tasks()]
    assert again.directives == fresh.directives == (("mode", "CFG"),)


def test_damaged_or_foreign_entries_are_parsed_again_and_replaced(own_cache: Path) -> None:
    parse(TEXT, "flow.pty")
    (entry,) = entries(own_cache)
    for junk in (b"", b"not a pickle", pickle.dumps({"a": 1}), pickle.dumps(parse("Other"))):
        entry.write_bytes(junk)
        graph = parse(TEXT, "flow.pty")
        assert graph == uncached.parse(TEXT, "flow.pty")
        assert pickle.loads(entry.read_bytes()) == graph  # the entry was written anew


def test_errors_are_not_cached(own_cache: Path) -> None:
    from volnux.errors import PointyError

    for _ in range(2):
        with pytest.raises(PointyError, match=r"flow\.pty:1:"):
            parse("A -> -> B", "flow.pty")
    assert entries(own_cache) == []


def test_a_folder_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    for setting, used in ((str(shared), False), ("off", False), ("OFF", False)):
        monkeypatch.setenv("VOLNUX_CACHE_DIR", setting)
        cache.cache_dir.cache_clear()
        assert (cache.cache_dir() is not None) is used
    cache.cache_dir.cache_clear()
    assert child_parse(shared) == (True, 6)
    assert child_parse(shared) == (True, 6)  # nothing kept, so parsed again
    assert not (shared / "graphs").exists()


def test_pruning_keeps_the_most_recently_used(own_cache: Path) -> None:
    texts = [f"Step{i} -> End" for i in range(12)]
    for text in texts:
        parse(text)
    folder = own_cache / "graphs"
    for age, path in enumerate(sorted(folder.glob("*.graph"), key=lambda p: p.stat().st_mtime)):
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    parse(texts[0])  # a hit: now the most recently used
    cache.prune(folder, keep=8)
    assert len(entries(own_cache)) == 6
    kept = [parse(t) for t in texts if cache.load(t, "<text>") is not None]
    assert texts[0] in [g.source for g in kept]


SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.pty"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_a_pickled_graph_keeps_what_equality_ignores(path: Path) -> None:
    # The cache stores pickles, and the model pickles as fields rebuilt by
    # __init__: positions, brackets, source and file name must survive too.
    graph = uncached.parse(path.read_text(encoding="utf-8"), str(path))
    back = pickle.loads(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == graph
    assert (back.source, back.filename) == (graph.source, graph.filename)

    assert hidden_fields(back) == hidden_fields(graph)


def hidden_fields(graph: Graph) -> list[object]:
    """What graph equality ignores: each task's and group's positions and bracket."""
    return [
        (b.pos, getattr(b, "bracket", None), [branch.pos for branch in b.branches])
        for b in iter_blocks(graph.root)
        if isinstance(b, Task | Group)
    ]

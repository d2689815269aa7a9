"""The result store from the command line: runs show, runs result, results gc, [results]."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from volnux.store.results import ResultStore

from ..cli.support import invoke

EVENTS = """
import numpy as np
import volnux

@volnux.event
def Make(n: int = 100_000):
    return np.arange(n, dtype=np.float64)

@volnux.event
def Total(piped):
    return {"sum": float(piped.sum())}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ev.py").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "flow.pty").write_text("Make |-> Total\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_flow() -> str:
    done = invoke("run", "flow.pty", "--events", "ev.py")
    assert done.exit_code == 0, done.output
    return str(json.loads(invoke("runs", "list", "--json").stdout)[0]["id"])


def test_runs_show_names_where_a_result_is_kept_and_runs_result_fetches_it(
    project: Path,
) -> None:
    run_id = run_flow()
    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "results kept in the result store" in shown.stdout
    line = next(s for s in shown.stdout.splitlines() if s.strip().startswith("Make:"))
    assert "781.4 KiB npy, sha256 " in line
    assert str(project / ".volnux" / "results" / "sha256") in line
    detail = json.loads(invoke("runs", "show", run_id, "--json").stdout)
    by_node = {t["node"]: t for t in detail["tasks"]}
    ref = by_node["Make"]["result_ref"]
    assert ref["codec"] == "npy" and ref["size"] == 800_128 and len(ref["sha256"]) == 64
    assert by_node["Make"]["result"] is None
    assert by_node["Total"]["result"] == {"sum": float(sum(range(100_000)))}
    assert by_node["Total"]["result_ref"] is None

    fetched = invoke("runs", "result", run_id, "Make", "-o", "make.npy")
    assert fetched.exit_code == 0, fetched.output
    assert "wrote the result of Make (781.4 KiB npy" in fetched.stderr
    assert np.array_equal(np.load("make.npy"), np.arange(100_000, dtype=np.float64))
    printed = invoke("runs", "result", run_id, "Total")
    assert printed.exit_code == 0 and json.loads(printed.stdout) == {"sum": 4999950000.0}
    missing = invoke("runs", "result", run_id, "Nope")
    assert missing.exit_code == 2 and f"run {run_id} has no task 'Nope'" in missing.stderr


def test_a_missing_file_is_named_when_fetched(project: Path) -> None:
    run_id = run_flow()
    detail = json.loads(invoke("runs", "show", run_id, "--json").stdout)
    location = next(t for t in detail["tasks"] if t["node"] == "Make")["result_ref"]["location"]
    os.unlink(location)
    fetched = invoke("runs", "result", run_id, "Make", "-o", "make.npy")
    assert fetched.exit_code == 2
    assert f"the result of Make in run {run_id} is missing: no file at {location}" in (
        fetched.stderr
    )
    assert f"volnux runs retry {run_id} --from Make" in fetched.stderr
    retried = invoke("runs", "retry", run_id, "--from", "Make", "--events", "ev.py")
    assert retried.exit_code == 0, retried.output
    assert Path(location).exists()


def test_the_configuration_says_where_results_go_and_from_what_size(project: Path) -> None:
    (project / "volnux.toml").write_text(
        '[results]\nlocation = "kept"\nthreshold = "1MiB"\n', encoding="utf-8"
    )
    run_id = run_flow()
    assert not (project / "kept").exists()  # 800 KB is under 1 MiB: in the journal
    detail = json.loads(invoke("runs", "show", run_id, "--json").stdout)
    assert all(t["result_ref"] is None for t in detail["tasks"])
    (project / "volnux.toml").write_text(
        '[results]\nlocation = "kept"\nthreshold = "100KB"\n', encoding="utf-8"
    )
    run_flow()
    assert len(list((project / "kept" / "sha256").glob("*/*"))) == 1
    (project / "volnux.toml").write_text('[results]\nthreshold = "plenty"\n', encoding="utf-8")
    refused = invoke("run", "flow.pty", "--events", "ev.py")
    assert refused.exit_code == 2
    assert "threshold in [results]: 'plenty' is not a size" in refused.stderr


def test_the_environment_overrides_the_configuration(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLNUX_RESULTS", str(project / "elsewhere"))
    monkeypatch.setenv("VOLNUX_RESULT_THRESHOLD", "10KiB")
    run_flow()
    assert len(list((project / "elsewhere" / "sha256").glob("*/*"))) == 1
    monkeypatch.setenv("VOLNUX_RESULT_THRESHOLD", "-1")
    refused = invoke("run", "flow.pty", "--events", "ev.py")
    assert refused.exit_code == 2 and "$VOLNUX_RESULT_THRESHOLD" in refused.stderr


def test_results_gc_removes_only_old_files_no_run_refers_to(project: Path) -> None:
    run_id = run_flow()
    store = ResultStore(project / ".volnux" / "results")
    orphan = store.put(b"left behind" * 1000, "gone", "X")
    recent = store.put(b"just written" * 1000, "running", "Y")
    old = time.time() - 2 * 3600
    os.utime(orphan.location, (old, old))
    dry = invoke("results", "gc", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphan.location} (10.7 KiB)" in dry.stdout
    assert "would remove 1 file (10.7 KiB)" in dry.stdout and Path(orphan.location).exists()
    done = invoke("results", "gc")
    assert done.exit_code == 0 and "removed 1 file (10.7 KiB)" in done.stdout
    assert "kept 2 (1 referenced by runs)" in done.stdout
    assert not Path(orphan.location).exists() and Path(recent.location).exists()
    assert invoke("runs", "result", run_id, "Make", "-o", "m.npy").exit_code == 0
    every = invoke("results", "gc", "--older-than", "0")
    assert every.exit_code == 0 and not Path(recent.location).exists()
    bad = invoke("results", "gc", "--older-than", "soon")
    assert bad.exit_code == 2 and "--older-than 'soon' is not an age" in bad.stderr


def test_a_moved_run_keeps_its_references(project: Path) -> None:
    run_id = run_flow()
    exported = invoke("runs", "export", run_id, "-o", "runs.jsonl")
    assert exported.exit_code == 0, exported.output
    imported = invoke("runs", "import", "runs.jsonl", "--store", "other.db")
    assert imported.exit_code == 0, imported.output
    fetched = invoke("runs", "result", run_id, "Make", "--store", "other.db", "-o", "m.npy")
    assert fetched.exit_code == 0, fetched.output
    assert np.array_equal(np.load("m.npy"), np.arange(100_000, dtype=np.float64))
    shown = json.loads(invoke("runs", "show", run_id, "--store", "other.db", "--json").stdout)
    make = next(t for t in shown["tasks"] if t["node"] == "Make")
    assert make["result_ref"]["location"].startswith(str(project / ".volnux" / "results"))

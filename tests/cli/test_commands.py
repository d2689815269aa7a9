"""`volnux validate`, `volnux graph` and `volnux fmt`."""

from __future__ import annotations

import json
from pathlib import Path

from .support import Project, invoke


def test_validate_reports_every_bad_file_and_exits_2(project: Project) -> None:
    good = project.write("good.pty", "Hello |-> Save\n")
    typo = project.write("typo.pty", "Hello -> Helo -> Bom\n")
    syntax = project.write("syntax.pty", "Hello -> -> Save\n")
    result = invoke("validate", good, typo, syntax, "missing.pty", "--events", project.events)
    assert result.exit_code == 2
    assert result.stdout == f"ok: {good} (2 tasks; syntax and events checked)\n"
    err = result.stderr
    # Both unknown events in typo.pty are reported, not only the first.
    assert f"error: {typo}:1:10: unknown event 'Helo'; did you mean Hello?" in err
    assert f"error: {typo}:1:18: unknown event 'Bom'; did you mean Boom?" in err
    assert f"error: {syntax}:1:10: " in err
    assert "error: missing.pty: no such file" in err
    assert "Traceback" not in err


def test_validate_all_good_exits_0(project: Project) -> None:
    a = project.write("a.pty", "Hello\n")
    b = project.write("b.pty", "Hello -> (Hello || Hello) |-> Save\n")
    result = invoke("validate", a, b, "-e", project.events)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"ok: {a} (1 tasks; syntax and events checked)",
        f"ok: {b} (4 tasks; syntax and events checked)",
    ]


def test_validate_without_events_checks_syntax_only(project: Project) -> None:
    typo = project.write("typo.pty", "Hello -> Helo\n")
    result = invoke("validate", typo)
    assert result.exit_code == 0
    assert result.stdout == f"ok: {typo} (2 tasks; syntax checked)\n"


def test_validate_with_events_that_fail_to_import_is_exit_2(project: Project) -> None:
    good = project.write("good.pty", "Hello\n")
    broken = project.write("broken.py", "import no_such_module_here\n")
    result = invoke("validate", good, "--events", broken)
    assert result.exit_code == 2
    assert f"error: events file {broken} failed to import: ModuleNotFoundError" in result.stderr


def test_graph_prints_dot(project: Project) -> None:
    wf = project.write("g.pty", "Hello -> (Boom * 3 || Hello) |-> Save (0 -> Hello)\n")
    result = invoke("graph", wf)
    assert result.exit_code == 0, result.output
    dot = result.stdout
    assert dot.startswith("digraph workflow {\n")
    assert dot.endswith("}\n")
    assert '"Boom" [label="Boom \u00d73"];' in dot
    assert 'subgraph "cluster_group:1" {' in dot
    assert '"Save" -> "Hello#3" [label="0"' in dot


def test_graph_writes_to_a_file_with_output(project: Project) -> None:
    wf = project.write("g.pty", "Hello -> Save\n")
    out = project.root / "g.dot"
    result = invoke("graph", wf, "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert '"Hello" -> "Save";' in out.read_text()


def test_graph_of_bad_text_is_exit_2(project: Project) -> None:
    wf = project.write("bad.pty", "Hello ->\n")
    result = invoke("graph", wf)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {wf}:")


def test_fmt_prints_the_canonical_form(project: Project) -> None:
    wf = project.write("f.pty", "# a comment\nHello->Boom*3 #  why  \n\n\n-> Hello\n")
    result = invoke("fmt", wf)
    assert result.exit_code == 0
    assert result.stdout == "# a comment\nHello -> Boom * 3  #  why\n\n-> Hello\n"


def test_fmt_check_exits_1_when_the_file_differs_and_0_when_not(project: Project) -> None:
    ugly = project.write("ugly.pty", "Hello->Boom\n")
    result = invoke("fmt", "--check", ugly)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{ugly} is not in canonical form" in result.stderr
    tidy = project.write("tidy.pty", invoke("fmt", ugly).stdout)
    result = invoke("fmt", "--check", tidy)
    assert result.exit_code == 0
    assert result.output == ""


def test_fmt_of_bad_text_is_exit_2(project: Project) -> None:
    wf = project.write("bad.pty", "Hello || \n")
    result = invoke("fmt", "--check", wf)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {wf}:")


def test_fmt_of_a_missing_file_is_exit_2(project: Project) -> None:
    result = invoke("fmt", str(Path("nowhere") / "x.pty"))
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_a_run_id_may_be_given_by_its_start(project: Project) -> None:
    import volnux

    wf = volnux.Workflow.from_text("Hello", [project.events])
    with volnux.SQLiteJournal(project.root / "runs.db") as journal:
        for run_id in ("abc111", "abc222"):
            assert wf.run(store=journal, run_id=run_id).succeeded
    store = str(project.root / "runs.db")
    shown = invoke("runs", "show", "abc1", "--store", store)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("run abc111 ")
    assert invoke("runs", "logs", "abc2", "--store", store).exit_code == 0
    ambiguous = invoke("runs", "show", "abc", "--store", store)
    assert ambiguous.exit_code == 2
    assert f"run id 'abc' is the start of 2 runs' ids in {store}: abc111, abc222" in (
        ambiguous.stderr
    )
    missing = invoke("runs", "cancel", "zzz", "--store", store)
    assert missing.exit_code == 2
    assert f"no run 'zzz' in {store}" in missing.stderr


def test_store_check_says_whether_a_journal_is_whole(project: Project) -> None:
    import random

    import volnux
    from volnux.states import TaskState
    from volnux.store import RunRecord, TaskRecord

    path = project.root / "runs.db"
    with volnux.SQLiteJournal(path) as journal:
        journal.create_run(RunRecord("r", "w", "A", "f", {}, {}, volnux.RunState.RUNNING, 1.0, 1.0))
        for i in range(400):
            journal.record([TaskRecord("r", f"n{i}", TaskState.RUNNING, 1, 1.0, result="y" * 200)])
    ok = invoke("store", "check", "--store", str(path))
    assert ok.exit_code == 0 and ok.stdout.startswith(f"ok: {path} (checked in ")
    size = path.stat().st_size
    with path.open("r+b") as fh:  # garbage over pages in the middle of the file
        fh.seek(size // 2 // 2048 * 2048)
        fh.write(random.Random(1).randbytes(4096))
    damaged = invoke("store", "check", "--store", str(path), "--json")
    assert damaged.exit_code == 1
    report = json.loads(damaged.stdout)
    assert report["ok"] is False and report["problems"] and report["store"] == str(path)
    missing = invoke("store", "check", "--store", str(project.root / "none.db"))
    assert missing.exit_code == 2 and "no journal at" in missing.stderr

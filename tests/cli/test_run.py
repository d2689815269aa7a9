"""`volnux run`: exit 0 on success, 1 on a failed run, 2 on bad input."""

from __future__ import annotations

import json
import re
import sys

import pytest

from .support import Project, invoke

RUN_ID = r"[0-9a-f]{12}"


def test_a_successful_run_prints_its_tasks_and_the_run_id(project: Project) -> None:
    wf = project.write("hello.pty", "Hello |-> Save\n")
    result = invoke("run", wf, "--events", project.events)
    assert result.exit_code == 0, result.output
    assert re.search(r"^node\s+event\s+state\s+attempts\s+time$", result.stdout, re.M)
    assert re.search(r"^Hello\s+Hello@1\.0\.0\s+succeeded\s+1\s", result.stdout, re.M)
    assert re.search(r"^Save\s+Save@1\.0\.0\s+succeeded\s+1\s", result.stdout, re.M)
    assert re.search(rf"^run {RUN_ID} succeeded in .*\(2 succeeded\)$", result.stdout, re.M)
    assert result.stderr == ""


def test_inputs_reach_the_events_json_values_parsed_pairs_winning(project: Project) -> None:
    wf = project.write("hello.pty", "Hello |-> Save\n")
    out = project.root / "out.json"
    result = invoke(
        "run",
        wf,
        "-e",
        project.events,
        "--input-json",
        '{"name": "from json", "times": 7}',
        "--input",
        "name=Ada Lovelace",
        "--input",
        f"out={out}",
        "--store",
        "memory:",
    )
    assert result.exit_code == 0, result.output
    # name from --input wins over --input-json; times stays the JSON number 7.
    assert json.loads(out.read_text()) == {
        "greeting": "hello Ada Lovelace",
        "times": 7,
        "kind": "int",
    }


def test_an_input_value_is_json_when_it_parses_and_text_otherwise(project: Project) -> None:
    wf = project.write("echo.pty", "Echo |-> Save\n")
    out = project.root / "out.json"
    for given, expected in (("[1, 2]", [1, 2]), ("3rd", "3rd"), ("true", True)):
        result = invoke("run", wf, "-e", project.events, "-i", f"value={given}", "-i", f"out={out}")
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["value"] == expected


def test_inputs_must_fit_the_events_annotations(project: Project) -> None:
    wf = project.write("hello.pty", "Hello |-> Save\n")
    out = project.root / "out.json"
    bad = invoke("run", wf, "-e", project.events, "-i", "times=abc")
    assert bad.exit_code == 2
    assert (
        "error: workflow input 'times' is 'abc' (text), but Hello (Hello@1.0.0) takes an int "
        "(a whole number)"
    ) in bad.stderr
    for value, shown in (('{"a": 1}', "{'a': 1} (an object)"), ("null", "None (null)")):
        refused = invoke("run", wf, "-e", project.events, "-i", f"name={value}")
        assert refused.exit_code == 2
        assert f"'name' is {shown}, but Hello (Hello@1.0.0) takes a str (text)" in refused.stderr
    assert json.loads(invoke("runs", "list", "--json").stdout) == []  # refused: nothing ran
    # Values that convert without loss are converted, and recorded so.
    ok = invoke(
        "run", wf, "-e", project.events, "--input-json", '{"times": "3", "name": 7}',
        "-i", f"out={out}",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert json.loads(out.read_text()) == {"greeting": "hello 7", "times": 3, "kind": "int"}


def test_without_store_the_run_is_journaled_in_dot_volnux(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    assert invoke("run", wf, "-e", project.events).exit_code == 0
    assert (project.root / ".volnux" / "volnux.db").is_file()


def test_a_failed_run_exits_1_naming_the_task_error_and_its_own_frames(project: Project) -> None:
    wf = project.write("fail.pty", "Hello -> Boom * 2 -> Hello\n")
    result = invoke("run", wf, "-e", project.events, "--store", "memory:")
    assert result.exit_code == 1
    err = result.stderr
    assert re.search(
        rf"^run {RUN_ID} failed: Boom \(Boom@1\.0\.0\) failed after 2 attempts: "
        r"ValueError: card declined on attempt 2$",
        err,
        re.M,
    )
    assert "\nBoom (Boom@1.0.0) failed after 2 attempts\n" in err
    assert "  ValueError: card declined on attempt 2\n" in err
    assert re.search(r'File ".*events\.py", line \d+, in Boom\n\s+raise ValueError', err)
    # The summary shows the event's own code, not the engine around it.
    assert "volnux/engine" not in err
    assert "Traceback" not in err
    assert result.stdout == ""


def test_an_unhandled_failure_is_exit_1_even_with_the_durable_store(project: Project) -> None:
    wf = project.write("fail.pty", "Boom\n")
    result = invoke("run", wf, "-e", project.events, "--store", str(project.root / "j.db"))
    assert result.exit_code == 1
    assert "Boom (Boom@1.0.0) failed after 1 attempt\n" in result.stderr


def test_an_event_returning_a_generator_fails_its_task_and_says_why(project: Project) -> None:
    wf = project.write("gen.pty", "Hello -> Gen\n")
    result = invoke("run", wf, "-e", project.events, "--store", "memory:")
    assert result.exit_code == 1
    assert "Gen (Gen@1.0.0) failed after 1 attempt" in result.stderr
    assert "returned a generator, which the engine cannot hand on" in result.stderr


def test_a_descriptor_with_no_branch_is_explained_as_such(project: Project) -> None:
    wf = project.write("route.pty", "Review (0 -> Hello, 1 -> Hello) -> Hello\n")
    result = invoke("run", wf, "-e", project.events, "--store", "memory:")
    assert result.exit_code == 1
    assert "Review chose descriptor 3, but it has no '3 ->' branch" in result.stderr
    assert "Review (Review@1.0.0) chose descriptor 3, which has no '3 ->' branch" in result.stderr
    assert "failed after" not in result.stderr


def test_a_result_the_journal_cannot_store_fails_that_task(project: Project) -> None:
    wf = project.write("lock.pty", "Hello -> Lock\n")
    result = invoke("run", wf, "-e", project.events, "--store", str(project.root / "j.db"))
    assert result.exit_code == 1
    assert "Lock (Lock@1.0.0) failed after 1 attempt" in result.stderr
    assert "which the journal cannot store" in result.stderr


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_an_input_without_equals_is_exit_2_with_the_fix(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    result = invoke("run", wf, "-e", project.events, "--input", "oops")
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "--input 'oops' is not key=value; write --input oops=VALUE" in line


def test_an_input_with_an_empty_key_is_exit_2(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    result = invoke("run", wf, "-e", project.events, "--input", "=3")
    assert result.exit_code == 2
    assert "--input '=3' is not key=value; write --input name=VALUE" in result.stderr


def test_input_json_must_be_an_object(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    result = invoke("run", wf, "-e", project.events, "--input-json", "[1, 2]")
    assert result.exit_code == 2
    assert "--input-json must be a JSON object, got an array" in _one_error_line(result.stderr)
    result = invoke("run", wf, "-e", project.events, "--input-json", "{name: 1}")
    assert result.exit_code == 2
    assert "--input-json is not valid JSON" in _one_error_line(result.stderr)


def test_a_missing_required_input_is_exit_2_naming_it(project: Project) -> None:
    wf = project.write("needs.pty", "NeedsName\n")
    result = invoke("run", wf, "-e", project.events)
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "missing workflow input 'name', needed by NeedsName (NeedsName@1.0.0)" in line
    assert "--input NAME=VALUE" in line


def test_an_unknown_event_is_exit_2_with_position_caret_and_suggestion(project: Project) -> None:
    wf = project.write("typo.pty", "Hello -> Helo\n")
    result = invoke("run", wf, "-e", project.events)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {wf}:1:10: unknown event 'Helo'; did you mean Hello?\n"
        "    Hello -> Helo\n"
        "             ^\n"
    )


def test_a_syntax_error_is_exit_2_with_file_line_and_column(project: Project) -> None:
    wf = project.write("bad.pty", "Hello ->\n  -> Save\n")
    result = invoke("run", wf, "-e", project.events)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {wf}:2:3: ")
    assert "Traceback" not in result.output


def test_a_missing_workflow_file_is_exit_2(project: Project) -> None:
    result = invoke("run", "nope.pty", "-e", project.events)
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert line.startswith("error: nope.pty: no such file (paths are relative to ")


def test_a_directory_instead_of_a_file_is_exit_2(project: Project) -> None:
    result = invoke("run", str(project.root), "-e", project.events)
    assert result.exit_code == 2
    assert "is a directory; pass a Pointy-lang file" in _one_error_line(result.stderr)


def test_a_file_that_is_not_utf8_is_exit_2(project: Project) -> None:
    path = project.root / "latin1.pty"
    path.write_bytes("Hello # caf\xe9\n".encode("latin-1"))
    result = invoke("run", str(path), "-e", project.events)
    assert result.exit_code == 2
    assert "is not UTF-8 text" in _one_error_line(result.stderr)


def test_an_events_file_that_fails_to_import_is_exit_2(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    broken = project.write("broken.py", "raise RuntimeError('oops')\n")
    result = invoke("run", wf, "--events", broken)
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert f"events file {broken} failed to import: RuntimeError: oops" in line


def test_an_events_module_that_does_not_exist_is_exit_2(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    result = invoke("run", wf, "--events", "no_such_pkg.events")
    assert result.exit_code == 2
    assert "events module 'no_such_pkg.events' was not found" in _one_error_line(result.stderr)
    result = invoke("run", wf, "--events", "missing_events.py")
    assert result.exit_code == 2
    assert "events file missing_events.py does not exist" in _one_error_line(result.stderr)


def test_no_events_at_all_says_to_pass_events(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    result = invoke("run", wf)
    assert result.exit_code == 2
    assert "no events are loaded: pass --events" in result.stderr


def test_an_unusable_store_url_is_exit_2(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    result = invoke("run", wf, "-e", project.events, "--store", "ftp://x")
    assert result.exit_code == 2
    assert "cannot open a journal at 'ftp://x'" in _one_error_line(result.stderr)


def test_usage_mistakes_are_exit_2(project: Project) -> None:
    wf = project.write("hello.pty", "Hello\n")
    assert invoke("run").exit_code == 2
    assert invoke("run", wf, "--max-workers", "0").exit_code == 2
    assert invoke("frobnicate").exit_code == 2


def test_events_from_a_module_name_work(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    # As with PYTHONPATH=. : the project's events.py imports as module `events`.
    monkeypatch.syspath_prepend(str(project.root))
    wf = project.write("hello.pty", "Hello\n")
    try:
        result = invoke("run", wf, "--events", "events", "--store", "memory:")
    finally:
        sys.modules.pop("events", None)
    assert result.exit_code == 0, result.output


def test_bare_volnux_shows_help_and_version_works() -> None:
    result = invoke()
    assert result.exit_code == 0
    for command in ("run", "validate", "graph", "fmt"):
        assert re.search(rf"\b{command}\b", result.stdout)
    version = invoke("--version")
    assert version.exit_code == 0
    assert re.fullmatch(r"volnux \d+\.\d+\.\d+\S*\n", version.stdout)


def test_each_occurrence_of_an_event_gets_its_own_row(project: Project) -> None:
    wf = project.write("many.pty", " -> ".join(["Hello"] * 5) + "\n")
    result = invoke("run", wf, "-e", project.events, "--store", "memory:")
    assert result.exit_code == 0, result.output
    for node in ("Hello", "Hello#2", "Hello#5"):
        assert re.search(rf"^{re.escape(node)}\s+Hello@1\.0\.0\s+succeeded", result.stdout, re.M)


def test_a_missing_absolute_path_is_named_without_the_working_directory(
    project: Project,
) -> None:
    missing = project.root / "gone.pty"
    result = invoke("run", str(missing), "-e", project.events)
    assert result.exit_code == 2
    assert _one_error_line(result.stderr) == f"error: {missing}: no such file"


def test_a_failed_cli_run_can_be_retried_from_its_journal_alone(project: Project) -> None:
    import volnux
    from volnux.store import open_store

    wf = project.write("marker.pty", "Hello -> UntilMarker\n")
    db = str(project.root / "runs.db")
    result = invoke("run", wf, "-e", project.events, "--store", db)
    assert result.exit_code == 1
    found = re.search(rf"^run ({RUN_ID}) failed", result.stderr, re.M)
    assert found, result.stderr
    (project.root / "marker").touch()
    # No events are passed: the run recorded where the CLI loaded them from.
    journal = open_store(db)
    try:
        retried = volnux.Workflow.retry(found[1], store=journal)
    finally:
        journal.close()
    assert retried.status == "succeeded"
    assert retried.results["UntilMarker"] == "ok"


@pytest.mark.parametrize("how", ["file", "module"])
def test_events_that_call_sys_exit_at_import_are_a_failed_import(
    project: Project, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.root / "quitter.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(project.root))
    wf = project.write("hello.pty", "Hello\n")
    source = str(project.root / "quitter.py") if how == "file" else "quitter"
    result = invoke("run", wf, "--events", source)
    assert result.exit_code == 2, result.output
    assert "failed to import: it called sys.exit(3) while being imported" in result.stderr


def test_what_events_print_is_kept_with_their_logs_not_in_the_table(project: Project) -> None:
    wf = project.write("chatty.pty", "Chatty\n")
    result = invoke("run", wf, "--events", project.events)
    assert result.exit_code == 0, result.output
    assert "hello from the event" not in result.stdout
    assert re.search(r"^Chatty\s+Chatty@1\.0\.0\s+succeeded", result.stdout, re.M)
    (run,) = json.loads(invoke("runs", "list", "--json").stdout)
    logs = invoke("runs", "logs", run["id"]).stdout
    assert "[print] hello from the event" in logs
    assert "[print] no newline at the end" in logs
    shown = invoke("run", wf, "--events", project.events, "--show-prints")
    assert "hello from the event" in shown.stdout

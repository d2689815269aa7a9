"""Task log lines: captured per attempt (threads and processes), stored with the run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import volnux
from volnux import Context, Workflow
from volnux.engine.attempt import run_attempt
from volnux.events import spec_of
from volnux.events.logs import MAX_LINES, capture_logs, stop_capturing_logs
from volnux.executors import ProcessExecutor, ThreadExecutor
from volnux.store import LogEntry, SQLiteJournal

from . import log_events


def attempt(event: Any, executor: Any = None, attempt_no: int = 1, **inputs: Any) -> Any:
    """Run one attempt of ``event`` on ``executor`` (a thread by default)."""
    spec = spec_of(event)
    assert spec is not None
    ctx = Context("run-1", spec.name, spec.key, attempt_no, inputs)
    executor = executor or ThreadExecutor(1)
    done = threading.Event()
    box: list[Any] = []
    executor.submit(run_attempt, (spec, ctx), lambda r, e: (box.append((r, e)), done.set()))
    assert done.wait(30)
    executor.shutdown()
    result, error = box[0]
    assert error is None, error
    return result


@pytest.fixture
def untouched_root() -> Iterator[None]:
    """The test must leave the root logger exactly as it found it."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    yield
    assert (list(root.handlers), root.level) == before


def test_ctx_log_lines_come_back_with_the_attempt(untouched_root: None) -> None:
    result = attempt(log_events.Chatty, attempt_no=2)
    assert result.result == "said"
    assert [(e.level, e.message) for e in result.logs] == [
        (logging.INFO, "fetched 3 rows"),
        (logging.WARNING, "no rate for EUR; using 1.0"),
    ]
    assert {(e.run_id, e.node_id, e.attempt) for e in result.logs} == {("run-1", "Chatty", 2)}
    assert all(isinstance(e, LogEntry) and e.at > 0 for e in result.logs)


def test_ctx_log_lines_come_back_from_a_worker_process(untouched_root: None) -> None:
    result = attempt(log_events.ChattyProcess, ProcessExecutor(1))
    assert [e.message for e in result.logs] == ["in a worker process"]


def test_a_failing_attempt_keeps_its_lines_and_the_logged_traceback() -> None:
    result = attempt(log_events.Fails)
    assert result.descriptor == 0
    messages = [e.message for e in result.logs]
    assert messages[0] == "about to fail"
    assert messages[1].startswith("lookup failed\nTraceback")
    assert "KeyError: 'k'" in messages[1]


def test_debug_lines_are_kept_only_when_the_logger_is_enabled_for_them() -> None:
    task_logger = logging.getLogger("volnux.task")
    assert [e.message for e in attempt(log_events.Debugs).logs] == ["info line"]
    old = task_logger.level
    task_logger.setLevel(logging.DEBUG)
    try:
        assert [e.message for e in attempt(log_events.Debugs).logs] == [
            "debug line",
            "info line",
        ]
    finally:
        task_logger.setLevel(old)


def test_records_carry_the_run_node_and_attempt(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="volnux.task"):
        attempt(log_events.Chatty, attempt_no=3)
    records = [r for r in caplog.records if r.name == "volnux.task"]
    assert records and all(
        (r.run_id, r.node_id, r.attempt) == ("run-1", "Chatty", 3)  # type: ignore[attr-defined]
        for r in records
    )


def test_a_bad_format_string_does_not_break_the_event() -> None:
    result = attempt(log_events.BadFormat)
    assert result.result == "fine"
    assert result.logs[0].message.startswith("%d apples")


def test_past_the_limit_the_first_and_the_last_lines_are_kept() -> None:
    result = attempt(log_events.Floods, lines=MAX_LINES + 5)
    messages = [entry.message for entry in result.logs]
    assert len(messages) == MAX_LINES + 1
    half = MAX_LINES // 2
    assert messages[:half] == [f"line {i}" for i in range(half)]
    assert messages[half] == "... 5 log lines of this attempt were not kept here ..."
    # The last lines, just before the attempt ended, are kept.
    assert messages[half + 1 :] == [f"line {i}" for i in range(half + 5, MAX_LINES + 5)]
    exact = attempt(log_events.Floods, lines=MAX_LINES)
    assert [e.message for e in exact.logs] == [f"line {i}" for i in range(MAX_LINES)]


def test_a_message_that_cannot_format_never_fails_the_task() -> None:
    result = attempt(log_events.FormatsInfinity)
    assert result.result == "still fine"
    (entry,) = result.logs
    assert entry.message.startswith("%d rows (inf,) (the message does not format: OverflowError")


def test_named_loggers_are_captured_only_inside_attempts(untouched_root: None) -> None:
    shop = logging.getLogger("shop")
    shop.setLevel(logging.INFO)
    capture_logs("shop")
    try:
        shop.info("outside any attempt")  # not kept anywhere
        result = attempt(log_events.UsesModuleLogger)
    finally:
        stop_capturing_logs("shop")
        shop.setLevel(logging.NOTSET)
    assert [e.message for e in result.logs] == ["[shop] charging card 42", "via ctx.log"]
    assert shop.handlers == []
    # Not captured once stopped.
    assert [e.message for e in attempt(log_events.UsesModuleLogger).logs] == ["via ctx.log"]


def test_a_run_leaves_logging_configuration_alone(untouched_root: None) -> None:
    task_logger = logging.getLogger("volnux.task")
    before = (list(task_logger.handlers), task_logger.level, task_logger.propagate)
    Workflow.from_text("Chatty", [log_events.Chatty]).run()
    assert (list(task_logger.handlers), task_logger.level, task_logger.propagate) == before


def test_a_run_stores_each_attempts_lines_in_the_journal(tmp_path: Path) -> None:
    tries = {"n": 0}

    @volnux.event
    def Flaky(ctx: Context) -> str:
        tries["n"] += 1
        ctx.log.info("try %d", tries["n"])
        if tries["n"] == 1:
            raise ConnectionError("down")
        return "ok"

    journal = SQLiteJournal(tmp_path / "j.db")
    run = Workflow.from_text("Chatty -> Flaky * 2", [log_events.Chatty, Flaky]).run(store=journal)
    lines = [(e.node_id, e.attempt, e.message) for e in journal.logs(run.id)]
    flaky = [(e.attempt, e.message) for e in journal.logs(run.id, "Flaky")]
    journal.close()
    assert lines == [
        ("Chatty", 1, "fetched 3 rows"),
        ("Chatty", 1, "no rate for EUR; using 1.0"),
        ("Flaky", 1, "try 1"),
        ("Flaky", 2, "try 2"),
    ]
    assert flaky == [(1, "try 1"), (2, "try 2")]

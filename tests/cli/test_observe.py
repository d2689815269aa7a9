"""Pictures, logs and failure explanations through the real ``volnux`` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from volnux.observability.dot import STATE_COLOURS

from .support import on_a_terminal

EVENTS = """
import volnux


@volnux.event
def Fetch(ctx):
    ctx.log.info("fetched %d orders", 3)
    return [1, 2, 3]


@volnux.event
def Price(ctx, piped=None):
    return 10


@volnux.event
def Check(ctx, piped=None):
    return 1


@volnux.event
def Notify(ctx):
    return "told"


@volnux.event(version="1.2.0")
def Charge(ctx, piped=None):
    ctx.log.info("charging card, attempt %d", ctx.attempt)
    ctx.log.warning("gateway slow")
    raise ValueError(f"card declined on attempt {ctx.attempt}")
"""

FLOW = "Fetch |-> (Price || Check) -> Check (0 -> Notify, 1 -> Charge * 2)\n"
SVG = "{http://www.w3.org/2000/svg}"


def volnux(
    cwd: Path, *args: str, code: int | None = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "volnux", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if code is not None:
        assert done.returncode == code, (done.stdout, done.stderr)
    return done


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A project whose run failed: (folder, run id, what `volnux run` printed to stderr)."""
    root = tmp_path_factory.mktemp("shop")
    (root / "events.py").write_text(EVENTS, encoding="utf-8")
    (root / "flow.pty").write_text(FLOW, encoding="utf-8")
    done = volnux(root, "run", "flow.pty", "-e", "events.py", "--store", "runs.db", code=1)
    run_id = re.search(r"^run (\w+) failed", done.stderr, re.M)
    assert run_id, done.stderr
    return root, run_id[1], done.stderr


def test_a_failed_run_is_explained_in_one_screen(failed: tuple[Path, str, str]) -> None:
    _, run_id, err = failed
    lines = err.splitlines()
    assert len(lines) <= 24, err
    assert lines[0].startswith(
        f"run {run_id} failed: Charge (Charge@1.2.0) failed after 2 attempts"
    )
    assert "tasks: 4 succeeded, 1 failed, 1 skipped" in lines
    assert "Charge (Charge@1.2.0) failed after 2 attempts" in lines
    assert "  ValueError: card declined on attempt 2" in lines
    assert re.search(r'File ".*events\.py", line \d+, in Charge\n\s+raise ValueError', err)
    assert "volnux/engine" not in err and "Traceback" not in err
    assert "  path: Fetch -> (Price || Check) -> Check#2 -> Charge" in lines
    assert "succeeded: Fetch, Price, Check, Check#2" in lines
    assert f"retry with: volnux runs retry {run_id} --store runs.db" in lines
    assert "  runs again: Charge, then what follows them" in lines
    assert "  keeps: Check, Check#2, Fetch, Price" in lines


def test_the_explanation_shows_the_failed_attempts_last_log_lines(
    failed: tuple[Path, str, str],
) -> None:
    err = failed[2]
    assert "  last log lines (attempt 2):" in err
    assert re.search(r"^    \d\d:\d\d:\d\d\.\d{3} INFO     charging card, attempt 2$", err, re.M)
    assert re.search(r"^    \d\d:\d\d:\d\d\.\d{3} WARNING  gateway slow$", err, re.M)


def test_runs_show_gives_the_same_explanation(failed: tuple[Path, str, str]) -> None:
    root, run_id, err = failed
    shown = volnux(root, "runs", "show", run_id, "--store", "runs.db").stdout
    assert "node" in shown and "Charge@1.2.0" in shown  # the task table first
    explained = shown[shown.index(f"run {run_id} failed:") :]
    # `volnux run` then says where it recorded the run; the rest is the same.
    *same, where = err.splitlines()
    assert explained.splitlines() == same
    assert where == f"recorded in {root / 'runs.db'}"


def test_runs_logs_prints_the_lines_of_a_run_or_one_task(failed: tuple[Path, str, str]) -> None:
    root, run_id, _ = failed
    out = volnux(root, "runs", "logs", run_id, "--store", "runs.db").stdout.splitlines()
    assert [re.sub(r"\d\d:\d\d:\d\d\.\d{3}", "T", line) for line in out] == [
        "Fetch  #1 T INFO     fetched 3 orders",
        "Charge #1 T INFO     charging card, attempt 1",
        "Charge #1 T WARNING  gateway slow",
        "Charge #2 T INFO     charging card, attempt 2",
        "Charge #2 T WARNING  gateway slow",
    ]
    rows = json.loads(
        volnux(root, "runs", "logs", run_id, "Fetch", "--json", "--store", "runs.db").stdout
    )
    assert [(r["node"], r["attempt"], r["level"], r["message"]) for r in rows] == [
        ("Fetch", 1, 20, "fetched 3 orders")
    ]


def test_runs_logs_of_a_task_that_wrote_none_or_does_not_exist(
    failed: tuple[Path, str, str],
) -> None:
    root, run_id, _ = failed
    quiet = volnux(root, "runs", "logs", run_id, "Price", "--store", "runs.db").stdout
    assert quiet.strip() == f"run {run_id}: no log lines were recorded by task Price"
    wrong = volnux(root, "runs", "logs", run_id, "Nope", "--store", "runs.db", code=2)
    assert wrong.stderr.startswith(f"error: run {run_id} has no task 'Nope'; its tasks: ")


def test_runs_graph_draws_each_task_in_its_state_colour(failed: tuple[Path, str, str]) -> None:
    root, run_id, _ = failed
    volnux(root, "runs", "graph", run_id, "-f", "svg", "-o", "run.svg", "--store", "runs.db")
    svg = ET.parse(root / "run.svg").getroot()
    fills = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "node":
            shape = next(e for e in g.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon"))
            fills[g.findtext(f"{SVG}title")] = shape.get("fill")
    assert fills == {
        "Fetch": STATE_COLOURS["succeeded"],
        "Price": STATE_COLOURS["succeeded"],
        "Check": STATE_COLOURS["succeeded"],
        "Check#2": STATE_COLOURS["succeeded"],
        "Notify": STATE_COLOURS["skipped"],
        "Charge": STATE_COLOURS["failed"],
    }
    dot = volnux(root, "runs", "graph", run_id, "--store", "runs.db").stdout
    assert "failed, 2 attempts" in dot and "Notify\\nskipped" in dot


def test_graph_draws_svg_png_and_xdot(tmp_path: Path) -> None:
    (tmp_path / "flow.pty").write_text(FLOW, encoding="utf-8")
    svg = volnux(tmp_path, "graph", "flow.pty", "-f", "svg").stdout
    assert "<svg" in svg and "Charge" in svg
    png = subprocess.run(
        [sys.executable, "-m", "volnux", "graph", "flow.pty", "-f", "png"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    volnux(tmp_path, "graph", "flow.pty", "-f", "xdot", "-o", "flow.xdot")
    assert "_draw_" in (tmp_path / "flow.xdot").read_text(encoding="utf-8")


def test_without_graphviz_drawing_fails_in_one_line_naming_the_fix(tmp_path: Path) -> None:
    (tmp_path / "flow.pty").write_text(FLOW, encoding="utf-8")
    done = volnux(tmp_path, "graph", "flow.pty", "-f", "svg", code=2, env={"PATH": str(tmp_path)})
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: drawing svg needs the Graphviz 'dot' program")
    assert "apt-get install graphviz" in done.stderr
    # DOT text needs no program.
    dot = volnux(tmp_path, "graph", "flow.pty", env={"PATH": str(tmp_path)}).stdout
    assert dot.startswith("digraph workflow {")


def test_runs_graph_ascii_shows_each_task_with_its_state_attempts_and_time(
    failed: tuple[Path, str, str],
) -> None:
    root, run_id, _ = failed
    out = volnux(root, "runs", "graph", run_id, "-f", "ascii", "--store", "runs.db").stdout
    assert "\x1b" not in out  # piped: no colour
    plain = [re.sub(r"\d+\.\d\ds", "T", line) for line in out.splitlines()]
    assert plain == [
        f"flow: run {run_id} failed",
        "",
        "Fetch                succeeded, 1 attempt, T",
        "| piped",
        "+-- Price            succeeded, 1 attempt, T",
        "`-- Check            succeeded, 1 attempt, T",
        "|",
        "Check (Check#2)      succeeded, 1 attempt, T",
        "+-- 0 -> Notify      skipped",
        "`-- 1 -> Charge * 2  failed, 2 attempts, T",
    ]
    volnux(root, "runs", "graph", run_id, "-f", "ascii", "-o", "run.txt", "--store", "runs.db")
    assert (root / "run.txt").read_text(encoding="utf-8") == out


def test_graph_ascii_draws_the_workflow_as_text(tmp_path: Path) -> None:
    (tmp_path / "flow.pty").write_text(FLOW, encoding="utf-8")
    out = volnux(tmp_path, "graph", "flow.pty", "-f", "ascii").stdout
    assert out.splitlines() == [
        "Fetch",
        "| piped",
        "+-- Price",
        "`-- Check",
        "|",
        "Check (Check#2)",
        "+-- 0 -> Notify",
        "`-- 1 -> Charge * 2",
    ]


def test_on_a_terminal_the_ascii_graph_is_coloured_by_state(tmp_path: Path) -> None:
    (tmp_path / "events.py").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "flow.pty").write_text("Charge (0 -> Notify) -> Fetch\n", encoding="utf-8")
    done = volnux(tmp_path, "run", "flow.pty", "-e", "events.py", "--store", "runs.db")
    run_id = re.search(r"^run (\w+) succeeded", done.stdout, re.M)
    assert run_id, done.stdout
    args = ["runs", "graph", run_id[1], "-f", "ascii", "--store", "runs.db"]
    code, screen = on_a_terminal(args, tmp_path)
    assert code == 0, screen
    # A failure its 0 branch took is yellow and says so; what ran after is green.
    assert re.search(r"\x1b\[33mCharge\x1b\[0m +\x1b\[33mfailed \(handled\)", screen), screen
    assert re.search(r"\x1b\[32mNotify\x1b\[0m", screen), screen
    code, plain = on_a_terminal(args, tmp_path, env={"NO_COLOR": "1"})
    assert code == 0 and "\x1b[3" not in plain and "failed (handled), 1 attempt" in plain

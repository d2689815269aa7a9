"""``volnux runs graph`` and ``volnux runs logs``: a run as a picture, and its log lines.

Also :func:`write_picture`, which ``volnux graph`` shares: DOT text needs
nothing; xdot, SVG and PNG are drawn by Graphviz's ``dot`` program, and
without it the command says how to install it (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .app import CollapseOption, Picture, PictureOption, PictureOutput, fail, reported_errors
from .runs import JsonOption, RunIdArgument, StoreOption, _describe, journal_at, resolve, runs_app

__all__ = ["graph_run", "logs", "write_picture"]


def write_picture(dot: str, fmt: str, output: Path | None) -> None:
    """Draw ``dot`` as ``fmt`` to ``output`` (stdout if None); errors exit 2 in one line."""
    from ..observability.render import render

    with reported_errors():
        data = render(dot, fmt)
    if output is not None:
        try:
            output.write_bytes(data)
        except OSError as exc:
            fail(f"{output}: cannot be written: {exc.strerror or exc}")
        return
    if fmt == "png":
        if sys.stdout.isatty():
            fail("a PNG is binary, not for the terminal: pass -o FILE.png (or pipe the output)")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    sys.stdout.write(data.decode("utf-8"))


@runs_app.command("graph")
def graph_run(
    run_id: RunIdArgument,
    store: StoreOption = None,
    fmt: PictureOption = Picture.dot,
    output: PictureOutput = None,
    collapse: CollapseOption = 10,
) -> None:
    """Draw a run: tasks coloured by state with attempts and time; the path not taken grey."""
    from ..observability.pictures import run_dot

    with journal_at(store) as journal:
        detail = _describe(journal, run_id)
        detail.graph()  # without one (text this version cannot parse), tasks alone
    run = detail.run
    changes = detail.changes()
    forced = " (resumed with --force)" if any(c.forced for c in changes) else ""
    title = f"{run.workflow}: run {run.id} {run.status}{forced}"
    # What changed last wins: the note says how the node differs from the run's start.
    changed = {
        node: f"changed when {'retried' if c.verb == 'retry' else 'resumed'}"
        + (" with --force" if c.forced else "")
        for c in changes
        for node in c.nodes
    }
    with reported_errors():
        text = run_dot(
            run.graph,
            run.tasks,
            title=title,
            collapse=collapse or None,
            failed_nodes=run.unhandled(),
            changed=changed,
        )
    write_picture(text, fmt.value, output)


@runs_app.command()
def logs(
    run_id: RunIdArgument,
    node: Annotated[
        str | None,
        typer.Argument(help="Only this task's lines (its node id).", metavar="[NODE]"),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The log lines a run's tasks wrote (ctx.log and captured loggers), oldest first."""
    from ..engine.recovery import recorded
    from .report import format_log_line

    with journal_at(store) as journal, reported_errors():
        run_id = resolve(journal, run_id)
        record = journal.load_run(run_id)
        # Every planned task has a pin (the run's first workflow, or as changed since).
        pins = {**record.events, **recorded(record, journal.load_notes(run_id)).pins}
        if node is not None and node not in pins:
            known = ", ".join(sorted(pins)) or "none"
            fail(f"run {run_id} has no task {node!r}; its tasks: {known}")
        entries = journal.logs(run_id, node)
    if as_json:
        rows = [
            {
                "node": e.node_id,
                "attempt": e.attempt,
                "at": e.at,
                "level": e.level,
                "message": e.message,
            }
            for e in entries
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not entries:
        which = f" by task {node}" if node is not None else ""
        typer.echo(f"run {run_id}: no log lines were recorded{which}")
        return
    width = max(len(e.node_id) for e in entries)
    for e in entries:
        head = f"{e.node_id:<{width}} #{e.attempt} "
        typer.echo(head + format_log_line(e).replace("\n", "\n" + " " * len(head)))

"""``volnux runs graph`` and ``volnux runs logs``: a run as a picture, and its log lines.

Also :func:`write_picture` and :func:`write_ascii`, which ``volnux graph``
shares: DOT text and ASCII need nothing; xdot, SVG and PNG are drawn by
Graphviz's ``dot`` program, and without it the command says how to install
it (exit 2).  ASCII is coloured by state on a terminal (not when piped,
written to a file, or when ``NO_COLOR`` is set).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import CollapseOption, Picture, PictureOption, PictureOutput, fail, reported_errors
from .runs import JsonOption, RunIdArgument, StoreOption, _describe, journal_at, resolve, runs_app

if TYPE_CHECKING:
    from ..observability.ascii import Piece

__all__ = ["STATE_STYLES", "graph_run", "logs", "write_ascii", "write_picture"]

#: How a task in each state is coloured in an ASCII picture on a terminal.
STATE_STYLES: Mapping[str, str] = {
    "succeeded": "green",
    "failed": "bold red",
    "handled": "yellow",
    "running": "bold cyan",
    "retrying": "yellow",
    "pending": "",
    "skipped": "dim",
}


def write_ascii(lines: Sequence[Sequence[Piece]], output: Path | None, title: str = "") -> None:
    """Write ASCII lines to ``output`` as plain text, or to stdout (coloured on a terminal)."""
    from rich.console import Console
    from rich.text import Text

    head = [title, ""] if title else []
    if output is not None:
        plain = [*head, *("".join(piece.text for piece in pieces) for pieces in lines)]
        try:
            output.write_text("".join(f"{text}\n" for text in plain), encoding="utf-8")
        except OSError as exc:
            fail(f"{output}: cannot be written: {exc.strerror or exc}")
        return
    console = Console(highlight=False)
    for heading in head:
        console.print(Text(heading, style="bold" if heading else ""), soft_wrap=True)
    for line in lines:
        text = Text()
        for piece in line:
            text.append(piece.text, STATE_STYLES.get(piece.state, ""))
        console.print(text, soft_wrap=True)


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
    from ..observability.pictures import run_ascii, run_dot

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
    if fmt is Picture.ascii:
        lines = run_ascii(
            run.graph,
            run.tasks,
            collapse=collapse or None,
            failed_nodes=run.unhandled(),
            changed=changed,
        )
        if run.graph is None:
            title += " (tasks only, in the order they started: the workflow text is not available)"
        write_ascii(lines, output, title)
        return
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

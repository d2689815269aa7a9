"""Moving runs between journals: ``volnux runs export``, ``runs import``, ``store copy``.

A run recorded on one journal (a laptop's SQLite file) goes to another (the
team's PostgreSQL) with its records, notes and logs, and resumes there; the
form is one JSON line per run (see :mod:`volnux.store.transfer`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import fail, reported_errors
from .runs import StoreOption, journal_at, resolve, runs_app
from .store import store_app

if TYPE_CHECKING:
    from ..store import Journal

__all__: list[str] = []

#: "Every run" as a list_runs limit.
_ALL = 2**62

PickleOption = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Carry results stored with pickle (loading them runs code: only for "
        "journals whose every writer you trust).",
    ),
]


@runs_app.command("export")
def export(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Runs to export (ids or enough of their start).", metavar="RUN_ID..."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Export every run of the journal.")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file instead of stdout.", metavar="FILE"
        ),
    ] = None,
    store: StoreOption = None,
    allow_pickle: PickleOption = False,
) -> None:
    """Write runs as JSON lines (one per run), for `volnux runs import` elsewhere."""
    from ..store.transfer import dump

    if not run_ids and not every:
        fail("name the runs to export, or pass --all")
    with journal_at(store) as journal, reported_errors():
        ids = _run_ids(journal, run_ids or [], every)
        if output is None:
            count = dump(journal, ids, sys.stdout, allow_pickle=allow_pickle)
        else:
            with output.open("w", encoding="utf-8") as out:
                count = dump(journal, ids, out, allow_pickle=allow_pickle)
    typer.echo(f"exported {count} run(s)", err=True)


@runs_app.command("import")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            help="A file of `volnux runs export` lines, or - for stdin.", metavar="FILE"
        ),
    ] = "-",
    store: StoreOption = None,
    allow_pickle: PickleOption = False,
) -> None:
    """Record the runs of an export in this journal (each keeps its id, and resumes here)."""
    from ..store.transfer import import_runs

    count = 0
    with _writable(store) as journal, reported_errors():
        if source == "-":
            handle, name = sys.stdin, "stdin"
        else:
            try:
                handle, name = Path(source).open(encoding="utf-8"), source  # noqa: SIM115
            except OSError as exc:
                fail(f"{source}: {exc.strerror or exc}")
        with handle:
            # Each id as its run is written: a bad line further on stops the
            # import, and what came before it is named.
            for run_id in import_runs(journal, handle, allow_pickle=allow_pickle, name=name):
                typer.echo(run_id)
                count += 1
        where = journal.location
    typer.echo(f"imported {count} run(s) into {where}", err=True)


@store_app.command("copy")
def copy(
    source: Annotated[str, typer.Argument(help="The journal to copy from (a URL).", metavar="SRC")],
    destination: Annotated[
        str, typer.Argument(help="The journal to copy into (a URL).", metavar="DST")
    ],
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Runs to copy (default: every run).", metavar="[RUN_ID...]"),
    ] = None,
    allow_pickle: PickleOption = False,
) -> None:
    """Copy runs from one journal to another: SQLite to PostgreSQL, and back."""
    from ..store.transfer import copy_runs

    with journal_at(source) as src, _writable(destination) as dst, reported_errors():
        ids = _run_ids(src, run_ids or [], not run_ids)
        count = 0
        for run_id in copy_runs(src, dst, ids, allow_pickle=allow_pickle):
            typer.echo(run_id)
            count += 1
        where = dst.location
    typer.echo(f"copied {count} run(s) into {where}", err=True)


def _run_ids(journal: Journal, given: list[str], every: bool) -> list[str]:
    """The runs named (each resolved from the start of its id), or every run, oldest first."""
    if every:
        return [run.id for run in reversed(journal.list_runs(_ALL))]
    return [resolve(journal, run_id) for run_id in given]


@contextmanager
def _writable(store: str | None) -> Iterator[Journal]:
    """The journal named (else the project's), made if it does not exist yet."""
    from .events import open_journal, project_config

    with reported_errors():
        journal = open_journal(store, project_config())
    try:
        yield journal
    finally:
        journal.close()

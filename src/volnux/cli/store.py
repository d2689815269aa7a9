"""``volnux store check``: read a whole journal and say what is damaged.

Opening a journal for writing checks its small tables and the path its next
records go to (a few milliseconds, whatever its size); this command reads
everything: SQLite's integrity check of the file, then every run decoded.
Exit 0 when the journal is whole, 1 when it is damaged, 2 when it cannot be
opened at all.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from .app import EXIT_FAILED
from .runs import JsonOption, StoreOption, journal_at

__all__ = ["store_app"]

store_app = typer.Typer(
    name="store",
    help="The journal itself: check it for damage, copy runs to another.",
    no_args_is_help=True,
)


@store_app.command()
def check(
    store: StoreOption = None,
    as_json: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing; exit 0 or 1.")
    ] = False,
) -> None:
    """Read the whole journal: exit 0 if it is whole, 1 (listing the damage) if not."""
    started = time.perf_counter()
    with journal_at(store) as journal:
        problems = journal.check()
        where = journal.location
    took = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps({"store": where, "ok": not problems, "problems": problems}))
    elif not quiet:
        if problems:
            typer.echo(f"damaged: {where} ({len(problems)} problem(s), checked in {took:.2f}s)")
            for line in problems:
                typer.echo(f"  {line}")
        else:
            typer.echo(f"ok: {where} (checked in {took:.2f}s)")
    if problems:
        raise typer.Exit(EXIT_FAILED)

"""Results kept in the result store: ``volnux runs result`` and ``volnux results gc``.

``runs result RUN NODE -o FILE`` writes one task's result as it is stored:
the file in the result store (checked against its hash), or, for a result
kept in the journal, its stored form (JSON text, bytes, ``.npy`` ...).
``results gc`` removes the result files no journaled run refers to.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from .app import fail, reported_errors
from .runs import RunIdArgument, StoreOption, journal_at, resolve, runs_app

__all__ = ["results_app"]

#: "Every run" as a list_runs limit.
_ALL = 2**62

results_app = typer.Typer(
    name="results",
    help="The result store, where large results are kept: remove what no run refers to.",
    no_args_is_help=True,
)


@runs_app.command("result")
def result(
    run_id: RunIdArgument,
    node: Annotated[str, typer.Argument(help="The task's node id.", metavar="NODE")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file (default: stdout).", metavar="FILE"
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Write one task's result as stored: a result-store file (checked), JSON text, bytes."""
    from ..store.codec import CodecSet
    from ..store.results import ResultRef, human_size

    with journal_at(store) as journal, reported_errors():
        run_id = resolve(journal, run_id)
        tasks = journal.load(run_id).tasks
        found = [rec for rec in tasks if rec.node_id == node and rec.result is not None]
        if not any(rec.node_id == node for rec in tasks):
            fail(f"run {run_id} has no task {node!r}")
        if not found:
            fail(f"task {node} of run {run_id} has no result recorded")
        value = found[-1].result
        with _opened(output) as out:
            if type(value) is ResultRef:
                value.copy_to(out)
                what = value.describe()
            else:
                try:
                    data, codec = CodecSet().encode_value(value)
                except ValueError as exc:
                    fail(f"the result of {node} cannot be written out: {exc}")
                raw = data.encode("utf-8") if isinstance(data, str) else (data or b"")
                out.write(raw + (b"\n" if codec == "json" else b""))
                what = f"{human_size(len(raw))} {codec}, kept in the journal"
    if output is not None:
        typer.echo(f"wrote the result of {node} ({what}) to {output}", err=True)


class _opened:
    """``path`` open for writing bytes, or stdout's bytes for None."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self.path is None:
            return sys.stdout.buffer
        try:
            self.handle = self.path.open("wb")
        except OSError as exc:
            fail(f"cannot write {self.path}: {exc.strerror or exc}")
        return self.handle

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.close()
        else:
            sys.stdout.flush()


@results_app.command("gc")
def gc(
    store: StoreOption = None,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Keep files written more recently than this (a run may not have "
            "journaled them yet): 3600, 90s, 30m, 2h, 1d.",
            metavar="AGE",
        ),
    ] = "1h",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
) -> None:
    """Remove result files that no run of the journal refers to."""
    from ..errors import StoreError
    from ..store.results import ResultRef, collect_garbage, human_size

    age = _seconds(older_than)
    with journal_at(store) as journal, reported_errors():
        results = getattr(journal, "results", None)
        if results is None:
            fail(f"the journal at {journal.location} keeps no result store")
        referenced: set[str] = set()
        for record in journal.list_runs(_ALL):
            try:
                tasks = journal.load(record.id).tasks
            except StoreError as exc:  # what it refers to is unknown: remove nothing
                fail(f"run {record.id} cannot be read, so nothing was removed: {exc}")
            referenced.update(t.result.digest for t in tasks if type(t.result) is ResultRef)
        removed, kept = collect_garbage(results, referenced, older_than=age, dry_run=dry_run)
    total = sum(size for _, size in removed)
    verb = "would remove" if dry_run else "removed"
    for location, size in removed:
        typer.echo(f"{verb} {location} ({human_size(size)})")
    typer.echo(
        f"{verb} {len(removed)} file{'s' if len(removed) != 1 else ''} "
        f"({human_size(total)}) from {results.location}; kept {kept} "
        f"({len(referenced)} referenced by runs)"
    )


def _seconds(text: str) -> float:
    """``3600``, ``90s``, ``30m``, ``2h``, ``1d`` -> seconds; exits 2 otherwise."""
    units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text.strip(), ""
    if number and number[-1] in "smhd":
        number, unit = number[:-1], number[-1]
    try:
        value = float(number) * units[unit]
    except ValueError:
        fail(f"--older-than {text!r} is not an age: write 3600, 90s, 30m, 2h or 1d")
    if value < 0:
        fail("--older-than cannot be negative")
    return value

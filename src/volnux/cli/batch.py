"""``volnux batch``, and batch runs in ``volnux runs`` (show, list, resume, retry, update).

A batch run shows as its batches, never its children's tasks: counts by
state with their items, the first failures with their errors, the slowest
batches, and the command that retries the failed ones.  All of it comes
from the parent's notes (:func:`volnux.batch.summarize`), so showing a run
of 10,000 batches reads no child run.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from .app import (
    EXIT_FAILED,
    ClusterOption,
    EventsOption,
    FileArgument,
    PrintsOption,
    TolerateItemsOption,
    TolerateOption,
    app,
    kept_prints,
    parse_source,
    project_workflow,
    reported_errors,
)
from .events import ConfigOption, StrictOption

if TYPE_CHECKING:
    from ..batch import BatchRun, BatchSummary
    from ..batch.driver import BatchEvent
    from ..store import Journal, RunRecord

__all__ = ["BatchProgress", "continue_batch_run", "print_batch_run"]

#: Failed batches listed with their errors before "and N more".
FAILURES_SHOWN = 10
#: Slowest batches listed by ``runs show``.
SLOWEST_SHOWN = 5
#: Seconds between plain progress lines when output is not a terminal.
PLAIN_EVERY = 5.0


class BatchProgress:
    """Counts a batch run's batches and items as they begin and end (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.running = 0
        self.succeeded = 0
        self.failed = 0
        self.items_done = 0
        # Items of the batches begun, and how far into the source they reach.
        self.items_begun = 0
        self.reach: float | None = None

    def __call__(self, event: BatchEvent) -> None:
        with self._lock:
            if event.what == "began":
                self.running += 1
                self.items_begun += event.size
                if event.reach is not None:
                    self.reach = max(self.reach or 0.0, event.reach)
                return
            self.running -= 1
            if event.state == "succeeded":
                self.succeeded += 1
                self.items_done += event.size
            else:
                self.failed += 1

    def line(self) -> str:
        """``12 batches done, 1 failed, 4 running; 12,000 items (2,400/s); 5.0s``."""
        with self._lock:
            done, failed, running, items = (
                self.succeeded,
                self.failed,
                self.running,
                self.items_done,
            )
            begun, reach = self.items_begun, self.reach
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = items / elapsed
        line = (
            f"{done} batch{'es' if done != 1 else ''} done, {failed} failed, {running} running; "
            f"{items:,} items ({rate:,.0f}/s); {elapsed:.1f}s"
        )
        if reach and rate > 0:
            left = max(0.0, begun / reach - items) / rate  # the source's items, estimated
            line += f"; ETA {format_eta(left)}"
        return line


def format_eta(seconds: float) -> str:
    """``0:42``, ``12:05``, ``3:02:10``."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextmanager
def _shown(progress: BatchProgress, out: TextIO) -> Iterator[None]:
    """Show ``progress`` on ``out`` while the block runs: redrawn on a terminal, else a
    plain line every :data:`PLAIN_EVERY` seconds."""
    finished = threading.Event()

    def plain() -> None:
        while not finished.wait(PLAIN_EVERY):
            out.write(f"progress: {progress.line()}\n")
            out.flush()

    def live() -> None:
        from rich.text import Text

        from .progress import live_display

        live_display(lambda: Text(progress.line()), out, finished)

    shower = threading.Thread(
        target=live if out.isatty() else plain, name="volnux-batch-progress", daemon=True
    )
    shower.start()
    try:
        yield
    finally:
        finished.set()
        shower.join()


@app.command()
def batch(
    file: FileArgument,
    over: Annotated[
        str,
        typer.Option(
            "--over",
            help="The input to split: a file, a directory, or a glob pattern in quotes.",
            metavar="INPUT",
        ),
    ],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Items per batch (the last may hold fewer).")
    ],
    events: EventsOption = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="How to split: lines, bytes, csv, jsonl, parquet, files, or MODULE:FUNC "
            "(default: told by the file's suffix; lines otherwise).",
            metavar="KIND",
        ),
    ] = None,
    as_name: Annotated[
        str,
        typer.Option("--as", help="The workflow input each batch is given as.", metavar="NAME"),
    ] = "batch",
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel", min=1, help="Batches at once (default: from the executors' capacity)."
        ),
    ] = None,
    tolerate: TolerateOption = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Start no batch after the first one fails.")
    ] = False,
    tolerate_items: TolerateItemsOption = None,
    fuse: Annotated[
        bool,
        typer.Option(
            "--fuse/--no-fuse",
            help="Send a batch's tasks that follow one another on the process executor "
            "to a worker in one call (journaled when it returns).",
        ),
    ] = True,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="An input every batch is given, key=value (JSON if it parses). Repeatable.",
            metavar="KEY=VALUE",
        ),
    ] = None,
    input_json: Annotated[
        str | None,
        typer.Option("--input-json", help="Inputs as one JSON object.", metavar="JSON"),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Where the run is recorded (default: $VOLNUX_STORE, else .volnux/volnux.db).",
            metavar="URL",
        ),
    ] = None,
    cluster: ClusterOption = None,
    config_path: ConfigOption = None,
    strict: StrictOption = None,
    prints: PrintsOption = False,
    progress: Annotated[
        bool,
        typer.Option("--progress/--no-progress", help="Show batches done, failed, running."),
    ] = True,
) -> None:
    """Run a workflow once per batch of a large input; exit 0 only if every batch succeeded."""
    import warnings

    from ..engine.stop import StopRequest, exit_code, signals_stop
    from ..events import EventDeprecationWarning
    from .events import open_journal
    from .inputs import parse_inputs
    from .report import quiet_task_logs

    quiet_task_logs()
    with reported_errors():
        values = parse_inputs(inputs or [], input_json)
        config, workflow = project_workflow(file, events, config_path, strict, cluster)
        kind, options = _split_kind(split)
        journal = open_journal(store, config)
        stop = StopRequest()
        watch = BatchProgress()
        try:
            with (
                warnings.catch_warnings(),
                signals_stop(stop),
                kept_prints(not prints),
                _shown(watch, sys.stderr) if progress else nullcontext(),
            ):
                warnings.simplefilter("ignore", EventDeprecationWarning)
                result = workflow.run_batches(
                    over,
                    batch_size=batch_size,
                    split=kind,
                    input_name=as_name,
                    parallel=parallel,
                    tolerate=tolerate,
                    fail_fast=fail_fast,
                    tolerate_items=tolerate_items,
                    inputs=values,
                    store=journal,
                    stop=stop,
                    on_batch=watch,
                    fuse=fuse,
                    **options,
                )
            where = journal.location
        finally:
            workflow.close(wait=False)
            journal.close()
    print_batch_run(result.id, result.state.value, result.error, result.summary, store)
    typer.echo(f"recorded in {where}", err=not _every_batch_succeeded(result))
    if not _every_batch_succeeded(result):
        raise typer.Exit(exit_code(stop) or EXIT_FAILED)


def _every_batch_succeeded(run: BatchRun) -> bool:
    counts = run.counts()
    return run.succeeded and set(counts) <= {"succeeded"}


def _split_kind(split: str | None) -> tuple[str | None, dict[str, Any]]:
    """``--split``: a kind, or ``MODULE:FUNC`` (a custom splitter)."""
    if split is not None and ":" in split:
        return "custom", {"using": split}
    return split, {}


# --------------------------------------------------------------------- showing


def print_batch_run(
    run_id: str,
    state: str,
    error: str | None,
    summary: BatchSummary,
    store: str | None,
    *,
    header: list[str] | None = None,
) -> None:
    """A batch run for people: counts by state, failures, slowest, what to do next."""
    from .runs import _table

    for line in header or []:
        typer.echo(line)
    spec = summary.spec
    source = spec.source or "an iterable"
    typer.echo(
        f"batch run {run_id} {state}: {summary.progress()} of {source} "
        f"({spec.source_kind}, {spec.batch_size} per batch, {summary.parallel} at once"
        + (f", tolerating {summary.tolerate}" if summary.tolerate else "")
        + (f", tolerating {summary.tolerate_items} items" if summary.tolerate_items else "")
        + ")"
    )
    if error:
        typer.echo(f"  {error}")
    counts, items = summary.counts(), summary.items()
    if counts:
        _table(
            ("state", "batches", "items"),
            [(s, f"{counts[s]:,}", f"{items.get(s, 0):,}") for s in counts],
        )
    failed = summary.of("failed", "cancelled")
    if failed:
        typer.echo(f"failed batches ({len(failed)}):")
        for b in failed[:FAILURES_SHOWN]:
            typer.echo(f"  batch {b.batch} (run {b.child}, {b.size} items): {b.error or b.state}")
        if len(failed) > FAILURES_SHOWN:
            typer.echo(f"  ... and {len(failed) - FAILURES_SHOWN} more")
        where = f" --store {store}" if store else ""
        typer.echo(f"retry them: volnux runs retry {run_id} --failed{where}")
    partial = [b for b in summary.of("succeeded") if b.failed_items]
    if summary.failed_item_count():
        typer.echo(f"batches with failed items ({len(partial)}):")
        for b in partial[:FAILURES_SHOWN]:
            typer.echo(f"  batch {b.batch} (run {b.child}): {b.failed_items} of {b.size} items")
        if len(partial) > FAILURES_SHOWN:
            typer.echo(f"  ... and {len(partial) - FAILURES_SHOWN} more")
        where = f" --store {store}" if store else ""
        typer.echo(
            f"see them: volnux runs show RUN; run them again: "
            f"volnux runs retry {run_id} --failed-items{where}"
        )
    cut_off = summary.of("interrupted", "paused")
    if cut_off:
        where = f" --store {store}" if store else ""
        typer.echo(
            f"{len(cut_off)} batch{'es' if len(cut_off) != 1 else ''} did not finish: "
            f"volnux runs resume {run_id}{where}"
        )


def show_batch_run(
    journal: Journal, record: RunRecord, summary: BatchSummary, store: str | None, as_json: bool
) -> None:
    """``volnux runs show PARENT``: the batch run from its notes, never its children."""
    from .runs import _when

    if as_json:
        from ..batch.summary import batch_json

        typer.echo(json.dumps(batch_json(record, summary), indent=2))
        return
    header = [f"workflow {record.workflow}, started {_when(record.created_at)}"]
    print_batch_run(record.id, record.state.value, record.error, summary, store, header=header)
    slow = summary.slowest(SLOWEST_SHOWN)
    if len(summary.batches) > 1 and slow:
        typer.echo("slowest batches:")
        for b in slow:
            typer.echo(f"  batch {b.batch} (run {b.child}): {b.seconds or 0:.2f}s, {b.state}")


# ------------------------------------------------------------------ continuing


def continue_batch_run(
    journal: Journal,
    run_id: str,
    *,
    events: list[str] | None,
    workflow_file: Path | None,
    force: bool,
    failed: bool,
    store: str | None,
    prints: bool,
    as_json: bool,
    failed_items: bool = False,
    cluster: str | None = None,
) -> None:
    """``volnux runs resume|retry PARENT``: take the batch run up again."""
    from ..batch import splitter
    from ..batch.driver import continue_batches
    from ..engine.lifecycle import Execution, recorded_program
    from ..engine.stop import StopRequest, exit_code, signals_stop
    from ..notes import BatchStarted
    from .events import pool_settings, project_config

    graph = parse_source(workflow_file)[1] if workflow_file is not None else None
    program = recorded_program(journal.load(run_id), events, graph)
    stop = StopRequest()
    watch = BatchProgress()

    def make_split(spec: BatchStarted) -> Any:
        return splitter(spec.source_kind, spec.source, spec.batch_size, **spec.options)

    with signals_stop(stop), kept_prints(not prints), _shown(watch, sys.stderr):
        result = continue_batches(
            journal,
            run_id,
            program,
            Execution(stop=stop, pool_settings=pool_settings(project_config(cluster=cluster))),
            failed=failed,
            failed_items=failed_items,
            force=force,
            make_split=make_split,
            watcher=watch,
        )
    if as_json:
        typer.echo(json.dumps({"id": result.id, "status": result.status, "error": result.error}))
    else:
        print_batch_run(result.id, result.status, result.error, result.summary, store)
    if not _every_batch_succeeded(result):
        raise typer.Exit(exit_code(stop) or EXIT_FAILED)


def update_command(
    run_id: str,
    store: str | None,
    parallel: int | None,
    tolerate: str | None,
    tolerate_items: str | None = None,
) -> None:
    """``volnux runs update PARENT --parallel N --tolerate X``."""
    from ..batch.driver import update_batches
    from .runs import journal_at, resolve

    with journal_at(store) as journal, reported_errors():
        run_id = resolve(journal, run_id)
        summary = update_batches(
            journal, run_id, parallel=parallel, tolerate=tolerate, tolerate_items=tolerate_items
        )
        state = journal.load_run(run_id).state
    tolerance = summary.tolerate or "none"
    items = f", items tolerance {summary.tolerate_items}" if summary.tolerate_items else ""
    when = "at once" if state.value == "running" else "when it is resumed"
    typer.echo(
        f"batch run {run_id}: {summary.parallel} at once, tolerance {tolerance}{items} "
        f"(effective {when})"
    )

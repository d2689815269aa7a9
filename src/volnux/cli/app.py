"""The ``volnux`` commands: run, validate, graph, fmt (and ``events``, in events.py).

Exit codes: 0 success; 1 a run that did not succeed (or ``fmt --check``
found a difference); 2 bad usage or bad input (syntax, unknown event,
missing file, malformed ``--input`` ...).  Bad input is reported in one
message naming the thing and the fix, never as a traceback.

Only typer is imported up front: the engine, parser and rich load inside the
command that needs them, so ``volnux --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ..errors import VolnuxError
from .events import ConfigOption, StrictOption, events_app

if TYPE_CHECKING:
    from ..config import Config
    from ..graph import Graph
    from ..notes import NoteDetail
    from ..workflow import Workflow

__all__ = ["app"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="volnux",
    help="Run readable Pointy-lang workflows whose runs survive failure.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(events_app, name="events")

FileArgument = Annotated[
    Path, typer.Argument(help="The workflow, a .pty file.", metavar="FILE.pty", show_default=False)
]
EventsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--events",
        "-e",
        help="Where the events come from: a module name (pkg.events) or a .py file. Repeatable.",
        metavar="MODULE_OR_FILE",
    ),
]


ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="The Dask cluster for dask events: tcp://HOST:PORT, or local "
        "(default: $VOLNUX_DASK_ADDRESS, [dask] address, else local).",
        metavar="ADDRESS",
    ),
]


TolerateOption = Annotated[
    str | None,
    typer.Option(
        "--tolerate",
        help="Failed batches that still let the run succeed: a count (3) or a share (2%%).",
        metavar="N|P%",
    ),
]
TolerateItemsOption = Annotated[
    str | None,
    typer.Option(
        "--tolerate-items",
        help="Items reported failed inside succeeded batches (volnux.Partial) that still "
        "let the run succeed: a count (10) or a share (0.1%%); by default any number.",
        metavar="N|P%",
    ),
]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn Volnux's own errors into a message on stderr and exit status 2."""
    try:
        yield
    except VolnuxError as exc:
        fail(str(exc))


class BadArgument(VolnuxError):
    """A command-line argument the CLI cannot use (a missing or unreadable file)."""


def read_source(path: Path) -> str:
    """The text of a ``.pty`` file; BadArgument names the file and the fix."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = "" if path.is_absolute() else f" (paths are relative to {Path.cwd()})"
        raise BadArgument(f"{path}: no such file{where}") from None
    except IsADirectoryError:
        raise BadArgument(
            f"{path} is a directory; pass a Pointy-lang file such as workflow.pty"
        ) from None
    except PermissionError:
        raise BadArgument(f"{path}: permission denied; check the file's permissions") from None
    except UnicodeDecodeError as exc:
        raise BadArgument(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise BadArgument(f"{path}: cannot be read: {exc.strerror or exc}") from None


def parse_source(path: Path) -> tuple[str, Graph]:
    """Read and parse a ``.pty`` file; PointyError gives file:line:col and a caret."""
    from ..dsl import parse

    text = read_source(path)
    return text, parse(text, str(path))


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"volnux {version('volnux')}")
        raise typer.Exit(EXIT_OK)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    """Run readable Pointy-lang workflows whose runs survive failure."""
    if ctx.invoked_subcommand is None:
        # A bare `volnux` is a request for help, not a mistake.
        typer.echo(ctx.get_help())
        raise typer.Exit(EXIT_OK)


@app.command()
def run(
    file: Annotated[
        Path,
        typer.Argument(
            help="The workflow: a .pty file, or a workflow unit of the project by name "
            "(NAME, NAME@1.2, NAME@latest; see volnux workflows list).",
            metavar="FILE.pty|NAME[@VERSION]",
            show_default=False,
        ),
    ],
    events: EventsOption = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="A workflow input, key=value; the value is JSON if it parses, else text. "
            "Repeatable; wins over --input-json.",
            metavar="KEY=VALUE",
        ),
    ] = None,
    input_json: Annotated[
        str | None,
        typer.Option("--input-json", help="Workflow inputs as one JSON object.", metavar="JSON"),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Where the run is recorded: a .db path, sqlite:PATH or memory: "
            "(default: $VOLNUX_STORE, else .volnux/volnux.db here).",
            metavar="URL",
        ),
    ] = None,
    max_workers: Annotated[
        int | None,
        typer.Option("--max-workers", min=1, help="Tasks that may run at once (default: auto)."),
    ] = None,
    cluster: ClusterOption = None,
    config_path: ConfigOption = None,
    strict: StrictOption = None,
    prints: PrintsOption = False,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress/--no-progress",
            help="Show, on stderr, what is done, running, failed and waiting once a run "
            "takes over a second (redrawn on a terminal, a line every 5 s otherwise).",
        ),
    ] = True,
) -> None:
    """Run a workflow; exit 0 if it succeeds, 1 if it fails, 2 on bad input."""
    import warnings

    from ..engine.stop import StopRequest, exit_code, signals_stop
    from ..events import EventDeprecationWarning
    from .events import open_journal
    from .inputs import parse_inputs
    from .progress import ProgressObserver, live_progress
    from .report import (
        counts_line,
        explain_from_journal,
        format_seconds,
        print_task_table,
        quiet_task_logs,
    )
    from .workflows import unit_note, unit_reference, unit_workflow

    quiet_task_logs()
    with reported_errors():
        values = parse_inputs(inputs or [], input_json)
        reference = unit_reference(file)
        notes: tuple[NoteDetail, ...] = ()
        if reference is None:
            config, workflow = project_workflow(file, events, config_path, strict, cluster)
        else:  # a workflow unit: its defaults under --input, and noted with the run
            config, workflow, unit = unit_workflow(reference, events, config_path, strict, cluster)
            values = {**unit.inputs, **values}
            notes = (unit_note(unit),)
        journal = open_journal(store, config)
        # Ctrl-C and SIGTERM stop the run (running tasks get a grace period; a
        # second signal cuts them off), which ends cancelled and resumable.
        stop = StopRequest()
        watch = ProgressObserver()
        try:
            with (
                warnings.catch_warnings(),
                signals_stop(stop),
                kept_prints(not prints),
                live_progress(watch) if progress else nullcontext(),
            ):
                # Already printed above, once; the run's own warning would repeat it.
                warnings.simplefilter("ignore", EventDeprecationWarning)
                result = workflow.run(
                    values,
                    store=journal,
                    max_workers=max_workers,
                    stop=stop,
                    observers=[watch] if progress else (),
                    notes=notes,
                )
            where = store or config.store
            explanation = [] if result.succeeded else explain_from_journal(result, journal, where)
            where_recorded = journal.location
        finally:
            # Not waiting: a worker still busy with an attempt given up after
            # its timeout must not hold the command (it ends with the process).
            workflow.close(wait=False)
            journal.close()
    if result.abandoned:
        typer.echo(
            f"warning: attempts of {', '.join(result.abandoned)}, given up after their timeout, "
            "were still running when the run ended: their results are not recorded, and this "
            "command does not wait for them (threads cannot be stopped)",
            err=True,
        )
    if result.succeeded:
        print_task_table(result)
        took = (result.ended_at or result.created_at) - result.created_at
        typer.echo(f"run {result.id} succeeded in {format_seconds(took)} ({counts_line(result)})")
        typer.echo(f"recorded in {where_recorded}")
        return
    for line in explanation:
        typer.echo(line, err=True)
    typer.echo(f"recorded in {where_recorded}", err=True)
    raise typer.Exit(exit_code(stop) or EXIT_FAILED)


def project_workflow(
    file: Path,
    events: list[str] | None,
    config_path: Path | None,
    strict: bool | None,
    cluster: str | None,
) -> tuple[Config, Workflow]:
    """The project's configuration and the workflow of ``file`` with its events, for a
    command that runs it; its deprecation warnings are printed."""
    from .events import project_config

    config = project_config(config_path, strict=strict, cluster=cluster)
    return config, bound_workflow(config, parse_source(file)[1], events, str(file))


def bound_workflow(
    config: Config, graph: Graph, events: list[str] | None, where: str, name: str | None = None
) -> Workflow:
    """``graph`` bound to the project's events and ``events``; the deprecation warnings
    of its events are printed (located in ``where``), or refused in strict mode."""
    from ..workflow import Workflow
    from .events import deprecation_warnings, load_events, pool_settings

    project = load_events(config, events)
    # The sources are recorded with the run, so a resume can load the events again.
    workflow = Workflow(
        graph,
        project.registry,
        name=name,
        sources=project.sources,
        default_executor=config.executor,
        pool_settings=pool_settings(config),
    )
    for line in deprecation_warnings(workflow, config, where):
        typer.echo(f"warning: {line}", err=True)
    return workflow


@app.command()
def validate(
    files: Annotated[
        list[Path], typer.Argument(help="Workflows to check (.pty files).", show_default=False)
    ],
    events: EventsOption = None,
    config_path: ConfigOption = None,
    strict: StrictOption = None,
) -> None:
    """Check syntax (and, with events, every reference and deprecation); exit 0 or 2."""
    from ..workflow import Workflow
    from .events import deprecation_warnings, has_event_sources, load_events, project_config

    with reported_errors():
        config = project_config(config_path, strict=strict)
        wanted = events or has_event_sources(config)
        registry = load_events(config, events).registry if wanted else None
    bad = 0
    for path in files:
        problems: list[VolnuxError]
        try:
            graph = parse_source(path)[1]
            problems = list(Workflow(graph, registry).problems()) if registry else []
            if registry is not None and not problems:
                for line in deprecation_warnings(Workflow(graph, registry), config, str(path)):
                    typer.echo(f"warning: {line}", err=True)
        except VolnuxError as exc:
            problems = [exc]
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        if problems:
            bad += 1
            continue
        checked = "syntax and events" if registry is not None else "syntax"
        typer.echo(f"ok: {path} ({len(graph.tasks())} tasks; {checked} checked)")
    if bad:
        raise typer.Exit(EXIT_USAGE)


PrintsOption = Annotated[
    bool,
    typer.Option(
        "--show-prints",
        help="Let events print to the terminal (by default what they print is kept with "
        "their log lines: volnux runs logs).",
    ),
]


@contextmanager
def kept_prints(keep: bool) -> Iterator[None]:
    """Keep what attempts print with their log lines (unless ``keep`` is False)."""
    if not keep:
        yield
        return
    from ..events.logs import capture_prints

    with capture_prints():
        yield


class Picture(StrEnum):
    """What ``graph`` and ``runs graph`` draw: DOT text, text for the terminal, xdot, SVG or PNG."""

    dot = "dot"
    ascii = "ascii"
    xdot = "xdot"
    svg = "svg"
    png = "png"


PictureOption = Annotated[
    Picture,
    typer.Option(
        "--format",
        "-f",
        help="dot (text, no Graphviz needed), ascii (for the terminal, coloured by state there), "
        "xdot, svg or png (drawn by Graphviz's dot).",
    ),
]
PictureOutput = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the picture here instead of stdout."),
]
CollapseOption = Annotated[
    int,
    typer.Option(
        "--collapse",
        min=0,
        help="Draw this many or more identical tasks in a row or side by side as one box "
        "with a count (0: never).",
    ),
]


@app.command()
def graph(
    file: FileArgument,
    fmt: PictureOption = Picture.dot,
    output: PictureOutput = None,
    collapse: CollapseOption = 10,
) -> None:
    """Draw the workflow: DOT text, text for the terminal, or xdot, SVG or PNG (needs Graphviz)."""
    from ..observability.ascii import ascii_lines
    from ..observability.dot import to_dot
    from .observe import write_ascii, write_picture

    with reported_errors():
        parsed = parse_source(file)[1]
        if fmt is Picture.ascii:
            write_ascii(ascii_lines(parsed, collapse=collapse or None), output)
            return
        text = to_dot(parsed, collapse=collapse or None)
    write_picture(text, fmt.value, output)


@app.command()
def fmt(
    file: FileArgument,
    check: Annotated[
        bool,
        typer.Option("--check", help="Print no text; exit 1 if FILE is not in canonical form."),
    ] = False,
) -> None:
    """Print the workflow with canonical spacing; its lines and # comments are kept."""
    from ..dsl import format_text

    with reported_errors():
        text, parsed = parse_source(file)
        formatted = format_text(text, str(file), parsed)
    if not check:
        sys.stdout.write(formatted)
        return
    if formatted != text:
        typer.echo(f"{file} is not in canonical form; `volnux fmt {file}` prints it", err=True)
        raise typer.Exit(EXIT_FAILED)


# Registered last: the runs commands reuse this module's options and helpers.
from .runs import runs_app  # noqa: E402

app.add_typer(runs_app)

from .store import store_app  # noqa: E402

app.add_typer(store_app)

from . import (  # noqa: E402
    batch,  # noqa: F401  (volnux batch)
    serve,  # noqa: F401  (volnux serve)
    transfer,  # noqa: F401  (runs export / import, store copy)
)
from .results import results_app  # noqa: E402  (runs result, results gc)

app.add_typer(results_app)

from .schedule import schedule_app  # noqa: E402

app.add_typer(schedule_app)

from .workflows import workflows_app  # noqa: E402

app.add_typer(workflows_app, name="workflows")

from . import lsp  # noqa: E402, F401  (volnux lsp)

"""``volnux schedule``: list the project's schedules, pause and resume them, fire them.

The schedules are ``[schedules.NAME]`` of the project's configuration; where
each stands (its last slot, paused) is kept in the journal, so every command
and every ``volnux serve`` over that journal sees the same.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .app import EXIT_FAILED, fail, reported_errors
from .events import ConfigOption
from .runs import JsonOption, StoreOption

if TYPE_CHECKING:
    from ..config import Config
    from ..schedules import Schedule
    from ..schedules.firing import Fired, Scheduler
    from ..store import Journal
    from ..workflow import Workflow

__all__ = ["project_scheduler", "reread_schedules", "schedule_app", "schedule_workflow"]

schedule_app = typer.Typer(
    name="schedule",
    help="The project's schedules ([schedules.NAME]): list, pause, resume, fire.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="The schedule's name.", metavar="NAME")]


@contextmanager
def _project(store: str | None, config_path: Path | None) -> Iterator[tuple[Config, Journal]]:
    from .events import open_journal, project_config

    with reported_errors():
        config = project_config(config_path)
        journal = open_journal(store, config)
    try:
        yield config, journal
    finally:
        journal.close()


def _named(config: Config, name: str) -> Schedule:
    for schedule in config.schedules:
        if schedule.name == name:
            return schedule
    known = ", ".join(s.name for s in config.schedules) or "none"
    where = config.path or "the configuration"
    fail(f"no schedule {name!r} in {where} (schedules: {known})")


@schedule_app.command("list")
def list_schedules(
    store: StoreOption = None, config_path: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Each schedule: its timing, next fire times, paused or not, its last run and its state."""
    from ..schedules.firing import overview

    with _project(store, config_path) as (config, journal), reported_errors():
        rows = overview(journal, config.schedules)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no schedules: add [schedules.NAME] to volnux.toml (see docs/schedules.md)")
        return
    for row in rows:
        upcoming = ", ".join(s["local"] for s in row["next"][:1]) or "-"
        last = row["last_run"] or "-"
        if row["last_run_state"]:
            last += f" ({row['last_run_state']})"
        status = "paused" if row["paused"] else "active"
        typer.echo(
            f"{row['name']:<16} {row['when']:<36} {status:<7} next {upcoming:<20} last {last}"
        )
        if row["last_error"]:
            typer.echo(f"  last slot could not start: {row['last_error']}")


@schedule_app.command()
def pause(name: NameArgument, store: StoreOption = None, config_path: ConfigOption = None) -> None:
    """Stop a schedule from firing, for every scheduler of the journal, until resumed."""
    _pause(name, store, config_path, True)


@schedule_app.command()
def resume(name: NameArgument, store: StoreOption = None, config_path: ConfigOption = None) -> None:
    """Let a paused schedule fire again, from now: slots passed while paused do not fire."""
    _pause(name, store, config_path, False)


def _pause(name: str, store: str | None, config_path: Path | None, paused: bool) -> None:
    from ..schedules.firing import pause_schedule

    with _project(store, config_path) as (config, journal), reported_errors():
        pause_schedule(journal, _named(config, name), paused)
    typer.echo(f"schedule {name} {'paused' if paused else 'resumed'}")


@schedule_app.command("run")
def run_schedules(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Only these schedules (default: all).", metavar="[NAME]..."),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Fire what is due now, wait for those runs, and exit "
            "(1 if one failed or could not start).",
        ),
    ] = False,
    store: StoreOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Fire the schedules' slots as they come, without the web view, until Ctrl-C."""
    with _project(store, config_path) as (config, journal):
        chosen = [_named(config, n) for n in names] if names else list(config.schedules)
        if not chosen:
            fail(
                "no schedules to fire: add [schedules.NAME] to volnux.toml (see docs/schedules.md)"
            )
        only = {s.name for s in chosen}

        def current() -> Sequence[Schedule]:
            return [s for s in reread_schedules(config.path, config) if s.name in only]

        with reported_errors():
            scheduler = project_scheduler(journal, config, current, told=_say)
        if once:
            fired = scheduler.tick()
            ended = scheduler.wait()
            bad = [f for f in fired if f.outcome == "failed"]
            bad_runs = [run for run, how in ended.items() if how != "succeeded"]
            for run_id in bad_runs:
                typer.echo(f"run {run_id} ended {ended[run_id]}", err=True)
            if bad or bad_runs:
                raise typer.Exit(EXIT_FAILED)
            return
        _until_signal(scheduler, journal.location, len(chosen))


def _until_signal(scheduler: Scheduler, where: str, count: int) -> None:
    halt = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: halt.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    typer.echo(f"firing {count} schedule(s) into {where}; Ctrl-C stops", err=True)
    scheduler.start()
    try:
        while not halt.wait(0.5):
            pass
    finally:
        typer.echo("stopping: runs still going are asked to stop (resumable)", err=True)
        scheduler.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _say(fired: Fired) -> None:
    words = {
        "fired": "fired",
        "taken": "already fired elsewhere",
        "skipped": "skipped (its last run still runs)",
        "failed": "could not start",
    }
    line = f"{time.strftime('%H:%M:%S')} {fired.schedule}: {fired.run_id} {words[fired.outcome]}"
    typer.echo(line + (f": {fired.detail}" if fired.outcome == "failed" else ""), err=True)


def reread_schedules(config_path: Path | None, last: Config) -> tuple[Schedule, ...]:
    """The schedules as the configuration says now (an edit takes effect); the last
    good ones while the file does not read."""
    from ..errors import ConfigError
    from .events import project_config

    try:
        return project_config(config_path).schedules
    except ConfigError as exc:
        import logging

        logging.getLogger("volnux.schedules").error("the configuration does not read: %s", exc)
        return last.schedules


def project_scheduler(
    journal: Journal,
    config: Config,
    schedules: Any = None,
    *,
    told: Any = None,
) -> Scheduler:
    """A scheduler of the project's schedules (``schedules``: a callable giving them,
    default: the configuration, read again on every tick) over ``journal``."""
    from ..schedules.firing import Scheduler

    config_path = config.path

    def current() -> Sequence[Schedule]:
        return reread_schedules(config_path, config)

    def prepare(schedule: Schedule) -> Workflow:
        return schedule_workflow(config, schedule)

    return Scheduler(
        journal, schedules or current, prepare, **({"told": told} if told is not None else {})
    )


def schedule_workflow(config: Config, schedule: Schedule) -> Workflow:
    """The workflow ``schedule`` runs, with the project's events (read again each time:
    an edit of the file or of the events shows at the next slot)."""
    from ..workflow import Workflow
    from .app import parse_source
    from .events import load_events, pool_settings

    project = load_events(config, None)
    return Workflow(
        parse_source(schedule.workflow)[1],
        project.registry,
        sources=project.sources,
        default_executor=config.executor,
        pool_settings=pool_settings(config),
    )

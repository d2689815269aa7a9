"""``volnux runs``: list, show, resume, retry and cancel recorded runs.

Tables for people, ``--json`` for scripts.  Exit codes as elsewhere: 0 done,
1 a run that did not succeed, 2 bad input (unknown run, refused resume ...).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import ResumeRefused
from ..states import RunState, TaskState
from ..store.results import ResultRef
from .app import (
    EXIT_FAILED,
    ClusterOption,
    EventsOption,
    PrintsOption,
    TolerateItemsOption,
    TolerateOption,
    fail,
    kept_prints,
    reported_errors,
)

if TYPE_CHECKING:
    from ..engine import TaskView
    from ..engine.rework import Rework
    from ..query import ChangeSet, RunDetail
    from ..states import RunState
    from ..store import Journal

__all__ = ["runs_app"]

runs_app = typer.Typer(
    name="runs",
    help="Recorded runs: list, show, resume, retry, pause, cancel, skip, mark-succeeded, "
    "graph, logs, export, import.",
    no_args_is_help=True,
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="The journal: a .db path, sqlite:PATH or memory: "
        "(default: $VOLNUX_STORE, else .volnux/volnux.db here).",
        metavar="URL",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RunIdArgument = Annotated[
    str, typer.Argument(help="The run's id, or enough of its start to tell.", metavar="RUN_ID")
]


@contextmanager
def journal_at(store: str | None) -> Iterator[Journal]:
    """Open the store named on the command line, else the project's; errors exit 2.

    Without ``--store``, the project configuration (volnux.toml or
    ``[tool.volnux]``, found from here upward, or ``$VOLNUX_CONFIG``) names
    it, so ``volnux runs`` sees the runs ``volnux run`` recorded there.
    Every ``runs`` command reads a journal that exists: none is created (a
    mistyped path says so, and where a journal is), and one this process may
    not write is read read-only.
    """
    from ..errors import JournalNotFound
    from .events import open_journal, project_config

    with reported_errors():
        try:
            journal = open_journal(store, project_config(), create=False)
        except JournalNotFound as exc:
            raise JournalNotFound(exc.path, _journals_elsewhere(exc.path)) from None
    try:
        yield journal
    finally:
        journal.close()


def _journals_elsewhere(missing: str) -> str:
    """Where a journal is, for one that is not at ``missing``: the nearest
    ``.volnux/volnux.db`` from here upward."""
    from ..store.open import DEFAULT_STORE

    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_STORE
        if candidate.is_file() and str(candidate) != missing:
            return (
                f"there is one at {candidate} (pass --store {candidate}, or run the command "
                f"from {folder})"
            )
    return "`volnux run` records runs in .volnux/volnux.db where it runs; --store names another"


def _describe(journal: Journal, run_id: str) -> RunDetail:
    """The run (named by its id or the start of it), loaded once through the query
    layer; an unknown or ambiguous run exits 2."""
    from ..query import describe_run

    with reported_errors():
        return describe_run(journal, resolve(journal, run_id))


def resolve(journal: Journal, run_id: str) -> str:
    """The whole id of the run ``run_id`` names (its id, or the start of one)."""
    from ..query import resolve_run_id

    return resolve_run_id(journal, run_id)


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@runs_app.command("list")
def list_runs(
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs.")] = 20,
    as_json: JsonOption = False,
    parts: Annotated[
        bool,
        typer.Option("--batches", help="Also list the runs of batch runs' batches, one by one."),
    ] = False,
) -> None:
    """The newest runs first: id, workflow, status, start, duration, failed task.

    A batch run is one line, with its progress in place of a failed task."""
    from ..query import list_runs as query_runs
    from .report import format_seconds

    with journal_at(store) as journal, reported_errors():
        runs = query_runs(journal, limit, parts=parts)
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "workflow": r.workflow,
            "status": r.state.value,
            "started": r.created_at,
            "duration": r.duration,
            "failed_task": r.failed_task,
            **({"batches": r.batches} if r.batches is not None else {}),
        }
        for r in runs
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no runs recorded yet")
        return
    _table(
        ("id", "workflow", "status", "started", "duration", "failed task"),
        [
            (
                str(row["id"]),
                str(row["workflow"]),
                str(row["status"]),
                _when(row["started"]),
                format_seconds(row["duration"]),
                row["failed_task"] or row.get("batches") or "",
            )
            for row in rows
        ],
    )


#: Failed items of a task listed by ``runs show`` (``--json`` lists them all).
FAILED_ITEMS_SHOWN = 10

#: Tasks listed by ``runs show`` before it summarises (``--limit``).
SHOW_LIMIT = 40

#: Runs of up to this many tasks explain a failure by the path through the
#: graph; larger ones by start time.  Reading a workflow's graph back costs
#: about 0.6 s per 100,000 tasks (cached parse), a third of what showing such a
#: run may take; the start-time path is the same for a chain.
GRAPH_PATH_TASKS = 10_000


#: The order task counts are given in.
_COUNT_ORDER = (
    TaskState.SUCCEEDED,
    TaskState.FAILED,
    TaskState.SKIPPED,
    TaskState.RETRYING,
    TaskState.RUNNING,
    TaskState.PENDING,
)


@runs_app.command()
def show(
    run_id: RunIdArgument,
    store: StoreOption = None,
    as_json: JsonOption = False,
    every: Annotated[
        bool, typer.Option("--all", help="List every task, however many there are.")
    ] = False,
    states: Annotated[
        list[TaskState] | None,
        typer.Option("--state", help="List only tasks in this state. Repeatable."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=1,
            help="List at most this many tasks; a larger run is summarised: counts by state, "
            "then its failed, running and cut-off tasks.",
        ),
    ] = SHOW_LIMIT,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also how its worker pools grew, shrank or held, and why."
        ),
    ] = False,
) -> None:
    """A run: its tasks (or, past --limit, a summary), the path it took, what resume would do."""
    from ..batch import summarize
    from .batch import show_batch_run
    from .report import (
        explain,
        format_seconds,
        headline,
        next_steps,
        state_label,
        trimmed_traceback,
    )

    with journal_at(store) as journal:
        with reported_errors():
            run_id = resolve(journal, run_id)
            record = journal.load_run(run_id)
            batches = summarize(
                journal.load_notes(run_id), running=record.state is RunState.RUNNING
            )
        if batches is not None:  # a batch run: its batches, from its notes
            show_batch_run(journal, record, batches, store, as_json)
            return
        detail = _describe(journal, run_id)
        logs = detail.failure_logs() if detail.run.failed_nodes else {}
        subs = detail.sub_workflows()
        part_of = detail.part_of()
    run, pins = detail.run, detail.pins
    views, summarised = _chosen_tasks(detail, every, [s.value for s in states or []], limit)
    if as_json:
        shown = _run_json(detail, views, detail.path())
        shown["sub_workflows"] = subs
        if part_of is not None:
            shown["part_of"] = part_of.to_json()
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    took = format_seconds((run.ended_at - run.created_at) if run.ended_at else None)
    typer.echo(f"run {run.id}  {run.workflow}  {run.status}")
    typer.echo(f"started {_when(run.created_at)}" + (f", took {took}" if took else ""))
    if part_of is not None:  # a sub-workflow's child run: resumed with its parent, or alone
        typer.echo(f"{part_of.describe()} (volnux runs show {part_of.parent})")
    elif detail.record.parent is not None:  # a batch of a batch run: shown and resumed there
        typer.echo(f"part of run {detail.record.parent} (volnux runs show {detail.record.parent})")
    fired = detail.scheduled()
    if fired is not None:
        typer.echo(fired.describe(run.created_at))
    unit = detail.unit()
    if unit is not None:
        typer.echo(unit.describe())
    if run.status in ("cancelled", "paused"):
        typer.echo(headline(run).removeprefix(f"run {run.id} "))
    for at, action in detail.operator_actions():
        typer.echo(f"operator: {action.describe(at)}")
    for at, asked in detail.web_actions():
        typer.echo(f"web: {asked.describe(at)}")
    if verbose:
        for at, resized in detail.pool_resizes():
            typer.echo(f"{_clock(at)} {resized.describe()}")
    for change in detail.changes():
        typer.echo(_change_heading(change))
        for line in change.lines:
            typer.echo(f"  {line}")
    typer.echo("")
    if summarised:
        typer.echo(f"tasks: {_counts(detail)}")
    # Where each attempt ran, when the run has GPU events (their last attempt's place).
    placed = any(v.placement for v in views)
    _table(
        ("node", "event", "code", "source", "state", "attempts", "time")
        + (("ran on",) if placed else ()),
        [
            (
                v.node_id,
                v.event,
                # The first 8 digits of the code's fingerprint: enough to see a change.
                pins[v.node_id].fingerprint[:8] if v.node_id in pins else "",
                pins[v.node_id].origin if v.node_id in pins else "",
                state_label(run, v) + (" (interrupted)" if v.interrupted else ""),
                str(v.attempts) if v.attempts else "",
                format_seconds(v.duration),
            )
            + ((v.placement or "",) if placed else ())
            for v in views
        ],
    )
    if summarised:
        hidden = len(run.tasks) - len(views)
        typer.echo(
            f"... {hidden} more task{'s' if hidden != 1 else ''} not listed: "
            "--all lists every task, --state STATE those in one state"
        )
    for sub in subs:  # collapsed to one line each; `runs show CHILD` expands one
        child = sub["child"]
        if child is None:
            typer.echo(f"sub-workflow {sub['node']} <{sub['workflow']}>: no child run yet")
            continue
        more = len(sub["children"]) - 1
        earlier = f", after {more} earlier" if more else ""
        typer.echo(
            f"sub-workflow {sub['node']} <{sub['workflow']}>: run {child} {sub['state']}"
            f"{earlier} (collapsed: volnux runs show {child})"
        )
    kept = [v for v in views if type(v.result) is ResultRef]
    if kept:
        typer.echo("results kept in the result store (volnux runs result RUN NODE -o FILE):")
        for v in kept:
            typer.echo(f"  {v.node_id}: {v.result.describe()}")
    for node, items in detail.failed_items().items():
        typer.echo(
            f"{node} succeeded with {len(items)} item{'s' if len(items) != 1 else ''} failed:"
        )
        for key, why in items[:FAILED_ITEMS_SHOWN]:
            typer.echo(f"  {json.dumps(key)}: {why}")
        if len(items) > FAILED_ITEMS_SHOWN:
            typer.echo(f"  ... and {len(items) - FAILED_ITEMS_SHOWN} more (--json lists them all)")
    typer.echo("")
    if run.status == "failed":
        # The same explanation `volnux run` prints when a run fails; it follows
        # the graph to the failure (or start times, without one).
        if len(run.tasks) <= GRAPH_PATH_TASKS:
            detail.graph()
        for line in explain(run, detail.resume, logs=logs, store=store):
            typer.echo(line)
        return
    typer.echo("path: " + _short_path(detail.path()))
    for v in run.tasks.values():
        if v.error is None or v.state.value not in ("failed", "retrying", "pending"):
            continue
        typer.echo("")
        typer.echo(
            f"{v.node_id} ({v.event}), attempt {v.attempts}: {v.error.type}: {v.error.message}"
        )
        for line in trimmed_traceback(v.error.traceback):
            typer.echo("    " + line)
    typer.echo("")
    for line in next_steps(run, detail.resume, store):
        typer.echo(line)


def _change_heading(change: ChangeSet) -> str:
    """``resumed with --force at ... after the workflow changed where it had started:``."""
    verb = "retried" if change.verb == "retry" else "resumed"
    if change.forced:
        return (
            f"{verb} with --force at {_when(change.at)}: the workflow had changed "
            "where the run had started"
        )
    return f"{verb} at {_when(change.at)}: the workflow had changed where the run had not started"


def _chosen_tasks(
    detail: RunDetail, every: bool, states: list[str], limit: int
) -> tuple[list[TaskView], bool]:
    """The tasks ``show`` lists, and whether that is a summary of a larger run."""
    tasks = detail.run.tasks
    if every:
        return list(tasks.values()), False
    if states:
        wanted = set(states)
        in_state = [v for v in tasks.values() if v.state.value in wanted]
        return in_state[:limit], len(in_state) > limit or len(in_state) < len(tasks)
    if len(tasks) <= limit:
        return list(tasks.values()), False
    # A summary: the tasks that need a look, failures first.
    chosen = {v.node_id: v for v in detail.failed()}
    for v in (*detail.cut_off(), *(v for v in tasks.values() if v.error is not None)):
        if len(chosen) >= limit:
            break
        chosen.setdefault(v.node_id, v)
    return list(chosen.values())[:limit], True


def _counts(detail: RunDetail) -> str:
    counts = detail.counts()
    return ", ".join(f"{counts[s]} {s.value}" for s in _COUNT_ORDER if counts[s])


def _short_path(path: list[str], shown: int = 40) -> str:
    if not path:
        return "(nothing ran)"
    if len(path) <= shown:
        return " -> ".join(path)
    head, tail = path[: shown // 2], path[-(shown // 2) :]
    return " -> ".join([*head, f"... {len(path) - shown} more ...", *tail])


def _run_json(detail: RunDetail, views: list[TaskView], path: list[str]) -> dict[str, Any]:
    run, pins = detail.run, detail.pins
    return {
        "id": run.id,
        "workflow": run.workflow,
        "status": run.status,
        "error": run.error,
        "failed_nodes": list(run.failed_nodes),
        "created_at": run.created_at,
        "ended_at": run.ended_at,
        "path": path,
        "counts": {state.value: n for state, n in detail.counts().items()},
        "tasks_total": len(run.tasks),
        "tasks": [
            {
                "node": v.node_id,
                "event": v.event,
                "source": pins[v.node_id].origin if v.node_id in pins else None,
                "code_fingerprint": pins[v.node_id].fingerprint if v.node_id in pins else None,
                "state": v.state.value,
                "attempts": v.attempts,
                "interrupted": v.interrupted,
                "round": v.round,
                "started_at": v.started_at,
                "ended_at": v.ended_at,
                "descriptor": v.descriptor,
                # A result kept in the result store: where, its size, codec and hash.
                "result": None if type(v.result) is ResultRef else v.result,
                "result_ref": v.result.to_json() if type(v.result) is ResultRef else None,
                "error": v.error.to_dict() if v.error else None,
                "placement": v.placement,
            }
            for v in views
        ],
        "parent": detail.record.parent,
        "resume": detail.resume.as_dict(),
        "changes": [change.as_dict() for change in detail.changes()],
        "operator": [{"at": at, **action.to_json()} for at, action in detail.operator_actions()],
        "web_actions": [{"at": at, **asked.to_json()} for at, asked in detail.web_actions()],
        "scheduled": fired.to_json() if (fired := detail.scheduled()) is not None else None,
        "unit": unit.to_json() if (unit := detail.unit()) is not None else None,
        "pools": [{"at": at, **resized.to_json()} for at, resized in detail.pool_resizes()],
        "failed_items": {
            node: [[key, why] for key, why in items]
            for node, items in detail.failed_items().items()
        },
    }


def _continue(
    run_id: str,
    store: str | None,
    events: list[str] | None,
    workflow_file: Path | None,
    force: bool,
    retry: bool,
    as_json: bool,
    prints: bool = False,
    rework: Rework | None = None,
    failed_batches: bool = False,
    failed_items: bool = False,
    cluster: str | None = None,
) -> None:
    from ..dsl import parse
    from ..engine.lifecycle import Execution, continue_run
    from ..engine.recovery import recorded
    from ..engine.stop import StopRequest, exit_code, signals_stop
    from ..query import recorded_workflow_path
    from .app import read_source
    from .events import pool_settings, project_config
    from .report import counts_line, explain_from_journal, print_task_table, quiet_task_logs

    quiet_task_logs()
    from ..batch import is_batch_run
    from ..batch.driver import refuse_batch_child
    from .batch import continue_batch_run

    with journal_at(store) as journal, reported_errors():
        # The run's record and notes only: continue_run loads its tasks, once.
        run_id = resolve(journal, run_id)
        record = journal.load_run(run_id)
        notes = journal.load_notes(run_id)
        if is_batch_run(notes):
            if rework is not None:
                raise ResumeRefused(
                    f"run {run_id} is a batch run: re-run a task in one of its batches' runs"
                )
            continue_batch_run(
                journal,
                run_id,
                events=events,
                workflow_file=workflow_file,
                force=force,
                failed=retry and not failed_items,
                failed_items=failed_items,
                cluster=cluster,
                store=store,
                prints=prints,
                as_json=as_json,
            )
            return
        if failed_batches:
            raise ResumeRefused(
                f"--failed retries the failed batches of a batch run; run {run_id} is not one"
            )
        refuse_batch_child(journal, record, "retry" if retry else "resume")
        # The workflow as it is now: the file given, else the recorded file if it is
        # still there (then a changed file is noticed), else the recorded text.
        current = workflow_file or recorded_workflow_path(record, notes)
        graph = None
        if current is not None:
            name = str(current) if workflow_file else recorded(record, notes).filename
            graph = parse(read_source(current), name)
        stop = StopRequest()  # Ctrl-C and SIGTERM stop the run, as in `volnux run`
        with signals_stop(stop), kept_prints(not prints):
            result = continue_run(
                journal,
                run_id,
                retry=retry,
                force=force,
                events=events,
                graph=graph,
                how=Execution(
                    stop=stop, pool_settings=pool_settings(project_config(cluster=cluster))
                ),
                rework=rework,
            )
        explanation = [] if result.succeeded else explain_from_journal(result, journal, store)
    if as_json:
        typer.echo(json.dumps({"id": result.id, "status": result.status, "error": result.error}))
    elif result.succeeded:
        print_task_table(result)
        typer.echo(f"run {result.id} succeeded ({counts_line(result)})")
    if not result.succeeded:
        if not as_json:
            for line in explanation:
                typer.echo(line, err=True)
        raise typer.Exit(exit_code(stop) or EXIT_FAILED)


WorkflowOption = Annotated[
    Path | None,
    typer.Option(
        "--workflow",
        help="The workflow file as it is now (default: the recorded file, if it still exists; "
        "else the recorded text).",
        metavar="FILE.pty",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Continue even if the workflow or its events changed where the run already "
        "started, or its recorded owner looks alive (recorded in the run).",
    ),
]


@runs_app.command()
def resume(
    run_id: RunIdArgument,
    store: StoreOption = None,
    events: EventsOption = None,
    workflow: WorkflowOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    prints: PrintsOption = False,
    cluster: ClusterOption = None,
) -> None:
    """Continue a crashed, cancelled or paused run; finished tasks are not run again."""
    _continue(
        run_id,
        store,
        events,
        workflow,
        force,
        retry=False,
        as_json=as_json,
        prints=prints,
        cluster=cluster,
    )


@runs_app.command()
def retry(
    run_id: RunIdArgument,
    store: StoreOption = None,
    events: EventsOption = None,
    workflow: WorkflowOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    prints: PrintsOption = False,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Run this task again, though it succeeded, and every task after it "
            "(any run that ended); the rest is kept.",
            metavar="NODE",
        ),
    ] = None,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="Of a batch run: re-run its failed batches (in each, its failed tasks and "
            "what follows them). A retry of a batch run does this anyway.",
        ),
    ] = False,
    failed_items: Annotated[
        bool,
        typer.Option(
            "--failed-items",
            help="Of a batch run: run a new batch of the items its events reported "
            "failed (volnux.Partial).",
        ),
    ] = False,
    cluster: ClusterOption = None,
) -> None:
    """Re-run a failed run's failed tasks and what follows them, keeping the rest."""
    from ..engine.rework import Rework

    rework = Rework(rerun_from=start) if start is not None else None
    _continue(
        run_id,
        store,
        events,
        workflow,
        force,
        True,
        as_json,
        prints=prints,
        rework=rework,
        failed_batches=failed or failed_items,
        failed_items=failed_items,
        cluster=cluster,
    )


@runs_app.command()
def update(
    run_id: RunIdArgument,
    store: StoreOption = None,
    parallel: Annotated[
        int | None, typer.Option("--parallel", min=1, help="Batches at once from now on.")
    ] = None,
    tolerate: TolerateOption = None,
    tolerate_items: TolerateItemsOption = None,
) -> None:
    """Change a batch run's parallelism or tolerance (journaled; a running one takes it at once)."""
    from .batch import update_command

    update_command(run_id, store, parallel, tolerate, tolerate_items)


ResultOption = Annotated[
    str | None,
    typer.Option(
        "--result",
        help="The task's result, as JSON: what a |-> after it receives (default: null).",
        metavar="JSON",
    ),
]
NodeArgument = Annotated[str, typer.Argument(help="The task's node id.", metavar="NODE")]


def _declare(
    action: str,
    run_id: str,
    node: str,
    result: str | None,
    options: tuple[str | None, list[str] | None, Path | None, bool, bool, bool],
) -> None:
    from ..engine.rework import Rework

    value = None
    if result is not None:
        try:
            value = json.loads(result)
        except ValueError as exc:
            fail(f"--result is not JSON: {exc}")
    store, events, workflow, force, as_json, prints = options
    rework = Rework(declare=node, action=action, result=value)
    _continue(run_id, store, events, workflow, force, False, as_json, prints, rework)


@runs_app.command()
def skip(
    run_id: RunIdArgument,
    node: NodeArgument,
    result: ResultOption = None,
    store: StoreOption = None,
    events: EventsOption = None,
    workflow: WorkflowOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    prints: PrintsOption = False,
) -> None:
    """Declare a failed, paused or unstarted task skipped (recorded as yours), then go on."""
    _declare("skip", run_id, node, result, (store, events, workflow, force, as_json, prints))


@runs_app.command("mark-succeeded")
def mark_succeeded(
    run_id: RunIdArgument,
    node: NodeArgument,
    result: ResultOption = None,
    store: StoreOption = None,
    events: EventsOption = None,
    workflow: WorkflowOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    prints: PrintsOption = False,
) -> None:
    """Declare a failed, paused or unstarted task succeeded (recorded as yours), then go on."""
    _declare(
        "mark-succeeded", run_id, node, result, (store, events, workflow, force, as_json, prints)
    )


@runs_app.command()
def cancel(
    run_id: RunIdArgument,
    store: StoreOption = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, help="Seconds to wait for a running run to stop (0: do not wait)."
        ),
    ] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Stop a run: it starts no new task, ends CANCELLED and can be resumed later."""
    from ..engine.owners import cancel_run
    from ..states import RunState

    with journal_at(store) as journal, reported_errors():
        run_id = resolve(journal, run_id)
        state = _while_running(journal, run_id, cancel_run(journal, run_id), wait)
    if as_json:
        typer.echo(json.dumps({"id": run_id, "status": state.value}))
    elif state is RunState.CANCELLED:
        typer.echo(f"run {run_id} cancelled; `volnux runs resume {run_id}` continues it")
    elif state is RunState.RUNNING:
        typer.echo(
            f"run {run_id}: cancel requested; it stops once its running tasks finish",
        )
    else:
        typer.echo(f"run {run_id} is {state.value}; nothing to cancel")


@runs_app.command()
def pause(
    run_id: RunIdArgument,
    store: StoreOption = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, help="Seconds to wait for a running run to pause (0: do not wait)."
        ),
    ] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Pause a run: nothing new starts, running tasks finish, it ends PAUSED; resume goes on."""
    from ..engine.owners import pause_run
    from ..states import RunState

    with journal_at(store) as journal, reported_errors():
        run_id = resolve(journal, run_id)
        before = journal.load_run(run_id).state
        asked = pause_run(journal, run_id) if before is RunState.RUNNING else before
        state = _while_running(journal, run_id, asked, wait)
    if as_json:
        typer.echo(json.dumps({"id": run_id, "status": state.value}))
    elif before is not RunState.RUNNING:
        typer.echo(f"run {run_id} is {state.value}; nothing to pause")
    elif state is RunState.PAUSED:
        typer.echo(f"run {run_id} paused; `volnux runs resume {run_id}` continues it")
    elif state is RunState.RUNNING:
        typer.echo(f"run {run_id}: pause requested; it pauses once its running tasks finish")
    else:  # it ended another way meanwhile
        typer.echo(f"run {run_id} is {state.value}")


def _while_running(journal: Journal, run_id: str, state: RunState, wait: float) -> RunState:
    """The run's state once it is no longer running, or after ``wait`` seconds."""
    from ..states import RunState

    deadline = time.monotonic() + wait
    while state is RunState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
        state = journal.load_run(run_id).state
    return state


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, two spaces apart, streamed to stdout.

    Plain text rather than a rich table: ``runs show --all`` of a 100,000-task
    run printed through rich took 65 s and 735 MB here; this takes a second.
    A header is bold on a terminal.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    last = len(headers) - 1

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c if i == last else c.ljust(widths[i]) for i, c in enumerate(cells))

    out = sys.stdout
    head = line(headers).rstrip()
    out.write(f"\033[1m{head}\033[0m\n" if out.isatty() else head + "\n")
    chunk: list[str] = []
    for row in rows:
        chunk.append(line(row).rstrip())
        if len(chunk) == 4096:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")
    out.flush()


# Registered last: `runs graph` and `runs logs` reuse this module's options.
from . import observe  # noqa: E402, F401


def _clock(at: float) -> str:
    """``12:03:04.512``: a time of day to the millisecond, for lines of one run."""
    from datetime import datetime

    return datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]

"""The PostgreSQL journal, next to a plain psycopg loop on the same server in the same run.

    python bench/postgres.py [--url URL] [--synchronous-commit on] [--tasks 1000]
                             [--resume-tasks 10000] [--chains-tasks 200] [--processes 8]
                             [--rounds 3] [--sqlite-synchronous NORMAL] [--json]

``--url`` names the server (default: $VOLNUX_BENCH_POSTGRES, else
postgresql://postgres@127.0.0.1:5432/postgres).  Each benchmark works in a
fresh schema of its own (``bench_...``) and drops it at the end, on error
too.  Every connection here, the baseline's included, is set up as the
journal sets up its own (:func:`volnux.store.postgres.connection.connect`),
with ``--synchronous-commit`` (default: the URL's ``synchronous_commit``,
else ``on``: a disk flush per commit).

1. Per-task cost, in microseconds, of ``--tasks`` no-op events as a chain
   (one journal write per step, each committed before the next step
   starts) and as one parallel group (a few writes in all):

   * ``pg-row``: the baseline, a loop inserting one small row per task
     into an unindexed table and committing it (autocommit, one round
     trip), on one connection: the least work that makes each task's
     record durable on its own on this server;
   * ``volnux+pg``: the engine on the PostgreSQL journal;
   * ``volnux+sqlite``: the engine on a SQLite journal file in a temporary
     folder (WAL, ``--sqlite-synchronous``), for comparison;
   * ``volnux``: the engine on the in-memory journal, the engine's own cost.

   The ratios are ``volnux+pg`` over ``pg-row`` (targets: a chain at most
   1.5, a group at most 0.5).  The variants take turns for ``--rounds``
   rounds after a warm-up run each; the best time of each counts.
2. Resume: a child process runs a ``--resume-tasks`` chain and SIGKILLs
   itself in the first task of its second half, which the journal already
   shows RUNNING, so the run is left 'running' by a dead process with its
   first half succeeded.  (The child writes with synchronous_commit=off,
   only to set up faster: a killed client loses nothing the server has.)
   Timed here: from the call to ``Workflow.resume`` (workflow parsed,
   journal open) to the start of the first task it runs, which the event
   notes itself (target: under 0.5 s).  The resumed run then goes on to
   its end, and must succeed with every task's records in the journal.
   Best of ``--rounds`` crashed runs.
3. Processes: ``--processes`` worker processes (8) each run a
   ``--chains-tasks`` chain on one schema at once, against one of them
   running one chain alone, in tasks per second (first start to last end).
   The workers start, connect and do a warm-up run before any clock
   starts.  Every run must succeed with each task's records in the journal
   (nothing lost), and all within a time limit (no deadlock).  The target,
   at least 4 times one process's throughput, is for a machine with cores
   to spare: the CPUs here are reported next to it, and so is what the
   baseline's loop gets the same way (the workers each inserting
   ``--chains-tasks`` rows, one commit each, into a table of another
   schema): the most this machine and server give.  The four variants
   take turns for ``--rounds`` rounds; the best of each counts.

The worker processes are this file run again (``--child``, not for people).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from baseline import best_in_turns  # noqa: E402

import volnux  # noqa: E402
from volnux.errors import StoreError  # noqa: E402
from volnux.states import RunState, TaskState  # noqa: E402
from volnux.store import SQLiteJournal  # noqa: E402
from volnux.store.postgres import PostgresJournal  # noqa: E402
from volnux.store.postgres.connection import Connection, connect  # noqa: E402
from volnux.store.postgres.url import SynchronousCommit, Target, parse_url  # noqa: E402

URL_ENV = "VOLNUX_BENCH_POSTGRES"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGETS = {"chain": 1.5, "group": 0.5, "resume_s": 0.5, "processes": 4.0}
#: Seconds a child process may take beyond what its work should need
#: (a deadlock shows as a timeout, not as a hang).
SLACK_S = 60.0

#: When the first task of a resumed run started (perf_counter), noted by Step.
FIRST_START: list[float] = []
#: The node at which a crash child kills itself (None: never).
KILL_AT: str | None = None


@volnux.event(name="Noop")
def noop_event() -> int:
    return 1


@volnux.event(name="Step")
def step_event(ctx: Any) -> int:
    """A no-op that notes when the first one starts, and kills a crash child."""
    if ctx.node_id == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    if not FIRST_START:
        FIRST_START.append(time.perf_counter())
    return 1


def workflow(event: str, n: int, shape: str = "chain") -> volnux.Workflow:
    """A chain or group of ``n`` ``event`` tasks, parsed and checked."""
    joiner = " -> " if shape == "chain" else " || "
    flow = volnux.Workflow.from_text(joiner.join([event] * n), [noop_event, step_event])
    flow.check()  # parse and resolve outside any timing
    return flow


def node_ids(n: int) -> set[str]:
    """The node ids of an ``n``-task chain of Step: Step, Step#2, ... Step#n."""
    return {"Step", *(f"Step#{k}" for k in range(2, n + 1))}


# ------------------------------------------------------------------ schemas


class Server:
    """The server the benchmarks use, and the schemas they made on it."""

    def __init__(self, url: str, synchronous_commit: str | None) -> None:
        self.url = url
        self.target = parse_url(url, synchronous_commit=synchronous_commit)
        self.sync = self.target.synchronous_commit
        self.schemas: list[str] = []

    def connect(self, schema: str) -> Connection:
        """A connection to ``schema`` set up as the journal sets up its own."""
        return connect(self.target_for(schema))

    def target_for(self, schema: str) -> Target:
        """The server, ``schema`` and this run's synchronous_commit, as the journal reads them."""
        return parse_url(self.url, schema=schema, synchronous_commit=self.sync)

    def journal(self, schema: str, sync: SynchronousCommit | None = None) -> PostgresJournal:
        """The journal in ``schema`` (made if new); ``sync`` instead of this run's, if given."""
        return PostgresJournal(self.url, schema=schema, synchronous_commit=sync or self.sync)

    def spec(self, mode: str, schema: str, **more: Any) -> dict[str, Any]:
        """What a child process (see :func:`child`) is told: this server, ``schema``, ``more``."""
        return {"mode": mode, "url": self.url, "sync": self.sync, "schema": schema, **more}

    @contextmanager
    def fresh_schema(self, tag: str) -> Iterator[str]:
        """A new schema name (made by whoever uses it first), dropped at the end."""
        name = f"bench_{tag}_{secrets.token_hex(4)}"
        self.schemas.append(name)
        try:
            yield name
        finally:
            self.drop(name)

    def drop(self, name: str) -> None:
        """Drop schema ``name``; say so, not raise, if that fails (an error of the
        benchmark's own, on its way out, must not be hidden)."""
        try:
            with self.connect(name) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # a bench_ name
        except (StoreError, psycopg.Error) as exc:
            print(f"could not drop schema {name}: {exc}; drop it by hand", file=sys.stderr)

    @property
    def shown(self) -> str:
        """The server's URL without password or schema."""
        return self.target.location.rsplit("schema=", 1)[0].rstrip("?&")


# ------------------------------------------------------------------ 1. per task


def pg_rows(conn: Connection, schema: str, n: int, create: bool = True) -> Callable[[], None]:
    """A function that inserts ``n`` rows into ``schema``'s table, committing each
    (``create``: make the schema and the table first)."""
    if create:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".t (run text, node text, state text, at float8)')
    insert = f'INSERT INTO "{schema}".t VALUES (%s, %s, %s, %s)'
    cursor = conn.cursor()  # kept, as the journal keeps its own for its INSERT

    def go() -> None:
        for i in range(n):
            cursor.execute(insert, ("r", f"n{i}", "ok", time.time()))

    return go


def per_task(server: Server, n: int, rounds: int, sqlite_sync: str) -> dict[str, Any]:
    """Best seconds of each variant (see the module docstring), both shapes."""
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="volnux-bench-"))
        row_schema = stack.enter_context(server.fresh_schema("row"))
        conn = server.connect(row_schema)
        stack.callback(conn.close)
        fns: dict[str, Callable[[], None]] = {"pg-row": pg_rows(conn, row_schema, n)}
        for shape in ("chain", "group"):
            flow = workflow("Noop", n, shape)
            stack.callback(flow.close)
            journal = server.journal(stack.enter_context(server.fresh_schema(shape)))
            stack.callback(journal.close)
            path = os.path.join(tmp, f"{shape}.db")
            lite = SQLiteJournal(path, synchronous=sqlite_sync)  # type: ignore[arg-type]
            stack.callback(lite.close)
            for name, store in (("volnux", None), ("volnux+pg", journal), ("volnux+sqlite", lite)):
                fns[f"{shape}:{name}"] = _runner(flow, store)
        best = best_in_turns(fns, rounds)
    us = {name: seconds / n * 1e6 for name, seconds in best.items()}
    report: dict[str, Any] = {"pg-row": us.pop("pg-row")}
    for name, value in us.items():
        shape, _, column = name.partition(":")
        report.setdefault(shape, {})[column] = value
    return report


def _runner(flow: volnux.Workflow, store: Any) -> Callable[[], None]:
    def go() -> None:
        run = flow.run(store=store)
        if not run.succeeded:
            raise SystemExit(f"the benchmark's run {run.id} ended {run.status}: {run.error}")

    return go


# ------------------------------------------------------------------ 2. resume


def resume(server: Server, n: int, rounds: int) -> dict[str, Any]:
    """Best seconds from ``Workflow.resume`` to the first task it starts (see above)."""
    if n < 2:
        raise SystemExit("--resume-tasks must be 2 or more: half of them succeed before the crash")
    flow = workflow("Step", n)
    best = float("inf")
    done_before = 0
    with server.fresh_schema("resume") as schema, server.journal(schema) as journal:
        for r in range(rounds):
            run_id = f"crashed-{r}"
            child = _spawn(server.spec("crash", schema, tasks=n, run_id=run_id))
            try:
                _, err = child.communicate(timeout=SLACK_S + n * 0.01)
            except subprocess.TimeoutExpired:
                raise SystemExit(f"the crash child of run {run_id} did not finish") from None
            finally:
                if child.poll() is None:  # timed out, or this process was interrupted
                    child.kill()
                    child.wait()
            if child.returncode != -signal.SIGKILL:
                raise SystemExit(
                    f"the crash child of run {run_id} ended {child.returncode}, not killed: {err}"
                )
            snapshot = journal.load(run_id)
            if snapshot.run.state is not RunState.RUNNING:
                raise SystemExit(f"run {run_id} was left {snapshot.run.state}, not running")
            done_before = _succeeded(snapshot.tasks)
            FIRST_START.clear()
            began = time.perf_counter()
            run = volnux.Workflow.resume(run_id, store=journal, workflow=flow)
            if not FIRST_START:
                raise SystemExit(f"resuming run {run_id} started no task")
            best = min(best, FIRST_START[0] - began)
            _check_runs(journal, [run_id], n)
            if not run.succeeded:
                raise SystemExit(f"the resumed run {run_id} ended {run.status}: {run.error}")
    flow.close()
    return {
        "tasks": n,
        "done_before_crash": done_before,
        "from_resume_call_s": best,
        "succeeded": True,
    }


def _succeeded(tasks: Any) -> int:
    return len({t.node_id for t in tasks if t.state is TaskState.SUCCEEDED})


def _check_runs(journal: PostgresJournal, run_ids: list[str], n: int) -> int:
    """Raise unless every run succeeded with a RUNNING and a SUCCEEDED record of
    each of its ``n`` tasks; the number of records read."""
    expected = node_ids(n)
    records = 0
    for run_id in run_ids:
        snapshot = journal.load(run_id)
        records += len(snapshot.tasks)
        if snapshot.run.state is not RunState.SUCCEEDED:
            raise SystemExit(f"run {run_id} is {snapshot.run.state} in the journal")
        for state in (TaskState.RUNNING, TaskState.SUCCEEDED):
            found = {t.node_id for t in snapshot.tasks if t.state is state}
            if found != expected:
                lost = sorted(expected - found)[:5]
                raise SystemExit(f"run {run_id} lacks {state} records of {len(lost)}+: {lost}")
    return records


# ------------------------------------------------------------------ 3. processes


class Worker:
    """A child process running a chain on the journal for each ``chain`` it is
    sent, or the baseline's loop for each ``row``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.proc = _spawn(spec, stdin=subprocess.PIPE)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def answer(self, deadline: float) -> dict[str, Any]:
        """The worker's next report; SystemExit if it ends or the deadline passes."""
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise SystemExit(
                f"worker {self.proc.pid} reported nothing in time: a deadlock, or a stall"
            ) from None
        if line is None:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise SystemExit(f"worker {self.proc.pid} ended {self.proc.wait()}: {err}")
        report: dict[str, Any] = json.loads(line)
        return report

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def processes(server: Server, count: int, n: int, rounds: int) -> dict[str, Any]:
    """Tasks per second of ``count`` processes at once, and of one alone (see above);
    the same for the baseline's row loop."""
    limit = SLACK_S + count * n * 0.02  # 20 ms a task: 20 times what it takes here
    best = dict.fromkeys(("chain-one", "chain-all", "row-one", "row-all"), 0.0)
    run_ids: list[str] = []
    with ExitStack() as stack:
        schema = stack.enter_context(server.fresh_schema("processes"))
        rows = stack.enter_context(server.fresh_schema("processes_rows"))
        with server.connect(rows) as conn:
            pg_rows(conn, rows, 0)  # the schema and its table
        spec = server.spec("chains", schema, tasks=n, rows=rows)
        workers = [Worker(spec) for _ in range(count)]
        for worker in workers:
            stack.callback(worker.stop)
        deadline = time.monotonic() + limit
        run_ids += [worker.answer(deadline)["ready"] for worker in workers]  # warm-up runs
        for _ in range(rounds):
            for what, many, group in (
                ("chain", "one", workers[:1]),
                ("chain", "all", workers),
                ("row", "one", workers[:1]),
                ("row", "all", workers),
            ):
                for worker in group:
                    worker.send(what)
                deadline = time.monotonic() + limit
                reports = [worker.answer(deadline) for worker in group]
                for report in reports:
                    if report["status"] != "succeeded":
                        raise SystemExit(f"run {report['run_id']} ended {report['status']}")
                if what == "chain":
                    run_ids += [report["run_id"] for report in reports]
                wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
                key = f"{what}-{many}"
                best[key] = max(best[key], len(group) * n / wall)
        for worker in workers:
            worker.stop()
        with server.journal(schema) as journal:
            records = _check_runs(journal, run_ids, n)
            listed = len(journal.list_runs(limit=len(run_ids) + 1))
        if listed != len(run_ids):
            raise SystemExit(f"the journal holds {listed} runs, not {len(run_ids)}")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "processes": count,
        "tasks": n,
        "cpus": cpus,
        "one_tasks_per_s": best["chain-one"],
        "all_tasks_per_s": best["chain-all"],
        "ratio": best["chain-all"] / best["chain-one"],
        "row_one_per_s": best["row-one"],
        "row_all_per_s": best["row-all"],
        "row_ratio": best["row-all"] / best["row-one"],
        "runs": len(run_ids),
        "records": records,
        "succeeded": True,
    }


# ------------------------------------------------------------------ children


def _spawn(spec: dict[str, Any], stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def child(spec: dict[str, Any]) -> None:
    """A crash child (kills itself halfway) or a worker (a chain, or the rows of
    one, per line it reads)."""
    global KILL_AT
    server = Server(spec["url"], spec["sync"])
    n = spec["tasks"]
    flow = workflow("Step", n)
    if spec["mode"] == "crash":
        KILL_AT = f"Step#{n // 2 + 1}"
        with server.journal(spec["schema"], "off") as journal:
            flow.run(store=journal, run_id=spec["run_id"])
        raise SystemExit(f"the crash child ran past {KILL_AT} alive")
    with server.journal(spec["schema"]) as journal, server.connect(spec["rows"]) as conn:
        warm = flow.run(store=journal)
        if not warm.succeeded:
            raise SystemExit(f"the warm-up run {warm.id} ended {warm.status}: {warm.error}")
        insert_rows = pg_rows(conn, spec["rows"], n, create=False)
        insert_rows()  # warm: the statement prepared
        print(json.dumps({"ready": warm.id}), flush=True)
        for line in sys.stdin:
            what = line.strip()
            if what not in ("chain", "row"):
                break
            report: dict[str, Any] = {"start": time.time()}
            if what == "chain":
                run = flow.run(store=journal)
                report |= {"run_id": run.id, "status": run.status}
            else:
                insert_rows()
                report["status"] = "succeeded"
            report["end"] = time.time()
            print(json.dumps(report), flush=True)
    flow.close()


# ------------------------------------------------------------------ main


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get(URL_ENV) or DEFAULT_URL)
    parser.add_argument(
        "--synchronous-commit",
        choices=["on", "off", "local", "remote_write", "remote_apply"],
        help="the journal's and the baseline's (default: the URL's, else on)",
    )
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--resume-tasks", type=int, default=10_000)
    parser.add_argument("--chains-tasks", type=int, default=200)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sqlite-synchronous", choices=["NORMAL", "FULL"], default="NORMAL")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    server = Server(args.url, args.synchronous_commit)
    n = args.tasks
    costs = per_task(server, n, args.rounds, args.sqlite_synchronous)
    resumed = resume(server, args.resume_tasks, args.rounds)
    many = processes(server, args.processes, args.chains_tasks, args.rounds)
    ratios = {shape: costs[shape]["volnux+pg"] / costs["pg-row"] for shape in ("chain", "group")}
    if args.json:
        report = {
            "server": server.shown,
            "synchronous_commit": server.sync,
            "sqlite_synchronous": args.sqlite_synchronous,
            "tasks": n,
            "rounds": args.rounds,
            "us_per_task": costs,
            "ratio": ratios,
            "resume": resumed,
            "processes": many,
            "targets": TARGETS,
            "schemas": server.schemas,
        }
        print(json.dumps(report, indent=2))
        return
    print(
        f"PostgreSQL at {server.shown}, synchronous_commit={server.sync}; "
        f"best of {args.rounds} rounds"
    )
    print(f"per-task cost in microseconds, {n} no-op tasks (pg-row: one row and commit a task)")
    columns = ("volnux", "volnux+pg", "volnux+sqlite")
    print(f"{'shape':8}{'pg-row':>10}{''.join(f'{c:>15}' for c in columns)}{'vs pg-row':>11}")
    for shape in ("chain", "group"):
        row = costs[shape]
        cells = "".join(f"{row[c]:15.1f}" for c in columns)
        target = f"(<= {TARGETS[shape]})"
        print(f"{shape:8}{costs['pg-row']:10.1f}{cells}{ratios[shape]:11.2f} {target}")
    print(f"volnux+sqlite: a SQLite journal file, synchronous={args.sqlite_synchronous}")
    print(
        f"resume a {resumed['tasks']}-task chain killed with {resumed['done_before_crash']} "
        f"tasks done: first task starts {resumed['from_resume_call_s'] * 1000:.0f} ms after "
        f"Workflow.resume() (target < {TARGETS['resume_s'] * 1000:.0f} ms); the run succeeded"
    )
    print(
        f"{many['processes']} processes each running a {many['tasks']}-task chain on one "
        f"schema: {many['all_tasks_per_s']:.0f} tasks/s, one alone {many['one_tasks_per_s']:.0f}"
        f" tasks/s: {many['ratio']:.2f}x (target >= {TARGETS['processes']:.0f}x with cores to "
        f"spare; {many['cpus']} CPUs here)"
    )
    print(
        f"  {many['runs']} runs (warm-ups included), all succeeded; "
        f"{many['records']} task records, none missing"
    )
    print(
        f"  the pg-row loop the same way: {many['row_all_per_s']:.0f} rows/s, one alone "
        f"{many['row_one_per_s']:.0f} rows/s: {many['row_ratio']:.2f}x"
    )


if __name__ == "__main__":
    main()

"""Proof by crashing it: SIGKILL a run after every journal write, resume, compare.

A child process runs a workflow with a sequence, a parallel group, pipes, a
branch list and a retry on a real journal (a SQLite file, a PostgreSQL
schema), on each executor, and SIGKILLs itself right
after its k-th journal write, for every k over the whole run; more children
are killed from outside at random times.  A fresh process resumes each run
from the journal alone.  In every case the final results must equal an
uninterrupted run's, and no task whose success was journaled before the kill
may execute again (executions are counted in a side-effect file).
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from volnux import RunState, TaskState
from volnux.engine import rehydrate
from volnux.errors import JournalNotFound, RunNotFound
from volnux.store import SQLiteJournal, open_store
from volnux.store.results import ResultRef, value_of

CHILD = Path(__file__).with_name("crash_child.py")


#: The executors and journals every kill point is tried on: the promise holds on each.
CASES = (
    ("thread", "sqlite"),
    ("process", "sqlite"),
    ("asyncio", "sqlite"),
    ("thread", "postgresql"),
    # Attempts on a Dask cluster (two worker processes, started here; the
    # children connect to it): the engine and journal die, the cluster lives on.
    ("dask", "sqlite"),
    # Every result that is not a number kept in a result store beside the journal,
    # written by the worker processes that made them and read back on resume.
    ("process", "sqlite+results"),
    # Tasks in a row on the process pool sent to a worker in one call (chains):
    # their records are journaled when the call returns.
    ("process", "sqlite+chains"),
)


class Case(NamedTuple):
    """An executor, and the journal's URL in a case's folder (a schema: the same for all)."""

    executor: str
    postgres: str | None

    def store(self, tmp: Path) -> str:
        return self.postgres or str(tmp / "j.db")


def child(
    *args: str, executor: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VOLNUX_CRASH_EXECUTOR": executor, **(env or {})},
    )


def executions(effects: Path) -> Counter[str]:
    if not effects.exists():
        return Counter()
    return Counter(line.split()[0] for line in effects.read_text().splitlines())


def final_state(db: Path | str, run_id: str) -> tuple[RunState, dict[str, object], set[str]]:
    journal = open_store(str(db))
    try:
        snap = journal.load(run_id)
    finally:
        journal.close()
    views = rehydrate(snap).views
    # A result kept in the result store is read back (and checked) to compare it.
    results = {n: value_of(v.result) for n, v in views.items() if v.state is TaskState.SUCCEEDED}
    succeeded = {n for n, v in views.items() if v.state is TaskState.SUCCEEDED}
    return snap.run.state, results, succeeded


@pytest.fixture(scope="module", params=CASES, ids=["-".join(c) for c in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    executor, kind = request.param
    if executor == "dask":
        yield from _on_a_cluster(Case(executor, None))
        return
    if kind == "sqlite":
        yield Case(executor, None)
        return
    if kind in ("sqlite+results", "sqlite+chains"):
        # The children keep results outside, or send chains in one call.
        flag = "VOLNUX_CRASH_RESULTS" if kind == "sqlite+results" else "VOLNUX_CRASH_FUSE"
        os.environ[flag] = "1"
        try:
            yield Case(executor, None)
        finally:
            del os.environ[flag]
        return
    import psycopg
    from psycopg import sql

    server = request.getfixturevalue("postgres_server")
    schema = f"crash_{secrets.token_hex(4)}"  # every case's runs have ids of their own
    yield Case(executor, f"{server}{'&' if '?' in server else '?'}schema={schema}")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _on_a_cluster(case: Case) -> Iterator[Case]:
    """``case``, with a local Dask cluster whose address the children are given."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    )
    before = os.environ.get("VOLNUX_DASK_ADDRESS")
    os.environ["VOLNUX_DASK_ADDRESS"] = cluster.scheduler_address
    try:
        yield case
    finally:
        if before is None:
            del os.environ["VOLNUX_DASK_ADDRESS"]
        else:
            os.environ["VOLNUX_DASK_ADDRESS"] = before
        cluster.close()


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, case: Case
) -> tuple[int, dict[str, object]]:
    """The uninterrupted run: how many journal writes it makes, what it yields."""
    tmp = tmp_path_factory.mktemp("reference")
    store = case.store(tmp)
    out = child("run", store, "ref", str(tmp / "effects"), "0", executor=case.executor)
    assert out.returncode == 0, out.stderr
    writes, status = out.stdout.split()
    assert status == "succeeded"
    state, results, _ = final_state(store, "ref")
    assert state is RunState.SUCCEEDED
    assert results["Finish"] == "OK AFTER A RETRY"
    assert results["Reject"] == "rejected: check always fails, so the 0 branch runs"
    # Check fails by design (its 0 branch runs), so it has no result.
    assert set(executions(tmp / "effects")) == {*results, "Check"}
    if os.environ.get("VOLNUX_CRASH_RESULTS") == "1":  # kept outside: the strings, lists
        journal = open_store(store)
        try:
            kept = {r.node_id for r in journal.load("ref").tasks if type(r.result) is ResultRef}
        finally:
            journal.close()
        assert {"Load", "Combine", "Finish", "Reject"} <= kept, kept
    if case.executor == "dask":  # its attempts ran on the cluster's workers
        journal = open_store(store)
        try:
            pools = {n.detail.get("executor") for n in journal.load_notes("ref")}
        finally:
            journal.close()
        assert "dask" in pools, pools
    return int(writes), results


def check_resume(tmp: Path, run_id: str, reference_results: dict[str, object], case: Case) -> bool:
    """Resume the run if it did not finish; check it; say whether it resumed."""
    db, effects = case.store(tmp), tmp / "effects"
    state, _, succeeded_before = final_state(db, run_id)
    before = executions(effects)
    resumed = state is not RunState.SUCCEEDED
    if resumed:
        out = child("resume", db, run_id, executor=case.executor)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "succeeded", out.stdout
    state, results, _ = final_state(db, run_id)
    assert state is RunState.SUCCEEDED
    assert results == reference_results
    after = executions(effects)
    for node in succeeded_before:
        assert after[node] == before[node], f"{node} ran again after its success was journaled"
    # At-least-once: every task ran.
    assert set(after) == {*reference_results, "Check"}
    return resumed


def test_kill_after_every_journal_write(
    tmp_path: Path, reference: tuple[int, dict[str, object]], case: Case
) -> None:
    writes, results = reference
    assert writes >= 8
    for k in range(1, writes + 1):
        tmp = tmp_path / f"k{k}"
        tmp.mkdir()
        store, effects = case.store(tmp), str(tmp / "effects")
        out = child("run", store, f"run{k}", effects, str(k), executor=case.executor)
        if k < writes - 1:
            assert out.returncode == -signal.SIGKILL, (k, out.stdout, out.stderr)
        resumed = check_resume(tmp, f"run{k}", results, case)
        # Only a kill after the last write (the run's SUCCEEDED) leaves nothing to do.
        # Parallel completions that arrive together share one write, so a run
        # may make one write fewer than the reference did.
        assert resumed or k >= writes - 1, f"run {k} finished before its last write"


def test_kill_at_random_times(
    tmp_path: Path, reference: tuple[int, dict[str, object]], case: Case
) -> None:
    _, results = reference
    rng = random.Random(20261130)
    resumed = 0
    for i in range(4):
        tmp = tmp_path / f"r{i}"
        tmp.mkdir()
        proc = subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                "run",
                case.store(tmp),
                f"rand{i}",
                str(tmp / "effects"),
                "0",
            ],
            env={
                **os.environ,
                "VOLNUX_CRASH_DELAY": "0.05",
                "VOLNUX_CRASH_EXECUTOR": case.executor,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The run itself takes about half a second once its first task ran
        # (the child's start-up, some hundred ms, varies with the machine's load).
        deadline = time.monotonic() + 30
        while not (tmp / "effects").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "the child never ran a task"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        if not _has_run(case.store(tmp), f"rand{i}"):
            continue  # killed before the run was recorded: nothing to resume
        resumed += check_resume(tmp, f"rand{i}", results, case)
    assert resumed >= 1, "no random kill landed in the middle of a run"


def _has_run(store: str, run_id: str) -> bool:
    """Whether the journal at ``store`` exists and has recorded ``run_id``."""
    try:
        journal = open_store(store, create=False)
    except JournalNotFound:
        return False
    try:
        journal.load_run(run_id)
        return True
    except RunNotFound:
        return False
    finally:
        journal.close()


def _run_ids(db: Path) -> list[str]:
    journal = SQLiteJournal(db)
    try:
        return [r.id for r in journal.list_runs()]
    finally:
        journal.close()


BACKOFF_EVENTS = """
import volnux

@volnux.event(retry=volnux.RetryPolicy(max_attempts=3, delay_s=2.0))
def Flaky(ctx):
    if ctx.attempt == 1:
        raise ConnectionError("first attempt fails")
    return ctx.attempt
"""


def test_resumed_run_continues_its_backoff(tmp_path: Path) -> None:
    """Killed while waiting to retry, the run retries when it was due, not 2 s after resume."""
    from volnux import Workflow

    (tmp_path / "backoff_events.py").write_text(BACKOFF_EVENTS)
    db = tmp_path / "j.db"
    code = (
        "import sys; from volnux import Workflow; from volnux.store import SQLiteJournal\n"
        f"wf = Workflow.from_text('Flaky', [{str(tmp_path / 'backoff_events.py')!r}])\n"
        f"wf.run(store=SQLiteJournal({str(db)!r}), run_id='backoff')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    retrying = None
    while retrying is None:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
        if db.exists() and _run_ids(db):
            journal = SQLiteJournal(db)
            records = journal.load("backoff").tasks
            journal.close()
            retrying = next((r for r in records if r.state is TaskState.RETRYING), None)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert retrying.next_attempt_at is not None
    time.sleep(1.0)  # half the backoff passes while nothing runs
    resumed_at = time.time()
    journal = SQLiteJournal(db)
    run = Workflow.resume("backoff", store=journal, events=[str(tmp_path / "backoff_events.py")])
    assert run.status == "succeeded" and run.results["Flaky"] == 2
    second = next(
        r for r in journal.load("backoff").tasks if r.state is TaskState.RUNNING and r.attempt == 2
    )
    journal.close()
    assert second.at >= retrying.next_attempt_at - 0.05  # it still waited until due
    assert second.at < resumed_at + 1.7  # and did not wait the full 2 s again

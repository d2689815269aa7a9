"""How fast a crashed run comes back.

    python bench/recovery.py [--chain 200] [--big 10000] [--repeat 3] [--json]

1. Resume latency: a process runs a 200-task (and a 10,000-task) chain on a
   SQLite journal and is SIGKILLed halfway.  A fresh process then resumes
   it, and the time to the start of the first pending task is measured:
   from the start of ``volnux runs resume`` less the interpreter's own
   start-up (best of ``--repeat`` crashed runs; once with Volnux compiled
   from source, once with its bytecode compiled beforehand, and once more
   with bytecode but without the parse cache, as on another machine than
   the one that ran it), from the start of a Python process's code
   (``import volnux`` included), and from the call to ``Workflow.resume``.
   Every process here shares one fresh parse cache (``VOLNUX_CACHE_DIR``):
   the crashed run leaves its workflow there, as it would on its machine.
2. Rehydration: a 10,000-task run is journaled, then read back: loading its
   records (``journal.load``) and folding them into task states
   (``rehydrate``), best of 5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

EVENTS = """
import os, time
import volnux

@volnux.event
def Step(ctx):
    stop = int(os.environ.get("BENCH_STOP_AT", "0"))
    if stop and ctx.node_id == f"Step#{stop}":
        time.sleep(60)  # the parent kills us here
    first = os.environ.get("BENCH_FIRST_START")
    if first and not os.path.exists(first):
        with open(first, "w") as f:
            f.write(f"{time.perf_counter()!r} {time.time()!r}")
    return 1
"""

RUNNER = """
import sys
from volnux import Workflow
from volnux.store import SQLiteJournal
db, events, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
Workflow.from_text(" -> ".join(["Step"] * n), [events]).run(
    store=SQLiteJournal(db), run_id="bench"
)
"""

RESUMER = """
import time
t0 = time.perf_counter()
import sys
from volnux import Workflow
from volnux.store import SQLiteJournal
t1 = time.perf_counter()
db, events = sys.argv[1], sys.argv[2]
run = Workflow.resume("bench", store=SQLiteJournal(db), events=[events])
assert run.succeeded, run.error
print(t0, t1)
"""


def crashed_run(tmp: Path, n: int, name: str) -> tuple[Path, Path]:
    """A journal holding an n-task chain killed halfway, and its events file."""
    events = tmp / "bench_events.py"
    events.write_text(EVENTS)
    db = tmp / f"{name}.db"
    env = {**_env(tmp), "BENCH_STOP_AT": str(n // 2)}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(db), str(events), str(n)], env=env)
    _wait_for_running(db, f"Step#{n // 2}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return db, events


def resume_latency(tmp: Path, n: int) -> dict[str, float]:
    """Seconds to the first pending task: from the process's code, from resume()."""
    db, events = crashed_run(tmp, n, f"api-{n}")
    first = tmp / f"first-api-{n}"
    env = {**_env(tmp), "BENCH_FIRST_START": str(first)}
    out = subprocess.run(
        [sys.executable, "-c", RESUMER, str(db), str(events)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    t0, t1 = (float(x) for x in out.stdout.split())
    started = float(first.read_text().split()[0])
    return {"from_process_start_s": started - t0, "from_resume_call_s": started - t1}


def _env(tmp: Path) -> dict[str, str]:
    """The environment of every process here: Volnux from this checkout, one parse cache."""
    return {**os.environ, "PYTHONPATH": str(SRC), "VOLNUX_CACHE_DIR": str(tmp / "cache")}


def cli_latency(
    tmp: Path, n: int, *, bytecode: bool, repeat: int = 3, cache: bool = True
) -> dict[str, float]:
    """``volnux runs resume`` from its start to the first pending task, less
    the interpreter's own start-up (``python -c pass``, best of 5); the best
    of ``repeat`` crashed runs.

    With ``bytecode``, a copy of Volnux's modules is compiled beforehand, as
    ``pip install`` leaves them; without, they are compiled from source on
    every start (``PYTHONDONTWRITEBYTECODE``, as this project's machines set).
    """
    env = {**_env(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    if bytecode:  # a compiled copy of the sources, so the checkout is left alone
        copy = tmp / "compiled-src"
        if not copy.exists():
            shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(copy)], check=True)
        env["PYTHONPATH"] = str(copy)
    startup = min(_wall([sys.executable, "-c", "pass"]) for _ in range(5))
    best = float("inf")
    for i in range(repeat):
        db, events = crashed_run(tmp, n, f"cli-{n}-{bytecode}-{cache}-{i}")
        first = tmp / f"first-cli-{n}-{bytecode}-{cache}-{i}"
        command = [sys.executable, "-m", "volnux", "runs", "resume", "bench", "--store", str(db)]
        began = time.time()
        subprocess.run(
            [*command, "--events", str(events)],
            env={**env, "BENCH_FIRST_START": str(first)}
            | ({} if cache else {"VOLNUX_CACHE_DIR": "off"}),
            capture_output=True,
            check=True,
        )
        started = float(first.read_text().split()[1])
        best = min(best, started - began - startup)
    return {"command_s": best, "startup_s": startup}


def _wall(command: list[str]) -> float:
    began = time.time()
    subprocess.run(command, check=True)
    return time.time() - began


def _wait_for_running(db: Path, node: str) -> None:
    sys.path.insert(0, str(SRC))
    from volnux.errors import StoreError
    from volnux.states import TaskState
    from volnux.store import SQLiteJournal

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.02)
        try:  # read only: the child creates the file (and may be at it now)
            journal = SQLiteJournal(db, create=False)
        except StoreError:
            continue
        try:
            runs = journal.list_runs()
            if runs and any(
                r.node_id == node and r.state is TaskState.RUNNING
                for r in journal.load("bench").tasks
            ):
                return
        finally:
            journal.close()
    raise RuntimeError(f"{node} never started")


def rehydration(tmp: Path, n: int) -> dict[str, float]:
    """Best seconds to load and to fold a journaled run of ``n`` tasks."""
    sys.path.insert(0, str(SRC))
    import volnux
    from volnux.engine import rehydrate
    from volnux.store import SQLiteJournal

    @volnux.event(name="Step")
    def step() -> int:
        return 1

    db = tmp / "big.db"
    journal = SQLiteJournal(db)
    run = volnux.Workflow.from_text(" -> ".join(["Step"] * n), [step]).run(
        store=journal, run_id="big"
    )
    assert run.succeeded
    journal.close()
    loads, folds = [], []
    for _ in range(5):
        journal = SQLiteJournal(db)
        start = time.perf_counter()
        snapshot = journal.load("big")
        loaded = time.perf_counter()
        rehydrate(snapshot)
        loads.append(loaded - start)
        folds.append(time.perf_counter() - loaded)
        journal.close()
    return {"records": len(snapshot.tasks), "load_s": min(loads), "rehydrate_s": min(folds)}


def main() -> None:
    parser = argparse.ArgumentParser(description="How fast a crashed run comes back.")
    parser.add_argument("--chain", type=int, default=200)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="crashed runs per CLI timing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="volnux-bench-") as name:
        tmp = Path(name)
        latency = resume_latency(tmp, args.chain)
        cli = cli_latency(tmp, args.chain, bytecode=False, repeat=args.repeat)
        cli_compiled = cli_latency(tmp, args.chain, bytecode=True, repeat=args.repeat)
        cli_uncached = cli_latency(tmp, args.chain, bytecode=True, repeat=args.repeat, cache=False)
        big_resume = resume_latency(tmp, args.big)
        big = rehydration(tmp, args.big)
    if args.json:
        report = {
            "resume": latency,
            "resume_cli": cli,
            "resume_cli_bytecode": cli_compiled,
            "resume_cli_bytecode_uncached": cli_uncached,
            "resume_big": big_resume,
            "rehydrate": big,
        }
        print(json.dumps(report, indent=2))
        return
    print(f"resume a {args.chain}-task chain killed halfway; first pending task starts:")
    print(
        f"  {cli['command_s'] * 1000:7.1f} ms after `volnux runs resume` starts, interpreter"
        f" start-up ({cli['startup_s'] * 1000:.0f} ms) excluded, Volnux compiled from source"
    )
    print(
        f"  {cli_compiled['command_s'] * 1000:7.1f} ms the same with Volnux's bytecode compiled"
        " beforehand (as an installed package has it)"
    )
    print(
        f"  {cli_uncached['command_s'] * 1000:7.1f} ms the same without the parse cache"
        " (resumed on another machine than the one that ran it)"
    )
    print(
        f"  {latency['from_process_start_s'] * 1000:7.1f} ms after the process's code starts"
        " (import volnux included)"
    )
    print(f"  {latency['from_resume_call_s'] * 1000:7.1f} ms after Workflow.resume() is called")
    print(f"resume a {args.big}-task chain killed halfway; first pending task starts:")
    print(
        f"  {big_resume['from_resume_call_s'] * 1000:7.1f} ms after Workflow.resume() is called"
        " (cached parse, load, fold, compare, replay)"
    )
    total = big["load_s"] + big["rehydrate_s"]
    print(
        f"rehydrate a {args.big}-task run ({big['records']} records): "
        f"load {big['load_s'] * 1000:.0f} ms + fold {big['rehydrate_s'] * 1000:.0f} ms"
        f" = {total * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

"""How long ``volnux runs show`` takes, and how much memory, for one big run.

    python bench/show.py [--tasks 100000] [--repeat 3] [--json]

Records one run of a chain of ``--tasks`` no-op events whose last one fails
(the run a user would come to ``runs show`` with), in a SQLite journal, then
times ``volnux runs show RUN_ID`` in fresh processes: the wall time and the
peak resident memory of the command (best of ``--repeat``), and how many
bytes it printed.  Volnux's modules are compiled from source on every start
(``PYTHONDONTWRITEBYTECODE``, as this project's machines set), and then once
more from a compiled copy, as ``pip install`` leaves them (``show_bytecode_s``).
``--all`` (every task listed) is timed once, for scale.  The run is recorded
once per invocation (about 10 s for 100,000 tasks).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

EVENTS = """
import volnux


@volnux.event
def Noop() -> int:
    return 1


@volnux.event
def Boom() -> int:
    raise ValueError("the last task fails")
"""


def record_run(folder: Path, tasks: int) -> str:
    """A failed run of ``tasks`` chained tasks in ``folder/journal.db``; its id."""
    import volnux
    from volnux.store import SQLiteJournal

    (folder / "bench_show_events.py").write_text(EVENTS)
    text = " -> ".join(["Noop"] * (tasks - 1) + ["Boom"])
    wf = volnux.Workflow.from_text(text, [str(folder / "bench_show_events.py")], name="big")
    with SQLiteJournal(folder / "journal.db") as journal:
        run = wf.run(store=journal)
    wf.close()
    assert run.status == "failed", run.status
    return run.id


def show(folder: Path, run_id: str, *extra: str, src: Path = SRC) -> tuple[float, float, int]:
    """Seconds, peak MiB and bytes printed of one ``volnux runs show`` in a fresh process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "volnux", "runs", "show", run_id, "--store", "journal.db",
             *extra],
            cwd=folder,
            stdout=out,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"},
        )  # fmt: skip
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0, f"runs show exited {proc.returncode}"
        printed = out.tell()
    return seconds, usage.ru_maxrss / 1024, printed  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description="Time `volnux runs show` of one big run.")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="volnux-show-") as tmp:
        folder = Path(tmp)
        run_id = record_run(folder, args.tasks)
        timings = [show(folder, run_id) for _ in range(args.repeat)]
        best = min(timings)
        every = show(folder, run_id, "--all")
        compiled = folder / "compiled-src"
        shutil.copytree(SRC, compiled, ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(compiled)], check=True)
        bytecode = min(show(folder, run_id, src=compiled) for _ in range(args.repeat))
    report = {
        "tasks": args.tasks,
        "show_s": best[0],
        "show_peak_MiB": best[1],
        "show_bytes": best[2],
        "show_bytecode_s": bytecode[0],
        "show_all_s": every[0],
        "show_all_bytes": every[2],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"volnux runs show of a failed run of {args.tasks} tasks (best of {args.repeat}):")
    print(f"  {best[0]:.2f} s, peak {best[1]:.0f} MiB, {best[2]} bytes printed")
    print(f"  {bytecode[0]:.2f} s with Volnux's bytecode compiled beforehand")
    print(f"  with --all: {every[0]:.2f} s, {every[2]} bytes printed")


if __name__ == "__main__":
    main()

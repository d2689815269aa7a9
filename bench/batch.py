"""A batch run against a plain multiprocessing.Pool doing the same work, same run.

    python bench/batch.py [--items 1000000] [--batches 1000] [--workers N] [--rounds 3] [--json]

* ``pool``: ``multiprocessing.Pool(workers).imap_unordered`` over the input's
  lines in chunks of ``items / batches`` lines, each chunk checked, parsed
  and hashed per item as the workflow's three events do
  (``batch_events.chunk_work``).
* ``volnux``: ``Workflow.run_batches`` over the same file, split by lines into
  the same number of batches, through a three-event workflow (``Check ->
  Keys |-> Tally``) on the process executor with the same number of workers,
  as many batches at once as ``run_batches`` takes by default (8 a worker
  process), durable on SQLite (a fresh journal file).  Its ratio to the pool's
  throughput is the figure (target: at least 0.9).  A batch's three steps go
  to a worker in one call (chains, ``run_batches``' default).
* ``unfused``: the same with ``fuse=False`` (each step a call of its own,
  journaled ``running`` before it starts), for comparison.
* ``resume``: the same batch run in a child process, SIGKILLed once about
  half of its batches ended, then resumed in a fresh process: the resume's
  time over the uninterrupted run's (target: at most 0.55).

Each round runs all of them in turn (pool, volnux, unfused, the killed run
and its resume); the ratios are the medians of the rounds' (``rounds`` has
each round's), as a shared machine's swings move one side's time by 5-10 %
from run to run.  Both sides run in child processes of this one, so that
their peak RSS is their own (``peak_rss_mib``).  The input is generated once, in a temporary
folder; the per-item work is in ``batch_events`` (about 6 µs an item).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path[:0] = [str(SRC), str(HERE)]


def make_input(path: Path, items: int) -> None:
    """``items`` short CSV lines: ``id,name,amount``."""
    with path.open("w", encoding="utf-8") as f:
        for start in range(0, items, 10_000):
            f.write(
                "".join(
                    f"{i},customer-{i % 9973},{(i * 37) % 100_000 / 100:.2f}\n"
                    for i in range(start, min(items, start + 10_000))
                )
            )


# ---------------------------------------------------------------- the children


def child_pool(data: str, chunk: int, workers: int) -> dict[str, Any]:
    """The plain pool: chunks of lines to ``chunk_digest``, unordered."""
    import multiprocessing

    import batch_events

    started = time.perf_counter()
    items = 0
    with open(data, encoding="utf-8") as f, multiprocessing.Pool(workers) as pool:
        for out in pool.imap_unordered(batch_events.chunk_work, _chunks(f, chunk)):
            items += out["items"]
    return {"seconds": time.perf_counter() - started, "items": items}


def _chunks(f: Any, size: int) -> Any:
    chunk: list[str] = []
    for line in f:
        chunk.append(line.rstrip("\n"))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _workflow(workers: int) -> Any:
    import batch_events

    from volnux import PoolSettings, Workflow

    wf = Workflow.from_text(batch_events.WORKFLOW, ["batch_events"], default_executor="process")
    wf.pool_settings = {"process": PoolSettings(max_workers=workers)}
    return wf


def child_volnux(
    data: str,
    store: str,
    chunk: int,
    workers: int,
    run_id: str,
    kill_at: int = 0,
    fuse: bool = True,
) -> dict[str, Any]:
    """The batch run, durable on SQLite; the clock starts once its workers are up.

    With ``kill_at``, the process SIGKILLs itself once that many batches ended
    (their ends journaled): a crash at a known point.
    """
    from volnux import SQLiteJournal

    wf = _workflow(workers)
    journal = SQLiteJournal(store)
    warm = wf.run_batches(["warm,up,0"], batch_size=1, store=journal, parallel=1)
    assert warm.succeeded, warm.error
    ended = 0

    def on_batch(event: Any) -> None:
        nonlocal ended
        if event.what == "ended":
            ended += 1
            if ended == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    started = time.perf_counter()
    run = wf.run_batches(
        data,
        batch_size=chunk,
        split="lines",
        store=journal,
        run_id=run_id,
        on_batch=on_batch,
        fuse=fuse,
    )
    took = time.perf_counter() - started
    assert run.succeeded, run.error
    items = run.items().get("succeeded", 0)
    wf.close()
    return {"seconds": took, "items": items}


def child_resume(store: str, workers: int, run_id: str) -> dict[str, Any]:
    """Resume the killed batch run from its journal alone (its workers warm first, as
    the uninterrupted run's were)."""
    from volnux import SQLiteJournal, Workflow

    wf = _workflow(workers)
    journal = SQLiteJournal(store)
    warm = wf.run_batches(["warm,up,0"], batch_size=1, store=journal, parallel=1)
    assert warm.succeeded, warm.error
    started = time.perf_counter()
    run = Workflow.resume_batches(run_id, store=journal, workflow=wf)
    took = time.perf_counter() - started
    assert run.succeeded, run.error
    wf.close()
    return {"seconds": took, "items": run.items().get("succeeded", 0)}


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{done.stderr}")
    out: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return out


def _own_rss_mib() -> float:
    """Peak RSS of this process or its largest worker, MiB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) / 1024


def killed_at_half(data: str, store: str, chunk: int, workers: int, batches: int) -> int:
    """Run the batch run in a child that SIGKILLs itself once half its batches ended;
    return how many batches the journal has as ended."""
    half = str(max(1, batches // 2))
    args = ["volnux", data, store, str(chunk), str(workers), half]
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != -signal.SIGKILL:
        raise SystemExit(f"the run to kill was not killed ({done.returncode}):\n{done.stderr}")
    return _ended(store)


def _ended(store: str) -> int:
    """Batches the parent ``bench`` has noted ended (read beside the writer)."""
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        row = conn.execute(
            "SELECT count(*) FROM run_notes WHERE run_id = 'bench' AND kind = 'batch-ended'"
        ).fetchone()
        return int(row[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "pool":
            out = child_pool(rest[0], int(rest[1]), int(rest[2]))
        elif kind in ("volnux", "unfused"):
            kill_at = int(rest[4]) if len(rest) > 4 else 0
            out = child_volnux(
                rest[0], rest[1], int(rest[2]), int(rest[3]), "bench", kill_at, kind == "volnux"
            )
        else:
            out = child_resume(rest[0], int(rest[1]), "bench")
        out["rss_mib"] = _own_rss_mib()
        print(json.dumps(out))
        return
    chunk = max(1, args.items // args.batches)
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="volnux-bench-batch-") as tmp:
        data = str(Path(tmp) / "items.csv")
        make_input(Path(data), args.items)
        w = str(args.workers)
        for r in range(max(1, args.rounds)):
            pool = _child("pool", data, str(chunk), w)
            full = _child("volnux", data, str(Path(tmp) / f"full{r}.db"), str(chunk), w)
            unfused = _child("unfused", data, str(Path(tmp) / f"unfused{r}.db"), str(chunk), w)
            store = str(Path(tmp) / f"killed{r}.db")
            ended = killed_at_half(data, store, chunk, args.workers, args.batches)
            resumed = _child("resume", store, w)
            counts = {pool["items"], full["items"], unfused["items"], resumed["items"]}
            assert counts == {args.items}, counts
            rounds.append(
                {
                    "pool_s": pool["seconds"],
                    "volnux_s": full["seconds"],
                    "unfused_s": unfused["seconds"],
                    "resume_s": resumed["seconds"],
                    "killed_after_batches": ended,
                    "throughput_ratio": pool["seconds"] / full["seconds"],
                    "unfused_ratio": pool["seconds"] / unfused["seconds"],
                    "resume_ratio": resumed["seconds"] / full["seconds"],
                    "rss_mib": {"pool": pool["rss_mib"], "volnux": full["rss_mib"]},
                }
            )

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    pool_s, volnux_s = median("pool_s"), median("volnux_s")
    pool_rss = max(r["rss_mib"]["pool"] for r in rounds)
    volnux_rss = max(r["rss_mib"]["volnux"] for r in rounds)
    ended = rounds[-1]["killed_after_batches"]
    result = {
        "items": args.items,
        "batches": args.batches,
        "workers": args.workers,
        "pool_items_per_s": args.items / pool_s,
        "volnux_items_per_s": args.items / volnux_s,
        "throughput_ratio": median("throughput_ratio"),
        "pool_s": pool_s,
        "volnux_s": volnux_s,
        "unfused_s": median("unfused_s"),
        "unfused_ratio": median("unfused_ratio"),
        "killed_after_batches": ended,
        "resume_s": median("resume_s"),
        "resume_ratio": median("resume_ratio"),
        "peak_rss_mib": {"pool": pool_rss, "volnux": volnux_rss},
        "rounds": rounds,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    each = ", ".join(f"{r['throughput_ratio']:.2f}" for r in rounds)
    print(
        f"{args.items:,} items in {args.batches:,} batches, {args.workers} workers, "
        f"medians of {len(rounds)} rounds\n"
        f"  plain pool   {pool_s:7.2f} s  {result['pool_items_per_s']:>10,.0f} items/s\n"
        f"  volnux batch {volnux_s:7.2f} s  {result['volnux_items_per_s']:>10,.0f} items/s"
        f"  ({result['throughput_ratio']:.2f}x the pool's throughput, rounds {each}; "
        "target >= 0.90)\n"
        f"  unfused      {result['unfused_s']:7.2f} s"
        f"  ({result['unfused_ratio']:.2f}x; each step a call of its own)\n"
        f"  resume after a kill at {ended}/{args.batches} batches: {result['resume_s']:.2f} s"
        f"  ({result['resume_ratio']:.2f}x the whole run; target <= 0.55)\n"
        f"  peak RSS: pool {pool_rss:.0f} MiB, volnux {volnux_rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()

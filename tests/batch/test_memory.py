"""Memory is bounded by the batches in flight, not by the input.

A generated 500 MB file of short lines goes through ``volnux batch`` in a
child process, which reports its own peak RSS when it ends: it must stay
under 250 MB, about half the input's size.  (``VOLNUX_BATCH_MEMORY_MB``
makes the file larger, for a longer look.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SIZE_MB = int(os.environ.get("VOLNUX_BATCH_MEMORY_MB", "500"))
PEAK_MB = 250

EVENTS = """\
import volnux

@volnux.event
def Count(batch: list) -> int:
    return sum(1 for line in batch if line)
"""

# Runs the CLI in this process, then prints its own peak RSS in KiB: VmHWM, the
# high-water mark of this program's memory.  Not getrusage's ru_maxrss: Linux
# carries into it, across exec, the peak of the process it was forked from (here
# pytest, 400 MB late in the suite), which made this test fail in CI.
CHILD = """\
import resource, sys
from volnux.cli.app import app

def peak_kib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print("peak-kib", peak_kib(), file=sys.stderr)
"""


def _big_file(path: Path, megabytes: int) -> int:
    """``megabytes`` MB of 100-byte lines; returns how many lines."""
    block_lines = 10_000
    lines = 0
    with path.open("w", encoding="ascii") as f:
        while f.tell() < megabytes * 1_000_000:
            f.write("".join(f"{lines + i:09d},{'x' * 89}\n" for i in range(block_lines)))
            lines += block_lines
    return lines


def test_a_500_mb_input_is_processed_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "events.py").write_text(EVENTS)
    (tmp_path / "count.pty").write_text("Count\n")
    data = tmp_path / "big.txt"
    lines = _big_file(data, SIZE_MB)
    assert data.stat().st_size >= SIZE_MB * 1_000_000
    args = ["count.pty", "-e", "events.py", "--over", str(data), "--batch-size", "20000"]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "batch", *args, "--parallel", "4", "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stderr.split("peak-kib")[1].split()[0]) / 1024
    assert peak_mb < PEAK_MB, f"peak RSS {peak_mb:.0f} MB for a {SIZE_MB} MB input"
    listed = subprocess.run(
        [sys.executable, "-m", "volnux", "runs", "list", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    parent = json.loads(listed.stdout)[0]["id"]
    shown = subprocess.run(
        [sys.executable, "-m", "volnux", "runs", "show", parent, "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    batch = json.loads(shown.stdout)["batch"]
    assert batch["total_items"] == lines and batch["counts"] == {"succeeded": batch["total"]}

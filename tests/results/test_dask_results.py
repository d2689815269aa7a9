"""50 MB NumPy results on a real Dask LocalCluster: the workers write and read the
result store; the engine process handles only references."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def test_fifty_megabyte_arrays_move_through_the_store_not_the_engine(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.results.dask_rss", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["state"] == "succeeded", report["error"]
    assert report["mean"] == 4.0  # seed 1, plus one three times
    assert report["kept_bytes"] >= 4 * 50 * MB  # four 50 MB arrays went through the store
    grown = report["peak"] - max(report["peak_before"], report["rss_before"])
    # Not one array's worth: the engine never held the data it moved.
    assert grown < 25 * MB, f"the engine's peak grew by {grown / MB:.1f} MB"
    files = list((tmp_path / "results" / "sha256").glob("*/*"))
    # Two runs of four arrays: all 0.0 ... all 3.0, then all 1.0 ... all 4.0; the
    # arrays both runs made are kept once.
    assert len(files) == 5

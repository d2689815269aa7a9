"""bench/lsp.py still runs (tiny sizes; no timing is asserted), as tests/test_bench.py
does for the other benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "lsp.py"


def test_lsp_bench_reports_every_figure_for_both_shapes() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--lines", "60", "--edits", "2", "--pause", "0", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["lines"] == 60 and data["goal_ms"] == 200
    for shape in ("typical", "dense"):
        row = data["shapes"][shape]
        for key in (
            "parse_median_ms", "plan_median_ms", "diagnose_median_ms", "ratio_to_parse",
            "open_ms", "edit_median_ms", "edit_p90_ms", "edit_worst_ms", "burst_of_10_ms",
        ):  # fmt: skip
            assert isinstance(row[key], float) and row[key] > 0, (shape, key)

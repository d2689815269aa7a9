"""The orders example, end to end through the real `volnux` command."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders"
WORKFLOW = EXAMPLE / "orders.pty"
EVENTS = EXAMPLE / "events.py"

#: The rows of orders.csv that must be rejected, and why.
EXPECTED_REJECTS = [
    {"order_id": "1007", "line": 8, "reasons": ["missing customer"]},
    {
        "order_id": "1013",
        "line": 14,
        "reasons": ["quantity must be a whole number above 0, got '-2'"],
    },
    {"order_id": "1019", "line": 20, "reasons": ["unknown product 'XX-999'"]},
    {"order_id": "1026", "line": 27, "reasons": ["no exchange rate for currency 'JPY'"]},
]


def volnux(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "volnux", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def saved_orders(db: Path) -> tuple[int, float, list[tuple[int, str, str, float]]]:
    with sqlite3.connect(db) as conn:
        count, total = conn.execute("SELECT COUNT(*), SUM(total_eur) FROM orders").fetchone()
        some = conn.execute(
            "SELECT order_id, product_name, currency, total_eur FROM orders "
            "WHERE order_id IN (1002, 1005, 1017) ORDER BY order_id"
        ).fetchall()
    conn.close()
    return count, round(total, 2), some


def rejects(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_orders_example_runs_twice_to_the_same_outputs(tmp_path: Path) -> None:
    for _ in range(2):
        done = volnux("run", str(WORKFLOW), "--events", str(EVENTS), cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        # The flaky step failed once and succeeded on its second attempt.
        assert re.search(
            r"^FetchExchangeRates\s+FetchExchangeRates@1\.0\.0\s+succeeded\s+2\s", done.stdout, re.M
        )
        assert re.search(r"^ValidateOrders\s+\S+\s+failed \(handled\)\s+1\s", done.stdout, re.M)
        assert re.search(r"^WriteRejects\s+\S+\s+succeeded\s", done.stdout, re.M)
        assert re.search(
            r"^run [0-9a-f]{12} succeeded in \S+ \(7 succeeded, 1 failed and handled\)$",
            done.stdout,
            re.M,
        )

        count, total, some = saved_orders(tmp_path / "out" / "orders.db")
        assert count == 26
        assert total == 3909.79
        assert some == [
            (1002, "Wireless mouse", "USD", 112.7),  # 5 x 24.50 USD at 0.92
            (1005, "HDMI cable", "EUR", 68.88),  # 10 x 7.25, 5 % bulk discount
            (1017, "HDMI cable", "EUR", 82.65),  # 12 x 7.25, 5 % bulk discount
        ]
        assert rejects(tmp_path / "out" / "rejects.jsonl") == EXPECTED_REJECTS


def test_inputs_move_the_files_and_a_clean_csv_empties_old_rejects(tmp_path: Path) -> None:
    db, bad = tmp_path / "priced.db", tmp_path / "bad.jsonl"
    args = ["run", str(WORKFLOW), "-e", str(EVENTS), "-i", f"out_db={db}", "-i", f"rejects={bad}"]
    done = volnux(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(rejects(bad)) == 4

    # Only the valid rows: no order fails validation, so the 0 branch is skipped,
    # and the rejects file from the first run is emptied, not left stale.
    lines = (EXAMPLE / "orders.csv").read_text(encoding="utf-8").splitlines()
    clean = tmp_path / "clean.csv"
    clean.write_text(
        "\n".join(
            [
                lines[0],
                *(
                    line
                    for line in lines[1:]
                    if not line.startswith(("1007,", "1013,", "1019,", "1026,"))
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    done = volnux(*args, "-i", f"orders_csv={clean}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^ValidateOrders\s+\S+\s+succeeded\s", done.stdout, re.M)
    assert re.search(r"^WriteRejects\s+\S+\s+skipped\s", done.stdout, re.M)
    assert bad.read_text(encoding="utf-8") == ""
    assert saved_orders(db)[:2] == (26, 3909.79)


def test_a_missing_orders_file_fails_the_run_at_read_orders(tmp_path: Path) -> None:
    done = volnux(
        "run", str(WORKFLOW), "-e", str(EVENTS), "-i", "orders_csv=nowhere.csv", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "ReadOrders (ReadOrders@1.0.0) failed after 1 attempt" in done.stderr
    assert "FileNotFoundError" in done.stderr and "nowhere.csv" in done.stderr

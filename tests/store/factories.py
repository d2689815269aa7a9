"""Record factories and small helpers shared by the journal tests."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from volnux.states import RunState, TaskState
from volnux.store.base import EventPin, RunRecord, TaskRecord
from volnux.store.sqlite.migrations import MIGRATIONS, apply_migrations
from volnux.store.sqlite.records import encode_record


def make_run(run_id: str = "run-1", created_at: float = 1000.0, **changes: Any) -> RunRecord:
    """A run record with sensible defaults."""
    fields: dict[str, Any] = {
        "id": run_id,
        "workflow": "orders",
        "text": "fetch -> price -> ship\n",
        "fingerprint": "sha256:abc",
        "events": {
            "fetch": EventPin("Fetch", "1.0", "module:orders.events", "sha256:f1"),
            "price": EventPin("Price", "2.1", "module:orders.events", "sha256:p2"),
        },
        "inputs": {"order": 42, "region": "eu", "tags": ["a", "b"]},
        "state": RunState.RUNNING,
        "created_at": created_at,
        "updated_at": created_at,
        "filename": "orders.pty",
    }
    fields.update(changes)
    return RunRecord(**fields)


def make_task(
    node_id: str,
    state: TaskState = TaskState.SUCCEEDED,
    run_id: str = "run-1",
    at: float = 1001.0,
    **changes: Any,
) -> TaskRecord:
    """A task record with sensible defaults."""
    return TaskRecord(run_id, node_id, state, changes.pop("attempt", 1), at, **changes)


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def old_journal(path: Path, version: int, batches: dict[str, int]) -> None:
    """A journal as a Volnux that knew only schema ``version`` (1 or 2) left it.

    Each run of ``batches`` gets that many one-record batches, the runs'
    batches interleaved (runs written at once), in that layout's own columns.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    apply_migrations(conn, 0, MIGRATIONS[:version])
    for i, run_id in enumerate(batches):
        conn.execute(
            "INSERT INTO runs (id, workflow, filename, text, fingerprint, events, state,"
            " created_at, updated_at) VALUES (?, 'w', 'w.pty', 'a -> b', 'fp', '[[], {}]',"
            " 'running', ?, ?)",
            (run_id, 100.0 + i, 100.0 + i),
        )
    for seq in range(1, max(batches.values()) + 1):
        for run_id, count in batches.items():
            if seq <= count:
                record = make_task(f"n{seq}", run_id=run_id, result=seq)
                text = encode_record(record, str(seq), "json")
                conn.execute(
                    "INSERT INTO task_records (run_id, seq, records) VALUES (?, ?, ?)",
                    (run_id, seq, f"[{text}]"),
                )
    conn.execute("COMMIT")
    conn.close()

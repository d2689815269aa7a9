"""Record factories and small helpers shared by the journal tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from volnux.states import RunState, TaskState
from volnux.store.base import EventPin, RunRecord, TaskRecord


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

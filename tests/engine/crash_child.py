"""A child process for the crash harness.

    python crash_child.py run STORE RUN_ID EFFECTS KILL_AFTER
    python crash_child.py resume STORE RUN_ID [force]

STORE is a journal URL (a SQLite path, a ``postgresql://`` URL).  ``run``
starts the workflow on that journal, every write of it counted;
after the KILL_AFTER-th write (0 = never) the process SIGKILLs itself.  It
prints the number of writes when it ends normally.  ``resume`` continues the
run in a fresh process from the journal alone.  ``VOLNUX_CRASH_EXECUTOR``
names the executor every event runs on (default: each event's own);
``asyncio`` runs the events' ``async def`` twins; ``VOLNUX_CRASH_FUSE=1`` runs
and resumes with chains (``fuse=True``).  With ``VOLNUX_CRASH_RESULTS=1``
every result that is not a number is kept in a result store beside the journal
(threshold 0), written by the attempts themselves where they can.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.engine import crash_events, crash_events_async
from volnux import Workflow
from volnux.store import Journal, open_store
from volnux.store.results import ResultStore


def opened(db: str) -> Journal:
    """The journal at ``db``, keeping every result it can outside when asked to."""
    journal = open_store(db)
    if os.environ.get("VOLNUX_CRASH_RESULTS") == "1":
        journal.results = ResultStore(Path(db).parent / "kept", 0)  # type: ignore[attr-defined]
    return journal


class KillingJournal:
    """A journal that counts its writes and SIGKILLs the process right after the
    chosen one; everything else is the journal it wraps."""

    def __init__(self, inner: Journal, kill_after: int) -> None:
        self._inner = inner
        self.writes = 0
        self.kill_after = kill_after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _count_write(self) -> None:
        self.writes += 1
        if self.writes == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def create_run(self, *a: Any, **k: Any) -> None:
        self._inner.create_run(*a, **k)
        self._count_write()

    def record(self, *a: Any, **k: Any) -> None:
        self._inner.record(*a, **k)
        self._count_write()

    def set_run_state(self, *a: Any, **k: Any) -> None:
        self._inner.set_run_state(*a, **k)
        self._count_write()

    def add_note(self, *a: Any, **k: Any) -> None:
        self._inner.add_note(*a, **k)
        self._count_write()


EXECUTOR = os.environ.get("VOLNUX_CRASH_EXECUTOR")
#: Whether tasks in a row on a pool of worker processes go to a worker in one call.
FUSE = os.environ.get("VOLNUX_CRASH_FUSE") == "1"


def workflow() -> Workflow:
    if EXECUTOR == "asyncio":
        return Workflow.from_text(crash_events_async.WORKFLOW, [crash_events_async])
    return Workflow.from_text(crash_events.WORKFLOW, [crash_events], default_executor=EXECUTOR)


def main() -> None:
    mode, db, run_id = sys.argv[1:4]
    if mode == "run":
        effects, kill_after = sys.argv[4], int(sys.argv[5])
        journal = KillingJournal(opened(db), kill_after)
        wf = workflow()
        run = wf.run({"effects": effects}, store=journal, run_id=run_id, fuse=FUSE)  # type: ignore[arg-type]
        print(journal.writes, run.status)
        if run.error:
            print(run.error, file=sys.stderr)
    else:
        force = sys.argv[4:5] == ["force"]
        journal = opened(db)
        if EXECUTOR:
            run = Workflow.resume(
                run_id, store=journal, workflow=workflow(), force=force, fuse=FUSE
            )
        else:
            run = Workflow.resume(run_id, store=journal, events=[crash_events], force=force)
        print(run.status)


if __name__ == "__main__":
    main()

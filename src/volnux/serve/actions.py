"""What ``volnux serve`` does when asked to act on a run: cancel, pause, resume, retry.

Every action is noted in the run's journal first (:class:`~volnux.notes.WebAction`:
what, from which client, proven how).  Cancel and pause are asked of the
run's owner as ``volnux runs cancel`` and ``pause`` do; resume and retry run
the workflow again in a thread of the server's process, from what the
journal recorded (its workflow text and event sources).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

from ..batch import summarize
from ..engine.owners import cancel_run, note_web_action, pause_run
from ..errors import VolnuxError
from ..states import RunState
from ..store import Journal

__all__ = ["ACTIONS", "ActionRefused", "Runner", "allowed"]

#: The actions there are.
ACTIONS: Final = ("cancel", "pause", "resume", "retry", "retry-failed-batches")
#: How long an action that starts a run waits to see it start (or be refused): it
#: answers as soon as the run is claimed; a loaded machine may take seconds to load
#: the events first, and the page it lands on must show the run running, live.
START_WAIT_S: Final = 15.0


def allowed(state: RunState, *, batch: bool) -> list[str]:
    """What may be asked of a run in ``state`` (the buttons its page shows)."""
    if state is RunState.RUNNING:
        return ["cancel", "pause", "resume"]  # resume: a run whose process died
    if state is RunState.FAILED:
        return ["retry-failed-batches", "resume"] if batch else ["retry"]
    if state is RunState.PAUSED:
        return ["resume", "cancel"]
    if state is RunState.CANCELLED:
        return ["resume"]
    return []


class ActionRefused(VolnuxError):
    """The run cannot take this action now (answered 409, saying why)."""


@dataclass
class Runner:
    """Starts and remembers the runs the server continues, one thread each."""

    journal: Journal
    #: Run id -> the thread continuing it, while it runs.
    threads: dict[str, threading.Thread] = field(default_factory=dict)
    #: Run id -> why its last continuation failed to start or ended in error.
    errors: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def act(
        self, run_id: str, action: str, client: str, via: str, node: str | None
    ) -> dict[str, Any]:
        """Do ``action`` to ``run_id``; what the run's state is now."""
        if action not in ACTIONS:
            raise ActionRefused(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        record = self.journal.load_run(run_id)  # RunNotFound first: nothing noted
        batch = summarize(self.journal.load_notes(run_id), running=False) is not None
        if action not in allowed(record.state, batch=batch):
            can = ", ".join(allowed(record.state, batch=batch)) or "nothing"
            raise ActionRefused(
                f"run {run_id} is {record.state}: {action} does not apply ({can} does)"
            )
        what = action if node is None else f"{action} --from {node}"
        note_web_action(self.journal, run_id, what, client, via)
        if action in ("cancel", "pause"):
            ask = cancel_run if action == "cancel" else pause_run
            return {"run": run_id, "action": action, "state": ask(self.journal, run_id).value}
        return self._continue(run_id, action, record.epoch, node)

    def _continue(self, run_id: str, action: str, epoch: int, node: str | None) -> dict[str, Any]:
        """Resume or retry in a thread; wait until the run is claimed (or refused)."""
        with self.lock:
            running = self.threads.get(run_id)
            if running is not None and running.is_alive():
                raise ActionRefused(f"run {run_id} is already being continued by this server")
            self.errors.pop(run_id, None)
            thread = threading.Thread(
                target=self._drive,
                args=(run_id, action, node),
                name=f"volnux-serve-{run_id}",
                daemon=True,
            )
            self.threads[run_id] = thread
        thread.start()
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if not thread.is_alive():
                break
            now = self.journal.load_run(run_id)
            # Claimed, and past the checks a claim is followed by: it runs.
            if now.epoch != epoch and now.state is RunState.RUNNING:
                break
            time.sleep(0.02)
        error = self.errors.get(run_id)
        if error is not None and not thread.is_alive():
            raise ActionRefused(error)
        state = self.journal.load_run(run_id).state
        return {"run": run_id, "action": action, "state": state.value}

    def _drive(self, run_id: str, action: str, node: str | None) -> None:
        from ..workflow import Workflow

        journal = self.journal
        try:
            if summarize(journal.load_notes(run_id), running=False) is not None:
                Workflow.resume_batches(
                    run_id, store=journal, failed=action == "retry-failed-batches"
                )
            elif action == "retry":
                Workflow.retry(run_id, store=journal, from_node=node)
            else:
                Workflow.resume(run_id, store=journal)
        except VolnuxError as exc:
            self.errors[run_id] = str(exc)
        except Exception as exc:  # the server goes on; the run page shows why
            self.errors[run_id] = f"{type(exc).__name__}: {exc}"

"""Who owns a run: the process that runs it, and whether it is still alive.

A run notes its owner (pid, host, working directory, event sources) when it
starts (:class:`~volnux.notes.Started`) and whenever it is resumed
(:class:`~volnux.notes.Resumed`).  Resuming a run whose owner still runs
would run its tasks twice, so it is refused; cancelling a run whose owner is
gone marks it cancelled at once.  Liveness can only be told on the same host;
a store shared between machines needs leases, which Volnux does not have yet.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence

from ..notes import Cancelled, Resumed, RunNote, Started
from ..states import RunState, check_run_transition
from ..store import Journal

__all__ = ["Owner", "cancel_run", "first_owner", "last_owner", "owner_alive", "this_process"]

#: A run's owner as noted: a Started or a Resumed note's detail.
Owner = Started | Resumed


def this_process() -> tuple[int, str, str]:
    """This process as a run's owner: (pid, host, working directory)."""
    return os.getpid(), socket.gethostname(), os.getcwd()


def first_owner(notes: Sequence[RunNote]) -> Started | None:
    """The process that started the run, as noted."""
    for note in notes:
        if note.kind == "started":
            detail = note.read()
            return detail if isinstance(detail, Started) else None
    return None


def last_owner(notes: Sequence[RunNote]) -> Owner | None:
    """The process that last started or resumed the run, as noted."""
    for note in reversed(notes):
        if note.kind in ("started", "resumed", "retried") and "pid" in note.detail:
            detail = note.read()
            if isinstance(detail, Started | Resumed):
                return detail
    return None


def owner_alive(owner: Owner) -> bool:
    """True if the process that owns a run is still running (on this host)."""
    if owner.host != socket.gethostname():
        return False  # cannot tell; a shared store needs leases (not yet)
    pid = owner.pid
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def cancel_run(journal: Journal, run_id: str) -> RunState:
    """Cancel ``run_id``; return its state now.

    A run whose owner process is alive is asked to stop (it starts nothing
    new, lets running tasks finish and ends CANCELLED); a run whose owner is
    gone (it crashed) or that is paused is marked CANCELLED at once.  Either
    way it stays resumable.  (Reads the run and its notes, never its tasks.)
    """
    state = journal.load_run(run_id).state
    now = time.time()
    if state is RunState.PAUSED:
        check_run_transition(run_id, state, RunState.CANCELLED)
        journal.add_note(RunNote.of(run_id, now, Cancelled(os.getpid())))
        journal.set_run_state(run_id, RunState.CANCELLED, now)
        return RunState.CANCELLED
    if state is not RunState.RUNNING:
        return state
    owner = last_owner(journal.load_notes(run_id))
    journal.request_cancel(run_id)
    if owner is not None and owner_alive(owner):
        return RunState.RUNNING
    journal.add_note(RunNote.of(run_id, now, Cancelled(os.getpid(), "gone")))
    journal.set_run_state(run_id, RunState.CANCELLED, now)
    return RunState.CANCELLED

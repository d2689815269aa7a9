"""Who owns a run: a lease with an epoch, a heartbeat, and a process that can die.

A run has one driver at a time.  Starting a run, or taking it up again, is a
*claim* (:meth:`Journal.claim`): it names this process as the run's owner
(an owner id, see :func:`owner_id`), bumps the run's *epoch* and starts the
lease's heartbeat.  Every write the engine makes carries the epoch it
claimed, and the journal refuses it (:class:`~volnux.errors.Fenced`) once
another process has claimed the run since: a process that lost the run can
record nothing more, so it starts nothing more (an attempt is journaled
before it is submitted).

Whether the owner is still alive (:func:`owner_alive`):

* its heartbeat (renewed every :data:`HEARTBEAT_S` seconds while the run
  goes on) is older than :data:`LEASE_S` seconds: it is gone, wherever it ran;
* on this host: alive only if its pid runs and started when the owner did
  (a pid reused by another process, as in a restarted container, does not
  count), so a run whose process was killed is resumable at once;
* on another host, with a fresh heartbeat: alive.

A run recorded before leases existed has no owner and epoch 0; for it, the
pid noted when it started or was last resumed is checked on this host, as
before.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from collections.abc import Sequence
from functools import cache

from ..notes import Cancelled, NoteKind, PauseAsked, Resumed, RunNote, Started, WebAction
from ..states import RunState, check_run_transition
from ..store import Journal, RunRecord

__all__ = [
    "DRIVEN_HERE",
    "HEARTBEAT_S",
    "LEASE_S",
    "Owner",
    "cancel_run",
    "first_owner",
    "last_owner",
    "note_web_action",
    "own_ticks",
    "owner_alive",
    "owner_id",
    "pause_run",
    "process_ticks",
    "run_owner",
    "this_process",
    "user_name",
    "who_cancelled",
    "who_paused",
]

#: Seconds between two heartbeats of a running engine.
HEARTBEAT_S = 2.0
#: A lease whose heartbeat is older than this many seconds has lapsed: its run
#: may be taken up without ``--force``.
LEASE_S = 15.0

#: The runs an engine in this process is driving now (a pause or cancel asked
#: from inside one of its own events finds its owner alive).
DRIVEN_HERE: set[str] = set()

#: A run's owner as noted: a Started or a Resumed note's detail.
Owner = Started | Resumed


def this_process() -> tuple[int, str, str]:
    """This process as a run's owner: (pid, host, working directory)."""
    return os.getpid(), socket.gethostname(), os.getcwd()


def owner_id() -> str:
    """This process's owner id: ``host/pid/start/random`` (a new one after a fork).

    The journal keeps it as the run's owner; :func:`owner_alive` reads it back
    (this module alone writes and reads the form) when the process died
    before it could note itself.
    """
    return _owner_id(os.getpid())


def _host() -> str:
    return socket.gethostname().replace("/", "_")


@cache
def _owner_id(pid: int) -> str:
    ticks = _ticks_of(pid)
    return f"{_host()}/{pid}/{ticks if ticks is not None else '-'}/{uuid.uuid4().hex[:8]}"


def _parse_owner(owner: str) -> tuple[str, int, int | None] | None:
    """(host, pid, start ticks) of an owner id made by :func:`owner_id`; None if not one."""
    parts = owner.split("/")
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    ticks = int(parts[2]) if parts[2].isdigit() else None
    return parts[0], int(parts[1]), ticks


def own_ticks() -> int | None:
    """When this process started (see :func:`process_ticks`), read once per process."""
    return _ticks_of(os.getpid())


@cache
def _ticks_of(pid: int) -> int | None:
    return process_ticks(pid)


def process_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None if unknown.

    Read from ``/proc`` (Linux); elsewhere None, and a pid alone is trusted.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5), counted after the name
    except (OSError, IndexError, ValueError):
        return None


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


def run_owner(run: RunRecord, notes: Sequence[RunNote]) -> Owner | None:
    """The noted process behind the run's lease (the last one, for a run without a lease)."""
    if not run.owner:
        return last_owner(notes)
    for note in reversed(notes):
        if note.kind in ("started", "resumed", "retried") and note.detail.get("owner") == run.owner:
            detail = note.read()
            if isinstance(detail, Started | Resumed):
                return detail
    return None


def owner_alive(run: RunRecord, notes: Sequence[RunNote], now: float | None = None) -> bool:
    """True if the process driving ``run`` may still be at it (see the module docstring)."""
    if run.state is not RunState.RUNNING:
        return False
    if not run.owner:
        if run.epoch:  # released: nobody drives it
            return False
        who = last_owner(notes)  # recorded before leases: the noted pid, on this host
        return who is not None and who.host == socket.gethostname() and _runs(who.pid, None)
    now = time.time() if now is None else now
    if run.heartbeat_at is None or now - run.heartbeat_at > LEASE_S:
        return False  # the lease lapsed: gone, wherever it ran
    who = run_owner(run, notes)
    if who is not None:
        host, pid, ticks = who.host.replace("/", "_"), who.pid, who.ticks
    else:  # it died before it noted itself: its owner id says who it was
        parsed = _parse_owner(run.owner)
        if parsed is None:
            return True
        host, pid, ticks = parsed
    if host == _host():
        return _runs(pid, ticks)
    return True  # another host, heartbeating: it cannot be asked more directly


def _runs(pid: int, ticks: int | None) -> bool:
    """True if process ``pid`` runs here (and, given ``ticks``, is the one that started then)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists; another user's
    if _zombie(pid):
        return False
    return ticks is None or process_ticks(pid) in (ticks, None)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def cancel_run(journal: Journal, run_id: str) -> RunState:
    """Cancel ``run_id``; return its state now.

    A run whose owner is alive is asked to stop (it starts nothing new, lets
    running tasks finish and ends CANCELLED); a run whose owner is gone (it
    crashed, or its lease lapsed) or that is paused is marked CANCELLED at
    once.  Either way it stays resumable.  (Reads the run and its notes,
    never its tasks.)
    """
    run = journal.load_run(run_id)
    state = run.state
    now = time.time()
    if state is RunState.PAUSED:
        check_run_transition(run_id, state, RunState.CANCELLED)
        detail = _canceller(None)
        journal.add_note(RunNote.of(run_id, now, detail))
        journal.set_run_state(run_id, RunState.CANCELLED, now, detail.describe(now))
        return RunState.CANCELLED
    if state is not RunState.RUNNING:
        return state
    if run_id in DRIVEN_HERE or owner_alive(run, journal.load_notes(run_id), now):
        # Noted before the request: the owner reads who asked once it stops.
        journal.add_note(RunNote.of(run_id, now, _canceller("asked")))
        journal.request_cancel(run_id)
        return RunState.RUNNING
    journal.request_cancel(run_id)  # should the owner be alive after all, it stops
    # Fenced on the epoch read: a process that claimed the run since is left alone.
    epoch = run.epoch if run.owner else None
    detail = _canceller("gone")
    journal.add_note(RunNote.of(run_id, now, detail), epoch=epoch)
    journal.set_run_state(run_id, RunState.CANCELLED, now, detail.describe(now), epoch=epoch)
    return RunState.CANCELLED


def pause_run(journal: Journal, run_id: str) -> RunState:
    """Pause ``run_id``; return its state now.

    A run whose owner is alive is asked to pause: it starts nothing new, lets
    running attempts finish and journal their outcome, and ends PAUSED. A
    running run whose owner is gone is marked PAUSED at once.  ``volnux runs
    resume`` continues it either way.  A run in another state is left as it is.
    """
    run = journal.load_run(run_id)
    if run.state is not RunState.RUNNING:
        return run.state
    now = time.time()
    user, host = _who()
    if run_id in DRIVEN_HERE or owner_alive(run, journal.load_notes(run_id), now):
        journal.add_note(RunNote.of(run_id, now, PauseAsked(os.getpid(), "asked", user, host)))
        journal.request_pause(run_id)
        return RunState.RUNNING
    journal.request_pause(run_id)  # should the owner be alive after all, it pauses
    epoch = run.epoch if run.owner else None
    detail = PauseAsked(os.getpid(), "gone", user, host)
    journal.add_note(RunNote.of(run_id, now, detail), epoch=epoch)
    journal.set_run_state(run_id, RunState.PAUSED, now, detail.describe(now), epoch=epoch)
    return RunState.PAUSED


def _canceller(owner: str | None) -> Cancelled:
    """This process as the one cancelling a run: pid, user and host."""
    return Cancelled(os.getpid(), owner, *_who())


def _who() -> tuple[str, str]:
    """This process's user name and host."""
    return user_name(), socket.gethostname()


def user_name() -> str:
    """Who runs this process: the login name, else the uid."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return str(os.getuid()) if hasattr(os, "getuid") else ""


def who_cancelled(notes: Sequence[RunNote]) -> str | None:
    """The last cancellation's description (who and when), if one was noted."""
    return _last_operator(notes, NoteKind.CANCELLED)


def who_paused(notes: Sequence[RunNote]) -> str | None:
    """The last pause request's description (who and when), if one was noted."""
    return _last_operator(notes, NoteKind.PAUSE_REQUESTED)


def _last_operator(notes: Sequence[RunNote], kind: NoteKind) -> str | None:
    for note in reversed(notes):
        if note.kind == kind.value:
            detail = note.read()
            if isinstance(detail, Cancelled | PauseAsked):
                return detail.describe(note.at)
    return None


def note_web_action(journal: Journal, run_id: str, action: str, client: str, via: str) -> None:
    """Note that ``volnux serve`` was asked to ``action`` the run, from ``client``,
    proven ``via`` its token or a login (who, when, what: before it acts)."""
    _, host = _who()
    detail = WebAction(action, client, via, os.getpid(), host)
    journal.add_note(RunNote.of(run_id, time.time(), detail))

"""A run on PostgreSQL goes on through a lost connection, and stops cleanly past one.

The server is real; between it and the engine sits a loopback TCP relay of the
test's own, which can cut every connection and refuse new ones for a while,
as a restarting server or a broken network does.  ``pg_terminate_backend``
ends the engine's session from the server's side.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import volnux
from volnux import RunState, TaskState
from volnux.store.postgres import PostgresJournal

STEPS = 30


class Relay:
    """Forwards loopback connections to ``target``; :meth:`outage` cuts them all and
    refuses new ones for a while."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._pairs: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()  # refused: as a server that is down
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def outage(self, seconds: float) -> None:
        """Cut every connection now; refuse new ones for ``seconds``."""
        self._up.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for end in pairs:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        time.sleep(seconds)
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


@pytest.fixture
def relay(postgres_server: str) -> Iterator[Relay]:
    parts = urlsplit(postgres_server)
    made = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    yield made
    made.close()


def through(url: str, relay: Relay, **options: Any) -> str:
    """``url`` pointed at the relay (same user, database and schema), with ``options``."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    query = "&".join([parts.query, *(f"{k}={v}" for k, v in options.items())])
    return urlunsplit((parts.scheme, f"{user}127.0.0.1:{relay.port}", parts.path, query, ""))


@volnux.event
def Step(ctx: volnux.Context) -> int:
    time.sleep(0.03)
    return ctx.attempt


def chain() -> volnux.Workflow:
    return volnux.Workflow.from_text(" -> ".join(["Step"] * STEPS), [Step])


def succeeded_so_far(url: str) -> int:
    """Tasks of run ``r`` recorded as succeeded, read through a connection of its own."""
    from volnux.errors import RunNotFound

    with PostgresJournal(url) as reader:
        try:
            return sum(t.state is TaskState.SUCCEEDED for t in reader.load("r").tasks)
        except RunNotFound:
            return 0


def run_with(journal: PostgresJournal, url: str, trouble: Any) -> volnux.Run:
    """Run the chain; ``trouble()`` happens once its fifth step ran."""
    done: list[volnux.Run] = []
    with chain() as flow:
        driver = threading.Thread(target=lambda: done.append(flow.run(store=journal, run_id="r")))
        driver.start()
        deadline = time.monotonic() + 30
        while succeeded_so_far(url) < 5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        trouble()
        driver.join(60)
    assert done, "the run never ended"
    return done[0]


def each_task_once(journal: PostgresJournal) -> None:
    records = journal.load("r").tasks
    succeeded = [r.node_id for r in records if r.state is TaskState.SUCCEEDED]
    assert len(succeeded) == STEPS and len(set(succeeded)) == STEPS


def test_a_run_goes_on_through_a_terminated_session(postgres_url: str, postgres_admin: Any) -> None:
    with PostgresJournal(postgres_url) as journal:

        def terminate() -> None:
            pid = journal._conn.info.backend_pid
            postgres_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        run = run_with(journal, postgres_url, terminate)
        assert run.state is RunState.SUCCEEDED
        each_task_once(journal)


def test_a_run_goes_on_through_a_server_that_refuses_connections_for_a_while(
    postgres_url: str, relay: Relay
) -> None:
    with PostgresJournal(through(postgres_url, relay, reconnect_s=20)) as journal:
        run = run_with(journal, postgres_url, lambda: relay.outage(1.5))
        assert run.state is RunState.SUCCEEDED
        each_task_once(journal)


def test_past_reconnect_s_the_run_stops_records_nothing_false_and_resumes_later(
    postgres_url: str, relay: Relay
) -> None:
    from volnux.errors import StoreError

    journal = PostgresJournal(through(postgres_url, relay, reconnect_s=0.5))
    failed: list[BaseException] = []

    def outage() -> None:
        relay.outage(3.0)

    with chain() as flow:

        def drive() -> None:
            try:
                flow.run(store=journal, run_id="r")
            except StoreError as exc:
                failed.append(exc)

        driver = threading.Thread(target=drive)
        driver.start()
        deadline = time.monotonic() + 30
        while succeeded_so_far(postgres_url) < 3:  # the run is under way
            assert time.monotonic() < deadline
            time.sleep(0.02)
        outage()
        driver.join(60)
    journal.close()
    assert failed and "could not be had again within 0.5s" in str(failed[0])
    # What the journal holds is true: the run is still running (its owner gone),
    # no task recorded as done twice; another process resumes it to the end.
    with PostgresJournal(postgres_url) as other:
        assert other.load_run("r").state is RunState.RUNNING
        other.release("r", other.load_run("r").epoch)  # as if its process had exited
        run = volnux.Workflow.resume("r", store=other, workflow=chain())
        assert run.state is RunState.SUCCEEDED
        each_task_once(other)

"""The live stream on a PostgreSQL journal: woken by the journal's notifications, not by polling.

The app is served by uvicorn in a thread of the test's (a real HTTP stream, and
module constants the test can change), over a PostgreSQL journal; runs are
started through another journal on the same schema, as another process would.
The stream's poll on PostgreSQL is set to 30 s, so only a notification can
bring a change within the second or so these tests allow.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import volnux
from volnux.serve import Access, app, make_app
from volnux.store.postgres import PostgresJournal
from volnux.store.postgres import feed as pg_feed

from . import serve_events
from .conftest import TOKEN, free_port

#: What a change may take to reach the stream (notification, read, send), with
#: room for a loaded machine; the stream's own poll is 30 s in these tests.
PROMPT_S = 1.5

Event = tuple[float, str, Any]  # (when it arrived, event name, its data)


@pytest.fixture(autouse=True)
def slow_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a notification can make the stream read again within these tests."""
    monkeypatch.setattr(app, "CHANGES_POLL_S", 30.0)


@contextmanager
def served(journal: PostgresJournal) -> Iterator[int]:
    """The web view over ``journal``, served on a free port (yielded)."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        make_app(journal, Access(TOKEN), version="test"),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn never started"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


class Stream:
    """``GET /api/stream`` read in a thread: each event, with when it arrived."""

    def __init__(self, port: int, query: str = "") -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._conn.request("GET", "/api/stream" + query)
        response = self._conn.getresponse()
        assert response.status == 200
        assert response.readline().startswith(b": volnux serve")  # listening from here on
        self.events: queue.Queue[Event] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(response,), daemon=True)
        self._thread.start()

    def _read(self, response: http.client.HTTPResponse) -> None:
        name = ""
        try:
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    self.events.put((time.monotonic(), name, json.loads(line[len("data: ") :])))
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by the test

    def until(self, match: Any, seconds: float) -> Event:
        """The first event (from now on) whose data ``match`` accepts; fails after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(left, 0.001))
            except queue.Empty:
                pytest.fail(f"no such event within {seconds} s")
            if match(event[2]):
                return event

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)  # the reading thread sees the end ...
        self._thread.join(10)
        self._conn.close()  # ... and only then is the connection closed under it


def line_of(run_id: str, state: str) -> Any:
    """Accepts a ``runs`` event holding ``run_id`` in ``state``."""
    return lambda runs: any(r["id"] == run_id and r["state"] == state for r in runs)


def run_in_thread(url: str, run_id: str, text: str = "Fetch |-> Store") -> tuple[Any, list[float]]:
    """Start run ``run_id`` through a journal of its own; the thread, and (once it
    returned) when it did."""
    ended: list[float] = []

    def drive() -> None:
        with (
            PostgresJournal(url) as other,
            volnux.Workflow.from_text(text, [serve_events]) as flow,
        ):
            run = flow.run(store=other, run_id=run_id)
            ended.append(time.monotonic())
            assert run.succeeded

    thread = threading.Thread(target=drive, name=f"run-{run_id}")
    thread.start()
    return thread, ended


def test_a_run_started_elsewhere_shows_on_the_runs_stream_at_once(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as journal:
        first, _ = run_in_thread(postgres_url, "first")
        first.join(30)
        with served(journal) as port:
            stream = Stream(port)
            try:
                stream.until(line_of("first", "succeeded"), 10)  # the stream's first read
                began = time.monotonic()
                second, ended = run_in_thread(postgres_url, "second")
                second.join(30)
                assert ended, "the second run did not end"
                at, _, _ = stream.until(line_of("second", "succeeded"), 10)
                took = at - ended[0]
                assert took < PROMPT_S, f"the ended run showed {took:.2f} s after it ended"
                assert at - began < 10
            finally:
                stream.close()


def test_a_run_s_stream_shows_its_end_at_once(postgres_url: str) -> None:
    """A run's own page (``?run=``), the run driven elsewhere, a long task in between."""
    opened = threading.Event()

    @volnux.event
    def Wait() -> str:
        assert opened.wait(30)
        return "done"

    with (
        PostgresJournal(postgres_url) as journal,
        PostgresJournal(postgres_url) as other,
        volnux.Workflow.from_text("Wait -> Wait", [Wait]) as flow,
    ):
        driver = threading.Thread(target=lambda: flow.run(store=other, run_id="long"))
        driver.start()
        try:
            deadline = time.monotonic() + 30
            while not other.run_ids("long"):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            with served(journal) as port:
                stream = Stream(port, "?run=long")
                try:
                    stream.until(lambda run: run["state"] == "running", 10)
                    opened.set()
                    asked = time.monotonic()
                    at, _, run = stream.until(lambda run: run["ended"], 10)
                    assert run["state"] == "succeeded"
                    assert at - asked < PROMPT_S, f"the run's end showed {at - asked:.2f} s late"
                finally:
                    stream.close()
        finally:
            opened.set()
            driver.join(30)


def test_the_stream_hears_again_after_its_listening_session_is_terminated(
    postgres_url: str, postgres_admin: Any
) -> None:
    with PostgresJournal(postgres_url) as journal, served(journal) as port:
        stream = Stream(port)
        try:
            channel = journal._changes.channel
            pid = listening_pid(postgres_admin, channel)
            postgres_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 10
            while listening_pid(postgres_admin, channel, missing_ok=True) in (None, pid):
                assert time.monotonic() < deadline, "the feed never listened again"
                time.sleep(0.05)
            # The feed, back, wakes the stream ("any run may have changed"), which
            # reads for a while: only a notification can bring what comes after.
            time.sleep(app.CHANGES_HOT_S + app.CHANGES_GAP_S)
            thread, ended = run_in_thread(postgres_url, "after")
            thread.join(30)
            at, _, _ = stream.until(line_of("after", "succeeded"), 10)
            assert at - ended[0] < PROMPT_S
        finally:
            stream.close()


def listening_pid(admin: Any, channel: str, *, missing_ok: bool = False) -> int | None:
    """The backend of the session that listens on ``channel`` (its last statement
    was the LISTEN)."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE query = %s", (f'LISTEN "{channel}"',)
    ).fetchall()
    assert len(rows) <= 1, rows
    if not rows:
        assert missing_ok, f"nobody listens on {channel}"
        return None
    return int(rows[0][0])


def test_a_run_stream_is_woken_by_its_run_only() -> None:
    async def check() -> None:
        told = app._Told("mine")
        told.heard("another")
        assert not await told.wait(0.2)
        told.heard("mine")
        assert await told.wait(1.0)
        told.heard("")  # any run may have changed: the feed's connection came back
        assert await told.wait(1.0)
        everything = app._Told(None)
        everything.heard("another")
        assert await everything.wait(1.0)

    asyncio.run(check())


def test_the_stream_reads_again_for_at_least_the_journal_s_throttle() -> None:
    """What a run writes just after a notified write, quietly, is read by a read that follows."""
    assert app.CHANGES_HOT_S >= pg_feed.NOTIFY_EVERY_S
    assert app.CHANGES_GAP_S <= pg_feed.NOTIFY_EVERY_S

"""A journal with a few real runs, and the web view over it (in-process, or
served by a real ``volnux serve``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import volnux
from volnux.serve import Access, make_app
from volnux.store import SQLiteJournal

from . import serve_events

TOKEN = "test-token-0123456789"


class Site:
    """The journal, its runs by name, and a client of the web view over it."""

    def __init__(self, root: Path, read_only: bool = False) -> None:
        self.root = root
        self.journal = SQLiteJournal(root / "volnux.db")
        self.marker = root / "open"
        self.ok = self.run("Fetch |-> Store")
        self.failed = self.run("Fetch -> Gate", marker=str(self.marker))
        self.access = Access(TOKEN, read_only=read_only)
        self.client = TestClient(make_app(self.journal, self.access, version="test"))

    def run(self, text: str, **inputs: object) -> str:
        with volnux.Workflow.from_text(text, [serve_events]) as flow:
            return flow.run(inputs, store=self.journal).id

    def notes(self, run_id: str, kind: str) -> list[dict[str, object]]:
        return [dict(n.detail) for n in self.journal.load_notes(run_id) if n.kind == kind]

    def close(self) -> None:
        self.client.close()
        self.journal.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path)
    yield made
    made.close()


@pytest.fixture
def read_only_site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path, read_only=True)
    yield made
    made.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(args: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """``volnux serve ARGS`` running; yields its base URL and (later) its stderr lines."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "volnux", "serve", "--port", str(port), *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                urllib.request.urlopen(base + "/api/runs", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        yield base, lines
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        lines.extend(err.splitlines())

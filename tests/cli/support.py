"""Helpers for CLI tests: a throwaway project, an in-process ``volnux``, and one on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from volnux.cli.app import app

EVENTS = """
import threading

import volnux


@volnux.event
def Hello(name: str = "world", times: int = 1):
    return {"greeting": f"hello {name}", "times": times, "kind": type(times).__name__}


@volnux.event
def Chatty():
    print("hello from", "the event")
    print("no newline at the end", end="")
    return "said"


@volnux.event
def Echo(value=None):
    return {"value": value, "kind": type(value).__name__}


@volnux.event
def Save(piped, out: str = ""):
    import json

    if out:
        with open(out, "w") as f:
            json.dump(piped, f)
    return piped


@volnux.event
def Boom(ctx):
    raise ValueError(f"card declined on attempt {ctx.attempt}")


@volnux.event
def Gen():
    yield 1


@volnux.event
def Review():
    return volnux.Route(3, "needs a second look")


@volnux.event
def Lock():
    return threading.Lock()


@volnux.event
def NeedsName(name):
    return name


@volnux.event
def UntilMarker(marker: str = "marker"):
    import os

    if not os.path.exists(marker):
        raise RuntimeError(f"{marker} does not exist yet")
    return "ok"
"""


@dataclass
class Project:
    """A folder with ``events.py``; ``write`` adds workflow files to it."""

    root: Path

    @property
    def events(self) -> str:
        return str(self.root / "events.py")

    def write(self, name: str, text: str) -> str:
        path = self.root / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)


def invoke(*args: str) -> Result:
    """Run ``volnux ARGS`` in-process; exceptions other than exits propagate."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def on_a_terminal(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """Run ``volnux ARGS`` with a pseudo-terminal as stdout and stderr: (exit status, screen)."""
    leader, follower = pty.openpty()
    environ = {**os.environ, "TERM": "xterm-256color", **(env or {})}
    if env is None or "NO_COLOR" not in env:
        environ.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "volnux", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=environ,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(60), b"".join(chunks).decode("utf-8", "replace")

"""Helpers for workflow unit tests: units written into folders, as a project holds them."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: Events the units below use: ``Read`` takes the ``region`` input, ``Bill`` what
#: is piped to it, ``Wait`` fails until its marker file exists.
EVENTS = """
import os

import volnux


@volnux.event
def Read(region: str = "nowhere", version: str = "?"):
    return {"region": region, "version": version}


@volnux.event
def Bill(piped):
    return {"billed": piped}


@volnux.event
def Wait(marker: str = "marker"):
    if not os.path.exists(marker):
        raise RuntimeError(f"{marker} does not exist yet")
    return "waited"
"""


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def unit(
    folder: Path,
    version: str,
    *,
    name: str = "orders",
    pty: str = "Read |-> Bill\n",
    manifest: str = "",
    events: bool = True,
) -> Path:
    """A unit in ``folder/NAME/VERSION/``: NAME.toml, NAME.pty and events.py; its manifest.

    ``manifest`` is added to the manifest's top (before any table).
    """
    home = folder / name / version
    if events:
        write(home / "events.py", EVENTS)
    write(home / f"{name}.pty", pty)
    lines = [f'version = "{version}"', f'description = "{name} at {version}."']
    if events:
        lines.append('events = ["events.py"]')
    head = textwrap.dedent(manifest).strip("\n")
    body = "\n".join([head, *lines] if head else lines)
    return write(home / f"{name}.toml", body + f'\n\n[inputs]\nversion = "{version}"\n')

"""A project of workflow units that run each other, for the sub-workflow tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: The parent's events (events.py at the project's root) and the units' own.
PARENT_EVENTS = """
import volnux


@volnux.event
def Validate():
    return 20


@volnux.event
def Report(piped):
    return {"report": piped}


@volnux.event
def Alert(piped=None):
    return "alerted"
"""

#: The units' events: each call appends a line to the file the input ``effects`` names.
UNIT_EVENTS = """
import os
import time

import volnux


def _note(effects, what):
    if effects:
        with open(effects, "a", encoding="utf-8") as f:
            f.write(what + "\\n")


@volnux.event
def Double(piped_in: int, effects: str = ""):
    _note(effects, "Double")
    return piped_in * 2


@volnux.event
def Slow(piped, effects: str = "", marker: str = ""):
    _note(effects, "Slow")
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(60)  # the parent is killed meanwhile
    return piped + 1


@volnux.event
def Finish(piped, effects: str = ""):
    _note(effects, "Finish")
    return piped + 1000


@volnux.event
def Broken(effects: str = ""):
    _note(effects, "Broken")
    raise RuntimeError("broken on purpose")
"""


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def unit(root: Path, name: str, version: str, pty: str) -> Path:
    """Unit ``name@version`` in ``root/workflows``, with the units' events (one file
    all units share: two files defining one event would be a conflict)."""
    home = root / "workflows" / name / version
    shared = root / "workflows" / "_events" / "units.py"
    if not shared.exists():
        write(shared, UNIT_EVENTS)
    write(home / f"{name}.pty", pty)
    write(
        home / f"{name}.toml",
        f'version = "{version}"\nevents = ["../../_events/units.py"]\n',
    )
    return home


def project(root: Path) -> Path:
    """A project in ``root``: volnux.toml naming its units folder and events, and
    units ``double@1.0`` (Double), ``chain@1.0`` (Double |-> Slow |-> Finish) and
    ``broken@1.0`` (Broken)."""
    write(root / "volnux.toml", '[workflows]\nfolders = ["workflows"]\n')
    write(root / "events.py", PARENT_EVENTS)
    unit(root, "double", "1.0", "Double\n")
    unit(root, "chain", "1.0", "Double |-> Slow |-> Finish\n")
    unit(root, "broken", "1.0", "Broken\n")
    return root

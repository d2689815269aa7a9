"""A throwaway project for the language server's tests: volnux.toml and events.py."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

EVENTS = textwrap.dedent(
    '''
    import volnux


    @volnux.event(name="Charge", version="1.0.0")
    def charge_v1(amount: float = 0.0):
        """Charge the card (rounds down)."""
        return amount


    @volnux.event(
        name="Charge",
        version="1.2.0",
        retry=volnux.RetryPolicy(max_attempts=3, delay_s=2.0),
        changelog={"1.2.0": "rounds to whole cents"},
    )
    def charge_v12(amount: float = 0.0) -> dict:
        """Charge the customer's card.

        A declined card fails the attempt.
        """
        return {"charged": amount}


    @volnux.event(
        deprecated=volnux.Deprecated(reason="charges twice", replacement="Charge@1.2"),
    )
    def OldCharge():
        """The first way to charge."""


    class Notify(volnux.Event):
        """Tell the customer what happened."""

        version = "2.0.0"

        def process(self, piped=None):
            return None
    '''
).lstrip()


def definition_line(events: str, function: str) -> int:
    """The 0-based line where ``function`` starts in ``events``, its decorator included
    (where go-to-definition lands)."""
    lines = events.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"def {function}("))
    return max(i for i in range(at) if lines[i].startswith("@"))


def make_project(root: Path, events: str = EVENTS) -> Path:
    """A project folder at ``root`` whose events are ``events``; returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "volnux.toml").write_text('events = ["events.py"]\n', encoding="utf-8")
    write_events(root, events)
    return root


def write_events(root: Path, text: str) -> None:
    """Write the project's events.py, with a modification time surely newer than before."""
    path = root / "events.py"
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    # A coarse clock could give the same time twice: the reload is keyed on it.
    later = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(later, later))

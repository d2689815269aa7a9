"""How the CLI shows a finished run: a task table, or a summary of what failed."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..states import TaskState

if TYPE_CHECKING:  # the CLI imports the engine only when a command runs
    from ..engine import Run, TaskView

__all__ = [
    "counts_line",
    "failure_summary",
    "format_seconds",
    "print_task_table",
    "state_label",
    "trimmed_traceback",
]

#: Innermost traceback frames shown per failed task: the event's own code.
FRAMES_SHOWN = 3
#: Frames from files under this folder are Volnux's, not the event author's.
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
#: Rows of the task table before the rest is summarised in one line.
TABLE_ROWS = 40
#: How a failure that its ``0`` branch handled is shown.
HANDLED = "failed (handled)"


def print_task_table(run: Run) -> None:
    """Print one row per task (node, event, state, attempts, time) to stdout."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("node", "event", "state", "attempts", "time"):
        right = column in ("attempts", "time")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    views = list(run.tasks.values())
    for view in views[:TABLE_ROWS]:
        # Text(), not str: node ids and event names must not be read as rich markup.
        table.add_row(
            Text(view.node_id),
            Text(view.event),
            Text(state_label(run, view)),
            Text(str(view.attempts) if view.attempts else ""),
            Text(format_seconds(view.duration)),
        )
    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped or captured output has no width to fit; never cut a node id short.
        console.width = 200
    console.print(table)
    if len(views) > TABLE_ROWS:
        console.print(Text(f"... and {len(views) - TABLE_ROWS} more tasks"))


def state_label(run: Run, view: TaskView) -> str:
    """The state; a failure its ``0`` branch handled reads ``failed (handled)``."""
    if view.state is TaskState.FAILED and view.node_id not in run.failed_nodes:
        return HANDLED
    return view.state.value


def counts_line(run: Run) -> str:
    """``3 succeeded, 1 failed and handled, 2 skipped`` in a fixed order."""
    counts = Counter(state_label(run, view) for view in run.tasks.values())
    order = ("succeeded", HANDLED, "failed", "skipped", "retrying", "running", "pending")
    words = {HANDLED: "failed and handled"}
    return ", ".join(f"{counts[s]} {words.get(s, s)}" for s in order if counts[s])


def failure_summary(run: Run) -> list[str]:
    """Lines saying which tasks failed the run, with their errors and last frames."""
    lines = [f"run {run.id} {run.status}: {run.error or 'no task error was recorded'}"]
    lines.append(f"tasks: {counts_line(run)}")
    for node_id in run.failed_nodes:
        view = run.tasks.get(node_id)
        if view is None:
            continue
        plural = "s" if view.attempts != 1 else ""
        lines.append("")
        lines.append(f"{view.node_id} ({view.event}) failed after {view.attempts} attempt{plural}")
        if view.error is None:
            continue
        lines.append(f"  {view.error.type}: {view.error.message}")
        lines.extend("    " + line for line in trimmed_traceback(view.error.traceback))
    return lines


def trimmed_traceback(text: str, frames: int = FRAMES_SHOWN) -> list[str]:
    """The innermost ``frames`` frames of the event's own code in a formatted traceback.

    Only the last exception of a chain counts.  Volnux's own frames (the
    engine calling the event) are left out, and so are the header, the
    exception line and the ``^^^`` markers: the summary shows the type and
    message itself.
    """
    kept: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("Traceback "):
            kept = []  # a chained exception: only the last one's frames matter
        elif line.startswith('  File "'):
            own = line.startswith(f'  File "{_PACKAGE_DIR}{os.sep}')
            kept.append([] if own else [line[2:]])
        elif line.startswith("    ") and kept and kept[-1] and line.strip(" ^~"):
            kept[-1].append(line[2:])
    return [line for frame in [f for f in kept if f][-frames:] for line in frame]


def format_seconds(seconds: float | None) -> str:
    """``0.25s``, ``12.0s`` or ``3m05s``; empty for a task that did not run."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"

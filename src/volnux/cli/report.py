"""How the CLI shows a finished run: a task table, or an explanation of what failed
(:mod:`volnux.query.explain`, shared with the web view)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..query.explain import (
    HANDLED,
    counts_line,
    explain,
    explain_from_journal,
    failure_summary,
    format_log_line,
    format_seconds,
    graph_path,
    headline,
    next_steps,
    state_label,
    trimmed_traceback,
)

if TYPE_CHECKING:
    from ..engine import Run

__all__ = [
    "HANDLED",
    "counts_line",
    "explain",
    "explain_from_journal",
    "failure_summary",
    "format_log_line",
    "format_seconds",
    "graph_path",
    "headline",
    "next_steps",
    "print_task_table",
    "quiet_task_logs",
    "state_label",
    "trimmed_traceback",
]

#: Rows of the task table before the rest is summarised in one line.
TABLE_ROWS = 40


def quiet_task_logs() -> None:
    """Keep task log lines off the terminal: the journal keeps them for ``volnux runs logs``.

    Without any handler, Python prints a library's warnings to stderr; the CLI
    (an application, so it may) gives ``volnux.task`` a null handler instead,
    so a failed run's explanation is not interleaved with raw log lines.
    """
    task_logger = logging.getLogger("volnux.task")
    if not any(isinstance(h, logging.NullHandler) for h in task_logger.handlers):
        task_logger.addHandler(logging.NullHandler())


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

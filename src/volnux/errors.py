"""Every error Volnux raises on purpose.

The tree::

    VolnuxError
     ├── PointyError          syntax and reference errors in Pointy-lang text
     │                        (file, line, column, the line, a caret)
     ├── ConfigError          a project configuration that cannot be used
     ├── DeprecatedEventRefused  strict mode refused deprecated event versions
     ├── EventDefinitionError an event class or function that cannot be used
     ├── EventLoadError       an events module or file that cannot be imported
     ├── EventNotFound        a reference (``Name``, ``Name@1.2``) that no loaded event meets
     ├── InputError           workflow inputs that are missing or malformed
     ├── WorkerLost           the worker process running an attempt died (retried
     │                        like a TransientError while attempts remain)
     ├── Unpicklable          what an attempt needs or returns cannot cross to or
     │                        from a worker process
     ├── RunError             a run that cannot start or continue
     │    ├── ResumeRefused   resuming would not be safe (workflow changed, ...)
     │    │    ├── RunClaimed another process took the run over first
     │    │    └── SourceChanged  a batch source differs from the one the run
     │    │                   started on (size, modification time, first block)
     │    └── Fenced          this process no longer owns the run it was driving
     ├── StoreError           the journal cannot be opened, read or written
     │    ├── CorruptStoreError  the file is not a Volnux journal, or is damaged
     │    ├── JournalNotFound  no journal where one was to be read (none is created)
     │    ├── RunNotFound     the journal has no run with that id
     │    ├── RunExists       the journal already has a run with that id
     │    └── UnencodableResult  a task's result that the journal cannot store
     ├── RenderError          a picture cannot be drawn (Graphviz missing or failing)
     ├── WorkflowNotFound     a workflow unit reference (``orders``, ``orders@1.2``) that
     │                        no found unit meets
     └── WorkflowUnitError    a workflow unit whose manifest or files cannot be used,
                              or a deprecated one that strict mode refuses

Messages name the thing (file:line:col, ``Name@version``, run id) and, where
it is known, the fix.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CorruptStoreError",
    "DeprecatedEventRefused",
    "EventDefinitionError",
    "EventLoadError",
    "EventNotFound",
    "Fenced",
    "InputError",
    "JournalNotFound",
    "PointyError",
    "RenderError",
    "ResultMissing",
    "ResumeRefused",
    "RunClaimed",
    "RunError",
    "RunExists",
    "RunNotFound",
    "SourceChanged",
    "StoreError",
    "UnencodableResult",
    "Unpicklable",
    "VolnuxError",
    "WorkerLost",
    "WorkflowNotFound",
    "WorkflowUnitError",
]


def type_name(kind: type) -> str:
    """A type as its author knows it: ``Decimal`` from ``decimal`` reads
    ``decimal.Decimal``; a class of an events file loaded by path reads
    ``Order (events.py)``, not the module name Volnux gave that file."""
    import sys

    module = kind.__module__
    if module == "builtins":
        return kind.__qualname__
    if module.startswith("volnux_events_"):
        loaded = sys.modules.get(module)
        where = getattr(loaded, "__file__", None)
        name = where.rsplit("/", 1)[-1] if where else module
        return f"{kind.__qualname__} ({name})"
    return f"{module}.{kind.__qualname__}"


class VolnuxError(Exception):
    """Base class of every error Volnux raises on purpose."""


class PointyError(VolnuxError):
    """A syntax or reference error in Pointy-lang text, with its position.

    ``line`` and ``column`` are 1-based; ``column`` counts characters within
    the line.  ``str(error)`` is the full report: ``file:line:col: message``,
    the offending line, and a caret under the spot.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        filename: str = "<text>",
        source_line: str = "",
        source: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.filename = filename
        if source is not None and not source_line:
            lines = source.splitlines()
            if 1 <= line <= len(lines):
                source_line = lines[line - 1]
        self.source_line = source_line.rstrip("\r\n")
        super().__init__(self.report())

    def report(self) -> str:
        """The message, the offending line and a caret under the column."""
        head = f"{self.filename}:{self.line}:{self.column}: {self.message}"
        if not self.source_line:
            return head
        # Tabs are kept so that the caret lines up under them in a terminal.
        pad = "".join("\t" if ch == "\t" else " " for ch in self.source_line[: self.column - 1])
        return f"{head}\n    {self.source_line}\n    {pad}^"

    def with_filename(self, filename: str) -> PointyError:
        """The same error, reported against ``filename``."""
        return PointyError(
            self.message,
            line=self.line,
            column=self.column,
            filename=filename,
            source_line=self.source_line,
        )


class ConfigError(VolnuxError):
    """The project configuration cannot be read or holds a bad key or value."""


class DeprecatedEventRefused(VolnuxError):
    """Strict mode refused a workflow that uses deprecated event versions."""


class EventDefinitionError(VolnuxError):
    """An event class or function that Volnux cannot use as written."""


class EventLoadError(VolnuxError):
    """An events module or file that cannot be found or imported."""


class EventNotFound(VolnuxError, LookupError):
    """A reference that no loaded event meets; ``suggestions`` are close names, if any.

    (Also a ``LookupError``: it answers a lookup, like a missing key.)
    """

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions or []


class InputError(VolnuxError):
    """Workflow inputs that are missing, malformed or of the wrong kind."""


class WorkerLost(VolnuxError):
    """The worker process running an attempt died (killed, out of memory, a crash,
    ``os._exit``): only that attempt failed.  The retry policy retries it like a
    :class:`~volnux.TransientError` while attempts remain."""


class Unpicklable(VolnuxError, TypeError):
    """A value that cannot cross to a worker process (``direction`` ``"to"``: the
    event, an input or the piped value) or back from one (``"from"``: the result)."""

    def __init__(self, direction: str, message: str) -> None:
        self.direction = direction
        super().__init__(message)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.direction, str(self))


class RunError(VolnuxError):
    """A run that cannot start or cannot continue."""


class ResumeRefused(RunError):
    """Resuming a run would not be safe; the message says why and the way out."""


class RunClaimed(ResumeRefused):
    """Another process claimed the run between this one's look and its claim."""


class SourceChanged(ResumeRefused):
    """The file (or files) a batch run splits is not the one the run started on.

    Batches are journaled by position (a byte range, a row range), not by
    copy, so reading them from a changed source would give other items than
    the run started with.  ``source`` names the file, directory or pattern;
    ``changes`` says what differs, one phrase each (``size 120 -> 130 bytes``).
    """

    def __init__(self, source: str, changes: list[str]) -> None:
        self.source = source
        self.changes = list(changes)
        super().__init__(
            f"the batch source {source} changed since the run started: "
            f"{'; '.join(self.changes)}. Put it back as it was, or force the resume "
            "to read it as it is now (batches are read again by position, so their "
            "items may differ)"
        )

    def __reduce__(self) -> tuple[type, tuple[str, list[str]]]:
        return type(self), (self.source, self.changes)


class Fenced(RunError):
    """The run was taken over (its epoch moved on): this process may write no more of it.

    Raised by a journal write that carries an older epoch than the run's; the
    engine stops driving the run at once, and nothing of that write is kept.
    """

    def __init__(self, run_id: str, epoch: int, current: int | None) -> None:
        self.run_id = run_id
        self.epoch = epoch
        self.current = current
        now = f"epoch {current}" if current is not None else "another owner"
        super().__init__(
            f"run {run_id} is now driven by another process ({now}; this one had "
            f"epoch {epoch}): this process stopped, and recorded nothing more of it"
        )


class StoreError(VolnuxError):
    """The journal cannot be opened, read or written."""


class CorruptStoreError(StoreError):
    """The store file is not a Volnux journal, or it is damaged."""


class JournalNotFound(StoreError):
    """There is no journal at ``path``, and reading must not create one."""

    def __init__(self, path: str, hint: str = "") -> None:
        self.path = path
        super().__init__(f"no journal at {path}" + (f"; {hint}" if hint else ""))


class RunNotFound(StoreError):
    """The journal has no run with this id; ``run_id`` and ``store`` name both."""

    def __init__(self, run_id: str, store: str = "the journal") -> None:
        self.run_id = run_id
        self.store = store
        super().__init__(f"no run {run_id!r} in {store}; `volnux runs list` shows the runs there")


class RunExists(StoreError):
    """A run with this id is already recorded; run ids are never reused."""

    def __init__(self, run_id: str, store: str = "the journal") -> None:
        self.run_id = run_id
        self.store = store
        super().__init__(f"run {run_id} already exists in {store}")


class UnencodableResult(StoreError):
    """A journal cannot encode a task's result; nothing was written."""

    def __init__(self, node_id: str, value: object, reason: str) -> None:
        self.node_id = node_id
        self.type_name = type_name(type(value))
        super().__init__(
            f"the result of task {node_id!r} is a {self.type_name}, which the journal "
            f"cannot store: {reason}"
        )


class ResultMissing(StoreError):
    """A result kept in the result store is gone, or is not what was stored (its
    hash differs): the task that reads it fails, and the task that made it can
    be run again (``volnux runs retry RUN --from NODE``)."""


class RenderError(VolnuxError):
    """A graph picture cannot be drawn: Graphviz is missing or failed."""


class WorkflowNotFound(VolnuxError, LookupError):
    """A workflow unit reference that no found unit meets; ``suggestions`` are close names.

    (Also a ``LookupError``, as :class:`EventNotFound` is.)
    """

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions or []


class WorkflowUnitError(VolnuxError):
    """A workflow unit's manifest or files cannot be used (or strict mode refused it)."""

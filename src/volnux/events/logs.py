"""Log lines of one attempt, kept so they can be stored with the run.

While an attempt runs, the engine holds a list for it (:data:`ATTEMPT_LINES`);
``ctx.log`` (a :class:`TaskLogger`) appends each line to that list and
logs it as usual to the ``volnux.task`` logger, with the run id, node id and
attempt as record attributes.  The lines travel back with the attempt's
result, so this works in worker threads and worker processes alike.

Lines at INFO and above are kept whatever the logging configuration says (an
application that configured nothing still gets its task logs stored); DEBUG
lines only when the ``volnux.task`` logger is enabled for them.

Records of other loggers (an event's own module logger, a client library's)
are kept too for the loggers named in :func:`capture_logs`, as far as the
application's logging configuration lets them through.  Volnux never adds a
handler to the root logger on its own: a handler there would silence
Python's last-resort output and make a later ``logging.basicConfig()`` do
nothing.

Nothing here configures logging at import.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

__all__ = [
    "ATTEMPT_LINES",
    "MAX_LINES",
    "MAX_LINE_CHARS",
    "LogLine",
    "TaskLogger",
    "capture_logs",
    "capture_prints",
    "finish_prints",
    "kept_lines",
    "stop_capturing_logs",
]

#: One kept line: (time since the epoch, level number, message).
LogLine = tuple[float, int, str]

#: Lines kept per attempt: the first half and the last half of them; past it,
#: one line between the two says how many were dropped.
MAX_LINES = 1000
#: The first lines kept; the rest of MAX_LINES are the last ones.
_HEAD = MAX_LINES // 2
#: Characters kept per line (a huge message is cut, with a marker).
MAX_LINE_CHARS = 8000

#: The lines of the attempt running in this thread (or task), if any: the
#: engine sets a fresh list around each attempt (see :func:`kept_lines`).
#: A plain list and a context variable, because this happens for every
#: attempt: it costs a fifth of a microsecond, a small class three times that.
ATTEMPT_LINES: ContextVar[list[Any] | None] = ContextVar("volnux_attempt_lines", default=None)
# Set on the records ctx.log makes, so a capturing handler does not keep them twice.
_MARK = "volnux_captured"


class _Tail:
    """The last lines of an attempt that logged more than :data:`MAX_LINES`."""

    __slots__ = ("dropped", "lines")

    def __init__(self) -> None:
        self.lines: deque[LogLine] = deque(maxlen=MAX_LINES - _HEAD)
        self.dropped = 0


def _keep(lines: list[Any], at: float, level: int, message: str) -> None:
    """Append one line: the first :data:`_HEAD`, then the latest ones (a failure
    report needs what happened just before it), counting what falls between."""
    if len(message) > MAX_LINE_CHARS:
        cut = len(message) - MAX_LINE_CHARS
        message = message[:MAX_LINE_CHARS] + f" ... [{cut} chars cut]"
    count = len(lines)
    if count < _HEAD:
        lines.append((at, level, message))
        return
    if count == _HEAD:
        lines.append(_Tail())
    tail: _Tail = lines[_HEAD]
    if len(tail.lines) == tail.lines.maxlen:
        tail.dropped += 1
    tail.lines.append((at, level, message))


def kept_lines(lines: list[Any]) -> list[LogLine]:
    """The lines an attempt kept, oldest first; where some were dropped, a line in
    their place says how many."""
    if len(lines) <= _HEAD:
        return lines
    tail: _Tail = lines[_HEAD]
    head: list[LogLine] = lines[:_HEAD]
    if not tail.dropped:
        return [*head, *tail.lines]
    at = tail.lines[0][0]
    note = f"... {tail.dropped} log lines of this attempt were not kept here ..."
    return [*head, (at, logging.WARNING, note), *tail.lines]


class TaskLogger(logging.LoggerAdapter[logging.Logger]):
    """``ctx.log``: logs to ``volnux.task`` and keeps the line with the run."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        """Keep the line for the run (INFO and up always), then log it as usual.

        Never raises: a message whose format and arguments disagree is kept as
        it was given, and logging reports it as it does any bad format.
        """
        lines = ATTEMPT_LINES.get()
        if lines is not None and (level >= logging.INFO or self.logger.isEnabledFor(level)):
            _keep(lines, time.time(), level, _message(msg, args, kwargs.get("exc_info")))
        with contextlib.suppress(Exception):  # a handler that raises must not fail the task
            super().log(level, msg, *args, **kwargs)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Add the run id, node id and attempt to the record (and the caller's extra)."""
        kwargs["extra"] = {**(kwargs.get("extra") or {}), **(self.extra or {}), _MARK: True}
        return msg, kwargs


def _message(msg: object, args: tuple[Any, ...], exc_info: Any) -> str:
    """The text a LogRecord would give, with the traceback when one is asked for."""
    try:
        text = str(msg) % args if args else str(msg)
    except Exception as bad:  # the format and the arguments disagree: kept as such
        text = f"{msg} {args!r} (the message does not format: {type(bad).__name__}: {bad})"
    if exc_info:
        exc: BaseException | None
        if isinstance(exc_info, BaseException):
            exc = exc_info
        elif isinstance(exc_info, tuple):
            exc = exc_info[1]
        else:
            exc = sys.exception()
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
    return text


class _CaptureHandler(logging.Handler):
    """Keeps records made in a thread that is running an attempt; ignores the rest."""

    def emit(self, record: logging.LogRecord) -> None:
        lines = ATTEMPT_LINES.get()
        if lines is None or getattr(record, _MARK, False):
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break the event
            message = f"{record.msg} {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            message += "\n" + "".join(traceback.format_exception(record.exc_info[1])).rstrip()
        _keep(lines, record.created, record.levelno, f"[{record.name}] {message}")


_handler = _CaptureHandler()
_captured: set[str] = set()
_lock = threading.Lock()


class _PrintsToLines:
    """Stands for ``sys.stdout`` while :func:`capture_prints` is on: what an attempt
    prints goes to its log lines (a line each, at INFO, ``[print]``), what the
    rest of the program prints goes where it went before."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._partial: dict[int, str] = {}  # a line printed in pieces, by thread

    def write(self, text: str) -> int:
        lines = ATTEMPT_LINES.get()
        if lines is None:
            return int(self.stream.write(text))
        me = threading.get_ident()
        pending = self._partial.pop(me, "") + text
        *complete, rest = pending.split("\n")
        for line in complete:
            _keep(lines, time.time(), logging.INFO, f"[print] {line}")
        if rest:
            self._partial[me] = rest
        return len(text)

    def flush(self) -> None:
        if ATTEMPT_LINES.get() is None:
            self.stream.flush()

    def finish(self, lines: list[Any]) -> None:
        """Keep the line this thread's attempt left unfinished (it has ended)."""
        rest = self._partial.pop(threading.get_ident(), "")
        if rest:
            _keep(lines, time.time(), logging.INFO, f"[print] {rest}")

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno ...
        return getattr(self.stream, name)


def finish_prints(lines: list[Any]) -> None:
    """An attempt ended: keep what it printed without a final newline."""
    out = sys.stdout
    if isinstance(out, _PrintsToLines):
        out.finish(lines)


@contextlib.contextmanager
def capture_prints() -> Iterator[None]:
    """While the block runs, what an attempt prints is kept with its log lines
    instead of written to the program's standard output.

    For applications (the ``volnux`` command uses it around a run): it swaps
    ``sys.stdout``, which belongs to the whole process.  A line an attempt
    leaves unfinished (no newline) is kept when the attempt's lines are read.
    """
    previous = sys.stdout
    sys.stdout = _PrintsToLines(previous)
    try:
        yield
    finally:
        sys.stdout = previous


def capture_logs(*names: str) -> None:
    """Also keep, with the run, what the loggers ``names`` log while an attempt runs.

    Only records your logging configuration lets through reach the handler
    (a logger's level still applies).  Naming the root logger (``""``) is
    allowed but changes logging for the whole program (see the module doc).
    """
    with _lock:
        for name in names:
            if name not in _captured:
                logging.getLogger(name).addHandler(_handler)
                _captured.add(name)


def stop_capturing_logs(*names: str) -> None:
    """Undo :func:`capture_logs` for ``names`` (all of them when none is given)."""
    with _lock:
        for name in names or tuple(_captured):
            if name in _captured:
                logging.getLogger(name).removeHandler(_handler)
                _captured.discard(name)

"""One attempt of one event, as it runs on an executor.

:func:`run_attempt` is what executors are handed.  It is a plain module-level
function so process executors can pickle it, and it never raises: whatever the
event does comes back as an :class:`AttemptResult`, with the log lines the
attempt wrote (see :mod:`volnux.events.logs`).  When the engine hands it a
trace context (``Context.carrier``), the event runs with it attached.
"""

from __future__ import annotations

import inspect
import pickle
import traceback
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import EventLoadError, Unpicklable, type_name
from ..events import Context, EventSpec, Failure, Partial, Route
from ..events.logs import ATTEMPT_LINES, finish_prints, kept_lines
from ..observability.tracecontext import attach, run_attached
from ..store import ErrorInfo, LogEntry
from ..store.results import has_refs, quick_size, resolve_refs
from .clock import microsecond_time

if TYPE_CHECKING:
    from .plan import NodePlan

__all__ = [
    "LONG_ATTEMPT_S",
    "AttemptResult",
    "error_info",
    "run_attempt",
    "run_attempt_async",
    "run_chain",
    "run_on_devices",
    "run_sent",
    "sendable",
    "unpicklable",
]

#: Frames of a traceback kept for the journal and the CLI (the innermost ones).
TRACEBACK_FRAMES = 8

#: An attempt that takes this long (seconds) is long: about what a thread pool
#: takes to notice calls waiting and grow once (see executors/threads.py).  The
#: engine remembers the events whose attempts are long, so that the next run's
#: pool grows for them at once.
LONG_ATTEMPT_S = 0.05


#: Results never kept in the result store (their size is their journal row's).
_NUMBERS = frozenset({type(None), bool, int, float})

#: Result types that need no further look (the common, fast case).
_PLAIN = frozenset({type(None), bool, int, float, str, bytes, list, dict, tuple})


class AttemptResult(NamedTuple):
    """What one attempt did: descriptor, result and, on failure, why."""

    descriptor: int
    result: Any
    error: ErrorInfo | None
    exception: BaseException | None
    #: The log lines the attempt wrote, for the engine to journal.
    logs: tuple[LogEntry, ...] = ()
    #: How long the call took, in seconds, when that was LONG_ATTEMPT_S or more
    #: (0.0 otherwise): the engine remembers which events run long.
    seconds: float = 0.0
    #: The items that failed when the event returned a Partial: ((key, why), ...).
    failed_items: tuple[tuple[Any, str], ...] = ()


def error_info(exc: BaseException) -> ErrorInfo:
    """The type, message and trimmed traceback of ``exc``."""
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else (f"{kind.__module__}.{kind.__qualname__}")
    )
    tb = "".join(traceback.format_exception(exc, limit=-TRACEBACK_FRAMES))
    return ErrorInfo(name, str(exc), tb)


def run_attempt(spec: EventSpec, ctx: Context) -> AttemptResult:
    """Call the event once and classify what happened; its log lines come back too."""
    lines: list[Any] = []
    token = ATTEMPT_LINES.set(lines)
    began = perf_counter()
    try:
        if ctx.carrier:
            result = run_attached(ctx.carrier, lambda: _attempt(spec, ctx))
        else:
            result = _attempt(spec, ctx)
    finally:
        finish_prints(lines)
        ATTEMPT_LINES.reset(token)
    took = perf_counter() - began
    if took >= LONG_ATTEMPT_S:
        result = result._replace(seconds=took)
    if ctx.results is not None and result.error is None and type(result.result) not in _NUMBERS:
        result = _kept_outside(spec, ctx, result)
    return _with_logs(result, ctx, lines)


async def run_attempt_async(spec: EventSpec, ctx: Context) -> AttemptResult:
    """:func:`run_attempt` of an ``async def`` event, awaited on the asyncio executor's loop.

    Its log lines and trace context are its own: the context variables that
    hold them are set as it starts and reset as it ends (a chain's next step
    may be awaited by the same task, right after).  Cancelling it (its
    timeout) raises ``CancelledError`` out of it.
    """
    lines: list[Any] = []
    token = ATTEMPT_LINES.set(lines)
    detach = attach(ctx.carrier) if ctx.carrier else None
    began = perf_counter()
    try:
        try:
            if has_refs(ctx.piped):
                ctx = _with_piped_read(ctx)
            value = await spec.call(ctx)
        except Route as route:
            result = AttemptResult(route.descriptor, route.result, None, None)
        except Exception as exc:
            result = AttemptResult(0, None, error_info(exc), exc)
        else:
            result = _outcome(spec, value)
    finally:
        if detach is not None:
            detach()
        finish_prints(lines)
        ATTEMPT_LINES.reset(token)
    took = perf_counter() - began
    if took >= LONG_ATTEMPT_S:
        result = result._replace(seconds=took)
    if ctx.results is not None and result.error is None and type(result.result) not in _NUMBERS:
        result = _kept_outside(spec, ctx, result)
    return _with_logs(result, ctx, lines)


def _kept_outside(spec: EventSpec, ctx: Context, result: AttemptResult) -> AttemptResult:
    """``result`` with its value written to the run's result store, and replaced by
    the reference, when the event asks for that or the value is known to be larger
    than the store's threshold (bytes, text, arrays, tables).  Other values go
    back as they are: the engine measures their encoded form."""
    mode = spec.store_result
    if mode == "journal":
        return result
    value, store = result.result, ctx.results
    if mode != "external":
        size = quick_size(value)
        if size is None or size <= store.threshold:
            return result
    try:
        ref = store.put(value, ctx.run_id, ctx.node_id)
    except Exception as exc:  # unencodable, or the store cannot be written
        return AttemptResult(0, None, error_info(exc), exc)
    return result._replace(result=ref)


def sendable(spec: EventSpec) -> bytes | None:
    """``spec`` pickled once, for :func:`run_sent`; None if it cannot be (the attempt
    then goes as it is, and fails with what cannot cross)."""
    try:
        return pickle.dumps(spec, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None


#: In a worker process: the specs :func:`run_sent` was sent, by their bytes.
_SENT: dict[bytes, EventSpec] = {}


def run_sent(spec: bytes, fields: tuple[Any, ...]) -> tuple[Any, ...]:
    """In a worker process: :func:`run_attempt` of the spec pickled as ``spec`` (by
    :func:`sendable`) and the Context of ``fields``; the result as a plain tuple.

    What crosses for an attempt is then one function, bytes and plain tuples:
    each named tuple, and each reference the spec is rebuilt from, costs a
    microsecond or two to pickle and as much to load, on both sides, per
    attempt.  The worker loads each spec once.
    """
    found = _SENT.get(spec)
    if found is None:
        try:
            found = _SENT[spec] = pickle.loads(spec)
        except Exception as exc:
            raise EventLoadError(_not_loadable(fields[2], exc)) from None
    return tuple(run_attempt(found, tuple.__new__(Context, fields)))


def run_chain(
    spec: bytes, fields: tuple[Any, ...], rest: tuple[tuple[Any, ...], ...]
) -> list[tuple[tuple[Any, ...], float, str]]:
    """In a worker process: a chain's tasks in one call (see :mod:`.chains`).

    :func:`run_sent` of ``spec`` and ``fields``, then, while the last one
    succeeded, each task of ``rest`` (``(spec, node id, event key, extras,
    piped)``, its spec as :func:`sendable` made it) as its first attempt,
    handed the last one's result where it is piped.  Returns each outcome
    that ran, as :func:`run_sent` does, with the time it ended and its node.
    """
    result = run_sent(spec, fields)
    steps = [(result, microsecond_time(), fields[1])]
    run_id, inputs, batch, results = fields[0], fields[4], fields[9], fields[10]
    for sent, node_id, key, extras, piped in rest:
        if result[0] != 1 or result[6]:  # failed, chose a descriptor, or items failed
            break
        ctx = (run_id, node_id, key, 1, inputs, result[1] if piped else None, None,
               extras, (), batch, results)  # fmt: skip
        result = run_sent(sent, ctx)
        steps.append((result, microsecond_time(), node_id))
    return steps


def _not_loadable(event: str, exc: BaseException) -> str:
    """Why event ``event`` cannot run in this (worker) process, naming the process."""
    import os
    import socket

    return (
        f"event {event} cannot be loaded in worker process {os.getpid()} on "
        f"{socket.gethostname()}: {type(exc).__name__}: {exc} (an event's module must "
        "be importable where it runs: installed there, or on its PYTHONPATH)"
    )


def run_on_devices(
    fn: Callable[[EventSpec, Context], AttemptResult], spec: EventSpec, ctx: Context
) -> AttemptResult:
    """In a worker process: point ``CUDA_VISIBLE_DEVICES`` at the attempt's GPUs (none:
    the CPU), then run it.  Frameworks that read it when they start CUDA then see
    only those devices."""
    import os

    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in ctx.gpus)
    return fn(spec, ctx)


def _with_logs(result: AttemptResult, ctx: Context, lines: list[Any]) -> AttemptResult:
    if lines:
        run_id, node_id, attempt = ctx.run_id, ctx.node_id, ctx.attempt
        logs = tuple(LogEntry(run_id, node_id, attempt, *line) for line in kept_lines(lines))
        return result._replace(logs=logs)
    return result


def _attempt(spec: EventSpec, ctx: Context) -> AttemptResult:
    try:
        if has_refs(ctx.piped):  # results kept in the result store: read here
            ctx = _with_piped_read(ctx)
        value = spec.call(ctx)
    except Route as route:
        return AttemptResult(route.descriptor, route.result, None, None)
    except Exception as exc:
        return AttemptResult(0, None, error_info(exc), exc)
    return _outcome(spec, value)


def _with_piped_read(ctx: Context) -> Context:
    store = ctx.results
    allow_pickle = store.allow_pickle if store is not None else False
    return ctx._replace(piped=resolve_refs(ctx.piped, allow_pickle))


def _outcome(spec: EventSpec, value: Any) -> AttemptResult:
    """What a returned value means: a result, a route, a failure, or a value refused."""
    kind = type(value)
    if kind in _PLAIN:  # the usual case: built without the named tuple's Python __new__
        return tuple.__new__(AttemptResult, (1, value, None, None, (), 0.0, ()))
    if kind is Route:
        return AttemptResult(value.descriptor, value.result, None, None)
    if kind is Failure:
        return AttemptResult(0, value.value, ErrorInfo("Failure", value.reason, ""), None)
    if kind is Partial:
        return AttemptResult(1, value.ok, None, None, failed_items=value.failed)
    if inspect.isgenerator(value) or inspect.iscoroutine(value) or inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # silence "coroutine was never awaited"
        return AttemptResult(
            0,
            None,
            ErrorInfo(
                "TypeError",
                f"event {spec.key} returned a {kind.__name__}, which the engine cannot hand "
                "on; return its value instead (e.g. list(...) or the awaited result)",
            ),
            None,
        )
    return AttemptResult(1, value, None, None)


def unpicklable(node: NodePlan, ctx: Context, error: Unpicklable) -> Unpicklable:
    """``error`` (from an executor that runs attempts elsewhere) naming the event,
    the value that could not cross and its type."""
    where = f"event {node.spec.key} runs on the {node.executor} executor, in another process"
    if error.direction == "from":
        what = f"{where}, and its result cannot be pickled to come back: {error}"
    else:
        what = f"{where}, and {_first_unpicklable(node.spec, ctx)} cannot be pickled to go there"
    fix = "what crosses must pickle: use plain data, or run the event on the thread executor"
    return Unpicklable(error.direction, f"{what} ({fix})")


def _first_unpicklable(spec: EventSpec, ctx: Context) -> str:
    """Which of what an attempt sends to a worker does not pickle, and its type."""
    import pickle

    parts: list[tuple[str, Any]] = [("the event itself", spec.target)]
    parts += [(f"workflow input {name!r}", value) for name, value in ctx.inputs.items()]
    parts += [("the piped value", ctx.piped)]
    parts += [(f"attribute {name!r}", value) for name, value in ctx.extras.items()]
    for label, value in parts:
        try:
            pickle.dumps(value)
        except Exception as exc:
            return f"{label} ({type_name(type(value))}: {exc})"
    return "what it is sent"

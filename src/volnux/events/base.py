"""The authoring API: ``Event``, ``@event``, ``Context``, ``Route``, ``Failure``.

One calling convention serves class-based and function-based events.  The
parameters of ``process`` (or of the decorated function) are filled by name:

* ``ctx``: the :class:`Context` (run id, node id, attempt, logger, inputs);
* ``piped``: the result handed on by ``|->`` (or the failure, on ``0 |->``);
* any other name: the workflow input of that name (its default applies when
  the input is absent; without a default, the run is refused before it starts);
* ``**kwargs``: every workflow input not taken by another parameter.

An event's outcome:

* a plain return value: success (descriptor 1), the value is its result;
* ``return Failure("why")``: failure (descriptor 0), not retried by default;
* ``return Route(3, value)`` or ``raise Route(3)``: descriptor 3 (2-9);
* any other exception: failure (descriptor 0), retried if the policy allows.

This module never imports the runtime.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar, overload

from ..errors import EventDefinitionError
from .deprecation import Deprecated, check_changelog
from .evaluation import ResultEvaluation
from .logs import TaskLogger
from .resources import NO_RESOURCES, Resources
from .retry import RetryPolicy
from .versions import Version, parse_version

#: How the module of an events file loaded by path is named (``volnux_events_<stem>_<hash>``).
FILE_MODULE_PREFIX = "volnux_events_"

if TYPE_CHECKING:
    from .sources import Source

__all__ = [
    "ASYNC_EXECUTOR",
    "FILE_MODULE_PREFIX",
    "BatchInfo",
    "Context",
    "Event",
    "EventSpec",
    "Failure",
    "FailureInfo",
    "Partial",
    "Route",
    "event",
    "spec_of",
]

#: The executor of an event that chooses none (and of a project that sets no
#: default): the executor registry's default (``volnux.executors.registry``,
#: a layer this authoring API does not import; a test keeps the two equal).
DEFAULT_EXECUTOR = "thread"
#: The executor of ``async def`` events: one event loop, no thread per attempt.
ASYNC_EXECUTOR = "asyncio"
#: What an executor's name looks like; which names exist, planning checks.
_EXECUTOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """Which batch of a batch run an attempt works on (``ctx.batch``)."""

    #: The batch run this batch belongs to (its parent run's id).
    parent: str
    #: 0 for the source's first batch, then 1, 2, ...
    index: int
    #: How many items the batch holds.
    size: int
    #: Where the batch is in its source (JSON data: ``first_item`` is the index
    #: of its first item among all the source's items; see docs/batch.md).
    position: Mapping[str, Any]


class Context(NamedTuple):
    """What a running event knows about where it runs (read-only).

    A named tuple rather than a frozen dataclass: one is made for every
    attempt, and a tuple is built several times faster.
    """

    run_id: str
    node_id: str
    event: str
    attempt: int
    inputs: Mapping[str, Any]
    piped: Any = None
    #: Trace context for the attempt (W3C ``traceparent`` ...), set by the engine
    #: when OpenTelemetry observes the run; the attempt attaches it.
    carrier: Mapping[str, str] | None = None
    #: The task's attributes that are not Volnux's own (``A[region="eu"]``),
    #: for an event that takes them (an ``extras`` parameter, given a copy).
    extras: Mapping[str, Any] = {}
    #: The GPUs this attempt was placed on (ids as ``CUDA_VISIBLE_DEVICES`` names
    #: them); empty when it runs on the CPU (see ``volnux.Resources``).
    gpus: tuple[int, ...] = ()
    #: The batch this run works on, in a batch run; None for a run of its own.
    batch: BatchInfo | None = None
    #: Where the run keeps large results (a ``volnux.store.results.ResultStore``),
    #: or None; the attempt writes its own large result there.
    results: Any = None

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger whose records carry the run id, node id and attempt; kept with the run."""
        return TaskLogger(
            logging.getLogger("volnux.task"),
            {"run_id": self.run_id, "node_id": self.node_id, "attempt": self.attempt},
        )


class Route(Exception):
    """Return or raise this to choose descriptor 0-9 (2-9 name custom paths)."""

    def __init__(self, descriptor: int, result: Any = None) -> None:
        if (
            not isinstance(descriptor, int)
            or isinstance(descriptor, bool)
            or not (0 <= descriptor <= 9)
        ):
            raise ValueError(f"a descriptor is an integer 0-9, got {descriptor!r}")
        super().__init__(descriptor, result)
        self.descriptor = descriptor
        self.result = result

    def __repr__(self) -> str:
        return f"Route({self.descriptor}, {self.result!r})"


class Failure:
    """Return this to fail the task without raising (descriptor 0)."""

    __slots__ = ("reason", "value")

    def __init__(self, reason: str, value: Any = None) -> None:
        self.reason = reason
        self.value = value

    def __repr__(self) -> str:
        return f"Failure({self.reason!r}, {self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failure) and (self.reason, self.value) == (
            other.reason,
            other.value,
        )

    __hash__ = None  # type: ignore[assignment]


class Partial:
    """Return this when some items of a batch failed and the others did not.

    The task succeeds with ``ok`` as its result (what ``|->`` hands on);
    ``failed`` maps each failed item's key to why it failed (an exception or
    text), or is a list of ``(key, why)`` pairs.  The failed items are
    journaled with the run and shown with its batch run, and
    ``volnux runs retry PARENT --failed-items`` runs a new batch of their
    keys: use the item itself as its key (a line, an id) so that a batch of
    keys is a batch of the items.  Keys must be JSON data.
    """

    __slots__ = ("failed", "ok")

    def __init__(self, ok: Any, failed: Mapping[Any, Any] | Any = ()) -> None:
        pairs = failed.items() if isinstance(failed, Mapping) else failed
        out = []
        for pair in pairs:
            try:
                key, why = pair
            except (TypeError, ValueError):
                raise TypeError(
                    f"Partial(failed=...) takes a dict of key -> error or (key, error) pairs, "
                    f"not {pair!r}"
                ) from None
            if isinstance(why, BaseException):
                why = f"{type(why).__name__}: {why}"
            out.append((key, str(why)))
        self.ok = ok
        #: ((key, why), ...) in the order given.
        self.failed: tuple[tuple[Any, str], ...] = tuple(out)

    def __repr__(self) -> str:
        return f"Partial(ok={self.ok!r}, failed={dict(self.failed)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partial) and (self.ok, self.failed) == (other.ok, other.failed)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """What a ``0 |->`` branch receives as ``piped``: why the task failed."""

    node_id: str
    type: str
    message: str
    value: Any = None


class Event:
    """Base class of class-based events: subclass it and implement ``process``.

    Class attributes configure the event; all are optional::

        class Charge(volnux.Event):
            version = "1.2.0"
            retry = volnux.RetryPolicy(max_attempts=3, delay_s=0.5, backoff=2)

            def process(self, order_id: str, ctx: volnux.Context) -> dict:
                ...

    A new instance is made for every attempt, so state kept on ``self`` never
    leaks from one attempt or run into another.
    """

    #: The name used in Pointy-lang (default: the class name).
    name: ClassVar[str | None] = None
    #: Semantic version of this event's behaviour.
    version: ClassVar[str] = "1.0.0"
    #: ``"thread"`` (for I/O) or ``"process"`` (CPU-bound work); None: the
    #: project's default executor, else ``"thread"``.
    executor: ClassVar[str | None] = None
    #: How failed attempts are retried.
    retry: ClassVar[RetryPolicy] = RetryPolicy()
    #: How a successful result is judged (None: every success counts).
    evaluation: ClassVar[ResultEvaluation | None] = None
    #: Set to ``volnux.Deprecated(reason=..., ...)`` to deprecate this version.
    deprecated: ClassVar[Deprecated | None] = None
    #: Version to what changed in it (``{"1.1.0": "adds currency"}``).
    changelog: ClassVar[Mapping[str, str]] = {}
    #: What one attempt needs: ``volnux.Resources(memory_mb=..., gpus=..., gpu=...)``.
    resources: ClassVar[Resources] = NO_RESOURCES
    #: Where its results are kept: ``"auto"`` (in the result store when larger
    #: than its threshold, else in the journal), ``"external"`` (always in the
    #: result store) or ``"journal"`` (never in the result store).
    store_result: ClassVar[str] = "auto"

    def process(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work; see the module docstring for parameters and outcomes."""
        raise NotImplementedError(f"{type(self).__name__}.process is not implemented")


# How each parameter of an event is filled.
_CTX, _PIPED, _INPUT, _KWARGS, _EXTRAS = range(5)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an event and where its value comes from."""

    name: str
    source: int
    required: bool


#: What ``store_result`` may say (see ``Event.store_result``).
STORE_RESULT_MODES = ("auto", "external", "journal")


class EventSpec:
    """An event as the runtime sees it: identity, policy and how to call it."""

    __slots__ = (
        "_fingerprint",
        "changelog",
        "deprecated",
        "doc",
        "evaluation",
        "executor",
        "executor_chosen",
        "func",
        "is_async",
        "is_class",
        "key",
        "name",
        "origin",
        "params",
        "resources",
        "retry",
        "source",
        "store_result",
        "target",
        "version",
    )

    def __init__(
        self,
        *,
        name: str,
        version: str,
        target: Any,
        is_class: bool,
        executor: str | None,
        retry: RetryPolicy,
        origin: str,
        deprecated: Deprecated | None = None,
        changelog: Mapping[str, str] | None = None,
        evaluation: ResultEvaluation | None = None,
        resources: Resources | None = None,
        store_result: str = "auto",
    ) -> None:
        _check_name(name, target)
        if store_result not in STORE_RESULT_MODES:
            raise EventDefinitionError(
                f"event {name}: store_result must be one of "
                f"{', '.join(map(repr, STORE_RESULT_MODES))}, got {store_result!r}"
            )
        #: Where its results are kept (see ``Event.store_result``).
        self.store_result = store_result
        if resources is not None and not isinstance(resources, Resources):
            raise EventDefinitionError(
                f"event {name}: resources must be a volnux.Resources(...), "
                f"got {type(resources).__name__}"
            )
        #: What one attempt needs (memory, GPUs).
        self.resources = resources or NO_RESOURCES
        #: Whether the event chose its executor (else a project default may apply).
        self.executor_chosen = executor is not None
        executor = executor or DEFAULT_EXECUTOR
        if not isinstance(executor, str) or not _EXECUTOR_NAME.match(executor):
            raise EventDefinitionError(f"event {name}: executor {executor!r} is not a name")
        if not isinstance(retry, RetryPolicy):
            raise EventDefinitionError(
                f"event {name}: retry must be a volnux.RetryPolicy, got {type(retry).__name__}"
            )
        try:
            self.version: Version = parse_version(version)
        except ValueError as exc:
            raise EventDefinitionError(f"event {name}: {exc}") from None
        if deprecated is not None and not isinstance(deprecated, Deprecated):
            raise EventDefinitionError(
                f"event {name}: deprecated must be a volnux.Deprecated(reason=...), "
                f"got {type(deprecated).__name__}"
            )
        #: The author's deprecation of this version, or None.
        self.deprecated = deprecated
        if evaluation is not None and not isinstance(evaluation, ResultEvaluation):
            raise EventDefinitionError(
                f"event {name}: evaluation must be a volnux.ResultEvaluation, "
                f"got {type(evaluation).__name__}"
            )
        self.evaluation = evaluation
        try:
            # One changelog: the event's own entries, then those given with Deprecated.
            merged = dict(changelog or {})
            merged.update(deprecated.changelog if deprecated else {})
            #: Version to what changed, newest first.
            self.changelog: Mapping[str, str] = check_changelog(merged, f"event {name}")
        except ValueError as exc:
            raise EventDefinitionError(str(exc)) from None
        #: The registry it was loaded from (set when loaded; None if added directly).
        self.source: Source | None = None
        self.name = name
        self.target = target
        self.is_class = is_class
        self.executor = executor
        self.retry = retry
        self.origin = origin
        self.func: Callable[..., Any] = target.process if is_class else target
        #: An ``async def`` function (or ``async def process``): it runs on the
        #: ``asyncio`` executor, chosen for it unless the event chose one.
        self.is_async = inspect.iscoroutinefunction(self.func)
        if self.is_async and not self.executor_chosen:
            self.executor = ASYNC_EXECUTOR
        self.params = _plan_params(name, self.func, skip_self=is_class)
        self.doc = inspect.getdoc(target) or ""
        self._fingerprint: str | None = None
        #: ``Name@version``.
        self.key = f"{name}@{self.version}"

    def __repr__(self) -> str:
        return f"<EventSpec {self.key} from {self.origin}>"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A process executor pickles the spec with every attempt: send only
        # the event itself (pickled by reference) and rebuild the spec there.
        module = getattr(self.target, "__module__", "") or ""
        if module.startswith(FILE_MODULE_PREFIX):
            # A file loaded by path: its module name is made up, so a worker
            # that never loaded it finds it by the path, loaded there too.
            path = getattr(sys.modules.get(module), "__file__", None)
            if path:
                return (_spec_from_file, (module, path, self.target.__qualname__))
        return (spec_of, (self.target,))

    @property
    def takes_extras(self) -> bool:
        """True when the event declares an ``extras`` parameter: the task's own
        attributes (those Volnux does not know) are handed to it there."""
        return any(p.source == _EXTRAS for p in self.params)

    @property
    def wants_piped(self) -> bool:
        """True when the event declares a ``piped`` parameter without a default."""
        return any(p.source == _PIPED and p.required for p in self.params)

    def input_types(self) -> dict[str, Any]:
        """Input parameter -> its annotation, for those that have one that resolves.

        Annotations that do not resolve (a forward reference to a name the
        module lacks) are left out: the input is then not checked.
        """
        import typing

        try:
            hints = typing.get_type_hints(self.func)
        except Exception:  # any error from evaluating the author's annotations
            return {}
        return {
            p.name: hints[p.name] for p in self.params if p.source == _INPUT and p.name in hints
        }

    @property
    def input_names(self) -> frozenset[str] | None:
        """The workflow inputs an attempt reads: its input parameters' names; None
        (every input) when it takes ``ctx`` (``ctx.inputs``) or ``**kwargs``."""
        if any(p.source in (_CTX, _KWARGS) for p in self.params):
            return None
        return frozenset(p.name for p in self.params if p.source == _INPUT)

    def missing_inputs(self, inputs: Mapping[str, Any]) -> list[str]:
        """Required input parameters that ``inputs`` does not provide."""
        return [
            p.name
            for p in self.params
            if p.source == _INPUT and p.required and p.name not in inputs
        ]

    def call(self, ctx: Context) -> Any:
        """Run one attempt: fill the parameters from ``ctx`` and call the event."""
        inputs = ctx.inputs
        kwargs: dict[str, Any] = {}
        for p in self.params:
            if p.source == _INPUT:
                if p.name in inputs:
                    kwargs[p.name] = inputs[p.name]
            elif p.source == _CTX:
                kwargs[p.name] = ctx
            elif p.source == _PIPED:
                kwargs[p.name] = ctx.piped
            elif p.source == _EXTRAS:
                kwargs[p.name] = dict(ctx.extras)
            else:
                taken = {q.name for q in self.params}
                kwargs.update({k: v for k, v in inputs.items() if k not in taken})
        if self.is_class:
            return self.target().process(**kwargs)
        return self.target(**kwargs)

    @property
    def fingerprint(self) -> str:
        """A hash of the event's source code (its qualified name if none is found)."""
        if self._fingerprint is None:
            try:
                text = inspect.getsource(self.target)
            except (OSError, TypeError):
                text = f"{getattr(self.target, '__module__', '?')}.{self.target.__qualname__}"
            self._fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._fingerprint


def _check_name(name: str, target: Any) -> None:
    parts = name.split(".")
    if not all(p.isidentifier() and p.isascii() for p in parts):
        raise EventDefinitionError(
            f"{target!r}: event name {name!r} is not a Pointy-lang name "
            "(letters, digits and _, optionally dotted)"
        )


def _plan_params(name: str, func: Callable[..., Any], *, skip_self: bool) -> tuple[Param, ...]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise EventDefinitionError(f"event {name}: cannot read its signature: {exc}") from None
    params = list(sig.parameters.values())
    if skip_self and params and params[0].name == "self":
        params = params[1:]
    plan: list[Param] = []
    for p in params:
        required = p.default is inspect.Parameter.empty
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            plan.append(Param(p.name, _KWARGS, False))
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif p.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise EventDefinitionError(
                f"event {name}: parameter {p.name!r} is positional-only; events are "
                "called with keyword arguments (drop the '/')"
            )
        elif p.name == "ctx":
            plan.append(Param(p.name, _CTX, False))
        elif p.name == "piped":
            plan.append(Param(p.name, _PIPED, required))
        elif p.name == "extras":
            plan.append(Param(p.name, _EXTRAS, False))
        else:
            plan.append(Param(p.name, _INPUT, required))
    return tuple(plan)


E = TypeVar("E", bound=Callable[..., Any])


@overload
def event(func: E, /) -> E: ...


@overload
def event(
    *,
    name: str | None = None,
    version: str = "1.0.0",
    executor: str | None = None,
    retry: RetryPolicy | None = None,
    deprecated: Deprecated | None = None,
    changelog: Mapping[str, str] | None = None,
    evaluation: ResultEvaluation | None = None,
    resources: Resources | None = None,
    store_result: str = "auto",
) -> Callable[[E], E]: ...


def event(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    version: str = "1.0.0",
    executor: str | None = None,
    retry: RetryPolicy | None = None,
    deprecated: Deprecated | None = None,
    changelog: Mapping[str, str] | None = None,
    evaluation: ResultEvaluation | None = None,
    resources: Resources | None = None,
    store_result: str = "auto",
) -> Any:
    """Make a function an event: ``@event`` or ``@event(name=..., version=...)``.

    The function itself is returned unchanged (still callable in unit tests);
    its event description is attached and found by the registry.
    """

    def wrap(fn: Any) -> Any:
        if inspect.isclass(fn) or not callable(fn):
            raise EventDefinitionError(
                f"@event decorates functions; for a class, subclass volnux.Event ({fn!r})"
            )
        fn.__volnux_event__ = EventSpec(
            name=name or fn.__name__,
            version=version,
            target=fn,
            is_class=False,
            executor=executor,
            retry=retry or RetryPolicy(),
            origin=_origin(fn),
            deprecated=deprecated,
            changelog=changelog,
            evaluation=evaluation,
            resources=resources,
            store_result=store_result,
        )
        return fn

    if func is not None:
        return wrap(func)
    return wrap


def _spec_from_file(module: str, path: str, qualname: str) -> EventSpec | None:
    """The spec of the event ``qualname`` of the events file ``path``, loaded as
    ``module`` (once per process: later attempts find it in ``sys.modules``)."""
    found: Any = sys.modules.get(module)
    if found is None:
        from .registry import load_events_source

        found = load_events_source(path)
    for part in qualname.split("."):
        found = getattr(found, part)
    return spec_of(found)


def spec_of(obj: Any) -> EventSpec | None:
    """The :class:`EventSpec` of an event class or decorated function, else None."""
    if isinstance(obj, EventSpec):
        return obj
    if inspect.isclass(obj) and issubclass(obj, Event) and obj is not Event:
        cached = obj.__dict__.get("__volnux_spec__")
        if cached is None:
            if obj.process is Event.process:
                raise EventDefinitionError(
                    f"event class {obj.__qualname__} does not implement process()"
                )
            cached = EventSpec(
                name=obj.name or obj.__name__,
                version=obj.version,
                target=obj,
                is_class=True,
                executor=obj.executor,
                retry=obj.retry,
                origin=_origin(obj),
                deprecated=obj.deprecated,
                changelog=obj.changelog,
                evaluation=obj.evaluation,
                resources=obj.resources,
                store_result=obj.store_result,
            )
            obj.__volnux_spec__ = cached  # type: ignore[attr-defined]
        return cached
    spec = getattr(obj, "__volnux_event__", None)
    return spec if isinstance(spec, EventSpec) else None


def _origin(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or "?"
    try:
        path = inspect.getsourcefile(obj)
    except (OSError, TypeError):
        path = None
    if module.startswith(FILE_MODULE_PREFIX) and path:
        return path  # a file loaded by path: its module name is made up
    return f"{module} ({path})" if path else module

"""What the editor says about an event, an attribute or an operator (hover, completion).

An event is described as ``volnux events show`` describes it: signature,
docstring, version (and the others loaded), where it comes from, its
executor, retry policy and resources, deprecation and changelog; as Markdown.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from typing import TYPE_CHECKING, Any, Final

from ..engine.plan import GROUP_ATTRIBUTES, TASK_ATTRIBUTES
from ..events.shown import signature_text

if TYPE_CHECKING:
    from ..events import EventRegistry, EventSpec

__all__ = [
    "ATTRIBUTES",
    "OPERATORS",
    "attributes_for",
    "describe_event",
    "first_line",
    "retry_text",
    "where_defined",
]

#: What each attribute the engine reads means (docs/language.md#attributes).
ATTRIBUTES: Final[dict[str, str]] = {
    "timeout": "Seconds each attempt may take, a positive number: `[timeout=30]`.",
    "retry_attempts": "Attempts in total, as `* N` (which wins when both are given); "
    "`0` leaves the event's own retry policy.",
    "executor": 'Where the task runs: `"thread"`, `"process"`, `"asyncio"`, `"dask"` or one '
    "an installed package adds; on a group, every task inside runs there.",
    "executor_config": "With `executor`: `\"{'max_workers': N}\"` gives the task (or each "
    "task of the group) a pool of its own with N workers.",
    "result_evaluation_strategy": 'How a result is judged: `"all"`, `"any"`, `"majority"`, '
    '`"at_least:N"` or `"at_least:P%"` (or a Volnux 2.x name).',
    "result_predicate": '`"package.module:function"` deciding success instead of the strategy.',
    "stop_condition": 'Volnux 2.x: `"ON_ERROR"` is accepted (a failure stops the chain '
    "anyway); the others are errors that say what to write instead.",
    "bypass_event_checks": "Volnux 2.x: `false` is accepted (the event always runs); "
    "`true` is an error.",
}

#: What each operator means, for hover on it.
OPERATORS: Final[dict[str, str]] = {
    "->": "`A -> B`: B starts after A **succeeds**.",
    "|->": "`A |-> B`: B starts after A succeeds and receives A's result (as `piped`).",
    "||": "`A || B`: A and B run at the same time.",
    "*": "`A * 3` or `3 * A`: A gets up to 3 attempts in total.",
}


def attributes_for(group: bool) -> tuple[str, ...]:
    """The attributes the engine reads on a group, or on a task."""
    return GROUP_ATTRIBUTES if group else TASK_ATTRIBUTES


def first_line(text: str) -> str:
    """The first line of a docstring, or ""."""
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def retry_text(spec: EventSpec) -> str:
    """The retry policy's settings that differ from the defaults, or "one attempt"."""
    policy = spec.retry
    if not dataclasses.is_dataclass(policy):
        return repr(policy)
    default = type(policy)()
    shown = []
    for f in dataclasses.fields(policy):
        value = getattr(policy, f.name)
        if value == getattr(default, f.name):
            continue
        if isinstance(value, tuple):
            value = "(" + ", ".join(getattr(v, "__name__", repr(v)) for v in value) + ")"
        shown.append(f"{f.name}={value}")
    return ", ".join(shown) or "one attempt, no retry"


def _source_text(spec: EventSpec) -> str:
    return str(spec.source) if spec.source is not None else spec.origin


def describe_event(registry: EventRegistry, spec: EventSpec) -> str:
    """Markdown for an event version: what ``volnux events show`` says about it."""
    heading = f"**{spec.key}**" + (" *(deprecated)*" if spec.deprecated else "")
    parts = [heading, f"```python\n{signature_text(spec)}\n```"]
    if spec.doc:
        parts.append(spec.doc)
    versions = ", ".join(str(s.version) for s in registry.versions(spec.name))
    pin = registry.pins.get(spec.name)
    facts = [
        f"- **version** {spec.version} (loaded: {versions}"
        + (f"; bare `{spec.name}` is pinned @{pin}" if pin else "")
        + ")",
        f"- **source** {_source_text(spec)}",
        f"- **executor** {spec.executor}",
        f"- **retry** {retry_text(spec)}",
    ]
    resources = _resources(spec)
    if resources:
        facts.append(f"- **resources** {resources}")
    if spec.deprecated is not None:
        facts.append(f"- **{spec.deprecated.describe()}**")
    parts.append("\n".join(facts))
    if spec.changelog:
        parts.append(
            "**changelog**\n"
            + "\n".join(f"- {version}: {text}" for version, text in spec.changelog.items())
        )
    return "\n\n".join(parts)


def _resources(spec: EventSpec) -> str:
    declared = spec.resources
    default = type(declared)()
    return ", ".join(
        f"{f.name}={getattr(declared, f.name)}"
        for f in dataclasses.fields(declared)
        if f.init and getattr(declared, f.name) != getattr(default, f.name)
    )


def where_defined(spec: EventSpec) -> tuple[str, int] | None:
    """The file and 0-based line where the event's class or function is defined."""
    target: Any = inspect.unwrap(spec.target)
    try:
        path = inspect.getsourcefile(target)
        _, first = inspect.getsourcelines(target)
    except (OSError, TypeError):
        return None
    if not path:
        return None
    return os.path.realpath(path), max(first - 1, 0)

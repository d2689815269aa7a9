"""Volnux 2.x attributes: what each means here, or why it is refused.

Workflows written for Volnux 2.x use attributes this engine reads
differently, or not at all.  Each is either translated to its meaning here
or refused when the workflow is checked, with the attribute named and what
to write instead; none is accepted and then ignored.  (The executor class
names are in :mod:`volnux.executors.registry`, the strategy names in
:mod:`volnux.events.evaluation`: they apply wherever a name is given.)

* ``executor_config``: a dict, or a quoted one as 2.x files wrote it
  (``"{'max_workers': 4}"``).  ``max_workers`` sizes the task's own pool;
  the other 2.x settings are refused (remote hosts, encryption, recycling).
* ``stop_condition``: ``ON_ERROR`` is what ``->`` does anyway (a failure
  stops the chain), so it is accepted where no ``0`` branch takes the
  failure; the others are refused with the form to write.
* ``bypass_event_checks``: ``false`` is the only behaviour here; ``true``
  is refused.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["ATTRIBUTES", "check_bypass", "check_stop_condition", "pool_size"]

#: The 2.x attributes read here, beside the engine's own.
ATTRIBUTES: tuple[str, ...] = ("bypass_event_checks", "executor_config", "stop_condition")

# executor_config keys 2.x knew that have no meaning here, and what to do instead.
_REFUSED_SETTINGS: Mapping[str, str] = {
    "max_tasks_per_child": "Volnux's process pool keeps its workers; remove it",
    "thread_name_prefix": "Volnux names its worker threads itself; remove it",
    "host": "it addressed a 2.x remote executor; Volnux runs tasks on this machine: remove it",
    "port": "it addressed a 2.x remote executor; Volnux runs tasks on this machine: remove it",
    "timeout": "it limited a 2.x remote call; write the task's own [timeout=SECONDS] instead",
    "use_encryption": "it secured a 2.x remote executor; remove it",
    "client_cert_path": "it secured a 2.x remote executor; remove it",
    "client_key_path": "it secured a 2.x remote executor; remove it",
    "ca_cert_path": "it secured a 2.x remote executor; remove it",
}

_STOP_CONDITIONS = ("NEVER", "ON_ERROR", "ON_SUCCESS", "ON_EXCEPTION", "ON_ANY")


def pool_size(value: Any) -> int | None:
    """``executor_config``'s ``max_workers`` (None if it has none); ValueError for the rest."""
    config = _as_dict(value)
    for key in config:
        if key in _REFUSED_SETTINGS:
            raise ValueError(f"executor_config {key!r}: {_REFUSED_SETTINGS[key]}")
        if key != "max_workers":
            raise ValueError(
                f"executor_config {key!r} is not a setting; the one read is max_workers"
            )
    workers = config.get("max_workers")
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"executor_config max_workers must be a positive integer, got {workers!r}")
    return workers


def _as_dict(value: Any) -> dict[str, Any]:
    """A dict from a dict, or from the JSON or Python literal text of one."""
    if isinstance(value, str):
        parsed: Any = None
        try:
            parsed = json.loads(value)
        except ValueError:
            try:
                parsed = ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                parsed = None
        value = parsed
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            "executor_config must be a dict of settings, written as a string: "
            "executor_config=\"{'max_workers': 4}\""
        )
    return value


def check_stop_condition(value: Any, handles_failure: bool) -> None:
    """ValueError unless ``value`` means here what it meant in 2.x.

    ``handles_failure``: whether the task or group has a ``0`` branch.
    """
    names = value.split(",") if isinstance(value, str) else [value]
    for raw in names:
        name = raw.strip().upper() if isinstance(raw, str) else raw
        if name not in _STOP_CONDITIONS:
            raise ValueError(
                f"stop_condition {value!r} is not one of {', '.join(_STOP_CONDITIONS)}"
            )
        if name == "ON_ERROR":
            if handles_failure:
                raise ValueError(
                    'stop_condition="ON_ERROR" stops at a failure, but the 0 branch here '
                    "takes it and the run goes on: remove one of them"
                )
            continue
        raise ValueError(_STOP_ADVICE[name])


_STOP_ADVICE: Mapping[str, str] = {
    "NEVER": (
        'stop_condition="NEVER": here a failure stops the chain unless a branch takes it; '
        "to go on after a failure, write a 0 branch: A (0 -> Next) -> ..."
    ),
    "ON_SUCCESS": (
        'stop_condition="ON_SUCCESS" has no counterpart: end the chain at that task, '
        "or choose the rest with a branch: A (1 -> Done, 0 -> Rest)"
    ),
    "ON_ANY": ('stop_condition="ON_ANY" has no counterpart: end the chain at that task instead'),
    "ON_EXCEPTION": (
        'stop_condition="ON_EXCEPTION" never stopped anything in Volnux 2.x; a failure '
        "already stops the chain here: remove it"
    ),
}


def check_bypass(value: Any) -> None:
    """``bypass_event_checks``: ``false`` is what happens here; anything else is refused."""
    if value is False:
        return
    raise ValueError(
        "bypass_event_checks: Volnux always runs the event; to skip its work, return "
        "early from the event or route around it with a branch, and remove the attribute"
    )

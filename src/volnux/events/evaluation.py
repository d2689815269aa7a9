"""Result evaluation: deciding from a result whether it counts as success.

A parallel group succeeds when enough of its members do; an event whose
result is a list of per-item outcomes can be judged the same way.  The
strategy names are the same for both, in Python and in Pointy-lang
(``[result_evaluation_strategy="majority"]``):

=================  ===========================================
``all``            every item succeeded (the default)
``any``            at least one did
``majority``       more than half did
``at_least:N``     N or more did
``at_least:P%``    P percent or more did
=================  ===========================================

An item of an event's result counts as a success when it is truthy and not
a :class:`~volnux.Failure`.  A custom ``predicate`` replaces the strategy: it
gets the result (for a group: a mapping of member name to result, failed
members left out, and a second mapping of member name to
:class:`~volnux.FailureInfo`) and returns True (descriptor 1), False
(descriptor 0) or a descriptor 0-9.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GROUP_PREDICATE",
    "LEGACY_STRATEGIES",
    "TASK_PREDICATE",
    "ResultEvaluation",
    "load_predicate",
    "parse_strategy",
    "passes",
]

STRATEGIES = ("all", "any", "majority")


#: Volnux 2.x strategy names and what each means here.  2.x's majority counted
#: a tie as a pass, so it is half or more; its two "all" names differ only on
#: an empty list, which passes ``all`` here.
LEGACY_STRATEGIES = {
    "ALL_MUST_SUCCEED": "all",
    "NO_FAILURES_ALLOWED": "all",
    "ANY_MUST_SUCCEED": "any",
    "MAJORITY_MUST_SUCCEED": "at_least:50%",
}


def parse_strategy(value: Any) -> tuple[str, float]:
    """``all``/``any``/``majority``/``at_least:N``/``at_least:P%`` (or a 2.x
    name, :data:`LEGACY_STRATEGIES`) as (kind, amount)."""
    if not isinstance(value, str):
        raise ValueError("result_evaluation_strategy must be a string")
    text = LEGACY_STRATEGIES.get(value.strip().upper(), value).strip().lower()
    if text in STRATEGIES:
        return text, 0.0
    if text.startswith("at_least:"):
        amount = text.removeprefix("at_least:").strip()
        try:
            if amount.endswith("%"):
                pct = float(amount[:-1])
                if 0 < pct <= 100:
                    return "percent", pct
            else:
                n = int(amount)
                if n >= 1:
                    return "count", float(n)
        except ValueError:
            pass
    raise ValueError(
        f"result_evaluation_strategy {value!r} is not one of all, any, majority, "
        "at_least:N or at_least:P%"
    )


def passes(strategy: tuple[str, float], ok: int, total: int) -> bool:
    """Whether ``ok`` successes out of ``total`` satisfy ``strategy``."""
    kind, amount = strategy
    if kind == "all":
        return ok == total
    if kind == "any":
        return ok > 0
    if kind == "majority":
        return ok * 2 > total
    if kind == "count":
        return ok >= amount
    return ok * 100 >= amount * total


#: How a task's predicate is called: ``predicate(result)``.
TASK_PREDICATE = ("result",)
#: How a group's predicate is called: ``predicate(results, failures)``, the
#: members' results and failures (:class:`~volnux.FailureInfo`) by member.
GROUP_PREDICATE = ("results", "failures")


def load_predicate(spec: str, called_with: tuple[str, ...] = TASK_PREDICATE) -> Callable[..., Any]:
    """The function ``"package.module:function"`` names; ValueError says why not.

    ``called_with`` names the arguments it will be given (positionally); a
    function that cannot take them is refused here, before anything runs.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"result_predicate {spec!r} is not of the form 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"result_predicate {spec!r}: cannot import {module_name}: {exc}") from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise ValueError(f"result_predicate {spec!r}: {module_name} has no function {attr!r}")
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have none to read
        return func  # type: ignore[no-any-return]
    try:
        signature.bind(*called_with)
    except TypeError:
        where = "a group's" if len(called_with) > 1 else "a task's"
        raise ValueError(
            f"result_predicate {spec!r} takes {attr}{signature}, but {where} predicate is "
            f"called as {attr}({', '.join(called_with)})"
        ) from None
    return func  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ResultEvaluation:
    """How an event's result is judged (set as the event's ``evaluation``)."""

    #: One of the strategies in the module docstring; applies to list results.
    strategy: str = "all"
    #: ``predicate(result) -> bool | int``: replaces the strategy when given.
    predicate: Callable[[Any], bool | int] | None = None

    def __post_init__(self) -> None:
        parse_strategy(self.strategy)

    def descriptor(self, result: Any) -> int:
        """1 if ``result`` passes, 0 if not (or the descriptor a predicate chose)."""
        if self.predicate is not None:
            return as_descriptor(self.predicate(result))
        if not isinstance(result, list | tuple):
            return 1 if _item_ok(result) else 0
        ok = sum(1 for item in result if _item_ok(item))
        return 1 if passes(parse_strategy(self.strategy), ok, len(result)) else 0


def as_descriptor(value: Any) -> int:
    """A predicate's answer as a descriptor: True 1, False 0, or an int 0-9."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and 0 <= value <= 9:
        return value
    raise ValueError(f"a result predicate returned {value!r}; return True, False or 0-9")


def _item_ok(item: Any) -> bool:
    from .base import Failure

    return bool(item) and not isinstance(item, Failure)


def count_ok(items: Iterable[Any]) -> int:
    """How many items count as successes."""
    return sum(1 for item in items if _item_ok(item))

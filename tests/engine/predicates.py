"""Predicates importable by name, for result_predicate="tests.engine.predicates:..."."""

from typing import Any


def two_or_more(results: dict[str, Any], failures: dict[str, Any]) -> bool:
    return len(results) >= 2


def route_by_count(results: dict[str, Any], failures: dict[str, Any]) -> int:
    return 3 if failures else 1


def positive(result: Any) -> bool:
    return bool(result > 0)


#: What :func:`judged` does: raise this message (when set), else answer.
VERDICT: dict[str, Any] = {"raise": None, "answer": False}


def judged(results: dict[str, Any], failures: dict[str, Any]) -> Any:
    if VERDICT["raise"]:
        raise RuntimeError(VERDICT["raise"])
    return VERDICT["answer"]


def results_only(results: dict[str, Any]) -> bool:
    return True


def three(results: dict[str, Any], failures: dict[str, Any]) -> int:
    return 3

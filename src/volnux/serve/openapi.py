"""The OpenAPI document of ``volnux serve``'s JSON API (``GET /api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from ..states import RunState, TaskState
from .actions import ACTIONS

__all__ = ["openapi"]


def _param(name: str, where: str, text: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": text,
        "schema": {"type": kind, **schema},
    }


_RUN = _param("run_id", "path", "The run's id.")
_SCHEDULE = _param("name", "path", "The schedule's name.")
_PAGE = [
    _param("offset", "query", "Rows to pass over (default 0).", "integer", minimum=0),
    _param(
        "limit", "query", "Rows in the page (1-500, default 50).", "integer", minimum=1,
        maximum=500,
    ),
]  # fmt: skip
_COLLAPSE = _param(
    "collapse", "query", "Draw runs of this many alike tasks as one, with counts per state "
    "(default 10; 0 or 1 draws every task).", "integer", minimum=0,
)  # fmt: skip
_RUN_STATES = [s.value for s in RunState]
_TASK_STATES = [s.value for s in TaskState]
_ERROR = {
    "description": "Why not",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    },
}
_JSON = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}


def _get(
    summary: str, params: list[dict[str, Any]], content: str = "application/json"
) -> dict[str, Any]:
    ok = (
        _JSON
        if content == "application/json"
        else {
            "description": "OK",
            "content": {content: {"schema": {"type": "string"}}},
        }
    )
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {"200": ok, "400": _ERROR, "404": _ERROR, "409": _ERROR},
        }
    }


def openapi(version: str) -> dict[str, Any]:
    """The document: every route of the API, its parameters and answers."""

    def act(action: str, what: str, on: dict[str, Any] = _RUN) -> dict[str, Any]:
        parameters = [on]
        if action == "retry":
            parameters.append(_param("from", "query", "Run this node and what follows again."))
        return {
            "post": {
                "summary": f"{what} (needs the access token, or a login and its CSRF token)",
                "parameters": parameters,
                "security": [{"bearer": []}],
                "responses": {
                    "200": _JSON,
                    "400": _ERROR,
                    "401": _ERROR,
                    "403": _ERROR,
                    "404": _ERROR,
                    "409": _ERROR,
                },
            }
        }

    actions = {
        "cancel": "Cancel a running or paused run",
        "pause": "Pause a running run",
        "resume": "Resume a run in this server's process",
        "retry": "Retry a failed run's failed tasks",
        "retry-failed-batches": "Run a failed batch run's failed batches again",
    }
    assert set(actions) == set(ACTIONS)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "volnux serve",
            "version": version,
            "description": "Runs recorded in a Volnux journal, and the actions on them.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/runs": _get(
                "Runs, newest first, filtered and paged",
                [
                    _param("state", "query", "Only runs in this state.", enum=_RUN_STATES),
                    _param("workflow", "query", "Only runs whose workflow's name holds this."),
                    _param(
                        "since",
                        "query",
                        "Only runs started on or after this day.",
                        format="date",
                    ),
                    _param(
                        "until",
                        "query",
                        "Only runs started on or before this day.",
                        format="date",
                    ),
                    *_PAGE,
                ],
            ),
            "/api/runs/{run_id}": _get(
                "A run: counts, a page of its tasks, the failure explained, what resume "
                "would do; a batch run's batches",
                [
                    _RUN,
                    _param("state", "query", "Only tasks in this state.", enum=_TASK_STATES),
                    *_PAGE,
                ],
            ),
            "/api/runs/{run_id}/tasks/{node}": _get(
                "One task: attempts, error and traceback, placement, logs, result",
                [_RUN, _param("node", "path", "The task's node id.")],
            ),
            "/api/runs/{run_id}/logs": _get(
                "The log lines of a run's tasks",
                [_RUN, _param("node", "query", "Only this task's lines.")],
            ),
            "/api/runs/{run_id}/graph.svg": _get(
                "The run's graph, tasks coloured by state (SVG)",
                [_RUN, _COLLAPSE],
                "image/svg+xml",
            ),
            "/api/runs/{run_id}/graph.dot": _get(
                "The run's graph as Graphviz DOT text", [_RUN, _COLLAPSE], "text/vnd.graphviz"
            ),
            **{f"/api/runs/{{run_id}}/{name}": act(name, what) for name, what in actions.items()},
            "/api/events": _get(
                "The events the project loads: versions, sources, deprecations, changelogs",
                [],
            ),
            "/api/schedules": _get(
                "The project's schedules: timing, next slots, paused, last run and its state",
                [],
            ),
            **{
                f"/api/schedules/{{name}}/{name}": act(name, what, _SCHEDULE)
                for name, what in (
                    ("pause", "Pause a schedule for every server of the journal"),
                    ("resume", "Let a paused schedule fire again, from now"),
                )
            },
            "/api/stream": _get(
                "Server-sent events: runs that changed (event 'runs'), or one run (event "
                "'run') with ?run=ID",
                [_param("run", "query", "Follow this run.")],
                "text/event-stream",
            ),
        },
    }

"""The ``volnux serve`` ASGI application (Starlette): pages, the JSON API, live events.

:func:`make_app` builds it over one open journal.  Reading needs nothing;
acting needs the access token (see :mod:`volnux.serve.auth`).  Routes:

* pages: ``/`` (runs), ``/runs/{id}``, ``/runs/{id}/tasks/{node}``, ``/schedules``,
  ``/events``, ``/login``;
* the API under ``/api`` (described at ``/api/openapi.json``);
* ``/api/stream``: server-sent events, read from the journal when a PostgreSQL
  journal tells of a change (LISTEN/NOTIFY), else every second;
* ``/static/...``: the stylesheet and the one script, shipped in the package.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import RenderError, ResumeRefused, RunNotFound, StoreError, VolnuxError
from ..query import describe_run, resolve_run_id
from ..store import Journal
from . import api, pages
from .actions import ACTIONS, ActionRefused, Runner
from .auth import COOKIE, CSRF_HEADER, Access, Refused
from .openapi import openapi

if TYPE_CHECKING:
    from ..schedules import Schedule
    from ..schedules.firing import Scheduler

__all__ = ["make_app"]

STATIC: Final = Path(__file__).with_name("static")
#: How often the live stream reads a journal that does not tell of changes, in seconds.
POLL_S: Final = 1.0
#: How often it reads one that does (PostgreSQL's ``journal.changes``) when told of
#: nothing: a notification is a hint, and one lost (the journal's listening
#: connection was down) costs this long at most.
CHANGES_POLL_S: Final = 5.0
#: Told of a change, the stream reads at once, then every CHANGES_GAP_S for as long
#: as it is told of more and CHANGES_HOT_S after: a busy run is read twice a second,
#: not at every write, and what was written just after a notified write (the journal
#: notifies a run's task records at most every 0.5 s) is read by a read that follows.
CHANGES_GAP_S: Final = 0.5
CHANGES_HOT_S: Final = 1.0
#: Runs the runs page's stream follows (the newest).
STREAMED_RUNS: Final = 50
#: What a page that only says no is titled, by status.
_TITLES: Final = {404: "Not found", 409: "Not now", 401: "Log in", 403: "Refused"}
#: The filters of a list of runs, and of a run's tasks.
_RUN_FILTERS: Final = ("state", "workflow", "since", "until", "offset", "limit")
_TASK_FILTERS: Final = ("state", "offset", "limit")


def make_app(
    journal: Journal,
    access: Access,
    *,
    version: str = "",
    events: Callable[[], list[dict[str, Any]]] | None = None,
    schedules: Callable[[], Sequence[Schedule]] | None = None,
    scheduler: Scheduler | None = None,
    fold_newest: bool = True,
) -> Starlette:
    """The web view over ``journal``; ``access`` says who may act; ``events`` gives
    the events the project loads, for the events page (the CLI reads them as
    ``volnux events list`` does; None: the page says none were loaded);
    ``schedules`` the project's schedules, for the schedules page, and
    ``scheduler`` fires them while the app runs (started and stopped with it);
    ``fold_newest``: keep the newest runs' task indexes folded in the background
    (see :mod:`.indexer`)."""
    runner = Runner(journal)
    stopping = threading.Event()

    def schedule_rows() -> dict[str, Any]:
        from ..schedules.firing import overview

        if schedules is None:
            return {"schedules": [], "error": None, "firing": False}
        try:
            rows = overview(journal, schedules())
        except VolnuxError as exc:  # a broken volnux.toml: say so on the page
            return {"schedules": [], "error": str(exc), "firing": scheduler is not None}
        return {"schedules": rows, "error": None, "firing": scheduler is not None}

    def schedule_named(name: str) -> Schedule:
        for schedule in schedules() if schedules is not None else ():
            if schedule.name == name:
                return schedule
        raise UnknownSchedule(f"no schedule {name!r}")

    def act_on_schedule(name: str, action: str, who: str) -> dict[str, Any]:
        from ..schedules.firing import pause_schedule

        if action not in ("pause", "resume"):
            raise api.BadQuery(f"a schedule is paused or resumed, not {action!r}")
        state = pause_schedule(journal, schedule_named(name), action == "pause", who)
        return {"schedule": name, "action": action, "paused": state.paused}

    def loaded_events() -> dict[str, Any]:
        if events is None:
            return {"events": [], "error": None}
        try:
            return {"events": events(), "error": None}
        except VolnuxError as exc:  # a broken events file: say so on the page
            return {"events": [], "error": str(exc)}

    def logged_in(request: Request) -> bool:
        return access.session_of(request.cookies.get(COOKIE)) is not None

    def page(request: Request, content: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(content, status_code=status)

    def flags(request: Request) -> dict[str, bool]:
        return {"logged_in": logged_in(request), "read_only": access.read_only}

    def failure(request: Request, exc: Exception) -> Response:
        """A VolnuxError as the answer it deserves, JSON for the API, a page otherwise."""
        status = 400
        if isinstance(exc, RunNotFound | KeyError | UnknownSchedule):
            status = 404
        elif isinstance(exc, ActionRefused | ResumeRefused | Ambiguous):
            status = 409
        elif isinstance(exc, Refused):
            status = exc.status
        message = exc.reason if isinstance(exc, Refused) else str(exc)
        if isinstance(exc, KeyError):
            message = f"no task {exc.args[0]!r} in this run"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        title = _TITLES.get(status, "Bad request")
        return page(request, pages.message_page(title, [message], **flags(request)), status)

    def guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                return handler(request)
            except (VolnuxError, KeyError, Refused) as exc:
                return failure(request, exc)

        run.__name__ = handler.__name__
        return run

    def run_id_of(request: Request) -> str:
        try:
            return resolve_run_id(journal, request.path_params["run_id"])
        except RunNotFound:
            raise
        except StoreError as exc:  # the start of several runs' ids: say which (409)
            raise Ambiguous(str(exc)) from None

    # -- pages -------------------------------------------------------------

    @guarded
    def runs_page(request: Request) -> Response:
        query = _filled(request.query_params)
        data = api.runs_json(journal, **_pick(query, *_RUN_FILTERS))
        return page(request, pages.runs_page(data, query, **flags(request)))

    @guarded
    def run_page(request: Request) -> Response:
        run_id = run_id_of(request)
        query = request.query_params
        data = api.run_json(journal, run_id, **_pick(_filled(query), *_TASK_FILTERS))
        csrf = access.csrf_token(request.cookies.get(COOKIE))
        notice = query.get("notice", "")
        error = runner.errors.get(run_id)
        if error:
            notice = f"{notice} (the server's last attempt to continue it: {error})".strip()
        html = pages.run_page(data, csrf=csrf, notice=notice, **flags(request))
        return page(request, html)

    @guarded
    def task_page(request: Request) -> Response:
        data = api.task_json(journal, run_id_of(request), request.path_params["node"])
        return page(request, pages.task_page(data, **flags(request)))

    async def act_form(request: Request) -> Response:
        form = await _form(request)
        action = str(form.get("action", ""))
        csrf = str(form.get("csrf", ""))
        node = str(form.get("from", "")) or None
        return await _in_thread(
            guarded(lambda req: _act_from_page(req, action, csrf, node)), request
        )

    def _act_from_page(request: Request, action: str, csrf: str, node: str | None) -> Response:
        run_id = run_id_of(request)
        via = access.check(None, request.cookies.get(COOKIE), csrf)
        try:
            done = runner.act(run_id, action, _client(request), via, node)
            notice = f"{action}: the run is {done['state']}"
        except (ActionRefused, ResumeRefused, StoreError) as exc:
            notice = f"{action} refused: {exc}"
        return RedirectResponse(f"/runs/{quote(run_id)}?notice={quote(notice)}", status_code=303)

    def login_form(request: Request) -> Response:
        return page(request, pages.login_page(_local(request.query_params.get("next", "/"))))

    async def login(request: Request) -> Response:
        form = await _form(request)
        target = _local(str(form.get("next", "/")))
        if access.read_only:
            return page(request, pages.login_page(target, "this server is read-only"), 403)
        if not access.token_matches(str(form.get("token", ""))):
            return page(request, pages.login_page(target, "that is not the access token"), 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, access.new_session(), httponly=True, samesite="strict", path="/"
        )
        return response

    def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- the API -----------------------------------------------------------

    @guarded
    def api_runs(request: Request) -> Response:
        query = dict(request.query_params)
        return JSONResponse(api.runs_json(journal, **_pick(query, *_RUN_FILTERS)))

    @guarded
    def api_run(request: Request) -> Response:
        query = dict(request.query_params)
        return JSONResponse(
            api.run_json(journal, run_id_of(request), **_pick(query, *_TASK_FILTERS))
        )

    @guarded
    def api_task(request: Request) -> Response:
        return JSONResponse(api.task_json(journal, run_id_of(request), request.path_params["node"]))

    @guarded
    def api_logs(request: Request) -> Response:
        node = request.query_params.get("node") or None
        entries = journal.logs(run_id_of(request), node)
        return JSONResponse(
            {
                "logs": [
                    {"node": e.node_id, "attempt": e.attempt, "at": e.at, "level": e.level,
                     "message": e.message}
                    for e in entries
                ]
            }
        )  # fmt: skip

    @guarded
    def api_graph(request: Request) -> Response:
        from ..observability.collapse import COLLAPSE_AT
        from ..observability.pictures import run_dot
        from ..observability.render import render
        from .graphs import big_run_dot
        from .indexer import ALL

        try:  # runs of this many alike tasks drawn as one (0 or 1: every task drawn)
            collapse = int(request.query_params.get("collapse", COLLAPSE_AT))
        except ValueError:
            raise api.BadQuery("collapse is a whole number (0: draw every task)") from None
        if collapse < 0:
            raise api.BadQuery("collapse is 0 or more")
        run_id = run_id_of(request)
        record = journal.load_run(run_id)
        threshold = collapse if collapse >= 2 else None
        dot = None
        if api.from_index(record):  # from the task index, not the whole run
            dot = big_run_dot(journal, record, threshold, ALL, api.unhandled(journal, record))
        if dot is None:
            detail = describe_run(journal, run_id)
            detail.graph()
            run = detail.run
            dot = run_dot(
                run.graph, run.tasks, title=f"{run.workflow}: run {run.id} {run.status}",
                failed_nodes=run.unhandled(), collapse=threshold,
            )  # fmt: skip
        if request.path_params["fmt"] == "dot":
            return PlainTextResponse(dot, media_type="text/vnd.graphviz")
        try:
            svg = render(dot, "svg")
        except RenderError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    @guarded
    def api_act(request: Request) -> Response:
        via = access.check(  # who asks first: a stranger learns nothing more
            request.headers.get("authorization"),
            request.cookies.get(COOKIE),
            request.headers.get(CSRF_HEADER),
        )
        action = request.url.path.rsplit("/", 1)[-1]
        run_id = run_id_of(request)
        node = request.query_params.get("from") or None
        return JSONResponse(runner.act(run_id, action, _client(request), via, node))

    def api_events(request: Request) -> Response:
        return JSONResponse(loaded_events())

    def events_page(request: Request) -> Response:
        return page(request, pages.events_page(loaded_events(), **flags(request)))

    @guarded
    def schedules_page(request: Request) -> Response:
        csrf = access.csrf_token(request.cookies.get(COOKIE))
        notice = request.query_params.get("notice", "")
        html = pages.schedules_page(schedule_rows(), csrf=csrf, notice=notice, **flags(request))
        return page(request, html)

    async def schedule_form(request: Request) -> Response:
        form = await _form(request)
        action, csrf = str(form.get("action", "")), str(form.get("csrf", ""))

        def act(request: Request) -> Response:
            name = request.path_params["name"]
            via = access.check(None, request.cookies.get(COOKIE), csrf)
            done = act_on_schedule(name, action, f"{_client(request)} ({via}) via volnux serve")
            notice = f"schedule {name} {'paused' if done['paused'] else 'resumed'}"
            return RedirectResponse(f"/schedules?notice={quote(notice)}", status_code=303)

        return await _in_thread(guarded(act), request)

    @guarded
    def api_schedules(request: Request) -> Response:
        return JSONResponse(schedule_rows())

    @guarded
    def api_schedule_act(request: Request) -> Response:
        via = access.check(
            request.headers.get("authorization"),
            request.cookies.get(COOKIE),
            request.headers.get(CSRF_HEADER),
        )
        action = request.url.path.rsplit("/", 1)[-1]
        who = f"{_client(request)} ({via}) via volnux serve"
        return JSONResponse(act_on_schedule(request.path_params["name"], action, who))

    def api_openapi(request: Request) -> Response:
        return JSONResponse(openapi(version))

    async def api_stream(request: Request) -> Response:
        run_id = request.query_params.get("run") or None
        try:
            # A test aid: end the stream after this many seconds (default: never).
            lasting = float(request.query_params.get("for", "0") or 0)
        except ValueError:
            return JSONResponse({"error": "for is a number of seconds"}, status_code=400)
        read = (lambda: _run_event(journal, run_id)) if run_id else (lambda: _runs_event(journal))
        changes = getattr(journal, "changes", None)  # PostgreSQL's; other journals are polled
        return StreamingResponse(
            _events(request, "run" if run_id else "runs", read, lasting, changes, run_id, stopping),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    routes = [
        Route("/", _threaded(runs_page)),
        Route("/runs/{run_id}", _threaded(run_page)),
        Route("/runs/{run_id}/tasks/{node:path}", _threaded(task_page)),
        Route("/runs/{run_id}/act", act_form, methods=["POST"]),
        Route("/events", _threaded(events_page)),
        Route("/schedules", _threaded(schedules_page)),
        Route("/schedules/{name}/act", schedule_form, methods=["POST"]),
        Route("/login", login_form),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/api/openapi.json", api_openapi),
        Route("/api/stream", api_stream),
        Route("/api/events", _threaded(api_events)),
        Route("/api/schedules", _threaded(api_schedules)),
        *(
            Route(
                f"/api/schedules/{{name}}/{action}", _threaded(api_schedule_act), methods=["POST"]
            )
            for action in ("pause", "resume")
        ),
        Route("/api/runs", _threaded(api_runs)),
        Route("/api/runs/{run_id}", _threaded(api_run)),
        Route("/api/runs/{run_id}/logs", _threaded(api_logs)),
        Route("/api/runs/{run_id}/graph.{fmt:str}", _threaded(api_graph)),
        Route("/api/runs/{run_id}/tasks/{node:path}", _threaded(api_task)),
        *(
            Route(f"/api/runs/{{run_id}}/{action}", _threaded(api_act), methods=["POST"])
            for action in ACTIONS
        ),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def not_there(request: Request, exc: Exception) -> Response:
        """404 and 405 as the API's JSON errors (pages: a page that says so)."""
        status = getattr(exc, "status_code", 404)
        headers = getattr(exc, "headers", None)  # a 405's Allow
        message = "no such route" if status == 404 else f"{request.method} is not allowed here"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status, headers=headers)
        html = pages.message_page(_TITLES.get(status, "Not allowed"), [message], **flags(request))
        return HTMLResponse(html, status_code=status, headers=headers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        import anyio.to_thread

        from .indexer import Indexer

        # Big runs among the newest are folded in the background, so that their
        # pages answer from the task index the first time they are opened.
        indexer = app.state.indexer = Indexer(journal, api.BIG_RUN)
        if fold_newest:
            indexer.start()
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                await anyio.to_thread.run_sync(scheduler.stop)
            await anyio.to_thread.run_sync(indexer.stop)

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_there, 405: not_there},
        lifespan=lifespan,
    )
    app.state.runner = runner
    #: Set when the server is asked to stop: open streams end (see cli/serve.py).
    app.state.stopping = stopping
    app.state.access = access
    return app


async def _form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (the pages' only kind), without python-multipart;
    empty for any other body, or one over 64 KiB."""
    from urllib.parse import parse_qsl

    kind = request.headers.get("content-type", "")
    if not kind.startswith("application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    if len(body) > 65536:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class UnknownSchedule(VolnuxError):
    """A schedule the configuration does not have (answered 404)."""


class Ambiguous(VolnuxError):
    """A run id's start that several runs share (answered 409, listing them)."""


def _pick(query: dict[str, str], *names: str) -> dict[str, str | None]:
    return {name: query.get(name) for name in names}


def _filled(query: Any) -> dict[str, str]:
    """A page's query without the fields its form left blank (the API refuses them)."""
    return {k: v for k, v in query.items() if v}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _local(path: str) -> str:
    """``path`` if it is a path on this server, else ``/`` (no open redirect)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _threaded(handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
    """An async endpoint running the (journal-reading) ``handler`` in a worker thread."""

    async def endpoint(request: Request) -> Response:
        return await _in_thread(handler, request)

    endpoint.__name__ = handler.__name__
    return endpoint


async def _in_thread(fn: Callable[..., Response], *args: Any) -> Response:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, *args)


async def _events(
    request: Request,
    name: str,
    read: Callable[[], Any],
    lasting: float,
    changes: Callable[[Callable[[str], None]], Callable[[], None]] | None = None,
    run_id: str | None = None,
    stopping: threading.Event | None = None,
) -> AsyncIterator[str]:
    """``event: NAME`` with ``read()``'s data each time it changes.

    With ``changes`` (the journal's subscription to changes of its runs), the
    journal is read when told of a change of run ``run_id`` (None: of any run),
    paced as CHANGES_GAP_S and CHANGES_HOT_S say, and every CHANGES_POLL_S when
    told of nothing; without, every POLL_S.  The stream ends when ``stopping``
    is set (the server was asked to stop), after its next read.
    """
    import anyio
    import anyio.to_thread

    told: _Told | None = None
    last: Any = None
    started = time.monotonic()
    hot_until = 0.0
    try:
        # Listening before the first read: whatever is written after it is told.
        told = await _Told.listen(changes, run_id)
        yield ": volnux serve\n\n"  # the stream is open
        while True:
            read_at = time.monotonic()
            try:
                data = await anyio.to_thread.run_sync(read)
            except VolnuxError as exc:
                yield f"event: error\ndata: {json.dumps({'error': str(exc)})}\n\n"
                return
            if data != last:
                changed = _changed(data, last) if name == "runs" else data
                if changed:
                    yield f"event: {name}\ndata: {json.dumps(changed)}\n\n"
                last = data
            if lasting and time.monotonic() - started >= lasting:
                return
            if await request.is_disconnected() or (stopping is not None and stopping.is_set()):
                return
            if told is None:
                await anyio.sleep(min(POLL_S, lasting) if lasting else POLL_S)
                continue
            hot = time.monotonic() < hot_until
            until = read_at + (CHANGES_GAP_S if hot else CHANGES_POLL_S)
            if lasting:
                until = min(until, started + lasting)
            if await told.wait(until - time.monotonic()):
                hot_until = time.monotonic() + CHANGES_HOT_S
                # Not sooner than CHANGES_GAP_S after the last read.
                gap_end = read_at + CHANGES_GAP_S
                await anyio.sleep(max(0.0, min(gap_end, until) - time.monotonic()))
    finally:
        if told is not None:
            told.stop()


class _Told:
    """What the journal's listening thread sets when a run a stream shows changed.

    The journal calls :meth:`heard` from a thread of its own; the stream waits
    in its event loop, which is handed the news with ``call_soon_threadsafe``.
    """

    def __init__(self, run_id: str | None) -> None:
        import asyncio

        self._loop = asyncio.get_running_loop()  # RuntimeError where asyncio does not run
        self._event = asyncio.Event()
        self._run_id = run_id
        #: Ends the subscription.
        self.stop: Callable[[], None] = lambda: None

    @classmethod
    async def listen(
        cls,
        changes: Callable[[Callable[[str], None]], Callable[[], None]] | None,
        run_id: str | None,
    ) -> _Told | None:
        """Subscribed to ``changes``, or None: the stream polls (no ``changes``,
        an event loop other than asyncio's, or the subscription failed)."""
        import anyio.to_thread

        if changes is None:
            return None
        try:
            told = cls(run_id)
        except RuntimeError:
            return None
        try:  # in a thread: the first subscriber waits for the journal to listen
            told.stop = await anyio.to_thread.run_sync(changes, told.heard)
        except VolnuxError:
            return None
        return told

    def heard(self, run_id: str) -> None:
        """Run ``run_id`` changed (``""``: any may have); called from the journal's thread."""
        if self._run_id is None or run_id in ("", self._run_id):
            with suppress(RuntimeError):  # the loop closed: the stream is gone
                self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, seconds: float) -> bool:
        """Whether told of a change within ``seconds`` (or since the last wait)."""
        import anyio

        with anyio.move_on_after(max(seconds, 0.0)):
            await self._event.wait()
        told = self._event.is_set()
        self._event.clear()
        return told


def _runs_event(journal: Journal) -> list[dict[str, Any]]:
    """The newest runs as the runs page shows them."""
    runs: list[dict[str, Any]] = api.runs_json(journal, limit=str(STREAMED_RUNS))["runs"]
    return runs


def _changed(runs: list[Any], before: list[Any] | None) -> list[Any]:
    """The runs that are new or changed since ``before`` (all of them the first time)."""
    if before is None:
        return runs
    seen = {r["id"]: r for r in before}
    return [r for r in runs if seen.get(r["id"]) != r]


def _run_event(journal: Journal, run_id: str) -> dict[str, Any]:
    """A run's state, counts and first tasks, for its page."""
    data = api.run_json(journal, run_id, limit=str(api.PAGE_SIZE))
    counts = data.get("counts") or data.get("batch", {}).get("counts", {})
    return {
        "id": data["id"],
        "state": data["state"],
        "ended": data["state"] not in ("running", "pending"),
        "counts_text": ", ".join(f"{n} {s}" for s, n in counts.items()),
        "tasks": [
            {"node": t["node"], "state": t["state"], "attempts": t["attempts"]}
            for t in data.get("tasks", [])
        ],
    }

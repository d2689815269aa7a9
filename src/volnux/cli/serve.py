"""``volnux serve``: the web view and its JSON API over a journal."""

from __future__ import annotations

import ipaddress
import os
import secrets
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from .app import app, fail, reported_errors
from .runs import StoreOption, journal_at

if TYPE_CHECKING:
    from ..schedules import Schedule

__all__: list[str] = []

#: Where the access token may be given instead of --token.
TOKEN_ENV: Final = "VOLNUX_SERVE_TOKEN"
#: Seconds open connections get to end when the server is asked to stop.
STOP_GRACE_S: Final = 8


@app.command()
def serve(
    store: StoreOption = None,
    host: Annotated[
        str, typer.Option("--host", help="The address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port.")] = 8737,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Show runs; refuse every action.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help=f"The access token actions need (default: ${TOKEN_ENV}, else one made now "
            "and printed).",
        ),
    ] = None,
    fire: Annotated[
        bool,
        typer.Option(
            "--schedules/--no-schedules",
            help="Fire the project's schedules ([schedules.NAME] of volnux.toml) while serving.",
        ),
    ] = True,
) -> None:
    """Serve the web view of the journal's runs, and its JSON API under /api."""
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        fail("volnux serve needs the serve extra: pip install 'volnux[serve]'")
    from ..serve.auth import Access

    given = token or os.environ.get(TOKEN_ENV) or None
    if not _loopback(host) and given is None and not read_only:
        fail(
            f"--host {host} is not a loopback address: anyone who can reach it could act on "
            f"your runs; give a token (--token or ${TOKEN_ENV}) or pass --read-only"
        )
    chosen = given or secrets.token_urlsafe(24)
    with reported_errors():
        try:
            access = Access(chosen, read_only=read_only)
        except ValueError as exc:
            fail(str(exc))
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("volnux")
    except PackageNotFoundError:  # run from a checkout
        ours = "dev"
    with journal_at(store) as journal:
        from ..serve.app import make_app
        from .events import project_config
        from .schedule import project_scheduler, reread_schedules

        with reported_errors():
            config = project_config(None)
        scheduler = None
        if fire and config.schedules:
            scheduler = project_scheduler(journal, config)
            typer.echo(f"firing {len(config.schedules)} schedule(s)", err=True)

        def schedules() -> tuple[Schedule, ...]:
            return reread_schedules(config.path, config)

        web = make_app(
            journal,
            access,
            version=ours,
            events=_project_events,
            schedules=schedules,
            scheduler=scheduler,
        )
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"volnux serve: http://{shown}:{port}/ over {journal.location}", err=True)
        if read_only:
            typer.echo("read-only: every action is refused", err=True)
        elif given is None:
            typer.echo(f"access token (for actions): {chosen}", err=True)
        # An open stream (a browser on a run's page) never ends of itself: on
        # Ctrl-C or SIGTERM the app is told (its streams end at their next read,
        # within 5 s), and a connection still open after STOP_GRACE_S is cut.
        settings = uvicorn.Config(
            web, host=host, port=port, log_level="warning", timeout_graceful_shutdown=STOP_GRACE_S
        )
        _run_server(web, settings)


def _run_server(web: Any, settings: Any) -> None:
    """uvicorn's server, telling the app (``web.state.stopping``) when asked to stop."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            web.state.stopping.set()
            super().handle_exit(sig, frame)

    Server(settings).run()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _project_events() -> list[dict[str, Any]]:
    """The project's events as ``volnux events list --json`` gives them, each version
    with its changelog and doc (read again on every call: edits show)."""
    from .events import event_rows, load_events, project_config

    return event_rows(load_events(project_config(None), None).registry)

"""``volnux lsp``: the language server editors start (docs/editors.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import EventsOption, app, fail

__all__: list[str] = []


@app.command()
def lsp(
    events: EventsOption = None,
    stdio: Annotated[
        bool,
        typer.Option(
            "--stdio",
            help="Talk over stdin and stdout (the default and only way; accepted because "
            "some clients pass it).",
        ),
    ] = True,
) -> None:
    """Serve an editor over stdio: diagnostics, hover, completion, definitions, formatting."""
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        fail("volnux lsp needs the lsp extra: pip install 'volnux[lsp]'")
    from ..lsp import serve

    serve(events or [])

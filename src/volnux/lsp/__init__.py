"""The language server behind ``volnux lsp``: an editor that knows your events.

Over stdio, for any editor with an LSP client (docs/editors.md): diagnostics
as ``volnux validate`` finds them, hover and completion from the project's
events, go-to-definition of an event, and formatting as ``volnux fmt`` does
it.  pygls and lsprotocol come with the ``lsp`` extra
(``pip install 'volnux[lsp]'``); nothing here imports them until
:func:`serve` runs.

The modules: :mod:`.text` (a tolerant tokenizer, and LSP positions),
:mod:`.project` (each project's events, loaded once and reloaded when a file
they come from changes), :mod:`.diagnostics`, :mod:`.complete`,
:mod:`.describe` (what hover says), and :mod:`.server` (the wiring).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["serve"]


def serve(events: Sequence[str] = ()) -> None:
    """Serve an editor on stdin and stdout; ``events`` are extra sources for every file."""
    from .server import serve as run

    run(events)

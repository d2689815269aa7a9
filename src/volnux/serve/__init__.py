"""``volnux serve``: an operator's web view of a journal, and a JSON API.

:func:`make_app` builds the ASGI application (Starlette; the ``serve`` extra)
over one journal; :class:`Access` holds the token actions need.  See
docs/serve.md.
"""

from __future__ import annotations

from .auth import Access

__all__ = ["Access", "make_app"]


def make_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """:func:`volnux.serve.app.make_app` (imports Starlette when called)."""
    from .app import make_app as build

    return build(*args, **kwargs)

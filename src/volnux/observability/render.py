"""Drawing DOT text as SVG, PNG or xdot with the Graphviz ``dot`` program.

The ``graphviz`` package runs the ``dot`` binary, which the operating system
provides (Debian/Ubuntu: ``apt-get install graphviz``).  Without it,
:func:`render` raises :class:`~volnux.errors.RenderError` saying so in one
line; DOT text itself never needs it.
"""

from __future__ import annotations

from ..errors import RenderError

__all__ = ["FORMATS", "INSTALL_HINT", "render"]

#: What :func:`render` can make.  ``dot`` is the text itself; ``xdot`` is DOT
#: with drawing operations (``_draw_`` ...) laid out by Graphviz.
FORMATS = ("dot", "xdot", "svg", "png")

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
)


def render(dot: str, fmt: str) -> bytes:
    """``dot`` drawn as ``fmt`` (one of :data:`FORMATS`); RenderError if it cannot be."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown picture format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "dot":
        return dot.encode("utf-8")
    import graphviz  # loads only when a picture is drawn

    try:
        data: bytes = graphviz.pipe("dot", fmt, dot.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise RenderError(
            f"drawing {fmt} needs the Graphviz 'dot' program, which is not on PATH; "
            f"{INSTALL_HINT}, or ask for -f dot"
        ) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"Graphviz could not draw the graph as {fmt}: "
            f"{detail[-1] if detail else f'dot exited with {exc.returncode}'}"
        ) from None
    return data

"""The ``volnux`` command line (``volnux run | validate | graph | fmt``)."""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``volnux`` console script."""
    # Imported here so that importing volnux.cli costs nothing until it runs.
    from .app import app

    app(prog_name="volnux")

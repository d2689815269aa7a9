"""An event's signature as people read it (``volnux events show``, the language server)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import EventSpec

__all__ = ["signature_text"]


def signature_text(spec: EventSpec) -> str:
    """``Name(param: type, ...) -> type`` as the event's author wrote it (``self``
    left out, Volnux's own types as ``volnux.Context``); ``Name(...)`` if Python
    cannot say."""
    try:
        sig = inspect.signature(spec.func)
    except (TypeError, ValueError):
        return f"{spec.name}(...)"
    params = list(sig.parameters.values())
    if spec.is_class and params and params[0].name == "self":
        params = params[1:]
    empty = inspect.Parameter.empty
    sig = sig.replace(
        parameters=[
            p if p.annotation is empty else p.replace(annotation=_Shown(p.annotation))
            for p in params
        ],
        return_annotation=(
            empty if sig.return_annotation is empty else _Shown(sig.return_annotation)
        ),
    )
    return f"{spec.name}{sig}"


class _Shown:
    """An annotation as a reader would write it: its text where the module keeps
    annotations as text (``from __future__ import annotations``), ``volnux.Context``
    rather than the module path."""

    def __init__(self, annotation: Any) -> None:
        if isinstance(annotation, str):
            self.text = annotation
        elif isinstance(annotation, type) and annotation.__module__.startswith("volnux."):
            self.text = f"volnux.{annotation.__qualname__}"
        else:
            self.text = inspect.formatannotation(annotation)

    def __repr__(self) -> str:
        return self.text

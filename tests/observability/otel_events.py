"""Events importable by name, so worker processes can unpickle them."""

from __future__ import annotations

import volnux


@volnux.event(executor="process")
def WhereAmI() -> dict[str, str]:
    """The trace context current inside the attempt (in a worker process)."""
    from opentelemetry import trace

    ids = trace.get_current_span().get_span_context()
    return {"trace_id": f"{ids.trace_id:032x}", "span_id": f"{ids.span_id:016x}"}

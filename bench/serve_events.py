"""The event bench/serve.py's runs are made of."""

from __future__ import annotations

import volnux


@volnux.event
def Step() -> int:
    return 1

"""Events for the batch run tests: parse a line, hash it, count; a failure on demand.

``effects`` (an input) names a file each attempt appends ``RUN NODE`` to, so
a test can tell which tasks executed, and how often.  ``fail`` (an input)
names a file: while it exists, the batches whose index it lists fail in
``Count``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import volnux


def _mark(effects: str, ctx: volnux.Context) -> None:
    if effects:  # one write of one short line: appends from threads do not interleave
        fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{ctx.run_id} {ctx.node_id}\n".encode())
        finally:
            os.close(fd)


@volnux.event
def Parse(batch: list, effects: str, ctx: volnux.Context) -> list:
    _mark(effects, ctx)
    return [line.split(",") for line in batch]


@volnux.event
def Hash(piped: list, effects: str, ctx: volnux.Context) -> list:
    _mark(effects, ctx)
    return [hashlib.sha256(",".join(row).encode()).hexdigest()[:12] for row in piped]


@volnux.event
def Count(piped: list, effects: str, ctx: volnux.Context, fail: str = "") -> dict:
    _mark(effects, ctx)
    if fail and os.path.exists(fail):
        bad = {int(x) for x in Path(fail).read_text().split()}
        if ctx.batch is not None and ctx.batch.index in bad:
            raise ValueError(f"batch {ctx.batch.index} is bad")
    info = ctx.batch
    return {
        "items": len(piped),
        "first": info.position.get("first_item") if info else None,
        "index": info.index if info else None,
        "size": info.size if info else None,
        "parent": info.parent if info else None,
        "digest": hashlib.sha256("".join(piped).encode()).hexdigest()[:12],
    }


WORKFLOW = "Parse |-> Hash |-> Count"

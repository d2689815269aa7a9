"""The events of bench/batch.py, and the per-item work both sides of it do.

Each item is a short CSV line (``id,name,amount``).  The work per item is
to check it has three fields, parse it with the ``csv`` module and derive a
key from it with PBKDF2-HMAC-SHA256 (a few rounds: the kind of per-record
hashing that pseudonymising or deduplicating data does), about 6 µs here.
The workflow does it in three events (``Check``, ``Keys``, ``Tally``); the
plain pool does exactly the same in one call per chunk (``chunk_work``).
"""

from __future__ import annotations

import csv
import hashlib

import volnux

#: PBKDF2 rounds per item (the work's size).
ROUNDS = 12
SALT = b"volnux-bench"


def item_key(line: str) -> bytes:
    """The per-item work: parse the line, derive its key."""
    row = next(csv.reader([line]))
    return hashlib.pbkdf2_hmac("sha256", "|".join(row).encode(), SALT, ROUNDS)


def malformed(lines: list[str]) -> int:
    """How many lines do not have three fields."""
    return sum(1 for line in lines if line.count(",") != 2)


def chunk_work(lines: list[str]) -> dict:
    """The workflow's three events' work on a chunk, as one plain call (the pool's)."""
    bad = malformed(lines)
    if bad:
        raise ValueError(f"{bad} malformed lines")
    items, digest = chunk_digest(lines)
    return {"items": items, "digest": digest}


def chunk_digest(lines: list[str]) -> tuple[int, str]:
    """(items, a digest of their keys in order): a chunk's work, as one call."""
    h = hashlib.sha256()
    for line in lines:
        h.update(item_key(line))
    return len(lines), h.hexdigest()


@volnux.event
def Check(batch: list) -> int:
    """Cheap: every line has three fields."""
    bad = malformed(batch)
    if bad:
        raise ValueError(f"{bad} malformed lines")
    return len(batch)


@volnux.event
def Keys(batch: list) -> list:
    """The per-item work: (items, digest)."""
    return list(chunk_digest(batch))


@volnux.event
def Tally(piped: list) -> dict:
    """A summary of the batch: its item count and digest."""
    return {"items": piped[0], "digest": piped[1]}


WORKFLOW = "Check -> Keys |-> Tally"

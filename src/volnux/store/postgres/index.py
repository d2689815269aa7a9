"""The PostgreSQL journal's task index: each task's latest state, for big runs' pages.

As in the SQLite journal (``task_index``, schema 8 there), readers fold the
batches written since their last fold into one row per task, and the
engine's writes stay as they are.  PostgreSQL refuses an upsert that
touches one row twice in a statement, so a fold keeps the last record of
each task among the new batches first (``DISTINCT ON``), with the time its
current round began (a window over the same records).
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg import sql

from ...errors import RunNotFound
from ...states import TaskState
from ..base import TaskRow

__all__ = ["TaskIndex"]

# A record is [node, round, attempt, state, at, descriptor, codec, result,
# error, ...] (see store/sqlite/records.py); a time written as a JSON integer is
# microseconds, one with a point or an exponent is seconds.
_FOLD: Final = """
    WITH r AS (
        SELECT t.num, t.seq, e.ord, e.v ->> 0 AS node, (e.v ->> 1)::bigint AS round,
               (e.v ->> 2)::bigint AS attempt, e.v ->> 3 AS state,
               CASE WHEN (e.v ->> 4) ~ '^-?[0-9]+$' THEN (e.v ->> 4)::float8 / 1e6
                    ELSE (e.v ->> 4)::float8 END AS at,
               CASE WHEN jsonb_typeof(e.v -> 8) = 'object'
                    THEN (e.v -> 8 ->> 'type') || ': ' || (e.v -> 8 ->> 'message') END AS error
        FROM {s}.task_records AS t,
             jsonb_array_elements(t.records::jsonb) WITH ORDINALITY AS e (v, ord)
        WHERE t.num = %(num)s AND t.seq > %(low)s AND t.seq <= %(high)s
    ), began AS (
        SELECT *, first_value(at) OVER (PARTITION BY node, round ORDER BY seq, ord) AS started
        FROM r
    ), last AS (
        SELECT DISTINCT ON (node) num, node, round, state, attempt, started, at, error
        FROM began ORDER BY node, seq DESC, ord DESC
    )
    INSERT INTO {s}.task_index AS i (num, node, round, state, attempt, started, at, error)
    SELECT num, node, round, state, attempt, started, at, error FROM last
    ON CONFLICT (num, node) DO UPDATE SET
        started = CASE WHEN excluded.round = i.round THEN i.started ELSE excluded.started END,
        round = excluded.round, state = excluded.state, attempt = excluded.attempt,
        at = excluded.at, error = excluded.error
"""
_RUN_NUM: Final = "SELECT num FROM {s}.runs WHERE id = %s"
# Folds of one run wait for each other (the row lock), so none folds twice.
_UPTO: Final = "SELECT upto FROM {s}.task_index_upto WHERE num = %s FOR UPDATE"
_START: Final = (
    "INSERT INTO {s}.task_index_upto (num, upto) VALUES (%s, 0) ON CONFLICT (num) DO NOTHING"
)
_LAST_SEQ: Final = "SELECT max(seq) FROM {s}.task_records WHERE num = %s AND seq > %s"
_FOLDED: Final = "UPDATE {s}.task_index_upto SET upto = %s WHERE num = %s"
_COUNTS: Final = "SELECT state, count(*) FROM {s}.task_index WHERE num = %s GROUP BY state"
_ROWS: Final = (
    "SELECT node, round, state, attempt, started, at, error FROM {s}.task_index"
    " WHERE num = %s AND (%s::text IS NULL OR state = %s)"
    " ORDER BY started, node LIMIT %s OFFSET %s"
)
_STATES: Final = {state.value: state for state in TaskState}


class TaskIndex:
    """The statements of one schema's task index; the journal runs them."""

    def __init__(self, schema: str, conn: psycopg.Connection[Any]) -> None:
        name = sql.Identifier(schema)

        def made(text: str) -> str:
            return sql.SQL(text).format(s=name).as_string(conn)

        self._fold, self._run_num, self._upto = made(_FOLD), made(_RUN_NUM), made(_UPTO)
        self._start, self._last_seq = made(_START), made(_LAST_SEQ)
        self._folded, self._counts, self._rows = made(_FOLDED), made(_COUNTS), made(_ROWS)

    def fold(self, conn: psycopg.Connection[Any], run_id: str, location: str) -> int:
        """Fold the run's batches written since the last fold; the run's number."""
        with conn.transaction():
            row = conn.execute(self._run_num, (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(run_id, location)
            num = int(row[0])
            conn.execute(self._start, (num,))
            low = int(conn.execute(self._upto, (num,)).fetchone()[0])  # type: ignore[index]
            high = conn.execute(self._last_seq, (num, low)).fetchone()[0]  # type: ignore[index]
            if high is not None:
                conn.execute(self._fold, {"num": num, "low": low, "high": high})
                conn.execute(self._folded, (high, num))
        return num

    def counts(self, conn: psycopg.Connection[Any], num: int) -> dict[str, int]:
        return {state: int(n) for state, n in conn.execute(self._counts, (num,)).fetchall()}

    def rows(
        self, conn: psycopg.Connection[Any], num: int, state: str | None, offset: int, limit: int
    ) -> list[TaskRow]:
        found = conn.execute(self._rows, (num, state, state, limit, offset)).fetchall()
        return [
            TaskRow(node, int(rnd), _STATES[st], int(att), float(began), float(at), err)
            for node, rnd, st, att, began, at, err in found
        ]

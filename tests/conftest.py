"""Settings for the whole suite."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.postgres_server import ENV, HOW_TO_FIX, NoServer, start_cluster

# The parser's caches (volnux.dsl.cache) go to a folder of this run's own, so
# that tests neither read nor fill the user's; child processes inherit it.
if "VOLNUX_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="volnux-test-cache-")
    os.environ["VOLNUX_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (no schema): $VOLNUX_TEST_POSTGRES's, or a
    throwaway cluster started for this session and stopped at its end."""
    import psycopg

    url = os.environ.get(ENV, "").strip()
    cluster = None
    if not url:
        try:
            cluster = start_cluster()
        except NoServer as exc:
            pytest.fail(str(exc), pytrace=False)
        url = cluster.url
    try:
        try:
            psycopg.connect(url, autocommit=True, connect_timeout=10).close()
        except psycopg.Error as exc:
            where = f"the server ${ENV} names" if cluster is None else "the throwaway server"
            pytest.fail(f"cannot connect to {where}: {exc}. {HOW_TO_FIX}", pytrace=False)
        yield url
    finally:
        if cluster is not None:
            cluster.stop()


@pytest.fixture(scope="session")
def postgres_admin(postgres_server: str) -> Iterator[Any]:
    """A connection of the tests' own (autocommit), to look at and damage schemas."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as conn:
        yield conn


@pytest.fixture
def postgres_schemas(postgres_server: str, postgres_admin: Any) -> Iterator[Callable[[], str]]:
    """Makes URLs of new schema names (``?schema=t_...``, not created); every schema
    made is dropped after the test."""
    from psycopg import sql

    names: list[str] = []
    joiner = "&" if "?" in postgres_server else "?"

    def new_url() -> str:
        names.append(f"t_{secrets.token_hex(6)}")
        return f"{postgres_server}{joiner}schema={names[-1]}"

    yield new_url
    for name in names:
        postgres_admin.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
        )


@pytest.fixture
def postgres_url(postgres_schemas: Callable[[], str]) -> str:
    """The URL of a schema of this test's own (made when a journal opens it)."""
    return postgres_schemas()

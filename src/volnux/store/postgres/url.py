"""``postgresql://`` and ``postgres://`` URLs: the server for libpq, our options, no secrets.

The form is libpq's own::

    postgresql://[user[:password]@][host][:port][/dbname][?option=value&...]

The URL goes to libpq as it was written, less Volnux's options, so the
credentials come from where ``psql`` finds them: the URL, libpq's environment
(``PGPASSWORD``, ``PGSERVICE``, ``PGUSER`` ...) or ``~/.pgpass``.  Volnux's
options are ``schema`` (the schema of the journal's tables, ``volnux`` by
default) and ``synchronous_commit`` (see
:class:`~volnux.store.postgres.journal.PostgresJournal`); libpq's own in
:data:`LIBPQ_OPTIONS` pass through.  Any other option is refused, by name:
a misspelt ``schema`` must not send runs to the default schema.

Nothing here may show a password.  :func:`parse_url` gives a ``location``
(the URL less its password and most of libpq's options: what ``repr``,
messages and the CLI show) and the ``secrets`` to scrub from libpq's messages, which can
quote a piece of a malformed URL.  Special characters in a user name or
password must be percent-encoded (``%40`` for ``@``, ``%2F`` for ``/``): an
``@`` that libpq would read as part of the host is refused before libpq sees
it, as libpq's error would quote the rest of the password.

This module does not import psycopg: a URL is read, and refused, the same
whether or not the ``postgres`` extra is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args
from urllib.parse import unquote

from ...errors import StoreError

if TYPE_CHECKING:
    from .journal import PostgresJournal

__all__ = [
    "DEFAULT_SCHEMA",
    "INSTALL_HINT",
    "LIBPQ_OPTIONS",
    "SynchronousCommit",
    "Target",
    "check_schema",
    "open_url",
    "parse_url",
    "scrub",
]

#: What the PostgreSQL journal needs and how to get it.
INSTALL_HINT: Final = "the PostgreSQL journal needs psycopg 3: pip install 'volnux[postgres]'"

#: The schema of the journal's tables when the URL names none.
DEFAULT_SCHEMA: Final = "volnux"

#: How long a call that lost its connection tries to connect again (seconds).
DEFAULT_RECONNECT_S: Final = 30.0

#: PostgreSQL's values of ``synchronous_commit`` (see PostgresJournal).
SynchronousCommit = Literal["on", "off", "local", "remote_write", "remote_apply"]
_SYNCHRONOUS_COMMIT: Final[tuple[str, ...]] = get_args(SynchronousCommit)

#: Lower-case letters, digits and underscores, not starting with a digit, at
#: most 63 bytes (PostgreSQL's limit): a name that needs no quoting to be
#: read back the same, although it is quoted anyway.
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")

#: libpq's connection options a URL may carry besides Volnux's.  Passwords
#: (``password``, ``sslpassword``) are not among them: in a query string they
#: are too easily shown; put one in the user part, PGPASSWORD or ~/.pgpass.
LIBPQ_OPTIONS: Final = frozenset(
    {
        "application_name", "channel_binding", "connect_timeout", "dbname", "gssencmode",
        "host", "hostaddr", "keepalives", "keepalives_count", "keepalives_idle",
        "keepalives_interval", "krbsrvname", "load_balance_hosts", "options", "passfile",
        "port", "require_auth", "service", "sslcert", "sslcrl", "sslcrldir", "sslkey",
        "sslmode", "sslrootcert", "sslsni", "target_session_attrs", "tcp_user_timeout", "user",
    }
)  # fmt: skip

#: libpq's options that say which server and database: shown in ``location``.
_WHERE_OPTIONS: Final = ("service", "host", "hostaddr", "port", "dbname", "user")

_SECRET_OPTIONS: Final = frozenset({"password", "sslpassword"})
#: An option's name as it may be shown in a message (anything else is not echoed:
#: a password with an unencoded "?" or "&" would end up here).
_OPTION_NAME: Final = re.compile(r"[a-z_]{1,40}")
_FORM: Final = "postgresql://user@host:port/dbname?schema=NAME"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a PostgreSQL journal lives, read from its URL.

    ``conninfo`` is what libpq is given, password included: never show it.
    ``location`` is the URL for people (no password, of libpq's options only
    those that name the server, the schema always named); ``secrets`` are the
    password as written and percent-decoded, to scrub from any message that
    might quote them.
    """

    conninfo: str
    location: str
    schema: str
    synchronous_commit: SynchronousCommit
    libpq_options: frozenset[str]
    secrets: tuple[str, ...]
    #: How long (seconds) a call that lost its connection tries to connect again
    #: before it gives up (``?reconnect_s=``; 0: at once).
    reconnect_s: float = DEFAULT_RECONNECT_S


def open_url(url: str, rest: str, *, create: bool = True) -> PostgresJournal:
    """A PostgreSQL journal from a ``postgresql://`` or ``postgres://`` URL.

    ``rest`` (what follows the scheme) is not used: the whole URL goes to libpq.
    """
    target = parse_url(url)  # refuses a bad URL whether or not psycopg is installed
    try:
        from .journal import PostgresJournal
    except ImportError as exc:
        if exc.name != "psycopg":
            raise
        raise StoreError(f"cannot open the journal at {target.location}: {exc}") from exc
    return PostgresJournal(target, create=create)


def parse_url(
    url: str, *, schema: str | None = None, synchronous_commit: str | None = None
) -> Target:
    """Read ``url``; ``schema`` and ``synchronous_commit``, when given, win over the URL's.

    Raises :class:`~volnux.errors.StoreError` (showing no password) for a URL
    that is not a PostgreSQL URL, an unknown option or a bad value.
    """
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        # Only the scheme is shown: what follows may hold a password.
        raise StoreError(
            f"cannot open a journal at {text.partition(':')[0][:20]}:...: write {_FORM}"
        )
    scheme = scheme.lower()
    userinfo, after = _split_userinfo(rest)
    user, _, password = (userinfo or "").partition(":")
    secrets = tuple(dict.fromkeys(s for s in (password, unquote(password)) if s))
    server, _, query = after.partition("?")
    if "@" in server:
        raise StoreError(
            f"cannot open a journal at {scheme}://...: the URL holds an '@' past its user name. "
            "Percent-encode '@', '/', ':' and '?' in a user name or password (%40, %2F, %3A, %3F)"
        )
    shown = f"{scheme}://{user + '@' if user else ''}{server}"
    found_schema, found_sync, found_reconnect, passed = _read_options(query, shown)
    try:
        reconnect_s = float(found_reconnect) if found_reconnect is not None else None
    except ValueError:
        reconnect_s = -1.0
    if reconnect_s is not None and not 0 <= reconnect_s <= 86_400:
        raise StoreError(
            f"cannot open a journal at {shown}: reconnect_s must be a number of seconds "
            f"from 0 to 86400, not {found_reconnect!r}"
        )
    if schema is None:
        schema = found_schema if found_schema is not None else DEFAULT_SCHEMA
    check_schema(schema)
    sync = synchronous_commit if synchronous_commit is not None else found_sync or "on"
    if sync not in _SYNCHRONOUS_COMMIT:
        raise StoreError(
            f"cannot open a journal at {shown}: synchronous_commit must be one of "
            f"{', '.join(_SYNCHRONOUS_COMMIT)}, not {sync!r}"
        )
    credentials = f"{userinfo}@" if userinfo is not None else ""
    pairs = "&".join(pair for _, pair in passed)
    where = [pair for key, pair in passed if key in _WHERE_OPTIONS]
    return Target(
        conninfo=f"{scheme}://{credentials}{server}" + (f"?{pairs}" if pairs else ""),
        location=f"{shown}?{'&'.join([*where, f'schema={schema}'])}",
        schema=schema,
        synchronous_commit=sync,  # type: ignore[arg-type]  # checked just above
        libpq_options=frozenset(key for key, _ in passed),
        secrets=secrets,
        reconnect_s=DEFAULT_RECONNECT_S if reconnect_s is None else reconnect_s,
    )


def check_schema(name: str) -> str:
    """``name`` if it is a schema name Volnux uses; StoreError saying why not otherwise."""
    if not _SCHEMA_NAME.fullmatch(name):
        raise StoreError(
            f"the schema name {name[:80]!r} is not allowed: use 1 to 63 lower-case letters, "
            "digits and underscores, not starting with a digit (e.g. ?schema=volnux_prod)"
        )
    if name.startswith("pg_"):
        raise StoreError(
            f"the schema name {name!r} is not allowed: names starting with pg_ are PostgreSQL's"
        )
    return name


def scrub(message: str, secrets: tuple[str, ...]) -> str:
    """``message`` with every secret in it replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """``(user[:password] or None, the rest)`` of what follows ``scheme://``.

    As libpq reads it: the credentials end at the first ``@`` before the
    first ``/``.
    """
    head = rest.partition("/")[0]
    at = head.find("@")
    if at < 0:
        return None, rest
    return rest[:at], rest[at + 1 :]


def _read_options(
    query: str, shown: str
) -> tuple[str | None, str | None, str | None, list[tuple[str, str]]]:
    """``(schema, synchronous_commit, reconnect_s, libpq's (name, pair) as written)`` of a
    query string."""
    schema = sync = reconnect = None
    passed: list[tuple[str, str]] = []
    for pair in filter(None, query.split("&")):
        raw_key, _, raw_value = pair.partition("=")
        key = unquote(raw_key)
        if key == "schema":
            schema = unquote(raw_value)
        elif key == "synchronous_commit":
            sync = unquote(raw_value).lower()
        elif key == "reconnect_s":
            reconnect = unquote(raw_value)
        elif key in LIBPQ_OPTIONS:
            passed.append((key, pair))
        elif key in _SECRET_OPTIONS:
            raise StoreError(
                f"cannot open a journal at {shown}: a {key} does not belong in the query string "
                "(it would be shown); put it in the URL (user:password@host), in PGPASSWORD "
                "or in ~/.pgpass"
            )
        elif _OPTION_NAME.fullmatch(key):
            raise StoreError(
                f"cannot open a journal at {shown}: unknown option {key!r} (Volnux's are schema, "
                "synchronous_commit and reconnect_s; libpq's connection options pass through)"
            )
        else:
            raise StoreError(
                f"cannot open a journal at {shown}: its query string is malformed; percent-encode "
                "'?', '&' and '=' in a user name or password"
            )
    return schema, sync, reconnect, passed

"""Who may act through ``volnux serve``: the access token, logins and CSRF tokens.

Reading is open to whoever can reach the server (it binds to 127.0.0.1 by
default).  Acting (resume, retry, cancel, pause) needs the token the server
prints when it starts (or ``VOLNUX_SERVE_TOKEN``), either

* as ``Authorization: Bearer TOKEN`` (scripts; a browser never sends it on
  its own, so no CSRF token is needed), or
* through a login (``POST /login`` with the token), which sets an HTTP-only,
  ``SameSite=Strict`` session cookie; every request that changes state with
  that cookie must also carry the session's CSRF token (a form field
  ``csrf`` or the header ``X-CSRF-Token``), which only the server's own
  pages know.  A plain cross-site POST therefore never acts.

Sessions and CSRF tokens are HMACs under a key made when the server starts:
a restart logs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

__all__ = ["COOKIE", "CSRF_HEADER", "Access", "Refused"]

#: The session cookie's name.
COOKIE: Final = "volnux_session"
#: The header a page's scripts send the CSRF token in.
CSRF_HEADER: Final = "x-csrf-token"


class Refused(Exception):
    """An action refused: ``status`` (401, 403) and why, for the response."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Access:
    """The server's token and whether it acts at all (``read_only``)."""

    def __init__(self, token: str, *, read_only: bool = False) -> None:
        if len(token) < 8:
            raise ValueError("an access token needs at least 8 characters")
        self.token = token
        self.read_only = read_only
        self._key = secrets.token_bytes(32)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        """Whether ``given`` is the token (compared in constant time)."""
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def new_session(self) -> str:
        """A session cookie's value: a random id and its signature."""
        session = secrets.token_urlsafe(18)
        return f"{session}.{self._sign('session:' + session)}"

    def session_of(self, cookie: str | None) -> str | None:
        """The session id of a cookie this server signed; None for any other value."""
        if not cookie or "." not in cookie:
            return None
        session, _, signature = cookie.partition(".")
        if hmac.compare_digest(signature, self._sign("session:" + session)):
            return session
        return None

    def csrf_token(self, cookie: str | None) -> str:
        """The CSRF token of the session in ``cookie`` ("" without a valid session)."""
        session = self.session_of(cookie)
        return self._sign("csrf:" + session) if session else ""

    def check(self, authorization: str | None, cookie: str | None, csrf: str | None) -> str:
        """How an action proves it may act (``bearer`` or ``session``); :class:`Refused`
        (401 without proof, 403 with a bad one or on a read-only server) otherwise."""
        if self.read_only:
            raise Refused(403, "this server is read-only (started with --read-only)")
        if authorization:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.token_matches(given.strip()):
                return "bearer"
            raise Refused(401, "the bearer token is not this server's access token")
        if self.session_of(cookie) is not None:
            expected = self.csrf_token(cookie)
            if csrf and hmac.compare_digest(csrf, expected):
                return "session"
            raise Refused(403, "the request's CSRF token is missing or wrong: act from the pages")
        raise Refused(
            401,
            "acting needs the server's access token: send 'Authorization: Bearer TOKEN', "
            "or log in at /login",
        )

"""CSRF protection for every UI request that changes something: the form field ``csrf_token`` (or the header
``X-CSRF-Token``, which ``ara.js`` adds to htmx requests) must equal the ``ara_csrf`` cookie, compared in
constant time, and a cross-origin ``Origin`` is refused. It works before login too (the login form itself)."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from ara.errors import PermissionDenied
from ara.server.auth import SAFE_METHODS
from ara.server.ui.cookies import CSRF_COOKIE

FIELD = "csrf_token"
HEADER = "x-csrf-token"
STATE_KEY = "ara_csrf_token"
REFUSED = "The form expired or came from another site (CSRF check failed): reload the page and try again."


def csrf_token(request: Request) -> str:
    """This browser's token (its cookie's value), or a new one that ``render`` sets as the cookie."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, STATE_KEY, None)
    if not token:
        token = secrets.token_urlsafe(32)
        setattr(request.state, STATE_KEY, token)
    return token


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not sent by this client (browsers send it with every form POST)
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or ""
    return urlsplit(origin).netloc == host


async def check_csrf(request: Request) -> None:
    """Router dependency of every UI route: safe methods pass; anything else needs the token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(FIELD, ""))
    if not expected or not sent or not hmac.compare_digest(expected, sent) or not _same_origin(request):
        raise PermissionDenied(REFUSED)

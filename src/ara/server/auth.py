"""Who is calling: HTTP basic (password verified once, then cached) or a bearer token.

Reads and writes are open unless ``read_login_required`` / ``write_login_required`` say otherwise, as in ARA.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request
from sqlalchemy.orm import Session

from ara.errors import Unauthenticated
from ara.server.state import AppState
from ara.users.service import Identity

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_CREDENTIALS = "Authentication credentials were not provided."
BAD_CREDENTIALS = "Invalid username/password."


def identify(state: AppState, session: Session, authorization: str | None) -> Identity | None:
    """The caller's identity, ``None`` when no credentials were sent; bad credentials raise."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            username, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Invalid basic header. Credentials not correctly base64 encoded.") from None
        identity = state.credentials.check_password(session, username, password)
    elif scheme in ("bearer", "token"):
        identity = state.credentials.check_token(session, value.strip())
    else:
        return None
    if identity is None:
        raise Unauthenticated(BAD_CREDENTIALS)
    return identity


def login_required(state: AppState, method: str) -> bool:
    auth = state.settings.auth
    return auth.read_login_required if method in SAFE_METHODS else auth.write_login_required


def authenticate(request: Request, state: AppState, session: Session) -> Identity | None:
    """Checks credentials when sent (a wrong password is refused even where login is optional)."""
    identity = identify(state, session, request.headers.get("authorization"))
    if identity is None and login_required(state, request.method):
        raise Unauthenticated(NO_CREDENTIALS)
    return identity

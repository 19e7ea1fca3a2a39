"""The web UI's logins: a random cookie value per browser, stored as sha256 with an expiry. One indexed read per
page resolves it to the same ``Identity`` a password or a token gives, so pages and the API share one notion of
who is calling and what their role allows."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.errors import ValidationFailed
from ara.users.models import User, WebSession
from ara.users.service import Identity

COOKIE_PREFIX = "ara_ws_"
_HANDLE = re.compile(r"[0-9a-f]{16}")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def open_web_session(session: Session, user_id: int, lifetime: dt.timedelta) -> str:
    """A new login for the user; returns the cookie's value (only its digest is stored). Expired logins of
    everyone are swept here, so the table holds only live ones."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires <= now))
    value = COOKIE_PREFIX + secrets.token_urlsafe(32)
    session.add(WebSession(id=_digest(value), user_id=user_id, created=now, expires=now + lifetime))
    session.flush()
    return value


def web_session_identity(session: Session, value: str) -> Identity | None:
    """The active user logged in with this cookie value; None when unknown, expired or the user is inactive."""
    if not value.startswith(COOKIE_PREFIX):
        return None
    row = session.execute(
        select(User.id, User.username, User.role, User.teams)
        .join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.id == _digest(value), WebSession.expires > utcnow(), User.is_active.is_(True))
    ).first()
    return Identity(row.id, row.username, row.role, tuple(row.teams or ())) if row else None


def close_web_session(session: Session, value: str) -> None:
    """Logout: the cookie is refused from the next request on."""
    session.execute(delete(WebSession).where(WebSession.id == _digest(value)))


def session_handle(value: str) -> str:
    """A short public name of a login (a prefix of its digest): enough to pick one on the account page, useless
    as a credential."""
    return _digest(value)[:16]


def list_web_sessions(session: Session, user_id: int, limit: int = 50) -> tuple[list[WebSession], int]:
    """The user's live logins, newest first (at most ``limit``), and how many there are."""
    live = (WebSession.user_id == user_id) & (WebSession.expires > utcnow())
    total = session.scalar(select(func.count()).select_from(WebSession).where(live)) or 0
    rows = session.scalars(select(WebSession).where(live).order_by(WebSession.created.desc()).limit(limit))
    return list(rows), total


def close_user_sessions(session: Session, user_id: int, *, handle: str = "", keep: str = "") -> int:
    """Log out the user's login named ``handle``, or (no handle) all of them but the cookie ``keep``."""
    if handle and not _HANDLE.fullmatch(handle):
        raise ValidationFailed({"session": ["not a login of yours"]})
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if handle:
        query = query.where(WebSession.id.startswith(handle, autoescape=True))
    elif keep:
        query = query.where(WebSession.id != _digest(keep))
    return session.execute(query).rowcount  # type: ignore[attr-defined,no-any-return]

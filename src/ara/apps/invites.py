"""Inviting people to an app by email: the token is shown once (stored as sha256) and, accepted by the logged-in
user with that email, gives them the role (never lowering one they already hold)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.apps.access import at_least, role_of
from ara.apps.models import App, AppInvite, AppMember
from ara.db.types import iso, utcnow
from ara.db.upsert import insert_missing
from ara.errors import Expired, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from ara.users.models import User
from ara.users.service import create_user

INVITABLE = ("viewer", "operator", "editor")
MAX_HOURS = 720
TOKEN_PREFIX = "ara_inv_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invite(session: Session, app: App, inviter_id: int, body: dict[str, Any]) -> tuple[str, AppInvite]:
    """``{email, role, expires_in_hours}`` (the SDK sends viewer and 168): the token (once) and the row."""
    unknown = sorted(set(body) - {"email", "role", "expires_in_hours"})
    if unknown:
        raise ValidationFailed({field: ["unknown field"] for field in unknown})
    email = body.get("email")
    if not isinstance(email, str) or "@" not in email.strip() or len(email) > 255 or any(c.isspace() for c in email):
        raise ValidationFailed({"email": ["an email address"]})
    role = body.get("role", "viewer")
    if role not in INVITABLE:
        raise ValidationFailed({"role": [f"one of {', '.join(INVITABLE)}"]})
    hours = body.get("expires_in_hours", 168)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        raise ValidationFailed({"expires_in_hours": [f"an integer from 1 to {MAX_HOURS}"]})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = AppInvite(
        app_id=app.id,
        email=email.strip().lower(),
        role=role,
        token_hash=_digest(token),
        invited_by=inviter_id,
        expires_at=utcnow() + dt.timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return token, row


def accept_invite(session: Session, token: Any, user_id: int, username: str) -> tuple[AppInvite, str]:
    """The invite's app and the role the user now holds there."""
    if not isinstance(token, str) or not token.strip():
        raise ValidationFailed({"token": ["the invite token"]})
    wanted = _digest(token.strip())
    row = session.scalar(select(AppInvite).where(AppInvite.token_hash == wanted).with_for_update())
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        raise NotFound("no such invite")
    if row.email != username.strip().lower():
        raise PermissionDenied("this invite is for another email address")
    if row.accepted_at is not None:
        raise InvalidTransition("this invite was accepted already")
    if row.expires_at <= utcnow():
        raise Expired("this invite has expired: ask for a new one")
    row.accepted_at = utcnow()
    # ON CONFLICT DO NOTHING: a concurrent accept (another invite to the same app) may have made the row first.
    member_row = {"app_id": row.app_id, "user_id": user_id, "role": row.role}
    insert_missing(session, AppMember.__table__, [member_row], ("app_id", "user_id"))
    held = role_of(session, row.app_id, user_id)
    assert held is not None
    if not at_least(held, row.role):
        member = session.scalar(select(AppMember).where(AppMember.app_id == row.app_id, AppMember.user_id == user_id))
        assert member is not None
        member.role = held = row.role
    session.flush()
    return row, held


def find_invite(session: Session, token: str) -> tuple[AppInvite, App]:
    """An invite still open for acceptance and its app: unknown is ``NotFound`` (404), used or past its date is
    ``Expired`` (410), so the invite page can say which."""
    row = session.scalar(select(AppInvite).where(AppInvite.token_hash == _digest(token.strip()))) if token else None
    app = session.get(App, row.app_id) if row is not None else None
    if row is None or app is None:
        raise NotFound("no such invite: check the link, or ask for a new one")
    if row.accepted_at is not None:
        raise Expired("this invite was accepted already: log in instead")
    if row.expires_at <= utcnow():
        raise Expired("this invite has expired: ask for a new one")
    return row, app


MIN_PASSWORD = 8


def sign_up(session: Session, token: str, password: str, again: str) -> tuple[User, AppInvite, str]:
    """A new person accepts: their account is made with the invited email as its username (a viewer on the
    server; the invite's role on its app), in the same transaction as the acceptance."""
    row, _app = find_invite(session, token)
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed({"password": [f"at least {MIN_PASSWORD} characters"]})
    if password != again:
        raise ValidationFailed({"password_again": ["the two passwords differ"]})
    if session.scalar(select(User.id).where(User.username == row.email)) is not None:
        raise ValidationFailed({"email": ["an account with this email exists already: log in to accept"]})
    user = create_user(session, username=row.email, password=password, role="viewer")
    accepted, role = accept_invite(session, token, user.id, user.username)
    return user, accepted, role


def describe(row: AppInvite, token: str | None = None, accept_url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "app_id": row.app_id,
        "email": row.email,
        "role": row.role,
        "expires_at": iso(row.expires_at),
        "accepted_at": iso(row.accepted_at),
    }
    if token is not None:
        out |= {"token": token, "accept_url": accept_url}
    return out

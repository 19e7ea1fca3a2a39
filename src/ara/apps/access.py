"""Who may call an app: its members' roles for the control plane, its keys for the invoke routes.

An app that is not yours does not exist for you (404); a role too weak for what is asked is 403. The invoke
routes (``/v1/apps/...``) take an app key, not a user key, so the auth middleware leaves them to
``invoke_caller``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.apps import keys
from ara.apps.models import App, AppKey, AppMember
from ara.errors import NotFound, PermissionDenied, Unauthenticated
from ara.users.models import User
from ara.users.service import identity_for_token

#: Roles on an app, weakest first; a role may do what the roles before it may.
ROLES = ("viewer", "operator", "editor", "owner")
#: The weakest role that may invoke the app with its user key instead of an app key.
INVOKER = "operator"
NO_KEY = "a valid key of this app is required (X-Ara-App-Key, or Authorization: Bearer <runtime key>)"


@dataclass(frozen=True)
class Caller:
    """Who called an invoke route: through which app key (None: a member's user key)."""

    app_id: str
    key_id: str | None
    user_id: int | None


def at_least(role: str, minimum: str) -> bool:
    return ROLES.index(role) >= ROLES.index(minimum)


def role_of(session: Session, app_id: str, user_id: int) -> str | None:
    return session.scalar(select(AppMember.role).where(AppMember.app_id == app_id, AppMember.user_id == user_id))


def app_for_member(session: Session, app_id: str, user_id: int, minimum: str = "viewer") -> App:
    """The app if ``user_id`` holds at least ``minimum`` on it; NotFound when they hold no role at all (an app
    that is not yours does not exist for you), PermissionDenied when the role is too weak."""
    app = session.get(App, app_id)
    role = role_of(session, app_id, user_id) if app is not None else None
    if app is None or role is None:
        raise NotFound(f"no app {app_id!r}")
    if not at_least(role, minimum):
        raise PermissionDenied(f"your role on this app is {role}: this needs {minimum} or above")
    return app


def invoke_caller(
    session: Session,
    app_id: str,
    *,
    authorization: str | None,
    app_key: str | None,
    now: dt.datetime | None = None,
) -> Caller:
    """Checks ``X-Ara-App-Key`` or ``Authorization: Bearer <runtime key>`` (an app member's user key with at least
    ``operator`` is accepted too) for ``app_id`` and spends one of the key's requests this minute: Unauthenticated
    (401) without a valid key of this app, RateLimited (429) past its ``requests_per_minute``, NotFound (404) for
    an unknown app. ``now``: the moment whose minute is charged (tests).

    The count is one row per key and minute, locked until the caller's transaction ends: commit soon after (before
    waiting for a run), or every other request with this key waits too."""
    if session.get(App, app_id) is None:
        raise NotFound(f"no app {app_id!r}")
    if app_key and app_key.strip():
        key = keys.find_active(session, app_id, app_key.strip(), kind=keys.HEADER)
        if key is None:
            raise Unauthenticated(NO_KEY)
        keys.spend(session, key, now)
        return Caller(app_id, key.id, None)
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(NO_KEY)
    key = keys.find_active(session, app_id, token, kind=keys.RUNTIME)
    if key is not None:
        keys.spend(session, key, now)
        return Caller(app_id, key.id, None)
    identity = identity_for_token(session, token)
    if identity is None:
        raise Unauthenticated(NO_KEY)
    app_for_member(session, app_id, identity.user_id, INVOKER)
    return Caller(app_id, None, identity.user_id)


def still_admits(session: Session, caller: Caller) -> bool:
    """Whether what let ``caller`` in still would (a cheap read, no request spent): its key is active, or the
    member is an active user who still holds ``INVOKER``. A long-lived answer (the log stream) asks again."""
    if session.get(App, caller.app_id) is None:
        return False
    if caller.key_id is not None:
        key = session.get(AppKey, caller.key_id, populate_existing=True)
        return key is not None and key.is_active and key.app_id == caller.app_id
    if caller.user_id is None:
        return False
    user = session.get(User, caller.user_id, populate_existing=True)
    role = role_of(session, caller.app_id, caller.user_id)
    return user is not None and user.is_active and role is not None and at_least(role, INVOKER)

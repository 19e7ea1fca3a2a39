"""Who may call an app: its members' roles for the control plane, its keys for the invoke routes.

OWNED BY the control-plane part (interface fixed here; bodies are theirs)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ara.apps.models import App

#: Roles on an app, weakest first; a role may do what the roles before it may.
ROLES = ("viewer", "operator", "editor", "owner")


@dataclass(frozen=True)
class Caller:
    """Who called an invoke route: through which app key (None: a member's user key)."""

    app_id: str
    key_id: str | None
    user_id: int | None


def app_for_member(session: Session, app_id: str, user_id: int, minimum: str = "viewer") -> App:
    """The app if ``user_id`` holds at least ``minimum`` on it; NotFound when they hold no role at all (an app
    that is not yours does not exist for you), PermissionDenied when the role is too weak."""
    raise NotImplementedError


def invoke_caller(session: Session, app_id: str, *, authorization: str | None, app_key: str | None) -> Caller:
    """Checks ``X-Ara-App-Key`` or ``Authorization: Bearer <runtime key>`` (an app member's user key with at least
    ``operator`` is accepted too) for ``app_id`` and spends one of the key's requests this minute: Unauthenticated
    (401) without a valid key of this app, RateLimited (429) past its ``requests_per_minute``, NotFound (404) for
    an unknown app."""
    raise NotImplementedError

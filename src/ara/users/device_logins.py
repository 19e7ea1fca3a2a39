"""The CLI's browser login, as ``ara-sdk``'s ``ara auth login --auth-flow poll`` runs it (and ours does):

1. the CLI starts a login with a PKCE challenge and gets a link, a session id and a poll token;
2. a logged-in person opens the link (``/ui/device/{id}``) and approves or denies;
3. the CLI's next poll gets a one-use authorization code (approved), or the refusal;
4. the CLI trades the code and its PKCE verifier for an access token (an ``ApiToken`` that expires) and a
   refresh token; refreshing replaces both.

Poll tokens, codes and refresh tokens are 256-bit random strings stored only as sha256, so a copy of the
database logs nobody in. The verifier is checked in constant time, and a code works once: the login is
``consumed`` by the exchange, in the same transaction that mints the tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.errors import Expired, InvalidTransition, NotFound, ValidationFailed
from ara.users.models import ApiToken, DeviceLogin, RefreshToken, User
from ara.users.service import mint_token

# What ``GET /auth/cli/config`` answers as ``supabase_anon_key``: the SDK insists on one and sends it back as an
# ``apikey`` header. It grants nothing (Supabase's anon key is public too), so it is a constant, not a secret.
ANON_KEY = "ara-public-anon-key"
PENDING, APPROVED, DENIED, CONSUMED, EXPIRED = "pending", "approved", "denied", "consumed", "expired"
POLL_INTERVAL_SECONDS = 2
ACCESS_TOKEN_NAME = "CLI login"
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")  # RFC 7636: base64url, no padding
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
INVALID_GRANT = "is not valid (unknown, expired or already used)"


@dataclass(frozen=True)
class Lifetimes:
    """How long a login waits for approval, and how long its tokens last (``AuthSettings``)."""

    login: dt.timedelta
    access: dt.timedelta
    refresh: dt.timedelta


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires: dt.datetime
    user_id: int
    username: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(sha256(verifier)) without padding (RFC 7636 4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode("ascii").rstrip("=")


def start_login(
    session: Session, body: dict[str, Any], *, client: str, redirect_uri: str, longest: dt.timedelta
) -> tuple[DeviceLogin, str]:
    """``{provider, code_challenge, code_challenge_method, timeout_seconds}`` as the SDK sends it: the new login
    and its poll token (returned once). It waits ``timeout_seconds`` for approval, at most ``longest``."""
    challenge = body.get("code_challenge")
    if not isinstance(challenge, str) or not _CHALLENGE.match(challenge):
        raise ValidationFailed({"code_challenge": ["a PKCE S256 challenge: 43 to 128 base64url characters"]})
    method = body.get("code_challenge_method", "s256")
    if not isinstance(method, str) or method.lower() != "s256":
        raise ValidationFailed({"code_challenge_method": ["only s256 is supported"]})
    provider = body.get("provider", "ara")
    if not isinstance(provider, str) or not provider.strip() or len(provider) > 64:
        raise ValidationFailed({"provider": ["a name of at most 64 characters"]})
    timeout = body.get("timeout_seconds", 180)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValidationFailed({"timeout_seconds": ["a positive integer"]})
    now = utcnow()
    session.execute(delete(DeviceLogin).where(DeviceLogin.expires <= now - dt.timedelta(hours=1)))
    poll_token = "ara_poll_" + secrets.token_urlsafe(32)
    login_id = secrets.token_urlsafe(18)
    row = DeviceLogin(
        id=login_id,
        poll_sha256=_digest(poll_token),
        code_challenge=challenge,
        provider=provider.strip(),
        client=client[:255],
        redirect_uri=redirect_uri,
        status=PENDING,
        created=now,
        # ara-sdk polls for at least 30 s whatever it asked for: the login lives that long too.
        expires=now + min(dt.timedelta(seconds=max(timeout, 30)), longest),
    )
    session.add(row)
    session.flush()
    return row, poll_token


def get_login(session: Session, login_id: str) -> DeviceLogin:
    row = session.get(DeviceLogin, login_id) if login_id else None
    if row is None:
        raise NotFound("no such login request")
    return row


def status_of(row: DeviceLogin) -> str:
    """The status a poll reports: an undecided or unexchanged login past its deadline is ``expired``."""
    if row.status in (PENDING, APPROVED) and row.expires <= utcnow():
        return EXPIRED
    return row.status


def poll(session: Session, login_id: str, poll_token: str) -> dict[str, Any]:
    """What ``GET /auth/cli/device/status`` answers. Once approved, each poll hands out a fresh one-use code
    (only its digest is kept, and it replaces the previous one), so the code never rests in the database."""
    row = session.scalar(select(DeviceLogin).where(DeviceLogin.id == login_id).with_for_update())
    if row is None or not poll_token or not hmac.compare_digest(row.poll_sha256, _digest(poll_token)):
        raise NotFound("no such login request (check session_id and poll_token)")
    status = status_of(row)
    if status == APPROVED:
        code = "ara_code_" + secrets.token_urlsafe(32)
        row.code_sha256 = _digest(code)
        session.flush()
        return {"status": APPROVED, "auth_code": code, "redirect_uri": row.redirect_uri, "state": row.id}
    if status == DENIED:
        return {"status": DENIED, "error": "access_denied", "error_description": "the login was denied in the browser"}
    return {"status": status}


def decide(session: Session, login_id: str, user_id: int, *, approve: bool) -> DeviceLogin:
    """The person on the approval page approves (the CLI logs in as them) or denies; once only."""
    row = session.scalar(select(DeviceLogin).where(DeviceLogin.id == login_id).with_for_update())
    if row is None:
        raise NotFound("no such login request")
    status = status_of(row)
    if status == EXPIRED:
        raise Expired("this login request has expired: run `ara auth login` again")
    if status != PENDING:
        raise InvalidTransition(f"this login request was {status} already")
    row.status = APPROVED if approve else DENIED
    row.user_id = user_id if approve else None
    session.flush()
    return row


def exchange_code(session: Session, body: dict[str, Any], lifetimes: Lifetimes) -> IssuedTokens:
    """``grant_type=pkce``: ``{auth_code, code_verifier, redirect_uri}`` for the tokens; the login is consumed.
    The access token is named after the client that asked, so the account page tells logins apart."""
    code, verifier, redirect_uri = (body.get(key) for key in ("auth_code", "code_verifier", "redirect_uri"))
    if not isinstance(code, str) or not code:
        raise ValidationFailed({"auth_code": ["the code from the approved login"]})
    if not isinstance(verifier, str) or not _VERIFIER.match(verifier):
        raise ValidationFailed({"code_verifier": ["the PKCE verifier: 43 to 128 unreserved characters"]})
    row = session.scalar(select(DeviceLogin).where(DeviceLogin.code_sha256 == _digest(code)).with_for_update())
    if row is None or status_of(row) != APPROVED or row.user_id is None:
        raise ValidationFailed({"auth_code": [INVALID_GRANT]})
    if not isinstance(redirect_uri, str) or not hmac.compare_digest(redirect_uri, row.redirect_uri):
        raise ValidationFailed({"redirect_uri": ["does not match the login's redirect_uri"]})
    if not hmac.compare_digest(pkce_challenge(verifier), row.code_challenge):
        raise ValidationFailed({"code_verifier": ["does not match the login's code_challenge"]})
    row.status = CONSUMED
    row.code_sha256 = None
    return _issue(session, row.user_id, lifetimes, f"{ACCESS_TOKEN_NAME} ({row.client})"[:255])


def refresh(session: Session, body: dict[str, Any], lifetimes: Lifetimes) -> IssuedTokens:
    """``grant_type=refresh_token``: new access and refresh tokens; the old pair stops working at once."""
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise ValidationFailed({"refresh_token": ["the refresh token of a CLI login"]})
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_sha256 == _digest(token)).with_for_update())
    if row is None or row.expires <= utcnow():
        raise ValidationFailed({"refresh_token": [INVALID_GRANT]})
    access = session.get(ApiToken, row.api_token_id)
    name = access.name if access is not None else ACCESS_TOKEN_NAME
    user_id = row.user_id
    session.execute(delete(ApiToken).where(ApiToken.id == row.api_token_id))  # its refresh token goes with it
    session.execute(delete(RefreshToken).where(RefreshToken.id == row.id))
    return _issue(session, user_id, lifetimes, name)


def _sweep(session: Session, now: dt.datetime) -> None:
    """Drop refresh tokens past their date, and expired access tokens nothing can renew any more, so the
    tables hold only what still works."""
    session.execute(delete(RefreshToken).where(RefreshToken.expires <= now))
    renewable = select(RefreshToken.id).where(RefreshToken.api_token_id == ApiToken.id).exists()
    session.execute(delete(ApiToken).where(ApiToken.expires <= now, ~renewable))


def _issue(session: Session, user_id: int, lifetimes: Lifetimes, name: str) -> IssuedTokens:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed({"user": ["this account is not active"]})
    now = utcnow()
    _sweep(session, now)
    expires = now + lifetimes.access
    access, access_row = mint_token(session, user_id, name, expires=expires)
    refresh_token = "ara_refresh_" + secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_sha256=_digest(refresh_token),
            user_id=user_id,
            api_token_id=access_row.id,
            created=now,
            expires=now + lifetimes.refresh,
        )
    )
    session.flush()
    return IssuedTokens(access, refresh_token, expires, user_id, user.username)

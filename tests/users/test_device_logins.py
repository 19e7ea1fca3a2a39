"""The device login's service on SQLite and PostgreSQL: expired tokens are refused, revoking an access token
takes its refresh token with it, and what can no longer work is swept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import utcnow
from ara.errors import ValidationFailed
from ara.settings import Settings
from ara.users import device_logins
from ara.users.models import ApiToken, RefreshToken
from ara.users.service import create_user, identity_for_token, revoke_token_id

LIFETIMES = device_logins.Lifetimes(
    login=dt.timedelta(minutes=10), access=dt.timedelta(hours=1), refresh=dt.timedelta(days=1)
)


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine, write=True)
    try:
        with unit_of_work(factory) as session:
            yield session
    finally:
        engine.dispose()


def _approved_tokens(session: Session, username: str = "erin") -> device_logins.IssuedTokens:
    user = create_user(session, username=username, password="pw-123456", role="operator")
    verifier = "v" * 64
    login, poll_token = device_logins.start_login(
        session,
        {"code_challenge": device_logins.pkce_challenge(verifier)},
        client="test",
        redirect_uri="http://x/auth/cli/callback",
        longest=LIFETIMES.login,
    )
    device_logins.decide(session, login.id, user.id, approve=True)
    code = device_logins.poll(session, login.id, poll_token)["auth_code"]
    body = {"auth_code": code, "code_verifier": verifier, "redirect_uri": "http://x/auth/cli/callback"}
    return device_logins.exchange_code(session, body, LIFETIMES)


def test_expired_access_and_refresh_tokens_are_refused(db: Session) -> None:
    tokens = _approved_tokens(db)
    assert identity_for_token(db, tokens.access_token) is not None
    db.query(ApiToken).update({ApiToken.expires: utcnow() - dt.timedelta(seconds=1)})
    assert identity_for_token(db, tokens.access_token) is None
    db.query(RefreshToken).update({RefreshToken.expires: utcnow() - dt.timedelta(seconds=1)})
    with pytest.raises(ValidationFailed) as refused:
        device_logins.refresh(db, {"refresh_token": tokens.refresh_token}, LIFETIMES)
    assert "refresh_token" in refused.value.detail


def test_revoking_the_access_token_revokes_its_refresh_token(db: Session) -> None:
    tokens = _approved_tokens(db)
    access = db.scalar(select(ApiToken).where(ApiToken.expires.is_not(None)))
    assert access is not None and db.scalar(select(func.count()).select_from(RefreshToken)) == 1
    revoke_token_id(db, access.user_id, access.id)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(RefreshToken)) == 0
    with pytest.raises(ValidationFailed):
        device_logins.refresh(db, {"refresh_token": tokens.refresh_token}, LIFETIMES)


def test_a_new_login_sweeps_what_can_no_longer_work(db: Session) -> None:
    _approved_tokens(db)
    past = utcnow() - dt.timedelta(seconds=1)
    db.query(ApiToken).update({ApiToken.expires: past})
    db.query(RefreshToken).update({RefreshToken.expires: past})
    fresh = _approved_tokens(db, "frank")
    db.expire_all()
    live = db.scalars(select(ApiToken.id)).all()
    assert len(live) == 1 and identity_for_token(db, fresh.access_token) is not None
    assert db.scalar(select(func.count()).select_from(RefreshToken)) == 1

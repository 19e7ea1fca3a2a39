"""Users (argon2 password hashes) and API tokens (stored as sha256, shown once)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ara.db.base import Base, BigId
from ara.db.types import UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), default="admin")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None: until revoked. Set on the short-lived access tokens of a browser-approved CLI login.
    expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class WebSession(Base):
    """A browser's login (the web UI's session cookie): only the sha256 of the cookie's value is stored, so a
    copy of the database logs nobody in. Deleted at logout; refused after ``expires``."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's value
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class DeviceLogin(Base):
    """A CLI asking to log in through the browser (``ara auth login``'s poll flow): the CLI holds the poll
    token and the PKCE verifier, a logged-in person approves or denies it on ``/ui/device/{id}``. Only digests
    of the poll token and of the one-use authorization code are stored."""

    __tablename__ = "device_logins"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # public: it is in the approval link
    poll_sha256: Mapped[str] = mapped_column(String(64))
    code_challenge: Mapped[str] = mapped_column(String(128))  # S256 of the CLI's code verifier
    provider: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(255))  # who asked (address and user agent), shown on approval
    redirect_uri: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, denied, consumed
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class RefreshToken(Base):
    """Renews a CLI login's access token (an expiring ``ApiToken``); one use: refreshing replaces both. Deleting
    the access token (revoked on ``/ui/account``, rotated) deletes its refresh token with it."""

    __tablename__ = "refresh_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime)

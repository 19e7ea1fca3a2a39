"""Create users and tokens, and check credentials: each password is hashed with argon2 and verified once,
then cached by a keyed digest for a while (ARA issue 283: hashing on every request made runs 2-3x slower)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Select, String, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ara.db.session import connection_of
from ara.db.types import UTCDateTime, utcnow
from ara.errors import AlreadyExists, InvalidTransition, NotFound, ValidationFailed
from ara.users.login_throttle import LoginThrottle
from ara.users.models import ApiToken, User
from ara.users.schemas import MAX_USERNAME

ROLES = ("viewer", "operator", "approver", "admin")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Identity:
    user_id: int
    username: str
    role: str
    teams: tuple[str, ...] = ()
    # Set when the caller is an app run acting as its app's owner (``ara.apps.run_keys``): only some paths admit it.
    app_id: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session, *, username: str, password: str, role: str = "admin", teams: list[str] | None = None
) -> User:
    if not username.strip():
        raise ValidationFailed({"username": ["This field may not be blank."]})
    if len(username) > MAX_USERNAME or "\x00" in username:
        raise ValidationFailed({"username": [f"at most {MAX_USERNAME} characters, no NUL"]})
    if not password:
        raise ValidationFailed({"password": ["This field may not be blank."]})
    if role not in ROLES:
        raise ValidationFailed({"role": [f'"{role}" is not a valid choice ({", ".join(ROLES)}).']})
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AlreadyExists(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role, teams=list(teams or []))
    session.add(user)
    session.flush()
    return user


def _get(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def _keep_an_admin(session: Session, user: User, change: str) -> None:
    """Refuse to leave no active admin (nobody could manage users any more). Every active admin's row is locked
    in id order (PostgreSQL; SQLite writes are serialised): of two admins removing each other at once, the second
    waits for the first, then sees it is the last one."""
    if user.role != "admin" or not user.is_active:
        return
    admins = session.scalars(
        select(User.id).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id).with_for_update()
    ).all()
    if not [admin for admin in admins if admin != user.id]:
        raise InvalidTransition(
            f"{user.username} is the last active admin and cannot be {change}: make another admin first"
        )


def remove_user(session: Session, username: str) -> None:
    user = _get(session, username)
    _keep_an_admin(session, user, "removed")
    session.delete(user)


def update_user(session: Session, username: str, *, role: str | None = None, is_active: bool | None = None) -> User:
    """Change a user's role or (de)activate them; takes effect on their next request, whatever is cached."""
    user = _get(session, username)
    if role is not None and role not in ROLES:
        raise ValidationFailed({"role": [f'"{role}" is not a valid choice ({", ".join(ROLES)}).']})
    if role is not None and role != "admin":
        _keep_an_admin(session, user, "demoted")
    if is_active is False:
        _keep_an_admin(session, user, "deactivated")
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def create_token(session: Session, *, username: str, name: str) -> str:
    """Returns the token text; only its sha256 is stored."""
    return mint_token(session, _get(session, username).id, name)[0]


def mint_token(session: Session, user_id: int, name: str, expires: dt.datetime | None = None) -> tuple[str, ApiToken]:
    """A new token for the user: its text (shown once) and its row; ``expires`` None: valid until revoked."""
    token = "ara_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name[:255], token_sha256=_sha256(token), user_id=user_id, expires=expires)
    session.add(row)
    session.flush()
    return token, row


def revoke_token(session: Session, user_id: int, token: str) -> ApiToken | None:
    """Deletes the user's token with this text (refused from the next request on); the row, or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha256(token), ApiToken.user_id == user_id))
    if row is not None:
        session.delete(row)
        session.flush()
    return row


def list_tokens(session: Session, user_id: int, *, offset: int = 0, limit: int = 50) -> tuple[list[ApiToken], int]:
    """One page of the user's live tokens (newest first) and how many there are; expired ones are left out."""
    live = (ApiToken.user_id == user_id) & or_(ApiToken.expires.is_(None), ApiToken.expires > utcnow())
    total = session.scalar(select(func.count()).select_from(ApiToken).where(live)) or 0
    rows = session.scalars(select(ApiToken).where(live).order_by(ApiToken.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def revoke_token_id(session: Session, user_id: int, token_id: int) -> ApiToken:
    """Deletes one of the user's own tokens by id (another user's is ``NotFound``, as if it did not exist)."""
    row = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))
    if row is None:
        raise NotFound("no such API key")
    session.delete(row)
    session.flush()
    return row


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SlowCheckNeeded(Exception):
    """The answer needs an argon2 verification: not on the event loop."""


class CredentialChecker:
    """Verifies basic-auth passwords and bearer tokens. A good password's argon2 verification is remembered for
    ``ttl`` seconds, but every request still reads the user's row (one indexed read): a user removed or
    deactivated by another process (``ara user remove``), or whose password changed, is refused at once, and a
    new role applies at once."""

    MAX_ENTRIES = 4096  # expired entries are swept when the cache grows past this

    def __init__(self, ttl: float, throttle: LoginThrottle) -> None:
        self.ttl = ttl
        self.throttle = throttle
        self._key = secrets.token_bytes(32)  # the cache holds keyed digests, never passwords
        self._cache: dict[bytes, tuple[float, str]] = {}  # digest -> (expiry, the password hash it matched)
        self._lock = threading.Lock()

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def check_password(
        self, db: Session | Connection, username: str, password: str, *, slow_ok: bool = True
    ) -> Identity | None:
        """``slow_ok=False``: raise ``SlowCheckNeeded`` instead of running argon2 (about 50 ms of CPU), for a caller
        on the event loop, which then asks again from a thread. A password not verified a moment ago is checked only
        while the name is not throttled (``LoginThrottle``: RateLimited)."""
        digest = self._digest(username, password)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        row = connection_of(db).execute(_password_query(), {"username": username}).first()
        if (
            row is not None
            and cached is not None
            and cached[0] > now
            and hmac.compare_digest(cached[1], row.password_hash)
        ):
            return _identity(row)
        self.throttle.check(username)
        if not slow_ok:
            raise SlowCheckNeeded
        if row is None:
            _spend_a_verification(password)  # an unknown name costs as long as a wrong password
            self._refused(digest, username)
            return None
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            self._refused(digest, username)
            return None
        self.throttle.succeeded(username)
        with self._lock:
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[digest] = (now + self.ttl, row.password_hash)
        return _identity(row)

    def check_token(self, db: Session | Connection, token: str) -> Identity | None:
        return identity_for_token(db, token)

    def _refused(self, digest: bytes, username: str) -> None:
        self._drop(digest)
        self.throttle.failed(username)

    def _drop(self, digest: bytes) -> None:
        with self._lock:
            self._cache.pop(digest, None)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def identity_for_token(db: Session | Connection, token: str) -> Identity | None:
    """The active user holding this bearer token (None: no such token); tokens need no cache (one sha256)."""
    row = connection_of(db).execute(_token_query(), {"digest": _sha256(token), "now": utcnow()}).first()
    return _identity(row) if row else None


# Every authenticated request runs one of these two reads: built once (bound parameters) and run as Core on the
# session's connection, since building the statement and the ORM's execution cost more than the query itself.
@functools.cache
def _token_query() -> Select[Any]:
    return (
        select(User.id, User.username, User.role, User.teams)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_sha256 == bindparam("digest", type_=String),
            User.is_active.is_(True),
            or_(ApiToken.expires.is_(None), ApiToken.expires > bindparam("now", type_=UTCDateTime)),
        )
    )


@functools.cache
def _password_query() -> Select[Any]:
    return select(User.id, User.username, User.role, User.teams, User.password_hash).where(
        User.username == bindparam("username", type_=String), User.is_active.is_(True)
    )


def _identity(row: Any) -> Identity:
    return Identity(row.id, row.username, row.role, tuple(row.teams or ()))


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def _spend_a_verification(password: str) -> None:
    try:
        _hasher.verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        pass


BOOTSTRAP_ADMIN = "admin@local"


def ensure_bootstrap_admin(session: Session, *, loopback: bool, password: str = "") -> str | None:
    """Make sure ``admin@local`` exists. Its password is ``admin`` only while the server listens on loopback;
    elsewhere one must be configured. Returns a notice to print, or None when nothing was done."""
    if session.scalar(select(User.id).where(User.username == BOOTSTRAP_ADMIN)) is not None:
        return None
    if not password:
        if not loopback:
            raise ValidationFailed(
                {"ARA_AUTH__ADMIN_PASSWORD": ["set a password for admin@local before listening beyond loopback"]}
            )
        password = "admin"
    create_user(session, username=BOOTSTRAP_ADMIN, password=password, role="admin")
    if password == "admin":
        return "Created admin@local with password 'admin' (loopback only: set ARA_AUTH__ADMIN_PASSWORD to change it)"
    return "Created admin@local with the configured ARA_AUTH__ADMIN_PASSWORD"

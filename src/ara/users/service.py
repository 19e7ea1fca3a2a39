"""Create users and tokens, and check credentials: each password is hashed with argon2 and verified once,
then cached by a keyed digest for a while (ARA issue 283: hashing on every request made runs 2-3x slower)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.errors import AlreadyExists, NotFound, ValidationFailed
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


def remove_user(session: Session, username: str) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    session.delete(user)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def create_token(session: Session, *, username: str, name: str) -> str:
    """Returns the token text; only its sha256 is stored."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    token = "ara_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_sha256=_sha256(token), user_id=user.id))
    session.flush()
    return token


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CredentialChecker:
    """Verifies basic-auth passwords and bearer tokens; remembers good passwords for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._key = secrets.token_bytes(32)  # the cache holds keyed digests, never passwords
        self._cache: dict[bytes, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def check_password(self, session: Session, username: str, password: str) -> Identity | None:
        digest = self._digest(username, password)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached and cached[0] > now:
            return cached[1]
        user = session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
        if user is None:
            _spend_a_verification(password)  # an unknown name costs as long as a wrong password
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        identity = Identity(user.id, user.username, user.role, tuple(user.teams or ()))
        with self._lock:
            self._cache[digest] = (now + self.ttl, identity)
        return identity

    def check_token(self, session: Session, token: str) -> Identity | None:
        row = session.execute(
            select(User.id, User.username, User.role, User.teams)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_sha256 == _sha256(token), User.is_active.is_(True))
        ).first()
        return Identity(row.id, row.username, row.role, tuple(row.teams or ())) if row else None

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


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

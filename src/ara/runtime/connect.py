"""Connect tokens: how ``ara connect`` turns a one-time link into an SSH shell in the user's session.

``POST /session/connect/token`` mints a connect token (10 minutes, one use) for the caller's running session;
``POST /session/connect/exchange`` spends it with the caller's SSH public key and returns a proxy token that
``ara ssh-proxy`` presents on ``/session/ssh/proxy``, where only that public key is let in. Both are stored as
sha256 digests, never as text; a proxy token is good while its session runs, for at most ``PROXY_TTL``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import asyncssh
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ara.db.types import iso, utcnow
from ara.errors import Expired, InvalidTransition, Unauthenticated, ValidationFailed
from ara.runtime.models import SESSION_RUNNING, ConnectToken, RuntimeSession
from ara.runtime.workspace import SANDBOX_WORKSPACE

KIND_CONNECT = "connect"
KIND_PROXY = "proxy"
CONNECT_TTL = dt.timedelta(minutes=10)
PROXY_TTL = dt.timedelta(hours=24)
# Expired rows are deleted this long after they expired (so a late ``exchange`` still says "expired", not "wrong").
KEEP_EXPIRED = dt.timedelta(days=1)
HOST_ALIAS = "ara-personal"
SSH_USER = "root"
BAD_CONNECT_TOKEN = "invalid connect token: mint a new one with POST /session/connect/token"
BAD_PROXY_TOKEN = "invalid or expired SSH proxy token: run `ara connect` again with a new connect token"


@dataclass(frozen=True)
class ProxyGrant:
    """What a valid proxy token admits: the owner's running session, for the one public key given at exchange."""

    user_id: int
    session_id: str
    public_key: asyncssh.SSHKey
    network: bool


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mint_connect_token(session: Session, runtime_session: RuntimeSession) -> tuple[str, dt.datetime]:
    """A new one-time connect token for ``runtime_session`` (a running one, the caller's); returns its text, shown
    only this once, and when it expires. Rows expired for a day are swept here."""
    now = utcnow()
    session.execute(delete(ConnectToken).where(ConnectToken.expires_at < now - KEEP_EXPIRED))
    token = secrets.token_urlsafe(32)
    expires_at = now + CONNECT_TTL
    session.add(
        ConnectToken(
            token_sha256=digest(token),
            kind=KIND_CONNECT,
            user_id=runtime_session.user_id,
            session_id=runtime_session.id,
            expires_at=expires_at,
        )
    )
    return token, expires_at


def connect_uri(token: str) -> str:
    return f"ara://connect?token={token}"


def parse_public_key(text: str, comment: str = "") -> str:
    """The OpenSSH public key line to store (``ssh-ed25519 AAAA... comment``), or a 400 naming ``public_key``."""
    try:
        key = asyncssh.import_public_key(text.strip())
    except (asyncssh.KeyImportError, ValueError, TypeError) as exc:
        raise ValidationFailed({"public_key": [f"not an OpenSSH public key: {exc}"]}) from None
    line = key.export_public_key("openssh").decode("ascii").strip()
    fields = line.split()[:2]
    label = " ".join(comment.split())
    return " ".join(fields + ([label] if label else []))


def exchange(session: Session, *, user_id: int, token: str, public_key: str, key_comment: str) -> dict[str, Any]:
    """Spend the caller's connect token for a proxy token admitting ``public_key``. Another user's token is as
    unknown as a wrong one (401); a spent one is 409, an expired one 410; a stopped session 409 (start it and
    mint a new token). Spending is one conditional update, so of two exchanges racing only one gets a proxy."""
    key_line = parse_public_key(public_key, key_comment)
    row = session.get(ConnectToken, digest(token))
    if row is None or row.kind != KIND_CONNECT or row.user_id != user_id:
        raise Unauthenticated(BAD_CONNECT_TOKEN)
    now = utcnow()
    if row.used_at is not None:
        raise InvalidTransition("connect token already used: mint a new one with POST /session/connect/token")
    if row.expires_at <= now:
        raise Expired("connect token expired: mint a new one with POST /session/connect/token")
    runtime_session = session.get(RuntimeSession, row.session_id)
    if runtime_session is None or runtime_session.status != SESSION_RUNNING:
        raise InvalidTransition(f"runtime session {row.session_id} is stopped: `ara start`, then a new connect token")
    claimed = session.execute(
        update(ConnectToken)
        .where(ConnectToken.token_sha256 == row.token_sha256, ConnectToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransition("connect token already used: mint a new one with POST /session/connect/token")
    proxy_token = secrets.token_urlsafe(32)
    session.add(
        ConnectToken(
            token_sha256=digest(proxy_token),
            kind=KIND_PROXY,
            user_id=user_id,
            session_id=runtime_session.id,
            public_key=key_line,
            expires_at=now + PROXY_TTL,
        )
    )
    runtime_session.last_active_at = now
    return {
        "ok": True,
        "proxy_token": proxy_token,
        "host_alias": HOST_ALIAS,
        "session_id": runtime_session.id,
        "user": SSH_USER,
        "expires_at": iso(now + PROXY_TTL),
        "commands": commands(HOST_ALIAS),
    }


def commands(alias: str) -> dict[str, str]:
    workspace = str(SANDBOX_WORKSPACE)
    return {
        "ssh": f"ssh {alias}",
        "vscode": f"code --remote ssh-remote+{alias} {workspace}",
        "sshfs_mount": f"mkdir -p ~/AraWorkspace && sshfs {alias}:{workspace} ~/AraWorkspace",
    }


def proxy_grant(session: Session, token: str) -> ProxyGrant:
    """The grant behind a proxy token, touching its session; ``Unauthenticated`` for a wrong or expired token,
    another kind of token, or a session that no longer runs."""
    row = session.get(ConnectToken, digest(token)) if token else None
    now = utcnow()
    if row is None or row.kind != KIND_PROXY or row.expires_at <= now:
        raise Unauthenticated(BAD_PROXY_TOKEN)
    runtime_session = session.get(RuntimeSession, row.session_id)
    if runtime_session is None or runtime_session.status != SESSION_RUNNING or runtime_session.user_id != row.user_id:
        raise Unauthenticated(BAD_PROXY_TOKEN)
    runtime_session.last_active_at = now
    key = asyncssh.import_public_key(row.public_key)
    return ProxyGrant(row.user_id, runtime_session.id, key, runtime_session.network)


def session_still_running(session: Session, session_id: str, *, touch: bool) -> bool:
    """Whether an SSH connection's session still runs; ``touch``: it is in use (the idle stop counts from now)."""
    if touch:
        touched = session.execute(
            update(RuntimeSession)
            .where(RuntimeSession.id == session_id, RuntimeSession.status == SESSION_RUNNING)
            .values(last_active_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(touched.rowcount)  # type: ignore[attr-defined]
    status = session.scalar(select(RuntimeSession.status).where(RuntimeSession.id == session_id))
    return status == SESSION_RUNNING

"""A user's runtime session: started idempotently (at most one running per user), found only by its owner,
stopped by the user or after ``runtime.idle_ttl_seconds`` of disuse; a stopped session keeps its files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ara.db.types import iso, utcnow
from ara.errors import NotFound, Unavailable
from ara.runtime.models import SESSION_RUNNING, SESSION_STOPPED, RuntimeSession
from ara.runtime.workspace import Workspace
from ara.settings import Settings


def workspace_of(settings: Settings, runtime_session: RuntimeSession) -> Workspace:
    return Workspace(settings.sessions_dir / runtime_session.id)


def active_session(session: Session, user_id: int) -> RuntimeSession | None:
    return session.scalar(_ACTIVE, {"user_id": user_id})


# Every chat turn reads it: built once (building a statement costs more than running it).
_ACTIVE = select(RuntimeSession).where(
    RuntimeSession.user_id == bindparam("user_id", type_=Integer), RuntimeSession.status == SESSION_RUNNING
)


def start_session(session: Session, settings: Settings, user_id: int) -> RuntimeSession:
    """The user's running session, or a new one with its directory laid out. Two concurrent starts meet at the
    partial unique index: the loser reads the winner's row."""
    existing = active_session(session, user_id)
    if existing is not None:
        existing.last_active_at = utcnow()
        return existing
    runtime_session = RuntimeSession(user_id=user_id, status=SESSION_RUNNING, network=settings.runtime.network)
    try:
        with session.begin_nested():
            session.add(runtime_session)
            session.flush()
    except IntegrityError:
        winner = active_session(session, user_id)
        if winner is None:
            raise
        return winner
    workspace_of(settings, runtime_session).create()
    return runtime_session


def owned_session(session: Session, user_id: int, session_id: str | None) -> RuntimeSession:
    """The caller's session by id, or their running one when no id is given; anyone else's is 404."""
    if not session_id:
        found = active_session(session, user_id)
        if found is None:
            raise Unavailable("no active runtime session: start one with `ara start` (POST /session/start)")
        return found
    found = session.get(RuntimeSession, session_id)
    if found is None or found.user_id != user_id:
        raise NotFound(f"no runtime session {session_id!r}")
    return found


def running_session(session: Session, user_id: int, session_id: str | None) -> RuntimeSession:
    """As ``owned_session``, refusing a stopped one (503: start it again) and marking the session used."""
    found = owned_session(session, user_id, session_id)
    if found.status != SESSION_RUNNING:
        raise Unavailable(f"runtime session {found.id} is stopped: start a session with `ara start`")
    found.last_active_at = utcnow()
    return found


def mark_used(session: Session, session_id: str) -> None:
    """One UPDATE without a read: for a call checked earlier in a read and recorded after its work (Core, built
    once: every tool call runs it)."""
    session.connection().execute(_MARK_USED, {"session_id": session_id, "now": utcnow()})


_MARK_USED = (
    update(RuntimeSession.__table__)
    .where(RuntimeSession.__table__.c.id == bindparam("session_id"))
    .values(last_active_at=bindparam("now"))
)


def stop_session(runtime_session: RuntimeSession, reason: str) -> None:
    if runtime_session.status == SESSION_STOPPED:
        return
    runtime_session.status = SESSION_STOPPED
    runtime_session.stopped_at = utcnow()
    runtime_session.stop_reason = reason[:255]


def _idle(settings: Settings, now: dt.datetime | None) -> Select[tuple[RuntimeSession]] | None:
    """Running sessions unused for ``idle_ttl_seconds``; None when sessions never idle out (a TTL of 0)."""
    ttl = settings.runtime.idle_ttl_seconds
    if not ttl:
        return None
    cutoff = (now or utcnow()) - dt.timedelta(seconds=ttl)
    return select(RuntimeSession).where(
        RuntimeSession.status == SESSION_RUNNING, RuntimeSession.last_active_at < cutoff
    )


def any_idle_session(session: Session, settings: Settings, now: dt.datetime | None = None) -> bool:
    """A cheap read, so the clock opens a write transaction only on a second with something to stop."""
    idle = _idle(settings, now)
    return idle is not None and session.scalar(idle.with_only_columns(RuntimeSession.id).limit(1)) is not None


def stop_idle_sessions(session: Session, settings: Settings, now: dt.datetime | None = None) -> int:
    """Stops running sessions unused for ``idle_ttl_seconds`` (housekeeping calls this every tick)."""
    idle = _idle(settings, now)
    if idle is None:
        return 0
    stopped = session.scalars(idle).all()
    for runtime_session in stopped:
        stop_session(runtime_session, f"idle for more than {settings.runtime.idle_ttl_seconds:g} s")
    return len(stopped)


def describe(runtime_session: RuntimeSession) -> dict[str, Any]:
    """The session as the wire shows it (``session_id`` and ``status`` are what the SDK's users read)."""
    running = runtime_session.status == SESSION_RUNNING
    return {
        "ok": True,
        "session_id": runtime_session.id,
        "status": runtime_session.status,
        "active": running,
        "session": {
            "id": runtime_session.id,
            "status": runtime_session.status,
            "created_at": iso(runtime_session.created_at),
            "last_active_at": iso(runtime_session.last_active_at),
            "stopped_at": iso(runtime_session.stopped_at),
            "stop_reason": runtime_session.stop_reason or None,
            "network": runtime_session.network,
            "workspace": "/root/.ara/workspace",
        },
    }

"""The control relay's rows (PostgreSQL): which API host holds each connected control peer and its actions, and
the calls one host relays to another. Every function takes a SQLAlchemy session inside the caller's transaction;
a notification sent here (``pg_notify``) goes out when that transaction commits, so a host never hears of a row it
cannot read yet. Nothing here knows of WebSockets or event loops (``ara.server.control_relay`` does)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.runtime.models import ControlCallRow, ControlPeer

CALL = "call"
ANSWER = "answer"
MISSED_BEATS = 3


def notify(session: Session, channel: str, kind: str, call_id: str) -> None:
    """``kind:call_id`` on ``channel``, delivered at commit (the payload carries no data: the row does)."""
    session.execute(select(func.pg_notify(channel, f"{kind}:{call_id}")))


def parse(payload: str) -> tuple[str, str]:
    kind, _, call_id = payload.partition(":")
    return kind, call_id


def add_peer(session: Session, peer_id: str, session_id: str, host: str) -> None:
    session.add(ControlPeer(id=peer_id, session_id=session_id, host=host, actions=[]))


def set_actions(session: Session, peer_id: str, actions: list[dict[str, Any]]) -> None:
    session.execute(update(ControlPeer).where(ControlPeer.id == peer_id).values(actions=actions, heartbeat_at=utcnow()))


def remove_peer(session: Session, peer_id: str) -> None:
    session.execute(delete(ControlPeer).where(ControlPeer.id == peer_id))


def forget_host(session: Session, host: str) -> None:
    session.execute(delete(ControlPeer).where(ControlPeer.host == host))


def beat(session: Session, host: str, connected: set[str], seen_at: dt.datetime, heartbeat_seconds: float) -> None:
    """Mark this host's peers ``connected`` at ``seen_at`` alive and drop its older rows of any other (a removal
    that failed; a peer attached since is not in the set but newer); drop other hosts' rows and calls long past
    counting (a crashed host's)."""
    now = utcnow()
    mine = ControlPeer.host == host
    session.execute(update(ControlPeer).where(mine, ControlPeer.id.in_(connected)).values(heartbeat_at=now))
    gone = ControlPeer.id.not_in(connected)
    session.execute(delete(ControlPeer).where(mine, gone, ControlPeer.connected_at < seen_at))
    stale = now - dt.timedelta(seconds=heartbeat_seconds * MISSED_BEATS * 10)
    session.execute(delete(ControlPeer).where(ControlPeer.heartbeat_at < stale))
    session.execute(delete(ControlCallRow).where(ControlCallRow.expires_at < now - dt.timedelta(minutes=5)))


def live_peers(session: Session, session_id: str, *, other_than: str, heartbeat_seconds: float) -> list[ControlPeer]:
    """The session's peers on other hosts that still beat, oldest first (a later one wins a shared name)."""
    since = utcnow() - dt.timedelta(seconds=heartbeat_seconds * MISSED_BEATS)
    query = (
        select(ControlPeer)
        .where(ControlPeer.session_id == session_id, ControlPeer.host != other_than, ControlPeer.heartbeat_at >= since)
        .order_by(ControlPeer.connected_at, ControlPeer.id)
    )
    return list(session.scalars(query))


def post_call(
    session: Session,
    call_id: str,
    session_id: str,
    action: str,
    args: dict[str, Any],
    *,
    host: str,
    reply_host: str,
    timeout_seconds: float,
) -> None:
    expires = utcnow() + dt.timedelta(seconds=timeout_seconds)
    session.add(
        ControlCallRow(
            id=call_id,
            session_id=session_id,
            action=action,
            args=args,
            host=host,
            reply_host=reply_host,
            expires_at=expires,
        )
    )
    session.flush()
    notify(session, host, CALL, call_id)


def pending_call(session: Session, call_id: str, host: str) -> ControlCallRow | None:
    """The call for this host, unless it was answered, dropped or expired meanwhile."""
    row = session.get(ControlCallRow, call_id)
    if row is None or row.host != host or row.answer is not None or row.expires_at <= utcnow():
        return None
    return row


def answer_call(session: Session, call_id: str, answer: dict[str, Any]) -> None:
    row = session.get(ControlCallRow, call_id, with_for_update=True)
    if row is None or row.answer is not None:
        return  # the caller gave up and removed it
    row.answer = answer
    session.flush()
    notify(session, row.reply_host, ANSWER, call_id)


def take_answer(session: Session, call_id: str) -> dict[str, Any] | None:
    """The call's answer (None when there is none yet); the row is removed either way: its caller is done."""
    row = session.get(ControlCallRow, call_id)
    if row is None:
        return None
    answer = row.answer
    session.delete(row)
    return answer

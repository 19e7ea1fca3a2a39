"""Runtime sessions, their stored conversations and the one-time tokens that open an SSH shell in them."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ara.db.base import Base, BigId
from ara.db.types import UTCDateTime, utcnow

SESSION_RUNNING = "running"
SESSION_STOPPED = "stopped"


def new_session_id() -> str:
    return f"sess-{secrets.token_hex(12)}"


def new_conversation_id() -> str:
    return f"conv-{secrets.token_hex(12)}"


class RuntimeSession(Base):
    """A user's sandboxed workspace. At most one per user is ``running`` (a partial unique index says so); a
    stopped session keeps its directory, named after its id under ``settings.sessions_dir``."""

    __tablename__ = "runtime_sessions"
    __table_args__ = (
        Index(
            "uq_runtime_sessions_running_user",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_session_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SESSION_RUNNING)
    # Whether sandboxed commands of this session may reach the network (never more than settings allow).
    network: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_active_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stop_reason: Mapped[str] = mapped_column(String(255), default="")
    # The records playbook this session is recorded as (label ``runtime``); its turns are plays.
    playbook_id: Mapped[int | None] = mapped_column(
        ForeignKey("playbooks.id", ondelete="SET NULL"), nullable=True, default=None
    )


class Conversation(Base):
    """A chat's history (``chatId`` on the wire), continued by later turns of the same user."""

    __tablename__ = "runtime_conversations"
    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_conversation_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("runtime_sessions.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConversationMessage(Base):
    """One OpenAI chat message (``role``, ``content``, ``tool_calls``, ``tool_call_id``) in its order."""

    __tablename__ = "runtime_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("runtime_conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConnectToken(Base):
    """A one-time token (stored as sha256) that ``ara connect`` exchanges for an SSH proxy token
    (``kind='connect'``), or the proxy token itself (``kind='proxy'``) with the public key it admits."""

    __tablename__ = "runtime_connect_tokens"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("runtime_sessions.id", ondelete="CASCADE"))
    public_key: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ControlPeer(Base):
    """A client connected to a session's control channel on one API host (PostgreSQL only: the relay's map of
    who holds what). ``host`` is that API process's LISTEN channel; a row whose ``heartbeat_at`` is older than the
    expiry no longer counts (its host died without removing it)."""

    __tablename__ = "runtime_control_peers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("runtime_sessions.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(64), index=True)
    # The registered actions, each ``{name, description, parameters}`` as the peer sent them.
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    connected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ControlCallRow(Base):
    """One call relayed from the API host that took it (``reply_host``) to the host holding the peer (``host``):
    the holder writes ``answer`` (the peer's result message, or ``{"not_connected": why}``) and notifies back."""

    __tablename__ = "runtime_control_calls"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("runtime_sessions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(128))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    host: Mapped[str] = mapped_column(String(64))
    reply_host: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

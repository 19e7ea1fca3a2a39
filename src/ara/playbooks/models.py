"""Playbook definitions, runs, per-attempt actions, approvals, artifacts and trigger state."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ara.db.base import Base
from ara.db.types import UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class PlaybookDefinition(Base):
    """A playbook as operators define it (not to be confused with a recorded ``records.Playbook``)."""

    __tablename__ = "playbook_definitions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(255), default="")
    icon: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(32), default="api")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PlaybookRun(Base):
    __tablename__ = "playbook_runs"
    __table_args__ = (
        Index("ix_playbook_runs_status_scheduled_time", "status", "scheduled_time"),
        # Lists of runs, newest first: of all playbooks, and of one (which also serves its other look-ups).
        Index("ix_playbook_runs_created_at", "created_at", "id"),
        Index("ix_playbook_runs_playbook_id_created_at", "playbook_id", "created_at", "id"),
        # A trigger fires once per event (a schedule tick, a recorded playbook): the second insert fails.
        UniqueConstraint("playbook_id", "trigger_key"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    playbook_id: Mapped[str] = mapped_column(ForeignKey("playbook_definitions.id"))
    status: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the snapshot the run started with
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # secret values encrypted
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trigger: Mapped[str] = mapped_column(String(32), default="api")
    trigger_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    config_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    check_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    component_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    timeout: Mapped[int] = mapped_column(Integer)  # seconds
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheduled_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approval_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Which executor holds the run, and (on PostgreSQL) the procrastinate job executing it, which cancel aborts.
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    records_playbook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RunAction(Base):
    """One attempt of one action of a run (a retried action has one row per attempt)."""

    __tablename__ = "playbook_run_actions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(32))
    scheduled_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    records_task_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Approval(Base):
    __tablename__ = "playbook_approvals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"), index=True)
    approver: Mapped[str] = mapped_column(String(255))
    approved: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Artifact(Base):
    __tablename__ = "playbook_artifacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    path: Mapped[str] = mapped_column(Text)  # where the action produced it (e.g. /dev/stdout)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlaybookPermission(Base):
    """Who may run, approve or cancel a playbook, beyond what their role allows."""

    __tablename__ = "playbook_permissions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    playbook_id: Mapped[str] = mapped_column(ForeignKey("playbook_definitions.id", ondelete="CASCADE"), index=True)
    principal: Mapped[str] = mapped_column(String(255))  # a username, "team:NAME" or "role:NAME"
    action: Mapped[str] = mapped_column(String(32))  # run | approve | cancel

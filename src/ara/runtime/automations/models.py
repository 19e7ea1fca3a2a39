"""An automation job (what fires and when) and its runs (one per firing or replay, moved by the one run
lifecycle in ``ara.lifecycle``)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ara.db.base import Base
from ara.db.types import UTCDateTime, utcnow


def new_job_id() -> str:
    return f"auto-{secrets.token_hex(12)}"


def new_run_id() -> str:
    return f"arun-{secrets.token_hex(12)}"


class AutomationJob(Base):
    __tablename__ = "automation_jobs"
    # The clock looks for enabled jobs whose next firing has come, every second.
    __table_args__ = (Index("ix_automation_jobs_enabled_next_fire_at", "enabled", "next_fire_at"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    schedule_kind: Mapped[str] = mapped_column(String(8))  # cron | every | at
    schedule_expr: Mapped[str | None] = mapped_column(String(255), nullable=True)
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # a zoneinfo name; cron fires in it
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    execution_mode: Mapped[str] = mapped_column(String(32), default="sandbox_required")
    misfire_policy: Mapped[str] = mapped_column(String(32), default="fire_latest_only")
    max_retries: Mapped[int] = mapped_column(Integer, default=3)
    retry_backoff_seconds: Mapped[int] = mapped_column(Integer, default=30)
    next_fire_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AutomationRun(Base):
    """One firing; its ``status`` is a ``RunStatus``. Deleting the job deletes its runs."""

    __tablename__ = "automation_runs"
    __table_args__ = (Index("ix_automation_runs_status_scheduled_time", "status", "scheduled_time"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_run_id)
    automation_id: Mapped[str] = mapped_column(ForeignKey("automation_jobs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule | replay
    replay_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The schedule's moment this run stands for (a replay: when it was asked); ``scheduled_time`` is when the run
    # is next due (a retry moves it).
    fire_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheduled_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # attempts started so far
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Which executor holds the run, and (on PostgreSQL) the procrastinate job executing it.
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

"""An app (the manifest ``ara deploy`` sent, owned by a user), who may use it, its sealed secrets and hashed keys,
its runs (moved by the one run lifecycle in ``ara.lifecycle``), their log rows and webhook deliveries, and the
schedules read from its manifest."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ara.db.base import Base, BigId
from ara.db.types import UTCDateTime, utcnow


def new_app_id() -> str:
    return f"app-{secrets.token_hex(12)}"


def new_app_run_id() -> str:
    return f"apprun-{secrets.token_hex(12)}"


def new_key_id() -> str:
    return f"akey-{secrets.token_hex(12)}"


def new_delivery_id() -> str:
    return f"dlv-{secrets.token_hex(12)}"


class App(Base):
    """``manifest`` is exactly what the SDK sent (``name, slug, description, agent, workflows, interfaces,
    runtime_profile``); ``GET /apps/{id}`` returns it unchanged. ``version`` counts deploys."""

    __tablename__ = "apps"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_app_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | active | paused
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AppMember(Base):
    """A user's role on an app: owner | editor | operator | viewer (the owner has a row too)."""

    __tablename__ = "app_members"
    __table_args__ = (UniqueConstraint("app_id", "user_id", name="uq_app_members_app_user"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppInvite(Base):
    """An invitation by email; the token is shown once and stored hashed (sha256)."""

    __tablename__ = "app_invites"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppSecret(Base):
    """A named group of values, sealed together with ``ara.crypto.SecretBox``; ``keys`` lists the names only."""

    __tablename__ = "app_secrets"
    __table_args__ = (UniqueConstraint("app_id", "name", name="uq_app_secrets_app_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sealed: Mapped[str] = mapped_column(Text)  # SecretBox.seal(json.dumps(values))
    keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AppKey(Base):
    """A runtime key (``kind="runtime"``, sent as ``Authorization: Bearer``) or an app header key
    (``kind="header"``, sent as ``X-Ara-App-Key``); only its sha256 and a short prefix are stored."""

    __tablename__ = "app_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_key_id)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # runtime | header
    name: Mapped[str] = mapped_column(String(255))
    key_prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requests_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AppKeyUsage(Base):
    """Requests per key per minute (``window`` = unix minute): shared by every API host, so the limit holds
    across them."""

    __tablename__ = "app_key_usage"
    key_id: Mapped[str] = mapped_column(ForeignKey("app_keys.id", ondelete="CASCADE"), primary_key=True)
    window: Mapped[int] = mapped_column(BigId, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AppEndpointSecret(Base):
    """The secret the server minted for an endpoint's ``header`` / ``bearer`` / ``hmac`` auth, sealed."""

    __tablename__ = "app_endpoint_secrets"
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(255), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppRun(Base):
    """One run of an app's agent; ``status`` is a ``RunStatus``. ``run_id`` is the caller's id (``input.run_id``,
    unique per app); ``id`` is what the engine's jobs carry. A repeated ``idempotency_key`` finds the first run."""

    __tablename__ = "app_runs"
    __table_args__ = (
        UniqueConstraint("app_id", "run_id", name="uq_app_runs_app_run_id"),
        UniqueConstraint("app_id", "idempotency_key", name="uq_app_runs_app_idempotency_key"),
        Index("ix_app_runs_status_scheduled_time", "status", "scheduled_time"),
        Index("ix_app_runs_app_id_created_at", "app_id", "created_at", "id"),  # an app's runs, newest first
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_app_run_id)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(255))
    agent_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    # api | async | event | endpoint | schedule | playbook | warmup
    trigger: Mapped[str] = mapped_column(String(16), default="api")
    warmup: Mapped[bool] = mapped_column(Boolean, default=False)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # {output_text, tool_calls}
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    response_mode: Mapped[str] = mapped_column(String(8), default="sync")  # sync | poll | webhook
    # {url, events, secret: sealed}: the webhook a finished run is POSTed to
    callback: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the app key that asked
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    playbook_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # its records playbook
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the runtime session it used
    scheduled_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AppLogLine(Base):
    """One row of an app's live log (``GET /v1/apps/{id}/logs/stream``); ``id`` orders them."""

    __tablename__ = "app_log_lines"
    __table_args__ = (Index("ix_app_log_lines_app_id_id", "app_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    run_id: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the caller's run id
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    level: Mapped[str] = mapped_column(String(8), default="info")
    event_type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")


class AppWebhookDelivery(Base):
    """A finished run's result POSTed to its callback URL, retried with backoff until delivered or given up."""

    __tablename__ = "app_webhook_deliveries"
    __table_args__ = (Index("ix_app_webhook_deliveries_status_next_at", "status", "next_at"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_delivery_id)
    run_pk: Mapped[str] = mapped_column(ForeignKey("app_runs.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))  # run.completed | run.failed
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppSchedule(Base):
    """A schedule read from the manifest's ``agent.agents[].schedules`` (and the workflows), keyed by its id so a
    redeploy keeps its timing; ``one_shot_at`` ones are disabled once they fire."""

    __tablename__ = "app_schedules"
    __table_args__ = (
        UniqueConstraint("app_id", "schedule_id", name="uq_app_schedules_app_schedule_id"),
        Index("ix_app_schedules_enabled_next_fire_at", "enabled", "next_fire_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    schedule_id: Mapped[str] = mapped_column(String(255))
    agent_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # cron | every
    cron: Mapped[str | None] = mapped_column(String(255), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    one_shot_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    run: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the manifest's run spec
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_fire_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

"""ORM models of the records domain; table and column names follow ARA's so its data maps one to one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ara.db.base import Base, BigId
from ara.db.types import JSON_LIST, CompressedJSON, UTCDateTime, utcnow


class Timestamped:
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Timed(Timestamped):
    """Objects with a start and an end; ``duration`` (seconds) is computed by the server when ``ended`` is set."""

    started: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration: Mapped[float | None] = mapped_column(nullable=True)

    def compute_duration(self) -> None:
        self.duration = (self.ended - self.started).total_seconds() if self.ended and self.started else None


playbooks_labels = Table(
    "playbooks_labels",
    Base.metadata,
    Column("playbook_id", ForeignKey("playbooks.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True),
)

results_delegated_to = Table(
    "results_delegated_to",
    Base.metadata,
    Column("result_id", ForeignKey("results.id", ondelete="CASCADE"), primary_key=True),
    Column("host_id", ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Label(Timestamped, Base):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Playbook(Timed, Base):
    __tablename__ = "playbooks"
    __table_args__ = (
        Index("ix_playbooks_status", "status"),
        Index("ix_playbooks_started", "started"),
        Index("ix_playbooks_updated", "updated"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ansible_version: Mapped[str] = mapped_column(String(255))
    client_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    python_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    server_version: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(25), default="unknown")
    arguments: Mapped[Any] = mapped_column(CompressedJSON, default=dict)
    path: Mapped[str] = mapped_column(String(255))
    controller: Mapped[str | None] = mapped_column(String(255), nullable=True, default="localhost")
    user: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # How many results point here, kept by database triggers (migration 0004) so the playbooks index never
    # counts results; triggers also see cascaded deletes (of a host, task or play) that the ORM never does.
    result_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    labels: Mapped[list[Label]] = relationship(secondary=playbooks_labels, order_by=Label.id)


class FileContent(Timestamped, Base):
    __tablename__ = "file_contents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha1: Mapped[str] = mapped_column(String(40), unique=True)
    contents: Mapped[bytes] = mapped_column(LargeBinary)


class File(Timestamped, Base):
    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("path", "playbook_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(String(255))
    content_id: Mapped[int] = mapped_column(ForeignKey("file_contents.id", ondelete="CASCADE"), index=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)

    content: Mapped[FileContent] = relationship(lazy="joined")


class Record(Timestamped, Base):
    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("key", "playbook_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[Any] = mapped_column(CompressedJSON)
    type: Mapped[str] = mapped_column(String(255))
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)


class Play(Timed, Base):
    __tablename__ = "plays"
    __table_args__ = (Index("ix_plays_started", "started"), Index("ix_plays_updated", "updated"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    uuid: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(25), default="unknown")
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)


class Task(Timed, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status", "status"),
        Index("ix_tasks_started", "started"),
        Index("ix_tasks_updated", "updated"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    uuid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    action: Mapped[str] = mapped_column(Text)
    lineno: Mapped[int] = mapped_column(Integer)
    tags: Mapped[Any] = mapped_column(CompressedJSON, default=list)
    handler: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(25), default="unknown")
    warnings: Mapped[list[Any]] = mapped_column(JSON_LIST, default=list)
    deprecations: Mapped[list[Any]] = mapped_column(JSON_LIST, default=list)
    exceptions: Mapped[list[Any]] = mapped_column(JSON_LIST, default=list)
    play_id: Mapped[int] = mapped_column(ForeignKey("plays.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)


class Host(Timestamped, Base):
    __tablename__ = "hosts"
    __table_args__ = (UniqueConstraint("name", "playbook_id"), Index("ix_hosts_updated", "updated"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    facts: Mapped[Any] = mapped_column(CompressedJSON, default=dict)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    unreachable: Mapped[int] = mapped_column(Integer, default=0)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)


class LatestHost(Timestamped, Base):
    """The most recent ``Host`` row of each host name."""

    __tablename__ = "latest_hosts"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)


class Result(Timed, Base):
    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_status_changed", "status", "changed"),
        Index("ix_results_status_ignore_errors", "status", "ignore_errors"),
        # ``results?status=failed`` pages newest first: the index hands them over in id order, no sort.
        Index("ix_results_status_id", "status", "id"),
        Index("ix_results_started", "started"),
        Index("ix_results_updated", "updated"),
        Index("ix_results_playbook_id_started", "playbook_id", "started"),
        Index("ix_results_host_id_started", "host_id", "started"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(25), default="unknown")
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    ignore_errors: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[Any] = mapped_column(CompressedJSON, default=dict)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    play_id: Mapped[int] = mapped_column(ForeignKey("plays.id", ondelete="CASCADE"), index=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"))

    delegated_to: Mapped[list[Host]] = relationship(secondary=results_delegated_to, order_by=Host.id)


class RequestKey(Base):
    """A create request's ``Idempotency-Key`` and what it created, written in the create's transaction, so a
    replayed request (the callback's spool, a retry after a reset) answers that object instead of a duplicate."""

    __tablename__ = "request_keys"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigId)
    status_code: Mapped[int] = mapped_column(Integer)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

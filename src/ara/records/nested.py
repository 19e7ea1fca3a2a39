"""The detailed playbook's ``plays -> tasks -> results`` tree, in three queries whatever the playbook's size.

ARA 1.4 nested these with serializers that issued queries per object, which is why 1.5 dropped them;
here each level is one SELECT of plain columns, stitched together in Python.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ara.db.types import UTC
from ara.records import models as m
from ara.records.representation import duration_string, iso


def stamp_text(session: Session, column: Any) -> ColumnElement[str]:
    """A UTC timestamp column as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, so rendering it needs no datetime object:
    SQLite stores exactly that (SQLAlchemy's format); PostgreSQL formats it."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    return type_coerce(column, String)


def iso_text(value: str | None) -> str | None:
    """``stamp_text``'s text as ``iso`` renders the datetime (``2026-01-01T00:00:00.004321Z``, no fraction when
    it is zero); anything else (a value some other writer stored) goes through ``datetime``."""
    if value is None:
        return None
    if len(value) == 26 and value[19] == "." and value[10] == " ":
        if value.endswith("000000"):
            return f"{value[:10]}T{value[11:19]}Z"
        return f"{value[:10]}T{value[11:]}Z"
    parsed = dt.datetime.fromisoformat(value)
    return iso(parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC))


def playbook_tree(session: Session, playbook_id: int) -> list[dict[str, Any]]:
    plays: dict[int, dict[str, Any]] = {}
    for row in session.execute(
        select(m.Play.id, m.Play.name, m.Play.uuid, m.Play.status, m.Play.started, m.Play.ended, m.Play.duration)
        .where(m.Play.playbook_id == playbook_id)
        .order_by(m.Play.id)
    ):
        plays[row.id] = {
            "id": row.id,
            "name": row.name,
            "uuid": row.uuid,
            "status": row.status,
            "started": iso(row.started),
            "ended": iso(row.ended),
            "duration": duration_string(row.duration),
            "tasks": [],
        }

    tasks: dict[int, dict[str, Any]] = {}
    for row in session.execute(
        select(
            m.Task.id,
            m.Task.play_id,
            m.Task.name,
            m.Task.uuid,
            m.Task.action,
            m.Task.lineno,
            m.Task.status,
            m.Task.handler,
            m.Task.started,
            m.Task.ended,
            m.Task.duration,
            m.File.id.label("file_id"),
            m.File.path,
        )
        .join(m.File, m.File.id == m.Task.file_id)
        .where(m.Task.playbook_id == playbook_id)
        .order_by(m.Task.id)
    ):
        task = {
            "id": row.id,
            "name": row.name,
            "uuid": row.uuid,
            "action": row.action,
            "lineno": row.lineno,
            "status": row.status,
            "handler": row.handler,
            "started": iso(row.started),
            "ended": iso(row.ended),
            "duration": duration_string(row.duration),
            "file": {"id": row.file_id, "path": row.path},
            "results": [],
        }
        tasks[row.id] = task
        play = plays.get(row.play_id)
        if play is not None:
            play["tasks"].append(task)

    results = select(
        m.Result.id,
        m.Result.task_id,
        m.Result.status,
        m.Result.changed,
        m.Result.ignore_errors,
        stamp_text(session, m.Result.started),
        stamp_text(session, m.Result.ended),
        m.Result.duration,
        m.Host.id,
        m.Host.name,
    )
    query = results.join(m.Host, m.Host.id == m.Result.host_id).where(m.Result.playbook_id == playbook_id)
    # Plain tuples and local names: at 10,000 results per playbook this loop is most of the request's time.
    owners = {task_id: task["results"] for task_id, task in tasks.items()}
    rows = session.connection().execute(query.order_by(m.Result.id)).all()  # Core: no ORM row processing
    for rid, task_id, status, changed, ignored, started, ended, duration, host_id, host_name in rows:
        owner = owners.get(task_id)
        if owner is None:
            continue
        if changed and status == "ok":
            status = "changed"
        elif ignored and status == "failed":
            status = "ignored"
        owner.append(
            {
                "id": rid,
                "status": status,
                "started": iso_text(started),
                "ended": iso_text(ended),
                "duration": duration_string(duration),
                "changed": changed,
                "ignore_errors": ignored,
                "host": {"id": host_id, "name": host_name},
            }
        )
    return list(plays.values())

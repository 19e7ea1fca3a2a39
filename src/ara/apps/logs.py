"""An app's live log: rows written by runs, read by ``GET /v1/apps/{id}/logs/stream``.

A row is visible to every API host once its transaction commits: streams poll the table by ``id``, so nothing
here needs the process that wrote it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.apps.models import AppLogLine
from ara.db.types import utcnow

LEVELS = ("debug", "info", "warning", "error")
#: A message is cut to this many characters (a log row is a line, not a payload).
MAX_MESSAGE = 4000


def emit(session: Session, app_id: str, run_id: str | None, event_type: str, message: str, level: str = "info") -> None:
    """One row, visible to streams once ``session`` commits. Never pass a secret value in ``message``."""
    session.add(
        AppLogLine(
            app_id=app_id,
            run_id=run_id,
            level=level if level in LEVELS else "info",
            event_type=event_type[:64],
            message=message[:MAX_MESSAGE],
        )
    )


def row(line: AppLogLine) -> dict[str, Any]:
    """What a stream sends for a row (ara-sdk prints ``timestamp level run_id event_type message``)."""
    return {
        "timestamp": line.timestamp.isoformat().replace("+00:00", "Z"),
        "level": line.level,
        "run_id": line.run_id,
        "event_type": line.event_type,
        "message": line.message,
    }


def last_id_before(session: Session, app_id: str, since: dt.datetime) -> int:
    """The id after which a stream connecting now starts: rows of the last ``since`` are replayed."""
    found = session.scalar(
        select(AppLogLine.id)
        .where(AppLogLine.app_id == app_id, AppLogLine.timestamp < since)
        .order_by(AppLogLine.id.desc())
        .limit(1)
    )
    return int(found or 0)


def rows_after(
    session: Session, app_id: str, after: int, *, run_id: str | None = None, limit: int = 1000
) -> list[AppLogLine]:
    """The app's rows with an id above ``after``, oldest first (``run_id``: that run's only)."""
    query = select(AppLogLine).where(AppLogLine.app_id == app_id, AppLogLine.id > after)
    if run_id:
        query = query.where(AppLogLine.run_id == run_id)
    return list(session.scalars(query.order_by(AppLogLine.id).limit(limit)))


def since(now: dt.datetime | None, seconds: float) -> dt.datetime:
    return (now or utcnow()) - dt.timedelta(seconds=seconds)

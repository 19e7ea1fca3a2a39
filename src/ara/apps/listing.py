"""What an app's pages list beside its manifest: its schedules (with their next firing) and its runs, a page at a
time (newest first; an app may have run millions of times, so nothing here loads them all). Reads only: the
caller's transaction, no commit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ara.apps.models import AppRun, AppSchedule


def list_schedules(session: Session, app_id: str) -> list[AppSchedule]:
    """The app's schedule rows as the last deploy left them, soonest firing first."""
    query = select(AppSchedule).where(AppSchedule.app_id == app_id)
    rows = list(session.scalars(query.order_by(AppSchedule.schedule_id)))
    return sorted(rows, key=lambda row: (row.next_fire_at is None, row.next_fire_at or row.created_at))


def page_of_runs(session: Session, app_id: str, *, page: int, size: int) -> tuple[list[AppRun], int]:
    """Page ``page`` (from 1) of the app's runs, newest first, and how many runs it has in all."""
    total = session.scalar(select(func.count()).select_from(AppRun).where(AppRun.app_id == app_id)) or 0
    query = (
        select(AppRun)
        .where(AppRun.app_id == app_id)
        .order_by(AppRun.created_at.desc(), AppRun.id.desc())
        .offset((max(page, 1) - 1) * size)
        .limit(size)
    )
    return list(session.scalars(query)), int(total)

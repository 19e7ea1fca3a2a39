"""An app's schedules, read from its manifest at each deploy and fired by the engine's clock.

OWNED BY the endpoints-and-schedules part (interface fixed here; bodies are theirs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ara.apps.models import App


def sync_schedules(session: Session, app: App, now: dt.datetime | None = None) -> None:
    """Make ``app_schedules`` match ``app.manifest`` (called by every deploy): same id and same timing keep their
    row and next firing; changed ones are re-timed; gone ones are deleted."""
    return None  # until the schedules part lands: deploys keep no schedules


def fire_due(session: Session, now: dt.datetime) -> int:
    """Start a run for every enabled schedule whose next firing has come (the latest due time only), once."""
    return 0

"""An app's live log: rows written by runs, read by ``GET /v1/apps/{id}/logs/stream``.

OWNED BY the runs part (interface fixed here; bodies are theirs)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def emit(session: Session, app_id: str, run_id: str | None, event_type: str, message: str, level: str = "info") -> None:
    """One row, visible to streams once ``session`` commits. Never pass a secret value in ``message``."""
    raise NotImplementedError

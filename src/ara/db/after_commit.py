"""Work that must wait until a transaction commits, and never happen if it rolls back (remove a finished run's
working directory, wake a waiter in this process): one listener for every session, the callbacks kept in the
session's ``info``. A per-session ``event.listen`` costs a hundred Python calls each time; this costs two."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "ara_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once ``session``'s transaction commits (from the committing thread); dropped on rollback."""
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for callback in session.info.pop(_KEY, ()):
        callback()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_KEY, None)

"""App runs that ended in this process, announced once their ending commits: a waiter in the same process (the
embedded engine's sync runs, always) answers at once instead of at its next look at the database. Endings in other
processes (``ara worker``) are found by that look, which ``runs.await_end`` repeats every 0.1 s at most."""

from __future__ import annotations

import threading
import time

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "ara_app_runs_ended"
#: An announcement is kept this long (a waiter looks far more often).
KEEP_SECONDS = 120.0
_lock = threading.Lock()
_ended: dict[str, float] = {}  # run pk -> when its ending committed (monotonic)


def note(session: Session, run_pk: str) -> None:
    """Announce ``run_pk``'s end when ``session`` commits (nothing if it rolls back)."""
    session.info.setdefault(_KEY, []).append(run_pk)


def ended_here(run_pk: str) -> bool:
    return run_pk in _ended


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    ended = session.info.pop(_KEY, None)
    if not ended:
        return
    now = time.monotonic()
    with _lock:
        for run_pk in ended:
            _ended[run_pk] = now
        for run_pk in [pk for pk, at in _ended.items() if now - at > KEEP_SECONDS]:
            del _ended[run_pk]


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_KEY, None)

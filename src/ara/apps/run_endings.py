"""App runs that ended in this process, announced once their ending commits: a waiter in the same process (the
embedded engine's sync runs, always) wakes at once instead of at its next look at the database. Endings in other
processes (``ara worker``) are found by that look, which ``runs.await_end`` repeats every 0.1 s at most."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "ara_app_runs_ended"
_lock = threading.Lock()
_waiters: dict[str, list[Callable[[], None]]] = {}  # run pk -> what wakes each waiter (called on any thread)


def note(session: Session, run_pk: str) -> None:
    """Announce ``run_pk``'s end when ``session`` commits (nothing if it rolls back)."""
    session.info.setdefault(_KEY, []).append(run_pk)


def subscribe(run_pk: str, wake: Callable[[], None]) -> Callable[[], None]:
    """Call ``wake()`` (from the committing thread) when the run's ending commits here; returns the unsubscribe."""
    with _lock:
        _waiters.setdefault(run_pk, []).append(wake)

    def unsubscribe() -> None:
        with _lock:
            found = _waiters.get(run_pk, [])
            if wake in found:
                found.remove(wake)
            if not found:
                _waiters.pop(run_pk, None)

    return unsubscribe


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    ended = session.info.pop(_KEY, None)
    if not ended:
        return
    with _lock:
        wakes = [wake for run_pk in ended for wake in _waiters.get(run_pk, [])]
    for wake in wakes:
        try:
            wake()
        except RuntimeError:  # the waiter's event loop closed meanwhile: nobody is waiting any more
            pass


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_KEY, None)

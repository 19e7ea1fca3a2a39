"""App runs that ended in this process, announced once their ending commits: a waiter in the same process (the
embedded engine's sync runs, always) wakes at once instead of at its next look at the database. Endings in other
processes (``ara worker``) are found by that look, which ``runs.await_end`` repeats every 0.1 s at most."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from ara.db.after_commit import after_commit

_lock = threading.Lock()
_waiters: dict[str, list[Callable[[], None]]] = {}  # run pk -> what wakes each waiter (called on any thread)


def note(session: Session, run_pk: str) -> None:
    """Announce ``run_pk``'s end when ``session`` commits (nothing if it rolls back)."""
    after_commit(session, lambda: _announce(run_pk))


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


def _announce(run_pk: str) -> None:
    with _lock:
        wakes = list(_waiters.get(run_pk, []))
    for wake in wakes:
        try:
            wake()
        except RuntimeError:  # the waiter's event loop closed meanwhile: nobody is waiting any more
            pass

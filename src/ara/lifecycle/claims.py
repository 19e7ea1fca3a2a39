"""Taking a due run for an executor, the one way every kind of run does it: lock its row, take it only when it is
claimable and its time has come (woken early, it is made due again for its time), then find it again only while
the same executor still holds it (a reaper or a cancel may have ended it meanwhile)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.lifecycle.executor import make_due
from ara.lifecycle.states import CLAIMABLE, EXECUTING, RunStatus, move_run

R = TypeVar("R")


def claim(
    session: Session,
    model: type[R],
    run_id: str,
    worker_id: str,
    *,
    kind: str,
    may_start: Callable[[R], bool] | None = None,
) -> R | None:
    """The run moved to ``running`` for ``worker_id``; None if it ended, runs elsewhere, is not due yet, or
    ``may_start`` (a kind's own admission, such as a playbook's ``concurrency``) refuses it."""
    run: Any = _locked(session, model, run_id)
    if run is None or run.status not in CLAIMABLE:
        return None
    if run.scheduled_time > utcnow():
        make_due(session, run.id, at=run.scheduled_time, kind=kind)  # woken early: come back on time
        return None
    if may_start is not None and not may_start(run):
        return None
    move_run(run, RunStatus.RUNNING)
    run.worker_id = worker_id
    return run  # type: ignore[no-any-return]


def begin_attempt(run: Any) -> None:
    """A kind that counts attempts (and keeps its first start) counts this one."""
    run.attempt += 1
    if run.start_time is None:
        run.start_time = utcnow()


def held(session: Session, model: type[R], run_id: str, worker_id: str) -> R | None:
    """The run, locked, if ``worker_id`` still executes it."""
    run: Any = _locked(session, model, run_id)
    if run is None or run.status not in EXECUTING or run.worker_id != worker_id:
        return None
    return run  # type: ignore[no-any-return]


def _locked(session: Session, model: type[R], run_id: str) -> R | None:
    """The run's row, locked (PostgreSQL), loaded afresh even where ``session`` holds it."""
    return session.execute(_locking(model), {"run_id": run_id}).scalar_one_or_none()


@cache
def _locking(model: type[Any]) -> Select[Any]:
    """Built once per kind of run: ``Session.get`` builds its statement at each call (a third of its cost)."""
    (key,) = inspect(model).primary_key
    query = select(model).where(key == bindparam("run_id")).with_for_update()
    return query.execution_options(populate_existing=True)

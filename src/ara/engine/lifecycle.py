"""Ending a run, the one way: move the run (and its unfinished actions) through the transition function, stamp
the end, release the worker and close the run's recording. Used by the worker, the scheduler and cancel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.engine import records
from ara.engine.states import ActionStatus, RunStatus, move_action, move_run
from ara.playbooks.models import PlaybookRun, RunAction

UNFINISHED = ("scheduled", "sleeping", "waiting", "running")


def end_run(session: Session, run: PlaybookRun, status: RunStatus, error: str | None) -> None:
    move_run(run, status)
    run.error = error
    run.end_time = utcnow()
    run.worker_id = None
    leftover = ActionStatus.CANCELLED if status == RunStatus.CANCELLED else ActionStatus.FAILED
    for action in session.scalars(select(RunAction).where(RunAction.run_id == run.id)):
        if action.status in UNFINISHED:
            move_action(action, leftover)
            action.end_time = run.end_time
    records.finish(session, run)

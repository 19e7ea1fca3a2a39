"""An automation run's moves, through the one run lifecycle: admitted (``running``, one more attempt), then
completed with the turn's output, or failed: parked ``retrying`` and made due again after the job's backoff
while retries remain, else ended ``failed`` with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.lifecycle.ending import end_run, on_end
from ara.lifecycle.executor import AUTOMATION, make_due
from ara.lifecycle.states import CLAIMABLE, EXECUTING, RunStatus, move_run
from ara.runtime.automations.models import AutomationJob, AutomationRun


@on_end(AutomationRun)
def finish_automation_run(session: Session, run: AutomationRun) -> None:
    """Nothing else holds on to an automation run (no slot, no actions); its turn recorded itself."""


def admit(session: Session, run_id: str, worker_id: str) -> AutomationRun | None:
    """Move a due run to ``running`` for ``worker_id``; None if it ended, runs elsewhere or is not due yet."""
    run = session.get(AutomationRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.status not in CLAIMABLE:
        return None
    if run.scheduled_time > utcnow():
        make_due(session, run.id, at=run.scheduled_time, kind=AUTOMATION)  # woken early: come back on time
        return None
    move_run(run, RunStatus.RUNNING)
    run.worker_id = worker_id
    run.attempt += 1
    if run.start_time is None:
        run.start_time = utcnow()
    return run


def _held(session: Session, run_id: str, worker_id: str) -> AutomationRun | None:
    """The run if ``worker_id`` still executes it (a deleted job took it along; a reaper may have failed it)."""
    run = session.get(AutomationRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.status not in EXECUTING or run.worker_id != worker_id:
        return None
    return run


def complete(session: Session, run_id: str, worker_id: str, output: dict[str, Any]) -> None:
    run = _held(session, run_id, worker_id)
    if run is not None:
        run.output = output
        end_run(session, run, RunStatus.COMPLETED, None)


def fail_attempt(session: Session, run_id: str, worker_id: str, reason: str) -> None:
    """One attempt failed: retry after the job's backoff while ``max_retries`` allows, else the run fails."""
    run = _held(session, run_id, worker_id)
    if run is None:
        return
    job = session.get(AutomationJob, run.automation_id)
    retries = job.max_retries if job is not None else 0
    if run.attempt > retries:
        end_run(session, run, RunStatus.FAILED, reason)
        return
    backoff = job.retry_backoff_seconds if job is not None else 0
    move_run(run, RunStatus.RETRYING)
    run.error = f"attempt {run.attempt} failed: {reason}"
    run.worker_id = None
    run.scheduled_time = utcnow() + dt.timedelta(seconds=backoff)
    make_due(session, run.id, at=run.scheduled_time, kind=AUTOMATION)

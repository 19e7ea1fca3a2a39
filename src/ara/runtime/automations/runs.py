"""An automation run's moves, through the one run lifecycle: admitted (``running``, one more attempt), then
completed with the turn's output, or failed: parked ``retrying`` and made due again after the job's backoff
while retries remain, else ended ``failed`` with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.lifecycle.claims import begin_attempt, claim, held
from ara.lifecycle.ending import end_run, on_end
from ara.lifecycle.executor import AUTOMATION, make_due
from ara.lifecycle.states import RunStatus, move_run
from ara.runtime.automations.models import AutomationJob, AutomationRun


@on_end(AutomationRun)
def finish_automation_run(session: Session, run: AutomationRun) -> None:
    """Nothing else holds on to an automation run (no slot, no actions); its turn recorded itself."""


def admit(session: Session, run_id: str, worker_id: str) -> AutomationRun | None:
    """Move a due run to ``running`` for ``worker_id``; None if it ended, runs elsewhere or is not due yet."""
    run = claim(session, AutomationRun, run_id, worker_id, kind=AUTOMATION)
    if run is not None:
        begin_attempt(run)
    return run


def complete(session: Session, run_id: str, worker_id: str, output: dict[str, Any]) -> None:
    run = held(session, AutomationRun, run_id, worker_id)  # a deleted job took it along
    if run is not None:
        run.output = output
        end_run(session, run, RunStatus.COMPLETED, None)


def fail_attempt(session: Session, run_id: str, worker_id: str, reason: str) -> None:
    """One attempt failed: retry after the job's backoff while ``max_retries`` allows, else the run fails."""
    run = held(session, AutomationRun, run_id, worker_id)  # a deleted job took it along
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

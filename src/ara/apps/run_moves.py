"""An app run's moves through the one run lifecycle: admitted (``running``, one more attempt), then completed
with the agent's output or failed with the reason. However a run ends (its activation, a dead worker's reaper, a
server stopping), the ending here writes its last log row (``run.completed`` / ``run.failed``), closes its
records playbook and queues its webhook deliveries, in the ending's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ara.apps import recording, run_endings, webhooks
from ara.apps.logs import emit
from ara.apps.models import AppRun
from ara.db.types import utcnow
from ara.lifecycle.ending import end_run, on_end
from ara.lifecycle.executor import APP, make_due
from ara.lifecycle.states import CLAIMABLE, EXECUTING, RunStatus, move_run


@on_end(AppRun)
def finish_app_run(session: Session, run: AppRun) -> None:
    completed = run.status == RunStatus.COMPLETED
    event = "run.completed" if completed else "run.failed"
    if completed:
        emit(session, run.app_id, run.run_id, event, f"agent {run.agent_id} completed")
    else:
        emit(session, run.app_id, run.run_id, event, run.error or run.status, "error")
    if run.playbook_id is not None:
        recording.close_playbook(session, run.playbook_id, failed=not completed)
    webhooks.queue_deliveries(session, run, event)
    run_endings.note(session, run.id)


def admit(session: Session, run_pk: str, worker_id: str) -> AppRun | None:
    """Move a due run to ``running`` for ``worker_id``; None if it ended, runs elsewhere or is not due yet."""
    run = session.get(AppRun, run_pk, with_for_update=True, populate_existing=True)
    if run is None or run.status not in CLAIMABLE:
        return None
    if run.scheduled_time > utcnow():
        make_due(session, run.id, at=run.scheduled_time, kind=APP)  # woken early: come back on time
        return None
    move_run(run, RunStatus.RUNNING)
    run.worker_id = worker_id
    run.attempt += 1
    if run.start_time is None:
        run.start_time = utcnow()
    return run


def held(session: Session, run_pk: str, worker_id: str) -> AppRun | None:
    """The run if ``worker_id`` still executes it (a reaper may have failed it meanwhile)."""
    run = session.get(AppRun, run_pk, with_for_update=True, populate_existing=True)
    if run is None or run.status not in EXECUTING or run.worker_id != worker_id:
        return None
    return run


def complete(session: Session, run_pk: str, worker_id: str, output: dict[str, Any]) -> None:
    run = held(session, run_pk, worker_id)
    if run is not None:
        run.output = output
        end_run(session, run, RunStatus.COMPLETED, None)


def fail(session: Session, run_pk: str, worker_id: str, reason: str) -> None:
    """App runs are not retried: an agent's tool calls are not idempotent."""
    run = held(session, run_pk, worker_id)
    if run is not None:
        end_run(session, run, RunStatus.FAILED, reason)

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
from ara.lifecycle.claims import begin_attempt, claim, held
from ara.lifecycle.ending import end_run, on_end
from ara.lifecycle.executor import APP
from ara.lifecycle.states import RunStatus


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
    run = claim(session, AppRun, run_pk, worker_id, kind=APP)
    if run is not None:
        begin_attempt(run)
    return run


def complete(session: Session, run_pk: str, worker_id: str, output: dict[str, Any]) -> None:
    run = held(session, AppRun, run_pk, worker_id)
    if run is not None:
        run.output = output
        end_run(session, run, RunStatus.COMPLETED, None)


def fail(session: Session, run_pk: str, worker_id: str, reason: str) -> None:
    """App runs are not retried: an agent's tool calls are not idempotent."""
    run = held(session, AppRun, run_pk, worker_id)
    if run is not None:
        end_run(session, run, RunStatus.FAILED, reason)

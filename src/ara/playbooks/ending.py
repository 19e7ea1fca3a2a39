"""What ending a playbook run also does: its unfinished action attempts end with it, its records playbook is
closed, and a run of the same playbook waiting for a ``concurrency`` slot is made due."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ara.lifecycle.ending import on_end
from ara.lifecycle.executor import make_due
from ara.lifecycle.states import ACTION_UNFINISHED, ActionStatus, RunStatus, move_action
from ara.playbooks import recording
from ara.playbooks.admission import next_waiting
from ara.playbooks.models import PlaybookRun, RunAction

# Built once: building a statement and its cache key costs more than running it, and every run ends.
_UNFINISHED = select(RunAction).where(RunAction.run_id == bindparam("run_id"), RunAction.status.in_(ACTION_UNFINISHED))


@on_end(PlaybookRun)
def finish_playbook_run(session: Session, run: PlaybookRun) -> None:
    leftover = ActionStatus.CANCELLED if run.status == RunStatus.CANCELLED else ActionStatus.FAILED
    for action in session.scalars(_UNFINISHED, {"run_id": run.id}):  # filtered in SQL: usually none, none loaded
        move_action(action, leftover)
        action.end_time = run.end_time
    recording.finish(session, run)
    waiting = next_waiting(session, run)
    if waiting is not None:
        make_due(session, waiting)

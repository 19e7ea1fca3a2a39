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
_UNFINISHED = select(RunAction.id).where(
    RunAction.run_id == bindparam("run_id"), RunAction.status.in_(ACTION_UNFINISHED)
)


@on_end(PlaybookRun)
def finish_playbook_run(session: Session, run: PlaybookRun) -> None:
    # Only the engine completes a run, once every action has its outcome: a completed run has no attempt to end.
    if run.status != RunStatus.COMPLETED:
        leftover = ActionStatus.CANCELLED if run.status == RunStatus.CANCELLED else ActionStatus.FAILED
        for action in _unfinished(session, run.id):
            move_action(action, leftover)
            action.end_time = run.end_time
    recording.finish(session, run)
    waiting = next_waiting(session, run)
    if waiting is not None:
        make_due(session, waiting)


def _unfinished(session: Session, run_id: str) -> list[RunAction]:
    """The run's attempts not yet ended, as this transaction has them: the database's ids read with Core (usually
    none, nothing loaded, nothing flushed first), each taken as the session holds it if it does (an attempt ended
    here but not flushed yet is then seen ended), plus attempts added here and not flushed."""
    found = [
        session.get(RunAction, action_id)
        for action_id in session.connection().execute(_UNFINISHED, {"run_id": run_id}).scalars()
    ]
    added = [obj for obj in session.new if isinstance(obj, RunAction) and obj.run_id == run_id]
    return [a for a in found + added if a is not None and a.status in ACTION_UNFINISHED]

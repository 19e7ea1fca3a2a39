"""Admission: whether a due run may start now, under its playbook's ``concurrency`` limit.

The check and the move to ``running`` share one transaction that first locks the playbook definition's row, so
two executors admitting two runs of one playbook at once are serialised: the second counts the first's run
(PostgreSQL; SQLite serialises every writer anyway). A run refused for want of a slot stays ``scheduled``; the
run that frees the slot makes it due again when it ends (``next_waiting``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from ara.db.types import utcnow
from ara.lifecycle.claims import claim
from ara.lifecycle.executor import PLAYBOOK
from ara.lifecycle.states import ACTIVE, RunStatus
from ara.playbooks.models import PlaybookDefinition, PlaybookRun


def _limit(run: PlaybookRun) -> int:
    """The run's ``concurrency`` (0: none), read from its spec snapshot, validated when the run was made (as
    ``waiting_for_slot`` reads it in SQL), without validating the whole spec again at each admission and end."""
    return int(run.spec.get("concurrency") or 0)


def active_runs(session: Session, playbook_id: str) -> int:
    query = select(func.count()).select_from(PlaybookRun)
    return session.scalar(query.where(PlaybookRun.playbook_id == playbook_id, PlaybookRun.status.in_(ACTIVE))) or 0


def _has_slot(run: PlaybookRun, session: Session) -> bool:
    """A new run starts only under its playbook's ``concurrency``, counted under the definition's row lock."""
    if run.status != RunStatus.SCHEDULED or not (limit := _limit(run)):
        return True
    session.execute(select(PlaybookDefinition.id).where(PlaybookDefinition.id == run.playbook_id).with_for_update())
    return active_runs(session, run.playbook_id) < limit


def admit(session: Session, run_id: str, worker_id: str) -> PlaybookRun | None:
    """Move a due run to ``running`` for ``worker_id``; None if it is not claimable (ended, running elsewhere,
    waiting for approval), not due yet or has no slot."""
    return claim(session, PlaybookRun, run_id, worker_id, kind=PLAYBOOK, may_start=lambda run: _has_slot(run, session))


def waiting_for_slot() -> ColumnElement[bool]:
    """A query condition: the ``scheduled`` run is held back by its playbook's ``concurrency`` alone (the run
    that frees the slot makes it due, so nothing else needs to). ``_limit`` and ``active_runs`` in SQL, to
    filter many runs at once."""
    limit = PlaybookRun.spec["concurrency"].as_integer()
    other = aliased(PlaybookRun)
    active = (
        select(func.count())
        .select_from(other)
        .where(other.playbook_id == PlaybookRun.playbook_id, other.status.in_(ACTIVE))
        .scalar_subquery()
    )
    return (PlaybookRun.status == RunStatus.SCHEDULED) & (func.coalesce(limit, 0) > 0) & (active >= limit)


def next_waiting(session: Session, ended: PlaybookRun) -> str | None:
    """The oldest due run of ``ended``'s playbook still waiting for a slot, if the playbook limits concurrency."""
    if not _limit(ended):
        return None
    return session.scalar(
        select(PlaybookRun.id)
        .where(
            PlaybookRun.playbook_id == ended.playbook_id,
            PlaybookRun.status == RunStatus.SCHEDULED,
            PlaybookRun.scheduled_time <= utcnow(),
            PlaybookRun.id != ended.id,
        )
        .order_by(PlaybookRun.scheduled_time, PlaybookRun.id)
        .limit(1)
    )

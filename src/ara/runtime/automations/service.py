"""Automation jobs and their runs, for their owner only (anyone else's id is 404): create, list, update,
delete, replay; and ``fire_due``, which the engine's clock calls every second.

Functions take the caller's ``Session`` and never commit: a route, a tool or the clock owns the transaction, so
a job's firing, its run and the run's job on the ``agents`` queue commit together or not at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.db.types import iso, utcnow
from ara.errors import NotFound, ValidationFailed
from ara.lifecycle.executor import AUTOMATION, make_due
from ara.lifecycle.states import RunStatus
from ara.runtime.automations import schedules
from ara.runtime.automations.fields import parse_fields
from ara.runtime.automations.models import AutomationJob, AutomationRun

#: Jobs the clock fires in one tick at most (the rest wait for the next second).
FIRE_BATCH = 100


def create_job(session: Session, user_id: int, body: dict[str, Any]) -> AutomationJob:
    fields = parse_fields(body, creating=True)
    job = AutomationJob(user_id=user_id, enabled=True, **fields.values)
    _plan(job, utcnow())
    session.add(job)
    session.flush()
    return job


def list_jobs(session: Session, user_id: int) -> list[AutomationJob]:
    query = select(AutomationJob).where(AutomationJob.user_id == user_id)
    return list(session.scalars(query.order_by(AutomationJob.created_at, AutomationJob.id)))


def get_job(session: Session, user_id: int, job_id: str, *, lock: bool = False) -> AutomationJob:
    job = session.get(AutomationJob, job_id, with_for_update=lock or None)
    if job is None or job.user_id != user_id:
        raise NotFound(f"no automation job {job_id!r}")
    return job


def update_job(session: Session, user_id: int, job_id: str, body: dict[str, Any]) -> AutomationJob:
    job = get_job(session, user_id, job_id, lock=True)
    fields = parse_fields(body, creating=False, current=job)
    was_enabled = job.enabled
    for name, value in fields.values.items():
        setattr(job, name, value)
    if job.enabled and job.schedule_kind == schedules.AT and (job.at is None or job.at <= utcnow()):
        raise ValidationFailed({"at": ["this one-shot's moment has passed: give a new `at` to enable it again"]})
    if fields.reschedules or job.enabled != was_enabled:
        _plan(job, utcnow())  # a new schedule, or a job enabled again, counts from now: no burst of old firings
    session.flush()
    return job


def delete_job(session: Session, user_id: int, job_id: str) -> None:
    session.delete(get_job(session, user_id, job_id, lock=True))
    session.flush()


def _plan(job: AutomationJob, now: dt.datetime) -> None:
    """Set the job's first firing from ``now`` (the ``at`` moment itself for a one-shot)."""
    if not job.enabled:
        job.next_fire_at = None
    elif job.schedule_kind == schedules.AT:
        job.next_fire_at = job.at if job.at is not None and job.at > now else None
        job.enabled = job.next_fire_at is not None
    else:
        job.next_fire_at = schedules.next_after(
            job.schedule_kind, now, expr=job.schedule_expr, every=job.every_seconds, tz=job.timezone
        )


# -- firing ---------------------------------------------------------------------------------------------------
def any_due(session: Session, now: dt.datetime) -> bool:
    """A cheap read first: most seconds fire nothing, and then no write transaction is opened."""
    due = select(AutomationJob.id).where(AutomationJob.enabled.is_(True), AutomationJob.next_fire_at <= now)
    return session.scalar(due.limit(1)) is not None


def fire_due(session: Session, now: dt.datetime) -> list[str]:
    """Fire the enabled jobs whose time has come: a run per firing their misfire policy keeps, each made due on the
    ``agents`` queue, and the job's next firing (a one-shot disables itself). Returns the new runs' ids.

    On PostgreSQL the jobs are claimed ``FOR UPDATE SKIP LOCKED``: two clocks never fire one job twice, and
    neither waits for the other."""
    query = (
        select(AutomationJob)
        .where(AutomationJob.enabled.is_(True), AutomationJob.next_fire_at <= now)
        .order_by(AutomationJob.next_fire_at)
        .limit(FIRE_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    created: list[str] = []
    for job in session.scalars(query):
        assert job.next_fire_at is not None
        times, following = schedules.missed(
            job.schedule_kind, job.next_fire_at, now, expr=job.schedule_expr, every=job.every_seconds, tz=job.timezone
        )
        for moment in schedules.to_fire(job.misfire_policy, times, now):
            created.append(_new_run(session, job, moment, trigger="schedule").id)
        job.last_fired_at = times[-1]
        job.next_fire_at = following
        if following is None:
            job.enabled = False
    session.flush()
    return created


def _new_run(
    session: Session, job: AutomationJob, moment: dt.datetime, *, trigger: str, replay_of: str | None = None
) -> AutomationRun:
    run = AutomationRun(
        automation_id=job.id,
        user_id=job.user_id,
        status=RunStatus.SCHEDULED,
        trigger=trigger,
        replay_of=replay_of,
        fire_time=moment,
        scheduled_time=moment,
        attempt=0,
    )
    session.add(run)
    session.flush()
    make_due(session, run.id, kind=AUTOMATION)
    return run


# -- runs -----------------------------------------------------------------------------------------------------
def list_runs(session: Session, user_id: int, *, state: str = "", limit: int = 200) -> list[AutomationRun]:
    query = select(AutomationRun).where(AutomationRun.user_id == user_id)
    if state:
        try:
            query = query.where(AutomationRun.status == RunStatus(state))
        except ValueError:
            names = ", ".join(status.value for status in RunStatus)
            raise ValidationFailed({"state": [f"{state!r} is not a run status ({names})"]}) from None
    query = query.order_by(AutomationRun.created_at.desc(), AutomationRun.id).limit(limit)
    return list(session.scalars(query))


def get_run(session: Session, user_id: int, run_id: str) -> AutomationRun:
    run = session.get(AutomationRun, run_id)
    if run is None or run.user_id != user_id:
        raise NotFound(f"no automation run {run_id!r}")
    return run


def replay_run(session: Session, user_id: int, run_id: str) -> AutomationRun:
    """A new run of the same job, due now, that says which run it replays."""
    original = get_run(session, user_id, run_id)
    job = get_job(session, user_id, original.automation_id)
    return _new_run(session, job, utcnow(), trigger="replay", replay_of=original.id)


# -- the wire -------------------------------------------------------------------------------------------------
def describe_job(job: AutomationJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "enabled": job.enabled,
        "schedule_kind": job.schedule_kind,
        "schedule_expr": job.schedule_expr,
        "every_seconds": job.every_seconds,
        "at": iso(job.at),
        "timezone": job.timezone,
        "payload": job.payload,
        "execution_mode": job.execution_mode,
        "misfire_policy": job.misfire_policy,
        "max_retries": job.max_retries,
        "retry_backoff_seconds": job.retry_backoff_seconds,
        "next_fire_at": iso(job.next_fire_at),
        "last_fired_at": iso(job.last_fired_at),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }


def describe_run(run: AutomationRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "automation_id": run.automation_id,
        "status": run.status,
        "state": run.status,
        "trigger": run.trigger,
        "replay_of": run.replay_of,
        "attempt": run.attempt,
        "fire_time": iso(run.fire_time),
        "scheduled_time": iso(run.scheduled_time),
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "output": run.output,
        "error": run.error,
    }

"""What the fleet's clock does each second on PostgreSQL, besides the shared housekeeping: fail the runs of
workers that stopped reporting, and give a job back to runs that lost theirs.

A worker that dies (``kill -9``, a lost machine) stops its procrastinate heartbeat; its ``doing`` job shows up in
``get_stalled_jobs`` and its run is failed with the reason, then the job is closed ``failed``: never re-run,
because actions are not idempotent."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import procrastinate
from procrastinate.jobs import Status
from sqlalchemy import Exists, String, cast, column, exists, or_, select, table

from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine import housekeeping
from ara.engine.context import EngineContext
from ara.engine.kinds import KINDS, RunKind
from ara.lifecycle.ending import end_run
from ara.lifecycle.executor import make_due
from ara.lifecycle.states import CLAIMABLE, RunStatus

log = logging.getLogger("ara.engine")
_jobs = table("procrastinate_jobs", column("lock"), column("status"))
#: Seconds between two searches for runs without a job (a run made due where no executor was attached, say).
ORPHAN_EVERY = 5
#: Jobs that did not succeed (succeeded ones are deleted at once) are kept this long for inspection.
KEEP_JOBS_HOURS = 7 * 24
#: At most this many each pass (the oldest first): a backlog never makes one tick long.
ORPHANS_PER_PASS = 200
#: A due run younger than this is left alone: its job may be a moment away (a commit in flight).
ORPHAN_GRACE = dt.timedelta(seconds=2)


def second(ctx: EngineContext, stamp: int) -> None:
    """The housekeeping every executor ticks (at the real time: a tick that ran late, or stood for a skipped one,
    still fires what came due), then the records sweep and the orphan search on the seconds ``stamp`` (the
    tick's own second, the same for the whole fleet) says."""
    now = utcnow()
    housekeeping.tick(ctx, now)
    for every, part in (
        (max(1, round(housekeeping.records_sweep_interval(ctx))), housekeeping.sweep_records),
        (ORPHAN_EVERY, resubmit_orphans),
    ):
        if stamp % every == 0:
            try:
                part(ctx, now)
            except Exception:
                log.exception("clock %s failed", part.__name__)


def _job_of(model: Any, run_statuses: tuple[str, ...]) -> Exists:
    """An activation job of the ``model`` run in ``run_statuses`` (its ``lock`` is ``run:<id>``)."""
    status = cast(_jobs.c.status, String)  # an enum of procrastinate's
    return exists().where(_jobs.c.lock == "run:" + model.id, status.in_(run_statuses))


def resubmit_orphans(ctx: EngineContext, now: dt.datetime) -> None:
    """A due run with no job waiting or running gets one (unless it only waits for something else, such as a
    ``concurrency`` slot); a ``running`` run whose job is gone (its activation ended without ending or parking it)
    is failed, since nobody executes it any more. Every kind of run alike."""
    for kind in KINDS.values():
        _resubmit_orphans(ctx, now, kind)


def _resubmit_orphans(ctx: EngineContext, now: dt.datetime, kind: RunKind) -> None:
    model = kind.model
    due = (
        model.status.in_(CLAIMABLE) & (model.scheduled_time <= now - ORPHAN_GRACE) & ~_job_of(model, ("todo", "doing"))
    )
    if kind.held_back is not None:
        due = due & ~kind.held_back()
    lost = (
        select(model.id, model.status)
        .where(or_(due, (model.status == RunStatus.RUNNING) & ~_job_of(model, ("doing",))))
        .order_by(model.scheduled_time)
        .limit(ORPHANS_PER_PASS)
    )
    with unit_of_work(ctx.reader) as session:
        orphans = session.execute(lost).all()
    for run_id, status in orphans:
        with unit_of_work(ctx.writer) as session:
            if status != RunStatus.RUNNING:
                make_due(session, run_id, kind=kind.name)  # its activation admits it, or finds it ended meanwhile
                continue
            run = session.get(model, run_id, with_for_update=True, populate_existing=True)
            still_lost = session.scalar(select(~_job_of(model, ("doing",))).where(model.id == run_id))
            if run is not None and run.status == RunStatus.RUNNING and still_lost:
                end_run(session, run, RunStatus.FAILED, f"worker {run.worker_id} lost the run; it was abandoned")


async def reap_stalled(app: procrastinate.App, ctx: EngineContext, task_name: str, model: Any) -> None:
    """Fail the runs whose worker stopped heartbeating for ``engine.heartbeat_timeout`` seconds, then close
    their jobs ``failed``."""
    stalled = await app.job_manager.get_stalled_jobs(
        task_name=task_name, seconds_since_heartbeat=ctx.settings.engine.heartbeat_timeout
    )
    for job in stalled:
        assert job.id is not None
        await asyncio.to_thread(_abandon, ctx, model, job.id, str(job.task_kwargs.get("run_id")))
        try:
            await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
        except Exception:  # it finished meanwhile (its worker was only slow): nothing left to close
            log.warning("stalled job %s could not be closed", job.id, exc_info=True)


def _abandon(ctx: EngineContext, model: Any, job_id: int, run_id: str) -> None:
    with unit_of_work(ctx.writer) as session:
        run = session.get(model, run_id, with_for_update=True, populate_existing=True)
        if run is not None and run.status == RunStatus.RUNNING and run.job_id == job_id:
            end_run(session, run, RunStatus.FAILED, f"worker {run.worker_id} stopped reporting; the run was abandoned")


async def prune_jobs(app: procrastinate.App, timestamp: int) -> None:
    """Once an hour, forget jobs that ended without succeeding more than ``KEEP_JOBS_HOURS`` ago (procrastinate
    issue #1454: its table only grows otherwise); Ara's tables keep the runs' history."""
    if timestamp % 3600 == 0:
        await app.job_manager.delete_old_jobs(
            nb_hours=KEEP_JOBS_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
        )

"""Ara's procrastinate tasks (PostgreSQL only): one activation of a run, and the clock.

A job carries only a run id; Ara's tables stay the truth. ``ara.run.advance`` (and each kind's task, see
``engine.kinds``) is one activation (admit, then
execute until the run ends or parks); the run's ``lock`` keeps two activations of one run apart and its
``queueing_lock`` keeps at most one waiting. ``ara.tick`` is a periodic task every second: procrastinate's
``periodic_defers`` table lets exactly one worker of the fleet defer each second's tick."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import procrastinate
from procrastinate.job_context import AbortReason
from sqlalchemy.exc import OperationalError

from ara.db.session import unit_of_work
from ara.engine import clock
from ara.engine.context import EngineContext
from ara.engine.kinds import KINDS, RunKind
from ara.lifecycle.ending import end_run
from ara.lifecycle.states import RunStatus

#: The clock's queue: served by a one-slot worker of its own in every process, so runs never starve it.
TIME = "time"
TICK = "ara.tick"


def _context(job_ctx: procrastinate.JobContext) -> EngineContext:
    ctx: EngineContext = job_ctx.additional_context["ara"]
    return ctx


def _activation(kind: RunKind) -> Callable[[procrastinate.JobContext, str], None]:
    def activate(job_ctx: procrastinate.JobContext, run_id: str) -> None:
        """One activation; a database outage before the run starts is retried, nothing else (actions are not
        idempotent: a run that started is never started again)."""
        ctx = _context(job_ctx)
        job_id = job_ctx.job.id

        def stamp(run: object) -> None:
            assert isinstance(run, kind.model)
            run.job_id = job_id  # a cancel aborts this job (``ProcrastinateExecutor.abort``)

        kind.activate(ctx, run_id, aborted=_abort_flag(job_ctx, ctx, kind, run_id), on_admit=stamp)

    return activate


def _abort_flag(
    job_ctx: procrastinate.JobContext, ctx: EngineContext, kind: RunKind, run_id: str
) -> Callable[[], bool]:
    """procrastinate's in-memory abort flag, set by NOTIFY when the run is cancelled. A worker that stops with the
    run still going (its drain timed out) aborts it too: the run then ends ``failed``, saying so, not
    ``cancelled``, and is never resumed."""
    said = False

    def aborted() -> bool:
        nonlocal said
        reason = job_ctx.abort_reason()
        if reason is AbortReason.SHUTDOWN and not said:
            said = True
            _fail_on_shutdown(ctx, kind, run_id)
        return reason is not None

    return aborted


def _fail_on_shutdown(ctx: EngineContext, kind: RunKind, run_id: str) -> None:
    with unit_of_work(ctx.writer) as session:
        run = session.get(kind.model, run_id, with_for_update=True, populate_existing=True)
        if run is not None and run.status == RunStatus.RUNNING and run.worker_id == ctx.worker_id:
            end_run(session, run, RunStatus.FAILED, f"worker {ctx.worker_id} shut down during the run; not resumed")


async def tick(job_ctx: procrastinate.JobContext, timestamp: int) -> None:
    """One second of the fleet's clock (see ``engine.clock``); the database work runs off the event loop."""
    ctx = _context(job_ctx)
    await asyncio.to_thread(clock.second, ctx, timestamp)
    for kind in KINDS.values():
        await clock.reap_stalled(job_ctx.app, ctx, kind.task, kind.model)
    await clock.prune_jobs(job_ctx.app, timestamp)


def register(app: procrastinate.App) -> None:
    """Put Ara's tasks on a worker's ``app``."""
    retry = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=1, retry_exceptions={OperationalError})
    for kind in KINDS.values():  # one task per kind; kinds may share a queue
        app.task(name=kind.task, queue=kind.queue, pass_context=True, retry=retry)(_activation(kind))
    # lock: never two ticks at once; queueing_lock: a backlog of ticks collapses into one.
    timer = app.task(name=TICK, queue=TIME, pass_context=True, lock=TICK, queueing_lock=TICK)(tick)
    app.periodic(cron="* * * * * *", periodic_id="second")(timer)

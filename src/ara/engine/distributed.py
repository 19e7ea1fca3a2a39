"""The PostgreSQL executor: runs are procrastinate jobs, deferred in the very transaction that made them due.

``submit`` inserts the job through the caller's own psycopg connection (inside SQLAlchemy's transaction), so a
rollback leaves neither run nor job and a commit NOTIFYs idle workers at once. It goes through a separate
procrastinate app that is never opened: it needs no pool, only the caller's connection (the workers' app is
async and cannot take a sync connection). ``abort`` marks the run's current job for abortion in the same way;
the worker running it learns by NOTIFY and the runner kills the action's process group.

Only imported on PostgreSQL (``engine.executors``): the embedded path never loads procrastinate."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.engine.context import EngineContext
from ara.engine.fleet import Fleet, drain_seconds
from ara.engine.jobs import TASKS
from ara.lifecycle.executor import QUEUES, RUNS
from ara.playbooks.models import PlaybookRun

log = logging.getLogger("ara.engine")


def _driver_connection(session: Session) -> Any:
    """The psycopg 3 connection under ``session``'s current transaction."""
    return session.connection().connection.driver_connection


class ProcrastinateExecutor:
    """``concurrency`` slots for runs in this process (0: an API-only server, which still defers and keeps
    time); any ``ara worker`` on the same database takes the same jobs."""

    def __init__(self, ctx: EngineContext, *, concurrency: int, queues: tuple[str, ...] = QUEUES) -> None:
        self.ctx = ctx
        self.concurrency = max(concurrency, 0)
        self.queues = queues
        self._deferrer = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())
        self._fleet: Fleet | None = None
        self._thread: threading.Thread | None = None

    # -- the protocol ---------------------------------------------------------------------------------------
    def submit(self, session: Session, run_id: str, *, at: dt.datetime | None = None, queue: str = RUNS) -> None:
        job = self._deferrer.configure_task(
            TASKS[queue],
            queue=queue,
            connection=_driver_connection(session),
            lock=f"run:{run_id}",  # never two activations of one run at once
            queueing_lock=f"run:{run_id}",  # and never two waiting
            schedule_at=at,
        )
        try:
            with session.begin_nested():  # a clash must not poison the caller's transaction
                job.defer(run_id=run_id)
        except AlreadyEnqueued:
            pass  # an activation is already waiting; it reads the run's state when it starts

    def abort(self, session: Session, run_id: str) -> None:
        job_id = session.scalar(select(PlaybookRun.job_id).where(PlaybookRun.id == run_id))
        if job_id is not None:
            self._deferrer.job_manager.cancel_job_by_id(job_id, abort=True, connection=_driver_connection(session))

    def start(self) -> None:
        """Work in a thread of its own with its own event loop (the server's loop serves requests)."""
        self._fleet = Fleet(self.ctx, queues=self.queues, concurrency=self.concurrency)
        self._thread = threading.Thread(target=self._work, args=(self._fleet,), name="ara-fleet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Drain (at most ``drain_seconds``), then fail what still runs; safe from a signal handler."""
        if self._fleet is not None:
            self._fleet.stop()
        if self._thread is not None:
            self._thread.join(timeout=drain_seconds(self.ctx) + 15)
            if self._thread.is_alive():
                log.warning("the procrastinate worker did not stop in time")
            self._thread = None

    def serve(self) -> None:
        """Work in the foreground until ``stop()`` (``ara worker``: its signal handlers call ``stop``)."""
        self._fleet = Fleet(self.ctx, queues=self.queues, concurrency=self.concurrency)
        asyncio.run(self._fleet.run())

    @staticmethod
    def _work(fleet: Fleet) -> None:
        try:
            asyncio.run(fleet.run())
        except Exception:
            log.exception("the procrastinate worker stopped; this process executes no more runs")

"""Deferring runs as procrastinate jobs in the very transaction that made them due (PostgreSQL).

``submit`` inserts the job through the caller's own psycopg connection (inside SQLAlchemy's transaction), so a
rollback leaves neither run nor job and a commit NOTIFYs idle workers at once. It goes through a procrastinate
app that is never opened: it needs no pool, only the caller's connection (a worker's app is async and cannot
take a sync connection). ``abort`` marks the run's current job for abortion in the same way; the worker running
it learns by NOTIFY and the runner kills the action's process group.

A ``JobDeferrer`` alone executes nothing: it is what a process that only makes runs due needs (the offline client,
``ara run start`` on the database); ``ProcrastinateExecutor`` adds the workers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.engine.task_names import TASKS
from ara.lifecycle.executor import PLAYBOOK, QUEUE_OF


def _driver_connection(session: Session) -> Any:
    """The psycopg 3 connection under ``session``'s current transaction."""
    return session.connection().connection.driver_connection


class JobDeferrer:
    """An executor that defers jobs and executes nothing (``start``/``stop`` do nothing)."""

    def __init__(self) -> None:
        self._deferrer = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())

    # -- the protocol ---------------------------------------------------------------------------------------
    def submit(self, session: Session, run_id: str, *, at: dt.datetime | None = None, kind: str = PLAYBOOK) -> None:
        job = self._deferrer.configure_task(
            TASKS[kind],
            queue=QUEUE_OF[kind],
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
        from ara.engine.kinds import KINDS  # the kinds' activations load the whole engine: only once aborting

        for kind in KINDS.values():
            job_id = session.scalar(select(kind.model.job_id).where(kind.model.id == run_id))
            if job_id is not None:
                break
        if job_id is not None:
            self._deferrer.job_manager.cancel_job_by_id(job_id, abort=True, connection=_driver_connection(session))

    def start(self) -> None:
        """Nothing to start: jobs are only deferred here."""

    def stop(self) -> None:
        pass

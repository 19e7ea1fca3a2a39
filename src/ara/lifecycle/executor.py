"""How a domain hands a run to whatever executes it, without knowing what that is.

An executor is attached to the write sessions' factory (``attach``); a domain that makes a run due calls
``make_due(session, run_id, kind=...)`` inside the transaction that made it due, and the executor acts only if that
transaction commits (the embedded executor pushes it onto its timer after the commit; the procrastinate executor
inserts a job in the same transaction). Without an attached executor (a CLI tool, the offline client) the run
simply stays due in the database: an executor picks up due runs when it starts.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

#: The queue of playbook runs and the queue of agent runs (automations, app runs): separate, so playbook runs
#: never starve agent turns nor the other way round.
RUNS = "runs"
AGENTS = "agents"
QUEUES = (RUNS, AGENTS)

#: The kinds of run, each executed on one queue; several kinds may share a queue.
PLAYBOOK = "playbook"
AUTOMATION = "automation"
APP = "app"
QUEUE_OF = {PLAYBOOK: RUNS, AUTOMATION: AGENTS, APP: AGENTS}

_KEY = "ara_executor"


class Executor(Protocol):
    def start(self) -> None:
        """Begin executing (fail what a previous life left running, pick up what is due)."""

    def stop(self) -> None: ...

    def submit(self, session: Session, run_id: str, *, at: dt.datetime | None = None, kind: str = PLAYBOOK) -> None:
        """Make the run (of ``kind``) due at ``at`` (now if None) once ``session`` commits; nothing if it rolls back."""

    def abort(self, session: Session, run_id: str) -> None:
        """Once ``session`` commits, interrupt the run's current action wherever it executes."""


def attach(factory: sessionmaker[Session], executor: Executor) -> None:
    """Sessions made by ``factory`` from now on reach ``executor`` (through ``Session.info``)."""
    factory.configure(info={_KEY: executor})


def executor_of(session: Session) -> Executor | None:
    return session.info.get(_KEY)


def make_due(session: Session, run_id: str, *, at: dt.datetime | None = None, kind: str = PLAYBOOK) -> None:
    """``kind``: which kind of run ``run_id`` is (``PLAYBOOK``, ``AUTOMATION``, ``APP``); it decides the queue."""
    executor = executor_of(session)
    if executor is not None:
        executor.submit(session, run_id, at=at, kind=kind)


def abort(session: Session, run_id: str) -> None:
    executor = executor_of(session)
    if executor is not None:
        executor.abort(session, run_id)

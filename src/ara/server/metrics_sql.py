"""The database reads behind ``/metrics``, at scrape time (so every API host and worker is counted, whoever
scrapes): counts by status, the run-duration histogram computed in SQL, due runs per queue, and on PostgreSQL
procrastinate's waiting jobs and worker heartbeats. Each is one GROUP BY over an indexed column or a small table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, case, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ara.apps.models import AppRun
from ara.db.types import utcnow
from ara.lifecycle.executor import APP, AUTOMATION, PLAYBOOK, QUEUE_OF
from ara.lifecycle.states import CLAIMABLE
from ara.playbooks.models import PlaybookRun
from ara.records import models as m
from ara.records.status import shown_status
from ara.runtime.automations.models import AutomationRun

#: Upper bounds (seconds) of the run-duration histogram's buckets: a quick check to a long maintenance window.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
#: The tasks an agent's tool calls are recorded as (``ara.runtime.recording``).
TOOL_ACTION_PREFIX = "ara_runtime."
RUN_MODELS: dict[str, Any] = {PLAYBOOK: PlaybookRun, AUTOMATION: AutomationRun, APP: AppRun}


class seconds_between(FunctionElement[float]):
    """``end - start`` in seconds, on either database."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def counts(session: Session, column: Any) -> dict[str, int]:
    return {str(key): int(n) for key, n in session.execute(select(column, func.count()).group_by(column))}


def result_counts(session: Session) -> dict[str, int]:
    """Results by the status people see (``changed`` and ``ignored`` derived as the records API shows them), from
    the ``(status, changed)`` and ``(status, ignore_errors)`` indexes alone: five times cheaper than grouping the
    table by all three columns."""
    r = m.Result
    out: dict[str, int] = {}
    for status, changed, n in session.execute(select(r.status, r.changed, func.count()).group_by(r.status, r.changed)):
        shown = shown_status(str(status), bool(changed), False)
        out[shown] = out.get(shown, 0) + int(n)
    ignored = session.scalar(select(func.count()).where(r.status == "failed", r.ignore_errors.is_(True))) or 0
    if ignored:
        out["ignored"] = int(ignored)
        out["failed"] = out.get("failed", 0) - int(ignored)
    return out


def tool_calls(session: Session) -> dict[str, int]:
    """Agents' tool calls (recorded as tasks) by status: ``completed`` or ``failed``."""
    t = m.Task
    rows = session.execute(
        select(t.status, func.count())
        .where(t.action.startswith(TOOL_ACTION_PREFIX, autoescape=True))
        .group_by(t.status)
    )
    return {str(status): int(n) for status, n in rows}


def duration_histogram(
    session: Session, buckets: Sequence[float] = DURATION_BUCKETS
) -> dict[str, tuple[list[int], int, float]]:
    """Ended playbook runs by status: (cumulative count per bucket, count, sum of seconds)."""
    run = PlaybookRun
    seconds = seconds_between(run.start_time, run.end_time)
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in buckets]
    rows = session.execute(
        select(run.status, func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
        .where(run.start_time.is_not(None), run.end_time.is_not(None))
        .group_by(run.status)
    )
    return {str(row[0]): ([int(v or 0) for v in row[3:]], int(row[1]), float(row[2])) for row in rows}


def due_runs(session: Session) -> dict[str, int]:
    """Runs whose time has come and that no executor has taken yet, per queue (what a worker would pick up)."""
    now = utcnow()
    out = {queue: 0 for queue in QUEUE_OF.values()}
    for kind, model in RUN_MODELS.items():
        n = session.scalar(
            select(func.count()).select_from(model).where(model.status.in_(CLAIMABLE), model.scheduled_time <= now)
        )
        out[QUEUE_OF[kind]] += int(n or 0)
    return out


def procrastinate_jobs(session: Session) -> dict[str, int]:
    """PostgreSQL: procrastinate's ``todo`` jobs per queue that are due (not deferred to later)."""
    rows = session.execute(
        text(
            "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'todo' "
            "AND (scheduled_at IS NULL OR scheduled_at <= now()) GROUP BY queue_name"
        )
    )
    return {str(queue): int(n) for queue, n in rows}


def procrastinate_heartbeats(session: Session) -> dict[str, float]:
    """PostgreSQL: seconds since each registered procrastinate worker's last heartbeat, by worker id."""
    rows = session.execute(
        text("SELECT id, EXTRACT(EPOCH FROM (now() - last_heartbeat)) FROM procrastinate_workers ORDER BY id")
    )
    return {str(worker): max(float(age), 0.0) for worker, age in rows}

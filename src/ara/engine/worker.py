"""The worker: claims due runs and executes them on a thread pool, keeps their heartbeats, and (unless told not
to) does the scheduler's housekeeping. The server runs one in-process; ``ara worker`` runs one on its own."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, update

from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine import housekeeping
from ara.engine.context import EngineContext
from ara.engine.runner import RunRunner
from ara.engine.states import RunStatus, move_run
from ara.playbooks.models import PlaybookRun
from ara.playbooks.spec import PlaybookSpec

log = logging.getLogger("ara.engine")
CLAIMABLE = (RunStatus.SCHEDULED, RunStatus.SLEEPING, RunStatus.RETRYING)
ACTIVE = ("running", "waiting", "sleeping", "retrying")


class Worker:
    def __init__(self, ctx: EngineContext, *, threads: int, housekeeping: bool = True) -> None:
        self.ctx = ctx
        self.threads = max(threads, 0)  # 0: housekeeping only, runs wait for another worker
        self.housekeeping = housekeeping
        self.runner = RunRunner(ctx)
        self._pool = ThreadPoolExecutor(max_workers=max(self.threads, 1), thread_name_prefix="ara-run")
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started_at = utcnow()
        self._last_housekeeping = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._last_records_sweep = dt.datetime.min.replace(tzinfo=dt.UTC)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> None:
        for target, name in ((self._loop, "ara-scheduler"), (self._heartbeats, "ara-heartbeat")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """A run was created or approved: look now rather than at the next poll."""
        self._wake.set()

    # -- loops ----------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        interval = self.ctx.settings.engine.poll_interval
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            next_due = self._next_due_in(interval)
            self._wake.wait(timeout=next_due)
            self._wake.clear()

    def _next_due_in(self, ceiling: float) -> float:
        """Sleep until the earliest parked run is due (delays fire on time), at most ``ceiling``."""
        try:
            with unit_of_work(self.ctx.writer) as session:
                due = session.scalar(
                    select(func.min(PlaybookRun.scheduled_time)).where(PlaybookRun.status.in_(CLAIMABLE))
                )
        except Exception:
            return ceiling
        if due is None:
            return ceiling
        return min(max((due - utcnow()).total_seconds(), 0.0), ceiling)

    def _heartbeats(self) -> None:
        period = max(self.ctx.settings.engine.heartbeat_timeout / 3, 0.2)
        while not self._stop.wait(period):
            try:
                with unit_of_work(self.ctx.writer) as session:
                    session.execute(
                        update(PlaybookRun)
                        .where(PlaybookRun.worker_id == self.ctx.worker_id, PlaybookRun.status.in_(ACTIVE))
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:
                log.exception("heartbeat failed")

    def tick(self) -> None:
        now = utcnow()
        if self.housekeeping and (now - self._last_housekeeping).total_seconds() >= 1:
            since = self._last_housekeeping if self._last_housekeeping.year > 1 else self._started_at
            self._last_housekeeping = now
            housekeeping.expire_and_reap(self.ctx, now)
            housekeeping.fire_schedules(self.ctx, now)
            housekeeping.fire_records_events(self.ctx, since - dt.timedelta(seconds=2))
        sweep_due = (now - self._last_records_sweep).total_seconds() >= housekeeping.records_sweep_interval(self.ctx)
        if self.housekeeping and sweep_due:
            self._last_records_sweep = now
            housekeeping.sweep_records(self.ctx, now)
        for run_id in self.claim():
            self._pool.submit(self._run, run_id)

    def _run(self, run_id: str) -> None:
        try:
            self.runner.execute(run_id)
        finally:
            with self._lock:
                self._busy.discard(run_id)
            self._wake.set()

    def claim(self) -> list[str]:
        """Move due runs to ``running`` for this worker, respecting each playbook's concurrency limit."""
        with self._lock:
            free = self.threads - len(self._busy)
        if free <= 0:
            return []
        now = utcnow()
        claimed: list[str] = []
        with unit_of_work(self.ctx.writer) as session:
            candidates = session.scalars(
                select(PlaybookRun)
                .where(PlaybookRun.status.in_(CLAIMABLE), PlaybookRun.scheduled_time <= now)
                .order_by(PlaybookRun.scheduled_time)
                .limit(free * 4)
                .with_for_update(skip_locked=True)
            ).all()
            for run in candidates:
                if len(claimed) >= free:
                    break
                if run.status == RunStatus.SCHEDULED and not self._has_slot(session, run):
                    continue
                move_run(run, RunStatus.RUNNING)
                run.worker_id = self.ctx.worker_id
                run.heartbeat_at = now
                claimed.append(run.id)
        with self._lock:
            self._busy.update(claimed)
        return claimed

    @staticmethod
    def _has_slot(session: object, run: PlaybookRun) -> bool:
        limit = PlaybookSpec.model_validate(run.spec).concurrency
        if not limit:
            return True
        active = session.scalar(  # type: ignore[attr-defined]
            select(func.count())
            .select_from(PlaybookRun)
            .where(PlaybookRun.playbook_id == run.playbook_id, PlaybookRun.status.in_(ACTIVE))
        )
        return (active or 0) < limit

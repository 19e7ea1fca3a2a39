"""The embedded executor (SQLite): this process owns every run, so there is nothing to claim across processes
and nothing to poll. A run due at once goes straight to a thread pool; one due later waits on a heap, where one
thread sleeps exactly until the earliest is due and hands it over; another ticks the clock once a second
(schedules, triggers, expiry).

``submit`` and ``abort`` take effect when the caller's transaction commits (a session event), never before: a
rolled-back run is never executed. At start, runs a previous process left ``running`` are failed (actions are
not idempotent, so they are never re-run) and every due run is reloaded.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine import housekeeping
from ara.engine.context import EngineContext
from ara.engine.kinds import KINDS
from ara.lifecycle.ending import end_run
from ara.lifecycle.executor import PLAYBOOK
from ara.lifecycle.states import CLAIMABLE, EXECUTING, RunStatus

log = logging.getLogger("ara.engine")
_DUE, _ABORT = "ara_local_due", "ara_local_abort"


class LocalExecutor:
    def __init__(self, ctx: EngineContext, *, concurrency: int) -> None:
        self.ctx = ctx
        self.concurrency = max(concurrency, 0)  # 0: keep time only (schedules, expiry); runs wait, unexecuted
        # A pool per queue, each ``concurrency`` wide: agent turns never take the slots of playbook runs.
        self._pools = {
            queue: ThreadPoolExecutor(max_workers=max(concurrency, 1), thread_name_prefix=f"ara-{queue.rstrip('s')}")
            for queue in {kind.queue for kind in KINDS.values()}
        }
        self._heap: list[tuple[dt.datetime, int, str, str]] = []  # (due, order, run id, kind)
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._aborts: dict[str, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self.last_beat: float | None = None  # time.monotonic() of the clock's last tick: /metrics's heartbeat
        event.listen(ctx.writer, "after_commit", self._committed)
        event.listen(ctx.writer, "after_rollback", self._rolled_back)

    # -- the protocol ---------------------------------------------------------------------------------------
    def submit(self, session: Session, run_id: str, *, at: dt.datetime | None = None, kind: str = PLAYBOOK) -> None:
        session.info.setdefault(_DUE, []).append((at or utcnow(), run_id, kind))

    def abort(self, session: Session, run_id: str) -> None:
        session.info.setdefault(_ABORT, []).append(run_id)

    def start(self) -> None:
        due: list[tuple[dt.datetime, str, str]] = []
        with unit_of_work(self.ctx.writer) as session:
            for name, kind in KINDS.items():
                for run in session.scalars(select(kind.model).where(kind.model.status.in_(EXECUTING))):
                    end_run(session, run, RunStatus.FAILED, "the server stopped during the run; it was not resumed")
                found = session.execute(
                    select(kind.model.scheduled_time, kind.model.id).where(kind.model.status.in_(CLAIMABLE))
                ).all()
                due += [(at, run_id, name) for at, run_id in found]
        for at, run_id, name in due:
            self._push(at, run_id, name)
        self.last_beat = time.monotonic()
        loops = [(self._clock, "ara-clock")] + ([(self._dispatch, "ara-timer")] if self.concurrency else [])
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)
        self._fail_held("the server stopped during the run; it was not resumed")
        for flag in list(self._aborts.values()):
            flag.set()  # their actions' process groups are killed; the runs are failed already
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        event.remove(self.ctx.writer, "after_commit", self._committed)
        event.remove(self.ctx.writer, "after_rollback", self._rolled_back)

    def _fail_held(self, reason: str) -> None:
        held = list(self._aborts)
        if not held:
            return
        try:
            with unit_of_work(self.ctx.writer) as session:
                for kind in KINDS.values():
                    model = kind.model
                    for run in session.scalars(select(model).where(model.id.in_(held), model.status.in_(EXECUTING))):
                        end_run(session, run, RunStatus.FAILED, reason)
        except Exception:
            log.exception("could not fail the runs held at stop; the next start fails them")

    # -- transactions ---------------------------------------------------------------------------------------
    def _committed(self, session: Session) -> None:
        for at, run_id, kind in session.info.pop(_DUE, []):
            self._push(at, run_id, kind)
        for run_id in session.info.pop(_ABORT, []):
            flag = self._aborts.get(run_id)
            if flag is not None:
                flag.set()

    def _rolled_back(self, session: Session) -> None:
        session.info.pop(_DUE, None)
        session.info.pop(_ABORT, None)

    # -- threads --------------------------------------------------------------------------------------------
    def _push(self, at: dt.datetime, run_id: str, kind: str) -> None:
        """A run due now goes straight to its pool; one due later waits on the heap, and the timer thread is woken
        only if it is now the earliest (waking a thread costs more than the rest of a submission)."""
        if self.concurrency and at <= utcnow() and not self._stopping.is_set():
            try:
                self._pools[KINDS[kind].queue].submit(self._activate, run_id, kind)
                return
            except RuntimeError:  # the pool shut down meanwhile: the next start reloads the run
                return
        with self._changed:
            heapq.heappush(self._heap, (at, next(self._order), run_id, kind))
            if self._heap[0][2] == run_id:
                self._changed.notify()

    def _dispatch(self) -> None:
        """Sleep until the earliest due run (or a new submission), then hand what is due to the pool."""
        while not self._stopping.is_set():
            with self._changed:
                due: list[tuple[str, str]] = []
                now = utcnow()
                while self._heap and self._heap[0][0] <= now:
                    _, _, run_id, kind = heapq.heappop(self._heap)
                    due.append((run_id, kind))
                if not due:
                    wait = (self._heap[0][0] - now).total_seconds() if self._heap else None
                    self._changed.wait(timeout=wait)
                    continue
            for run_id, kind in due:
                self._pools[KINDS[kind].queue].submit(self._activate, run_id, kind)

    def _activate(self, run_id: str, kind: str) -> None:
        flag = threading.Event()
        try:
            # The flag is registered only once admitted: a duplicate activation of a running run never replaces it.
            KINDS[kind].activate(self.ctx, run_id, aborted=flag.is_set, on_admit=lambda _run: self._hold(run_id, flag))
        except Exception:
            log.exception("activation of run %s failed", run_id)
        finally:
            if self._aborts.get(run_id) is flag:
                del self._aborts[run_id]

    def _hold(self, run_id: str, flag: threading.Event) -> None:
        self._aborts[run_id] = flag

    def _clock(self) -> None:
        last_sweep = dt.datetime.min.replace(tzinfo=dt.UTC)
        while not self._stopping.wait(1.0):
            self.last_beat = time.monotonic()
            now = utcnow()
            housekeeping.tick(self.ctx, now)
            if (now - last_sweep).total_seconds() >= housekeeping.records_sweep_interval(self.ctx):
                last_sweep = now
                try:
                    housekeeping.sweep_records(self.ctx, now)
                except Exception:
                    log.exception("records sweep failed")

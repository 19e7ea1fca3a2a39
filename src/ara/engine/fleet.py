"""This process's share of the procrastinate fleet (PostgreSQL): a worker with ``concurrency`` slots on each of
its queues (``runs``, ``agents``: one kind of run never starves the other), and a one-slot worker of its own on
the clock's queue, so a busy process still keeps time. The server runs
it in a thread (``ProcrastinateExecutor.start``), ``ara worker`` in the foreground.

Choices that matter (see ``shared/notes/distributed-engine.md`` §2): sync jobs run on the event loop's default
thread pool, which is sized here (asyncio's own default caps it at cpus + 4); heartbeats every third of
``engine.heartbeat_timeout``, and a drain on stop shorter than that timeout, since procrastinate stops
heartbeating while it drains (procrastinate PR #1585); a procrastinate worker that stops on its own is started
again, so a process outlives a database restart and a stall long enough to get its registration pruned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import procrastinate
from procrastinate.worker import Worker

from ara.engine import jobs
from ara.engine.context import EngineContext

log = logging.getLogger("ara.engine")
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # between restarts of a worker that keeps stopping
HEALTHY_SECONDS = 60.0  # a worker that ran this long before it stopped is restarted at the first delay again


def build_app(ctx: EngineContext) -> procrastinate.App:
    """A worker's procrastinate app on ``ctx``'s database, with Ara's tasks (opened by ``Fleet.run``)."""
    conninfo = ctx.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    # Each worker holds one connection to LISTEN; fetches, heartbeats and the periodic deferrer share the rest.
    # TCP keepalives: a listener on a half-open connection (a database host that vanished) is noticed in about
    # a minute instead of never (procrastinate issue #1513).
    keepalives = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    connector = procrastinate.PsycopgConnector(conninfo=conninfo, kwargs=keepalives, min_size=2, max_size=10)
    # A worker that starts catches up on a missed tick only if it is this recent (the default is 10 minutes).
    app = procrastinate.App(connector=connector, periodic_defaults={"max_delay": 5})
    jobs.register(app)
    return app


def drain_seconds(ctx: EngineContext) -> float:
    """How long a stopping worker lets running runs finish before it fails them: half the heartbeat timeout, so
    the silence while draining never looks like a dead worker."""
    return ctx.settings.engine.heartbeat_timeout / 2


def _one_line(exc: BaseException) -> str:
    """``exc`` and its cause on one line: procrastinate's ``Database error.`` says nothing without psycopg's."""
    said = " ".join(str(exc).split()) or type(exc).__name__
    if exc.__cause__ is not None:
        said += " " + (" ".join(str(exc.__cause__).split()[:40]) or type(exc.__cause__).__name__)
    return said


class Fleet:
    def __init__(self, ctx: EngineContext, *, queues: Sequence[str], concurrency: int) -> None:
        self.ctx = ctx
        self.queues = list(queues)
        self.concurrency = concurrency
        self.app = build_app(ctx)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False

    def _options(self) -> dict[str, Any]:
        engine = self.ctx.settings.engine
        return {
            "name": self.ctx.worker_id,
            "additional_context": {"ara": self.ctx},
            "install_signal_handlers": False,  # ``ara worker``'s stop them all at once; a thread has none
            "fetch_job_polling_interval": engine.poll_interval,  # finds delays that came due and lock hand-offs
            "abort_job_polling_interval": max(engine.poll_interval, 1.0),  # a fallback: aborts arrive by NOTIFY
            "update_heartbeat_interval": engine.heartbeat_timeout / 3,
            "stalled_worker_timeout": engine.heartbeat_timeout,
            "shutdown_graceful_timeout": drain_seconds(self.ctx),
            "delete_jobs": "successful",  # Ara's tables keep the history; failed jobs stay for inspection
        }

    async def run(self) -> None:
        """Work until ``stop()``, each procrastinate worker under ``_supervise``."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested:
            return
        slots = self.concurrency * len(self.queues)
        self._loop.set_default_executor(ThreadPoolExecutor(slots + 2, thread_name_prefix="ara-job"))
        async with self.app.open_async():
            workers = [self._supervise(jobs.TIME, 1)]
            if self.concurrency > 0:  # one worker per queue: agent runs never take the slots of playbook runs
                workers += [self._supervise(queue, self.concurrency) for queue in self.queues]
            tasks = [asyncio.create_task(worker) for worker in workers]
            await self._stopping.wait()
            for task in tasks:
                task.cancel()  # procrastinate's way to stop a worker: it drains, then returns
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
        if failures:
            raise failures[0]

    async def _supervise(self, queue: str, concurrency: int) -> None:
        """Run the worker of ``queue`` until cancelled, starting it again whenever it stops on its own: its
        listener lost the database, or its registration was pruned (a process silent past ``heartbeat_timeout``
        has its rows deleted by the next worker to start). Its running runs were drained or failed on the way
        out, as on any stop; the new worker registers afresh."""
        assert self._loop is not None
        failures = 0
        while True:
            worker = Worker(app=self.app, queues=[queue], concurrency=concurrency, **self._options())
            watch = asyncio.create_task(self._watch_registration(worker))
            started = self._loop.time()
            try:
                await worker.run()
                reason = "its registration was pruned" if watch.done() else "procrastinate stopped it: see above"
            except Exception as exc:  # a database error, said in one line; the traceback is procrastinate's log
                if self._stopping is not None and self._stopping.is_set():
                    raise  # the drain of a stop failed (it replaced the cancel): report it, never start again
                reason = _one_line(exc)
            finally:
                watch.cancel()
            failures = 1 if self._loop.time() - started >= HEALTHY_SECONDS else failures + 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
            log.warning("the worker of queue %s stopped (%s); starting it again in %.0f s", queue, reason, delay)
            await asyncio.sleep(delay)

    async def _watch_registration(self, worker: Worker) -> None:
        """Stop ``worker`` once its row in ``procrastinate_workers`` is gone: its heartbeats update nothing, and
        an idle worker would otherwise stay unregistered (and uncounted) until its next job's fetch fails."""
        present = "SELECT EXISTS (SELECT 1 FROM procrastinate_workers WHERE id = %(id)s) AS present"
        while True:
            await asyncio.sleep(self.ctx.settings.engine.heartbeat_timeout / 3)
            if worker.worker_id is None:
                continue  # not registered yet, or stopping
            try:
                row = await self.app.connector.execute_query_one_async(present, id=worker.worker_id)
            except Exception:
                continue  # the database is away: the worker's own queries fail and say so
            if not row["present"]:
                worker.stop()
                return

    def stop(self) -> None:
        """Ask ``run`` to drain and return; safe from any thread and from a signal handler."""
        self._stop_requested = True
        if self._loop is not None and self._stopping is not None:
            try:
                self._loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:
                pass  # the loop is closed: ``run`` has returned already

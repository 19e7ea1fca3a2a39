"""The PostgreSQL executor: runs are procrastinate jobs (``engine.deferral``), taken by workers in this process
and in any ``ara worker`` sharing the database.

Only imported on PostgreSQL (``engine.executors``): the embedded path never loads procrastinate."""

from __future__ import annotations

import asyncio
import logging
import threading

from ara.engine.context import EngineContext
from ara.engine.deferral import JobDeferrer
from ara.engine.fleet import Fleet, drain_seconds
from ara.lifecycle.executor import QUEUES

log = logging.getLogger("ara.engine")


class ProcrastinateExecutor(JobDeferrer):
    """``concurrency`` slots per queue in this process (0: an API-only server, which still defers and keeps
    time); any ``ara worker`` on the same database takes the same jobs."""

    def __init__(self, ctx: EngineContext, *, concurrency: int, queues: tuple[str, ...] = QUEUES) -> None:
        super().__init__()
        self.ctx = ctx
        self.concurrency = max(concurrency, 0)
        self.queues = queues
        self._fleet: Fleet | None = None
        self._thread: threading.Thread | None = None

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

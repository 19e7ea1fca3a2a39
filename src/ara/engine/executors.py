"""Which executor runs this process's runs: chosen by the database, never by a setting.

SQLite (the embedded default) gets the in-process ``LocalExecutor``; PostgreSQL gets the procrastinate executor,
whose jobs any ``ara worker`` sharing the database may take."""

from __future__ import annotations

from ara.engine.context import EngineContext
from ara.lifecycle.executor import Executor, attach


def build_executor(ctx: EngineContext, *, concurrency: int) -> Executor:
    """The executor for ``ctx``'s database, attached to its write sessions (not started)."""
    if ctx.engine.dialect.name == "postgresql":
        from ara.engine.distributed import ProcrastinateExecutor

        executor: Executor = ProcrastinateExecutor(ctx, concurrency=concurrency)
    else:
        from ara.engine.local import LocalExecutor

        executor = LocalExecutor(ctx, concurrency=concurrency)
    attach(ctx.writer, executor)
    return executor

"""``ara worker``: execute playbook runs from the database without serving HTTP (any number, any machine)."""

from __future__ import annotations

import signal
import threading

import typer

from ara.settings import get_settings


def work(
    threads: int = typer.Option(None, help="Runs executed at once (default: ARA_ENGINE__WORKERS)."),
    housekeeping: bool = typer.Option(True, help="Also fire schedules, expire approvals and reap dead workers."),
) -> None:
    """Claim due runs and execute them until interrupted."""
    from ara.db.migrate import upgrade
    from ara.db.session import make_engine, make_sessionmaker
    from ara.engine.context import EngineContext
    from ara.engine.worker import Worker

    settings = get_settings()
    engine = make_engine(settings)
    upgrade(engine)
    ctx = EngineContext.build(settings, engine, make_sessionmaker(engine))
    worker = Worker(ctx, threads=threads if threads is not None else settings.engine.workers, housekeeping=housekeeping)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    typer.echo(f"ara worker {ctx.worker_id} running with {worker.threads} thread(s)", err=True)
    stop.wait()
    worker.stop()
    engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("worker")(work)

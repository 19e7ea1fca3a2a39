"""``ara worker``: execute runs from a shared PostgreSQL database without serving HTTP (any number, any machine).

A worker takes the same procrastinate jobs as the server's in-process worker, so it needs what the API host has:
the database, ``ARA_SECRET_KEY`` (to open sealed parameters) and the artifact store. Its slot count is its own
(``--concurrency``, 4 by default): ``ARA_ENGINE__WORKERS`` sizes the API host's in-process worker, and an
environment shared with an API-only host (``ARA_ENGINE__WORKERS=0``) must not leave a worker silently idle."""

from __future__ import annotations

import enum
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from ara.cli import heap
from ara.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

DEFAULT_CONCURRENCY = 4


class Queue(enum.StrEnum):
    runs = "runs"
    agents = "agents"


def _refuse(message: str) -> typer.Exit:
    typer.echo(f"ara worker: {message}", err=True)
    return typer.Exit(2)


def work(
    queue: Annotated[
        list[Queue] | None, typer.Option("--queue", help="A queue to take jobs from (repeatable; default: all).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Runs executed at once per queue (not ARA_ENGINE__WORKERS).")
    ] = DEFAULT_CONCURRENCY,
    check: Annotated[bool, typer.Option("--check", help="Check the database and the job tables, then exit.")] = False,
) -> None:
    """Execute runs from the shared PostgreSQL database until SIGTERM or SIGINT (which let running runs finish)."""
    # The database stack is imported when the command runs: the base install (no server extra) has no sqlalchemy,
    # and ``ara --help`` must still work there.
    from ara.db.session import make_engine
    from ara.playbooks.artifact_url import open_store

    settings = get_settings()
    if concurrency < 1:
        raise _refuse(f"--concurrency must be at least 1 (got {concurrency}); a worker with no slot executes nothing")
    engine = make_engine(settings)
    if engine.dialect.name != "postgresql":
        raise _refuse("needs PostgreSQL (set ARA_DATABASE__URL); on SQLite the embedded server executes its own runs")
    if not settings.secret_key:
        raise _refuse(
            "needs ARA_SECRET_KEY on PostgreSQL, the same as the API host's: a key generated here would be known "
            "to nobody else, and the runs' secret parameters could not be opened"
        )
    open_store(settings)  # a bad ARA_ENGINE__ARTIFACTS_URL stops the start (exit 2), not a run's first artifact
    if check:
        raise typer.Exit(_check(engine))
    _serve(settings, engine, queues=tuple(q.value for q in queue or list(Queue)), concurrency=concurrency)


def _check(engine: Engine) -> int:
    """procrastinate's healthchecks with Ara's schema: 0 when both are complete, 1 otherwise."""
    from ara.db import procrastinate_schema
    from ara.db.migrate import current_revision, head_revision

    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
            left = procrastinate_schema.missing(connection) if revision is not None else ["all"]
    except Exception as exc:
        typer.echo(f"database: unreachable ({type(exc).__name__})", err=True)
        return 1
    typer.echo("database: OK")
    head = head_revision()
    typer.echo(f"Ara schema: {'OK' if revision == head else f'at {revision}, expected {head}'}")
    typer.echo(f"procrastinate schema: {'OK' if not left else f'{len(left)} migration file(s) missing'}")
    if revision != head or left:
        typer.echo("start 'ara server' or 'ara worker' once to migrate", err=True)
        return 1
    return 0


def _serve(settings: Settings, engine: Engine, *, queues: tuple[str, ...], concurrency: int) -> None:
    # Here, not at the top: procrastinate is loaded on PostgreSQL only (and ``ara --help`` stays quick).
    from sqlalchemy.exc import OperationalError

    from ara.db import procrastinate_schema
    from ara.db.migrate import upgrade
    from ara.db.session import make_sessionmaker
    from ara.engine.context import EngineContext
    from ara.engine.distributed import ProcrastinateExecutor
    from ara.lifecycle.executor import attach

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    try:
        upgrade(engine)
    except procrastinate_schema.SchemaMismatch as exc:
        raise _refuse(str(exc)) from None
    except OperationalError as exc:  # psycopg's message names host and port, never the password
        typer.echo(f"ara worker: cannot reach the database: {exc.orig}", err=True)
        raise typer.Exit(1) from None
    ctx = EngineContext.build(settings, engine, make_sessionmaker(engine), make_sessionmaker(engine, write=False))
    executor = ProcrastinateExecutor(ctx, concurrency=concurrency, queues=queues)
    attach(ctx.writer, executor)  # what the runs do here (park, hand a slot over) defers jobs in turn
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: executor.stop())
    typer.echo(
        f"ara worker {ctx.worker_id}: queues {', '.join(queues)} (and the clock), {concurrency} at once, "
        f"database {engine.url.render_as_string()}",
        err=True,
    )
    heap.settle()
    try:
        executor.serve()
    except Exception:
        logging.getLogger("ara.engine").exception("ara worker %s stopped on an error", ctx.worker_id)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"ara worker {ctx.worker_id}: stopped", err=True)


def register(app: typer.Typer) -> None:
    app.command("worker")(work)

"""Engine and session factory built from Settings (no import-time engine)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ara.settings import Settings

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _dispose_after_fork() -> None:
    # Ansible forks workers while our offline client holds pooled connections; a child must never reuse them.
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_after_fork)


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.database.echo}
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///") :])) or ".", exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": settings.database.busy_timeout_ms / 1000}
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite:///:memory:") and url != "sqlite://":
        database = settings.database
        kwargs.update(
            pool_size=database.pool_size, max_overflow=database.max_overflow, pool_timeout=database.pool_timeout
        )
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, settings.database.busy_timeout_ms)
    _engines.add(engine)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself so a request is one transaction (pysqlite's legacy mode defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the lock up front (IMMEDIATE), so concurrent writers wait for the busy timeout instead of
        # failing when a deferred read lock cannot be upgraded; readers stay deferred and never block anyone.
        # Straight to the driver: every transaction begins here, and ``exec_driver_sql`` costs 70 Python calls.
        conn.connection.driver_connection.execute(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("ara_write") else "BEGIN"
        )


def make_sessionmaker(engine: Engine, *, write: bool = True) -> sessionmaker[Session]:
    """Sessions for writing (default) or reading; the difference only matters on SQLite."""
    bind = engine.execution_options(ara_write=True) if write else engine
    return sessionmaker(bind, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

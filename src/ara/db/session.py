"""Engine and session factory built from Settings (no import-time engine)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ara.settings import Settings

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_writers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()  # reading engine -> writing one


def _dispose_after_fork() -> None:
    # Ansible forks workers while our offline client holds pooled connections; a child must never reuse them.
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_after_fork)


def make_engine(settings: Settings) -> Engine:
    """The engine for reading; ``write_engine(engine)`` is the one for writing (the same one but on SQLite)."""
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
        # LIFO: the connection used last is used again. On SQLite its page cache is the freshest (each connection
        # rereads the pages another one changed): a fifth fewer read syscalls per playbook run.
        kwargs.update(
            pool_size=database.pool_size,
            max_overflow=database.max_overflow,
            pool_timeout=database.pool_timeout,
            pool_use_lifo=True,
        )
    engine = create_engine(url, **kwargs)
    _engines.add(engine)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, settings.database.busy_timeout_ms)
        # Same pool, own dialect: its transactions begin IMMEDIATE.
        writer = create_engine(url, pool=engine.pool, echo=settings.database.echo)
        _begin_with(writer, "BEGIN IMMEDIATE")
        _writers[engine] = writer
        _engines.add(writer)
    return engine


def write_engine(engine: Engine) -> Engine:
    """Where writes go. On SQLite a writer takes the database's lock when its transaction begins (``BEGIN
    IMMEDIATE``), so concurrent writers wait for the busy timeout instead of failing when a deferred read lock
    cannot be upgraded; readers stay deferred and never block anyone. Elsewhere the engine itself."""
    return _writers.get(engine, engine)


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

    _begin_with(engine, "BEGIN")


def _begin_with(engine: Engine, statement: str) -> None:
    """Transactions on ``engine`` begin with ``statement``: the dialect's own hook, not a ``begin`` event. Any
    connection event makes SQLAlchemy dispatch four more events around every statement (30 Python calls each)."""

    def do_begin(dbapi_connection: Any) -> None:
        dbapi_connection.execute(statement)

    engine.dialect.do_begin = do_begin  # type: ignore[method-assign]


def make_sessionmaker(engine: Engine, *, write: bool = True) -> sessionmaker[Session]:
    """Sessions for writing (default) or reading; the difference only matters on SQLite."""
    return sessionmaker(write_engine(engine) if write else engine, expire_on_commit=False)


def connection_of(db: Session | Connection) -> Connection:
    """Where Core statements go: a session's connection, or the connection itself (a read that builds no objects,
    such as the caller's credentials, needs no session)."""
    return db.connection() if isinstance(db, Session) else db


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

"""procrastinate's tables, functions and triggers next to Alembic's, on PostgreSQL only.

procrastinate ships its schema as SQL: ``schema.sql`` (the whole current schema) and one file per change
(``xx.yy.zz_NN_{pre,post}_*.sql``), and leaves tracking what is applied to its users. Ara records each file it
applied in ``ara_procrastinate_sql``: Alembic revision 0005 installs ``schema.sql`` on a fresh database and
records every shipped file; after that, ``sync`` applies the files a newer procrastinate ships (each in its own
transaction: a file may add an enum value that the next one uses). ``missing`` is what start-up checks, so a
server or worker never runs on a half-applied schema.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, text

from ara.db.session import write_engine

TRACKING_TABLE = "ara_procrastinate_sql"
_LOCK = 74658  # pg_advisory_xact_lock key (Alembic's upgrade uses 74657)


class SchemaMismatch(RuntimeError):
    """The database's procrastinate schema is not the one the installed procrastinate needs."""


def _migrations_dir() -> Path:
    from procrastinate.schema import SchemaManager

    return Path(SchemaManager.get_migrations_path())


def shipped() -> list[str]:
    """The migration files of the installed procrastinate, in the order they apply."""
    return sorted(path.name for path in _migrations_dir().glob("*.sql"))


def _run_sql(connection: Connection, sql: str) -> None:
    # Through psycopg directly and without parameters: the files contain '%' that a parameter style would parse.
    connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]


def create_tracking_table(connection: Connection) -> None:
    connection.execute(text(f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (name varchar(255) PRIMARY KEY)"))


def applied(connection: Connection) -> set[str]:
    if connection.scalar(text("SELECT to_regclass(:name)"), {"name": TRACKING_TABLE}) is None:
        return set()
    return set(connection.scalars(text(f"SELECT name FROM {TRACKING_TABLE}")))


def _record(connection: Connection, names: list[str]) -> None:
    if names:
        connection.execute(
            text(f"INSERT INTO {TRACKING_TABLE} (name) VALUES (:name) ON CONFLICT DO NOTHING"),
            [{"name": name} for name in names],
        )


def install(connection: Connection) -> None:
    """A fresh database: the whole current schema in the caller's transaction, every shipped file recorded."""
    from procrastinate.schema import SchemaManager

    create_tracking_table(connection)
    _run_sql(connection, SchemaManager.get_schema())
    _record(connection, shipped())


def uninstall(connection: Connection) -> None:
    """Drop every procrastinate object (Alembic's downgrade below 0005)."""
    for kind, catalog, name_column, extra in (
        ("TABLE", "pg_tables", "tablename", "schemaname = current_schema()"),
        (
            "TYPE",
            "pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace",
            "typname",
            "n.nspname = current_schema() AND t.typtype IN ('e', 'c', 'd')",
        ),
    ):
        names = connection.scalars(
            text(f"SELECT {name_column} FROM {catalog} WHERE {extra} AND {name_column} LIKE 'procrastinate%'")
        ).all()
        for name in names:
            connection.execute(text(f'DROP {kind} IF EXISTS "{name}" CASCADE'))
    functions = (
        connection.execute(
            text(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'"
            )
        )
        .scalars()
        .all()
    )
    for signature in functions:
        connection.execute(text(f"DROP FUNCTION IF EXISTS {signature} CASCADE"))
    connection.execute(text(f"DROP TABLE IF EXISTS {TRACKING_TABLE}"))


def missing(connection: Connection, *, at_head: bool = False) -> list[str]:
    """Shipped files not applied here (empty: the schema matches the installed procrastinate). ``at_head``: Alembic
    is at head, so the tracking table exists and one read answers (the cheap check at every start)."""
    done = set(connection.scalars(text(f"SELECT name FROM {TRACKING_TABLE}"))) if at_head else applied(connection)
    return [name for name in shipped() if name not in done]


def sync(engine: Engine) -> list[str]:
    """Apply what a newer procrastinate ships, one file per transaction, under a lock; returns what ran."""
    with engine.connect() as probe:
        if not missing(probe):
            return []
    ran: list[str] = []
    directory = _migrations_dir()
    with write_engine(engine).connect() as connection:
        with connection.begin():
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
            if not applied(connection):
                if connection.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is not None:
                    raise SchemaMismatch(
                        "procrastinate's tables exist but Ara did not install them (table "
                        f"{TRACKING_TABLE} is empty): use a database of Ara's own"
                    )
                install(connection)
                return shipped()
        for name in shipped():
            with connection.begin():
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
                if name in applied(connection):
                    continue
                try:
                    _run_sql(connection, (directory / name).read_text(encoding="utf-8"))
                except Exception as exc:  # psycopg's errors: the file's own failure, said with its name
                    raise SchemaMismatch(f"procrastinate migration {name} failed: {exc}") from exc
                _record(connection, [name])
                ran.append(name)
    return ran


def check(engine: Engine) -> None:
    """Refuse to run on a database whose procrastinate schema is behind or half-applied."""
    with engine.connect() as connection:
        left = missing(connection)
    if left:
        raise SchemaMismatch(
            f"the database's procrastinate schema is incomplete ({len(left)} of {len(shipped())} migration files "
            f"not applied, first {left[0]}); run 'ara server' or 'ara worker' once with a user allowed to migrate"
        )
